// src/quant/gptq_model.cpp — GPTQ over a whole Llama model, layer by layer as
// AutoGPTQ's BaseGPTQForCausalLM.quantize runs it: the inputs of decoder
// layer l are computed by the already-quantized layers 0..l−1; within a layer
// (true_sequential) q/k/v, then o, then gate/up, then down are quantized, each
// subset's Hessians collected with the previous subsets already quantized.
// Also the linear lookup and the result broadcast the other passes share.
#include <algorithm>
#include <map>

#include "relapse/core/error.h"
#include "relapse/core/log.h"
#include "relapse/model/llama_linears.h"
#include "relapse/quant/calibration.h"
#include "relapse/quant/model_passes.h"
#include "relapse/quant/tp_layer.h"

namespace relapse::quant {

namespace {
bool wants(const std::vector<std::string>& modules, const std::string& kind) {
  return std::find(modules.begin(), modules.end(), kind) != modules.end();
}

template <typename Impl>
LinearRef make_ref(const std::string& kind, const std::string& name, Impl* p) {
  RELAPSE_CHECK(p != nullptr, "decoder layer has no linear ", name, " of the expected kind");
  LinearRef r;
  r.kind = kind;
  r.name = name;
  r.weight = p->weight;
  r.set_input_hook = [p](std::function<void(const torch::Tensor&)> f) { p->input_hook = f; };
  r.set_matmul = [p](std::function<torch::Tensor(const torch::Tensor&)> f) {
    p->matmul_override = f;
  };
  return r;
}
}  // namespace

std::vector<LinearRef> layer_linears(model::LlamaForCausalLM& m, int64_t i,
                                     const std::vector<std::string>& modules) {
  return layer_linears(*m->model->layers->ptr<model::LlamaDecoderLayerImpl>(i), i, modules);
}

std::vector<LinearRef> layer_linears(model::LlamaDecoderLayerImpl& layer, int64_t i,
                                     const std::vector<std::string>& modules) {
  // The modules by their path in the layer, as the table names them.
  const auto mods = layer.named_modules(/*name_prefix=*/"", /*include_self=*/false);
  std::vector<LinearRef> out;
  for (const model::LlamaLinear& l : model::llama_linear_table()) {
    if (!wants(modules, l.kind)) continue;
    const std::string name = model::llama_linear_weight_name(i, l);
    const auto* m = mods.find(l.block + "." + l.kind);
    RELAPSE_CHECK(m != nullptr, "decoder layer ", i, " has no ", l.block, ".", l.kind);
    if (l.split == model::LinearSplit::kColumn)
      out.push_back(make_ref(l.kind, name, (*m)->as<model::ColumnParallelLinearImpl>()));
    else
      out.push_back(make_ref(l.kind, name, (*m)->as<model::RowParallelLinearImpl>()));
  }
  return out;
}

void quant_broadcast(LayerQuant& lq, torch::Tensor& w, int owner, Communicator* comm,
                     bool keep_codes) {
  if (!comm || comm->size() == 1) return;
  torch::NoGradGuard no_grad;
  RtnResult& r = lq.result;
  const bool mine = comm->rank() == owner;
  // Header: codes dtype, n_groups, has zeros, has g_idx, group size.
  torch::Tensor head = torch::zeros({5}, torch::kInt64);
  if (mine) {
    head[0] = static_cast<int64_t>(r.codes.defined() ? r.codes.scalar_type() : torch::kUInt8);
    head[1] = r.scales.size(1);
    head[2] = r.zeros.defined() ? 1 : 0;
    head[3] = r.g_idx.defined() ? 1 : 0;
    head[4] = r.group_size;
  }
  comm->broadcast(head, owner);
  const auto codes_t = static_cast<torch::ScalarType>(head[0].item<int64_t>());
  const int64_t out = w.size(0), in = w.size(1), ng = head[1].item<int64_t>();
  r.group_size = head[4].item<int64_t>();
  // The communicators carry fp32/fp64/int32/int64/uint8: send through those.
  auto send = [&](torch::Tensor& t, std::vector<int64_t> shape, torch::ScalarType wire,
                  torch::ScalarType final_t) {
    torch::Tensor buf = mine ? t.to(wire).contiguous() : torch::empty(shape, wire);
    comm->broadcast(buf, owner);
    t = buf.to(final_t);
  };
  torch::Tensor deq = mine ? w.detach().clone() : torch::Tensor();
  send(deq, {out, in}, torch::kFloat32, w.scalar_type());
  if (!mine) w.copy_(deq);
  send(r.scales, {out, ng}, torch::kFloat32, torch::kFloat32);
  if (keep_codes) {
    send(r.codes, {out, in}, torch::kInt32, codes_t);
    if (head[2].item<int64_t>()) send(r.zeros, {out, ng}, torch::kInt32, torch::kUInt8);
    if (head[3].item<int64_t>()) send(r.g_idx, {in}, torch::kInt32, torch::kInt32);
  }
}

std::vector<LayerQuant> gptq_quantize_model(model::LlamaForCausalLM& m,
                                            const torch::Tensor& calib_ids,
                                            const GptqModelOptions& o, Communicator* comm,
                                            bool keep_codes) {
  torch::NoGradGuard no_grad;
  gptq_config_validate(o.c);
  const int rank = comm ? comm->rank() : 0, size = comm ? comm->size() : 1;
  RELAPSE_CHECK_CONFIG(calib_ids.size(0) >= size, "GPTQ: ", calib_ids.size(0),
                       " calibration samples cannot be shared "
                       "by ",
                       size, " ranks (quantize.calibration.n_samples >= ranks)");
  const torch::Tensor ids_local = calib_shard(calib_ids, comm);
  std::vector<DecoderInputs> in = calib_decoder_inputs(m, ids_local, o.batch);
  const int64_t n_local = ids_local.size(0);

  std::vector<LayerQuant> out;
  const int64_t n_layers = static_cast<int64_t>(m->model->layers->size());
  for (int64_t l = 0; l < n_layers; ++l) {
    LayerWork work(m, l);  // TP > 1: layer l gathered whole (tp_layer.h)
    model::LlamaDecoderLayerImpl* layer = &work.layer();
    std::vector<LinearRef> lin = work.linears(o.modules);
    // Subsets quantized in turn; linears of one subset share their input.
    std::vector<std::vector<std::string>> order;
    if (o.true_sequential) {
      for (const model::LlamaLinear& ll : model::llama_linear_table()) {
        if (order.size() <= static_cast<size_t>(ll.sequential_step))
          order.resize(static_cast<size_t>(ll.sequential_step) + 1);
        order[static_cast<size_t>(ll.sequential_step)].push_back(ll.kind);
      }
    } else {
      order = {rtn_linear_kinds()};
    }
    std::vector<LayerQuant> layer_out(lin.size());
    int job = 0;  // round-robin owner of each solve
    for (const auto& subset : order) {
      std::vector<size_t> idx;
      for (size_t j = 0; j < lin.size(); ++j)
        if (std::find(subset.begin(), subset.end(), lin[j].kind) != subset.end()) idx.push_back(j);
      if (idx.empty()) continue;
      // One Hessian per distinct input: q/k/v see the same x, so do gate/up.
      auto input_of = [](const std::string& kind) {
        return model::llama_linear_find(kind)->shares_input_with;
      };
      std::map<std::string, GptqHessian> hs;
      for (size_t j : idx) {
        const std::string key = input_of(lin[j].kind);
        if (hs.count(key)) continue;
        GptqHessian* h = &hs.emplace(key, GptqHessian(lin[j].weight.size(1))).first->second;
        lin[j].set_input_hook([h](const torch::Tensor& x) { h->add(x, x.size(0)); });
      }
      calib_layer_forward(*layer, in, /*update=*/false);
      for (size_t j : idx) lin[j].set_input_hook(nullptr);
      for (auto& [key, h] : hs) h.all_reduce(comm);
      for (size_t k = 0; k < idx.size(); ++k) {
        LinearRef& r = lin[idx[k]];
        const int owner = job++ % size;
        LayerQuant& lq = layer_out[idx[k]];
        lq.name = r.name;
        if (rank == owner) {
          lq.result = gptq_quantize(r.weight, hs.at(input_of(r.kind)).hessian(), o.c, r.name);
          r.weight.copy_(lq.result.dequant);
          lq.result.dequant = torch::Tensor();
        }
        quant_broadcast(lq, r.weight, owner, comm, keep_codes);
        if (!keep_codes) {
          lq.result.codes = torch::Tensor();
          lq.result.zeros = torch::Tensor();
          lq.result.g_idx = torch::Tensor();
        }
      }
    }
    calib_layer_forward(*layer, in, /*update=*/true);  // inputs of layer l+1, from quantized l
    work.write_back();
    for (auto& lq : layer_out) out.push_back(std::move(lq));
  }
  log_debug("GPTQ ", o.c.bits, "-bit, group ", o.c.group_size, ": ", out.size(),
            " weights quantized on ", n_local, " local calibration samples");
  return out;
}

}  // namespace relapse::quant
