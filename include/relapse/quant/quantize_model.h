// relapse/quant/quantize_model.h — RTN applied to a whole Llama model: the
// decoder's linear layers (q, k, v, o, gate, up, down) by default, embeddings
// and lm_head only when RtnConfig::modules lists them; norms never (1-D).
// The model's weights are replaced in place by their dequantized values, so
// the quantized model is evaluated with the ordinary forward pass.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "relapse/model/llama.h"
#include "relapse/quant/rtn.h"

namespace relapse::quant {

// One quantized weight: its Hugging Face name and the quantizer's result
// (dequant is left undefined by the model passes: the model holds it).
struct LayerQuant {
  std::string name;  // e.g. "model.layers.0.self_attn.q_proj.weight"
  RtnResult result;
  // "uniform": the codes are a uniform grid (RTN, GPTQ, AWQ, LLM.int8's
  // weights), the bucket width of a weight is its group's scale; "fp4" |
  // "nf4": bitsandbytes' 4-bit code books (non-uniform buckets).
  std::string format = "uniform";
  // AWQ only: the quantized weight is diag(1/out_div) · W · diag(in_scale)
  // (in_scale [in]: this linear's own AWQ scale; out_div [out]: the scale of
  // the next linear that this one's output rows absorbed, v→o and up→down).
  // Undefined = 1. Bucket widths in units of W divide by in_scale and
  // multiply by out_div.
  torch::Tensor in_scale, out_div;
};

// The weights `c.modules` selects, as (HF name, parameter) in model order:
// per decoder layer q, k, v, o, gate, up, down, then embed_tokens, then
// lm_head. With tied embeddings "lm_head" and "embed_tokens" are one tensor,
// listed once as "model.embed_tokens.weight". The tensors alias the model's
// parameters (under tensor parallelism: this rank's shards).
std::vector<std::pair<std::string, torch::Tensor>> rtn_model_weights(
    const model::LlamaForCausalLM& m, const RtnConfig& c);

// Tensor parallelism: the dim along which TP shards weight `name` (1 for the
// row-parallel o_proj/down_proj, 0 otherwise), and the whole weight gathered
// over the model's TP group (the local tensor itself at TP = 1). With
// unique_rows, KV heads replicated over several ranks (kv heads < TP) appear
// once, as in the unsplit model. rtn_local_slice is this rank's part of a whole
// weight (the padded vocabulary rows included, as the shards hold them).
int rtn_split_dim(const std::string& name);
torch::Tensor rtn_full_weight(const model::LlamaForCausalLM& m, const std::string& name,
                              const torch::Tensor& local, bool unique_rows);
torch::Tensor rtn_local_slice(const model::LlamaForCausalLM& m, const std::string& name,
                              const torch::Tensor& full, const torch::Tensor& local);

// Quantizes every selected weight and writes the dequantized values into the
// model (same dtype). Under tensor parallelism each weight is quantized whole
// (gathered over the TP group), so the result equals TP = 1's. Returns the per-weight codes, scales
// and zeros in the order of rtn_model_weights; with keep_codes = false only the scales are kept
// (codes and zeros undefined) to save memory on large models.
std::vector<LayerQuant> quantize_model(model::LlamaForCausalLM& m, const RtnConfig& c,
                                       bool keep_codes = true);

}  // namespace relapse::quant
