// relapse/quant/quant_spec.h — one quantized precision of the study (RTN at
// a bit width, GPTQ, AWQ, bitsandbytes FP4/NF4, LLM.int8), built from the
// config's `quantize:` section, applied to a model by one call, and compared
// between the target and an unlearned model (bucket diagnostics).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "relapse/quant/code_change.h"
#include "relapse/quant/model_passes.h"
#include "relapse/quant/quant_config.h"

namespace relapse::quant {

enum class QuantMethod { kRtn, kGptq, kAwq, kBnb4, kLlmInt8 };

struct QuantSpec {
  QuantMethod method = QuantMethod::kRtn;
  // The precision's name in the archive and the report: RTN "int8", "int4"
  // ("int4_asym", "int4_sym_clamp" for the other RTN schemes), "gptq4",
  // "awq4", "fp4", "nf4", "llm_int8".
  std::string label;
  std::string scheme;  // rtn_sym | rtn_sym_clamp | rtn_asym | gptq | awq | fp4 | nf4 | llm_int8
  int bits = 4;
  int64_t group_size = -1;
  std::vector<std::string> modules = rtn_linear_kinds();
  RtnConfig rtn;
  GptqModelOptions gptq;
  AwqModelOptions awq;
  Bnb4Config bnb4;
  double llm_int8_threshold = 6.0;

  bool needs_calibration() const {
    return method == QuantMethod::kGptq || method == QuantMethod::kAwq;
  }
};

// Every precision the section asks for, in this order: RTN per `bits`, GPTQ
// per gptq.bits, AWQ per awq.bits, then bnb.formats. Checks each config.
std::vector<QuantSpec> quant_specs(const QuantizeSection& q);

// Quantizes `m` in place (see model_passes.h). calib_ids: every calibration
// window (needed by GPTQ/AWQ, ignored otherwise); comm: the ranks sharing the
// work (null = this rank alone).
std::vector<LayerQuant> quant_apply(model::LlamaForCausalLM& m, const QuantSpec& s,
                                    const torch::Tensor& calib_ids, Communicator* comm,
                                    bool keep_codes = true);

// The bucket width of every weight of `lq` in units of the original weight
// [out, in] fp32 (see LayerQuant: group step or code-book gap, AWQ's scales
// divided out).
torch::Tensor layer_bucket_width(const LayerQuant& lq, int64_t in);

// Bucket diagnostics of one precision: the target's and the unlearned
// model's original (unquantized) weights `w_*` by HF name, and both models'
// quantization results (with codes). Returns the merged stats; per_layer gets
// (name, stats) for every weight.
CodeChangeStats quant_code_change(
    const std::vector<std::pair<std::string, torch::Tensor>>& w_target,
    const std::vector<std::pair<std::string, torch::Tensor>>& w_unlearned,
    const std::vector<LayerQuant>& q_target, const std::vector<LayerQuant>& q_unlearned,
    std::vector<std::pair<std::string, CodeChangeStats>>* per_layer = nullptr);

}  // namespace relapse::quant
