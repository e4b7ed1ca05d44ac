// src/quant/bnb_model.cpp — the bitsandbytes emulations over a whole Llama
// model: 4-bit FP4/NF4 (weights replaced by their dequantized values, which is
// what bitsandbytes multiplies with) and LLM.int8 (int8 weights and the
// emulated outlier-decomposed matmul installed on each selected linear).
// bitsandbytes leaves lm_head in 16-bit (llm_int8_skip_modules); so does
// relapse unless quantize.modules lists it — and these passes only touch the
// decoder's linears.
#include <algorithm>

#include "relapse/core/error.h"
#include "relapse/core/log.h"
#include "relapse/quant/model_passes.h"
#include "relapse/quant/tp_layer.h"

namespace relapse::quant {

std::vector<LayerQuant> bnb4_quantize_model(model::LlamaForCausalLM& m, const Bnb4Config& c,
                                            const std::vector<std::string>& modules,
                                            bool keep_codes) {
  torch::NoGradGuard no_grad;
  std::vector<LayerQuant> out;
  const int64_t n_layers = static_cast<int64_t>(m->model->layers->size());
  for (int64_t l = 0; l < n_layers; ++l) {
    // TP > 1: the blocks of 64 run over the whole HF tensor (tp_layer.h).
    LayerWork work(m, l);
    for (auto& r : work.linears(modules)) {
      LayerQuant lq;
      lq.name = r.name;
      lq.format = c.format == Bnb4Format::kNf4 ? "nf4" : "fp4";
      lq.result = bnb4_quantize(r.weight, c, r.name);
      r.weight.copy_(lq.result.dequant);
      lq.result.dequant = torch::Tensor();
      if (!keep_codes) lq.result.codes = torch::Tensor();
      out.push_back(std::move(lq));
    }
    work.write_back();
  }
  log_debug("bitsandbytes ", c.format == Bnb4Format::kNf4 ? "NF4" : "FP4", ": ", out.size(),
            " weights quantized");
  return out;
}

std::vector<LayerQuant> llm_int8_quantize_model(model::LlamaForCausalLM& m, double threshold,
                                                const std::vector<std::string>& modules,
                                                bool keep_codes) {
  torch::NoGradGuard no_grad;
  // Its matmul quantizes each activation row by the row's absmax over all
  // input features, which a row-parallel shard does not see.
  RELAPSE_CHECK_CONFIG(m->tp().size == 1,
                       "LLM.int8 emulation needs tensor parallel size 1 (its outlier-decomposed "
                       "matmul needs whole activation rows), got ",
                       m->tp().size);
  std::vector<LayerQuant> out;
  const int64_t n_layers = static_cast<int64_t>(m->model->layers->size());
  for (int64_t l = 0; l < n_layers; ++l) {
    for (auto& r : layer_linears(m, l, modules)) {
      auto w = std::make_shared<LlmInt8Weight>(llm_int8_quantize_weight(r.weight, r.name));
      LayerQuant lq;
      lq.name = r.name;
      // The int8 codes as a uniform grid: step SCB / 127 per row (one group).
      lq.result.codes = w->cb;
      lq.result.scales = (w->scb.to(torch::kFloat32) / 127.0).reshape({-1, 1});
      lq.result.group_size = r.weight.size(1);
      r.weight.copy_((w->cb.to(torch::kFloat32) * lq.result.scales).to(r.weight.scalar_type()));
      r.set_matmul(
          [w, threshold](const torch::Tensor& x) { return llm_int8_linear(x, *w, threshold); });
      if (!keep_codes) lq.result.codes = torch::Tensor();
      out.push_back(std::move(lq));
    }
  }
  log_debug("LLM.int8 (threshold ", threshold, "): ", out.size(), " weights quantized");
  return out;
}

}  // namespace relapse::quant
