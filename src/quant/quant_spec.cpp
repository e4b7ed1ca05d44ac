// src/quant/quant_spec.cpp — precisions from the config, one entry point that
// applies any of them, and bucket diagnostics over their results.
#include "relapse/quant/quant_spec.h"

#include "relapse/core/error.h"

namespace relapse::quant {

namespace {

// One RTN precision of quantize.bits (quantize.scheme, group_size).
QuantSpec rtn_spec(const QuantizeSection& q, int bits) {
  QuantSpec s;
  s.method = QuantMethod::kRtn;
  s.scheme = q.scheme;
  s.bits = bits;
  s.group_size = q.group_size;
  s.modules = q.modules;
  s.rtn.scheme = rtn_scheme_from_name(q.scheme);
  s.rtn.bits = bits;
  s.rtn.group_size = q.group_size;
  s.rtn.modules = q.modules;
  rtn_config_validate(s.rtn);
  s.label = "int" + std::to_string(bits);
  if (q.scheme != "rtn_sym") s.label += "_" + q.scheme.substr(4);  // int4_asym, int4_sym_clamp
  return s;
}

// One GPTQ precision of quantize.gptq.bits.
QuantSpec gptq_spec(const QuantizeSection& q, int bits) {
  QuantSpec s;
  s.method = QuantMethod::kGptq;
  s.scheme = "gptq";
  s.bits = bits;
  s.group_size = q.gptq.group_size;
  s.modules = q.modules;
  s.gptq.c.bits = bits;
  s.gptq.c.group_size = q.gptq.group_size;
  s.gptq.c.sym = q.gptq.sym;
  s.gptq.c.desc_act = q.gptq.desc_act;
  s.gptq.c.damp_percent = q.gptq.damp_percent;
  s.gptq.c.block_size = q.gptq.block_size;
  s.gptq.true_sequential = q.gptq.true_sequential;
  s.gptq.modules = q.modules;
  gptq_config_validate(s.gptq.c);
  s.label = "gptq" + std::to_string(bits);
  return s;
}

// One AWQ precision of quantize.awq.bits.
QuantSpec awq_spec(const QuantizeSection& q, int bits) {
  QuantSpec s;
  s.method = QuantMethod::kAwq;
  s.scheme = "awq";
  s.bits = bits;
  s.group_size = q.awq.group_size;
  s.modules = q.modules;
  s.awq.c.bits = bits;
  s.awq.c.group_size = q.awq.group_size;
  s.awq.c.zero_point = q.awq.zero_point;
  s.awq.c.n_grid = q.awq.n_grid;
  s.awq.c.duo_scaling = q.awq.duo_scaling;
  s.awq.c.clip = q.awq.clip;
  s.awq.c.max_shrink = q.awq.max_shrink;
  s.awq.c.n_sample_token = q.awq.n_sample_token;
  s.awq.modules = q.modules;
  awq_config_validate(s.awq.c);
  s.label = "awq" + std::to_string(bits);
  return s;
}

// One bitsandbytes format of quantize.bnb.formats (fp4, nf4, llm_int8).
QuantSpec bnb_spec(const QuantizeSection& q, const std::string& f) {
  QuantSpec s;
  s.scheme = f;
  s.modules = q.modules;
  s.label = f;
  if (f == "llm_int8") {
    s.method = QuantMethod::kLlmInt8;
    s.bits = 8;
    s.llm_int8_threshold = q.bnb.llm_int8_threshold;
  } else {
    s.method = QuantMethod::kBnb4;
    s.bits = 4;
    s.group_size = q.bnb.blocksize;
    s.bnb4.format = bnb4_format_from_name(f);
    s.bnb4.blocksize = q.bnb.blocksize;
    s.bnb4.double_quant = q.bnb.double_quant;
  }
  return s;
}

}  // namespace

std::vector<QuantSpec> quant_specs(const QuantizeSection& q) {
  std::vector<QuantSpec> out;
  for (int bits : q.bits) out.push_back(rtn_spec(q, bits));
  for (int bits : q.gptq.bits) out.push_back(gptq_spec(q, bits));
  for (int bits : q.awq.bits) out.push_back(awq_spec(q, bits));
  for (const auto& f : q.bnb.formats) out.push_back(bnb_spec(q, f));
  for (auto& s : out) s.rtn.modules = q.modules;  // rtn_model_weights' selection, for every method
  for (size_t i = 0; i < out.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      RELAPSE_CHECK_CONFIG(out[i].label != out[j].label, "quantize: precision ", out[i].label,
                           " is listed twice");
  return out;
}

std::vector<LayerQuant> quant_apply(model::LlamaForCausalLM& m, const QuantSpec& s,
                                    const torch::Tensor& calib_ids, Communicator* comm,
                                    bool keep_codes) {
  if (s.needs_calibration())
    RELAPSE_CHECK(calib_ids.defined() && calib_ids.dim() == 2, s.label,
                  " needs calibration windows [n_samples, seq_len]");
  switch (s.method) {
    case QuantMethod::kRtn:
      // Every rank quantizes every weight itself: RTN is one memory-bound pass,
      // cheaper than broadcasting its results (measured: bench quant at np 2).
      return quantize_model(m, s.rtn, keep_codes);
    case QuantMethod::kGptq:
      return gptq_quantize_model(m, calib_ids, s.gptq, comm, keep_codes);
    case QuantMethod::kAwq:
      return awq_quantize_model(m, calib_ids, s.awq, comm, keep_codes);
    case QuantMethod::kBnb4:
      return bnb4_quantize_model(m, s.bnb4, s.modules, keep_codes);
    case QuantMethod::kLlmInt8:
      return llm_int8_quantize_model(m, s.llm_int8_threshold, s.modules, keep_codes);
  }
  RELAPSE_THROW(ExitCode::kInternal, "unknown quantization method");
}

torch::Tensor layer_bucket_width(const LayerQuant& lq, int64_t in) {
  torch::Tensor w;
  if (lq.format == "fp4" || lq.format == "nf4") {
    Bnb4Config c;
    c.format = bnb4_format_from_name(lq.format);
    c.blocksize = lq.result.group_size;
    w = bnb4_bucket_width(lq.result, c).to(torch::kFloat32);
  } else {
    w = quant_group_step(lq.result, in);
  }
  if (lq.in_scale.defined()) w = w / lq.in_scale.to(torch::kFloat32).reshape({1, -1});
  if (lq.out_div.defined()) w = w * lq.out_div.to(torch::kFloat32).reshape({-1, 1});
  return w;
}

CodeChangeStats quant_code_change(
    const std::vector<std::pair<std::string, torch::Tensor>>& w_target,
    const std::vector<std::pair<std::string, torch::Tensor>>& w_unlearned,
    const std::vector<LayerQuant>& q_target, const std::vector<LayerQuant>& q_unlearned,
    std::vector<std::pair<std::string, CodeChangeStats>>* per_layer) {
  RELAPSE_CHECK_INPUT(q_target.size() == q_unlearned.size(),
                      "target and unlearned models differ in quantized weights (", q_target.size(),
                      " vs ", q_unlearned.size(), ")");
  auto find = [](const std::vector<std::pair<std::string, torch::Tensor>>& ws,
                 const std::string& name) {
    for (const auto& [n, t] : ws)
      if (n == name) return t;
    RELAPSE_THROW(ExitCode::kInput, "no weight ", name, " among the unquantized weights");
  };
  CodeChangeStats total;
  for (size_t i = 0; i < q_target.size(); ++i) {
    const LayerQuant &a = q_target[i], &b = q_unlearned[i];
    RELAPSE_CHECK_INPUT(a.name == b.name, "target and unlearned models differ: ", a.name, " vs ",
                        b.name);
    torch::Tensor wt = find(w_target, a.name), wu = find(w_unlearned, b.name);
    torch::Tensor pchg = a.result.scales.ne(b.result.scales);
    if (a.result.zeros.defined() && b.result.zeros.defined())
      pchg = pchg | a.result.zeros.ne(b.result.zeros);
    CodeChangeStats s = code_change_stats_bucket(
        wt, wu, a.result.codes, b.result.codes, layer_bucket_width(a, wt.size(1)),
        a.result.scales.numel(), pchg.sum().item<int64_t>());
    code_change_merge(total, s);
    if (per_layer) per_layer->emplace_back(a.name, std::move(s));
  }
  return total;
}

}  // namespace relapse::quant
