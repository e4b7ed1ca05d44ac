// src/quant/quantize_model.cpp — selects the Llama weights RTN applies to and
// quantizes them in place (dequantized values written back into the model).
#include "relapse/quant/quantize_model.h"

#include <algorithm>

#include "relapse/core/error.h"
#include "relapse/core/log.h"
#include "relapse/model/llama_linears.h"
#include "relapse/quant/model_passes.h"

namespace relapse::quant {

namespace {
bool wants(const RtnConfig& c, const std::string& kind) {
  return std::find(c.modules.begin(), c.modules.end(), kind) != c.modules.end();
}
}  // namespace

int rtn_split_dim(const std::string& name) {
  // Row-parallel layers split the input dim; column-parallel ones, the
  // embedding and lm_head split rows (model/tp_layers.h).
  const model::LlamaLinear* l = model::llama_linear_of_name(name);
  return l && l->split == model::LinearSplit::kRow ? 1 : 0;
}

std::vector<std::pair<std::string, torch::Tensor>> rtn_model_weights(
    const model::LlamaForCausalLM& m, const RtnConfig& c) {
  rtn_config_validate(c);
  std::vector<std::pair<std::string, torch::Tensor>> out;
  const auto& layers = *m->model->layers;
  for (size_t i = 0; i < layers.size(); ++i) {
    auto layer = layers[i]->as<model::LlamaDecoderLayerImpl>();
    RELAPSE_CHECK(layer != nullptr, "decoder layer ", i, " is not a LlamaDecoderLayer");
    for (const LinearRef& r : layer_linears(*layer, static_cast<int64_t>(i), c.modules))
      out.emplace_back(r.name, r.weight);
  }
  const bool tied = !m->lm_head;
  if (wants(c, "embed_tokens") || (tied && wants(c, "lm_head")))
    out.emplace_back("model.embed_tokens.weight", m->model->embed_tokens->weight);
  if (!tied && wants(c, "lm_head")) out.emplace_back("lm_head.weight", m->lm_head->weight);
  return out;
}

// Under tensor parallelism a weight is gathered whole over the TP group before
// RTN (a per-row or per-group scale must see the whole row, and the result must
// equal TP = 1's), and this rank's slice of the dequantized weight is written back.
torch::Tensor rtn_full_weight(const model::LlamaForCausalLM& m, const std::string& name,
                              const torch::Tensor& local, bool unique_rows) {
  const model::TpContext& tp = m->tp();
  if (tp.size == 1) return local;
  if (unique_rows) {
    // The HF tensor: each replicated KV head once, no vocabulary padding.
    for (const auto& p : model::tp_param_layout(m))
      if (p.name == name) return model::tp_param_gather(p, local, tp);
    RELAPSE_THROW(ExitCode::kInternal, "no tensor-parallel layout entry for ", name);
  }
  // Every rank's shard side by side (replicas and padding included), so that
  // rtn_local_slice finds this rank's part at rank × shard size.
  const int dim = rtn_split_dim(name);
  torch::Tensor moved = dim == 0 ? local.contiguous() : local.t().contiguous();
  torch::Tensor all = tp.comm->all_gather(moved);  // [tp * local rows, ...]
  return dim == 0 ? all : all.t();
}

torch::Tensor rtn_local_slice(const model::LlamaForCausalLM& m, const std::string& name,
                              const torch::Tensor& full, const torch::Tensor& local) {
  const model::TpContext& tp = m->tp();
  if (tp.size == 1) return full;
  const int dim = rtn_split_dim(name);
  return full.narrow(dim, tp.rank * local.size(dim), local.size(dim));
}

std::vector<LayerQuant> quantize_model(model::LlamaForCausalLM& m, const RtnConfig& c,
                                       bool keep_codes) {
  torch::NoGradGuard no_grad;
  std::vector<LayerQuant> out;
  for (auto& [name, w] : rtn_model_weights(m, c)) {
    RtnResult r = rtn_quantize(rtn_full_weight(m, name, w, /*unique_rows=*/false), c, name);
    w.copy_(rtn_local_slice(m, name, r.dequant, w));
    r.dequant = torch::Tensor();
    if (!keep_codes) {
      r.codes = torch::Tensor();
      r.zeros = torch::Tensor();
    }
    LayerQuant lq;
    lq.name = name;
    lq.result = std::move(r);
    out.push_back(std::move(lq));
  }
  log_debug("RTN ", rtn_scheme_name(c.scheme), " ", c.bits, "-bit, group ", c.group_size, ": ",
            out.size(), " weights quantized");
  return out;
}

}  // namespace relapse::quant
