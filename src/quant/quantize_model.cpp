// src/quant/quantize_model.cpp — selects the Llama weights RTN applies to and
// quantizes them in place (dequantized values written back into the model).
#include "relapse/quant/quantize_model.h"

#include <algorithm>

#include "relapse/core/error.h"
#include "relapse/core/log.h"

namespace relapse::quant {

namespace {
bool wants(const RtnConfig& c, const std::string& kind) {
  return std::find(c.modules.begin(), c.modules.end(), kind) != c.modules.end();
}
}  // namespace

std::vector<std::pair<std::string, torch::Tensor>> rtn_model_weights(
    const model::LlamaForCausalLM& m, const RtnConfig& c) {
  rtn_config_validate(c);
  const bool tp_split = m->tp().size > 1;
  std::vector<std::pair<std::string, torch::Tensor>> out;
  const auto& layers = *m->model->layers;
  for (size_t i = 0; i < layers.size(); ++i) {
    auto layer = layers[i]->as<model::LlamaDecoderLayerImpl>();
    RELAPSE_CHECK(layer != nullptr, "decoder layer ", i, " is not a LlamaDecoderLayer");
    const std::string p = "model.layers." + std::to_string(i) + ".";
    auto& at = layer->self_attn;
    auto& mlp = layer->mlp;
    const std::vector<std::tuple<std::string, std::string, torch::Tensor, bool>> cands = {
        {"q_proj", p + "self_attn.q_proj.weight", at->q_proj->weight, false},
        {"k_proj", p + "self_attn.k_proj.weight", at->k_proj->weight, false},
        {"v_proj", p + "self_attn.v_proj.weight", at->v_proj->weight, false},
        {"o_proj", p + "self_attn.o_proj.weight", at->o_proj->weight, true},
        {"gate_proj", p + "mlp.gate_proj.weight", mlp->gate_proj->weight, false},
        {"up_proj", p + "mlp.up_proj.weight", mlp->up_proj->weight, false},
        {"down_proj", p + "mlp.down_proj.weight", mlp->down_proj->weight, true},
    };
    for (const auto& [kind, name, w, row_parallel] : cands) {
      if (!wants(c, kind)) continue;
      RELAPSE_CHECK_CONFIG(!(row_parallel && tp_split && c.group_size == -1), "RTN group_size -1 ",
                           "(per output row) cannot be used on the row-parallel ", name,
                           " under tensor parallelism (its rows are split across ranks)");
      out.emplace_back(name, w);
    }
  }
  const bool tied = !m->lm_head;
  if (wants(c, "embed_tokens") || (tied && wants(c, "lm_head")))
    out.emplace_back("model.embed_tokens.weight", m->model->embed_tokens->weight);
  if (!tied && wants(c, "lm_head")) out.emplace_back("lm_head.weight", m->lm_head->weight);
  return out;
}

std::vector<LayerQuant> quantize_model(model::LlamaForCausalLM& m, const RtnConfig& c,
                                       bool keep_codes) {
  torch::NoGradGuard no_grad;
  std::vector<LayerQuant> out;
  for (auto& [name, w] : rtn_model_weights(m, c)) {
    RtnResult r = rtn_quantize(w, c, name);
    w.copy_(r.dequant);
    r.dequant = torch::Tensor();
    if (!keep_codes) {
      r.codes = torch::Tensor();
      r.zeros = torch::Tensor();
    }
    out.push_back({name, std::move(r)});
  }
  log_debug("RTN ", rtn_scheme_name(c.scheme), " ", c.bits, "-bit, group ", c.group_size, ": ",
            out.size(), " weights quantized");
  return out;
}

}  // namespace relapse::quant
