// relapse/quant/model_passes.h — GPTQ, AWQ and the bitsandbytes emulations
// applied to a whole Llama model. Like quantize_model (RTN), every pass
// writes the dequantized weights into the model, so the quantized model is
// evaluated with the ordinary forward pass (LLM.int8 also installs its
// emulated matmul on each linear, relapse/model/tp_layers.h), and returns the
// per-weight codes in model order (rtn_model_weights's order).
//
// Sharding (issue 5): the calibration samples are split over `comm`'s ranks
// (calib_shard); GPTQ's Hessians and AWQ's statistics and search losses are
// summed over ranks, and GPTQ's per-linear solves are dealt round robin and
// broadcast, so every rank ends with the same quantized model as one rank.
// comm == null or size 1: one rank. comm is the DP group: under tensor
// parallelism GPTQ, AWQ and bitsandbytes 4-bit work on one gathered whole
// layer at a time (tp_layer.h) and equal TP 1 bit for bit; LLM.int8's
// emulated matmul needs whole activation rows and refuses TP > 1 (kConfig).
#pragma once
#include <string>
#include <vector>

#include "relapse/dist/communicator.h"
#include "relapse/quant/awq.h"
#include "relapse/quant/bnb.h"
#include "relapse/quant/gptq.h"
#include "relapse/quant/quantize_model.h"

namespace relapse::quant {

// The quantizable linears of decoder layer `i` that `modules` selects, in the
// order q, k, v, o, gate, up, down: (kind, HF name, the module's weight).
struct LinearRef {
  std::string kind, name;
  torch::Tensor weight;
  std::function<void(std::function<void(const torch::Tensor&)>)> set_input_hook;
  std::function<void(std::function<torch::Tensor(const torch::Tensor&)>)> set_matmul;
};
std::vector<LinearRef> layer_linears(model::LlamaForCausalLM& m, int64_t i,
                                     const std::vector<std::string>& modules);
// The same for a decoder layer outside a model (tp_layer.h), named as layer i.
std::vector<LinearRef> layer_linears(model::LlamaDecoderLayerImpl& layer, int64_t i,
                                     const std::vector<std::string>& modules);

struct GptqModelOptions {
  GptqConfig c;
  bool true_sequential = true;
  std::vector<std::string> modules = rtn_linear_kinds();
  // Calibration rows per forward. 1 (AutoGPTQ's default too): every sample's
  // activations are then bit-identical however the samples are sharded.
  int64_t batch = 1;
};
// calib_ids: every calibration window [n_samples, seq_len] (the same on all ranks).
std::vector<LayerQuant> gptq_quantize_model(model::LlamaForCausalLM& m,
                                            const torch::Tensor& calib_ids,
                                            const GptqModelOptions& o, Communicator* comm,
                                            bool keep_codes = true);

struct AwqModelOptions {
  AwqConfig c;
  std::vector<std::string> modules = rtn_linear_kinds();
  int64_t batch = 1;  // as GptqModelOptions::batch
};
std::vector<LayerQuant> awq_quantize_model(model::LlamaForCausalLM& m,
                                           const torch::Tensor& calib_ids, const AwqModelOptions& o,
                                           Communicator* comm, bool keep_codes = true);

// bitsandbytes 4-bit (FP4 / NF4), weight-only: bitsandbytes dequantizes the
// weight to the compute dtype before its matmul, so the dequantized weights
// in the model are the emulation.
std::vector<LayerQuant> bnb4_quantize_model(model::LlamaForCausalLM& m, const Bnb4Config& c,
                                            const std::vector<std::string>& modules,
                                            bool keep_codes = true);

// LLM.int8 (load_in_8bit): int8 weights per row; every selected linear's
// matmul becomes llm_int8_linear with `threshold` (outlier columns of the
// activations in 16-bit). The model's weights hold the dequantized int8 values.
std::vector<LayerQuant> llm_int8_quantize_model(model::LlamaForCausalLM& m, double threshold,
                                                const std::vector<std::string>& modules,
                                                bool keep_codes = true);

// Broadcasts `lq` (codes, scales, zeros, g_idx when present on the owner; the
// dequantized weight into `w`) from rank `owner` of comm to every rank.
void quant_broadcast(LayerQuant& lq, torch::Tensor& w, int owner, Communicator* comm,
                     bool keep_codes);

}  // namespace relapse::quant
