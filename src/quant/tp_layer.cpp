// src/quant/tp_layer.cpp — a whole decoder layer gathered over tensor
// parallelism for the quantization passes (relapse/quant/tp_layer.h).
#include "relapse/quant/tp_layer.h"

#include "relapse/core/error.h"

namespace relapse::quant {

namespace {
std::string layer_prefix(int64_t l) {
  return "model.layers." + std::to_string(l) + ".";
}
}  // namespace

LayerWork::LayerWork(model::LlamaForCausalLM& m, int64_t l) : m_(m), l_(l) {
  auto own = m->model->layers->ptr<model::LlamaDecoderLayerImpl>(l);
  if (m->tp().size == 1) {
    layer_ = own.get();
    return;
  }
  torch::NoGradGuard ng;
  copy_ = model::LlamaDecoderLayer(m->config(), model::TpContext{});
  for (const auto& mod : copy_->modules(/*include_self=*/true))
    if (auto* p = dynamic_cast<model::ParamModule*>(mod.get()))
      p->move_params(m->device(), m->dtype());
  copy_->self_attn->kind = own->self_attn->kind;
  auto params = copy_->named_parameters();
  const std::string prefix = layer_prefix(l);
  int64_t filled = 0;
  for (const auto& info : model::tp_param_layout(m)) {
    if (info.name.compare(0, prefix.size(), prefix) != 0) continue;
    torch::Tensor* dst = params.find(info.name.substr(prefix.size()));
    RELAPSE_CHECK(dst != nullptr, "no parameter ", info.name, " in a TP-1 decoder layer");
    torch::Tensor full = model::tp_param_gather(info, info.tensor, m->tp());
    RELAPSE_CHECK(full.sizes() == dst->sizes(), info.name, ": gathered ", full.sizes(),
                  ", a TP-1 layer holds ", dst->sizes());
    dst->copy_(full);
    ++filled;
  }
  RELAPSE_CHECK(filled == static_cast<int64_t>(params.size()), "layer ", l, ": gathered ", filled,
                " of ", params.size(), " parameters");
  copy_->eval();
  layer_ = copy_.get();
}

std::vector<LinearRef> LayerWork::linears(const std::vector<std::string>& modules) {
  return layer_linears(*layer_, l_, modules);
}

void LayerWork::write_back() {
  if (!copy_) return;
  torch::NoGradGuard ng;
  auto params = copy_->named_parameters();
  const std::string prefix = layer_prefix(l_);
  for (const auto& info : model::tp_param_layout(m_)) {
    if (info.name.compare(0, prefix.size(), prefix) != 0) continue;
    const torch::Tensor& full = *params.find(info.name.substr(prefix.size()));
    torch::Tensor local = info.tensor;
    if (info.kind == model::TpParamKind::kReplicated || full.sizes() == local.sizes())
      local.copy_(full);
    else
      local.copy_(full.narrow(info.dim, info.start, local.size(info.dim)));
  }
}

}  // namespace relapse::quant
