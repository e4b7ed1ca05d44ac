// src/quant/awq_model.cpp — AWQ over a whole Llama model, as AutoAWQ's
// AwqQuantizer.quantize runs it (awq/quantize/quantizer.py, Llama's
// get_layers_for_scaling): per decoder layer, the inputs of every linear are
// captured with the full-precision layer (whose outputs are the next layer's
// inputs — AutoAWQ computes them before touching the layer), then
//   1. scales searched for: input_layernorm → q,k,v (inspecting self_attn);
//      v → o (only when v and o have the same shape, i.e. no GQA);
//      post_attention_layernorm → gate,up (inspecting the MLP); up → down;
//   2. all scales applied (the previous op absorbs 1/s, the inputs kept for
//      clipping are divided by s);
//   3. clipping searched for every linear but q/k on the same global token
//      sample on every rank, and applied;
//   4. every linear quantized (awq_pseudo_quantize) and written back.
#include <algorithm>
#include <functional>
#include <map>

#include "relapse/core/error.h"
#include "relapse/core/log.h"
#include "relapse/model/llama_linears.h"
#include "relapse/quant/calibration.h"
#include "relapse/quant/model_passes.h"
#include "relapse/quant/tp_layer.h"

namespace relapse::quant {

namespace {

// Every batch's captured input of one linear.
using Feats = std::vector<torch::Tensor>;

torch::Tensor x_mean_all(const Feats& f, Communicator* comm) {
  AwqActStats st;
  for (const auto& x : f) st.add(x);
  if (comm && comm->size() > 1) awq_act_stats_all_reduce(st, *comm);
  return st.mean();
}

torch::Tensor cat_rows(const Feats& f) {
  std::vector<torch::Tensor> rows;
  for (const auto& x : f) rows.push_back(x.reshape({-1, x.size(-1)}));
  return torch::cat(rows, 0);
}

// One AWQ scaling group of a layer: the op before it (absorbs 1/s), its
// linears (sharing one input), the module whose output the search compares
// (x, batch) -> out, and the scales found.
struct ScaleGroup {
  std::string prev_kind;  // llama_linears.h awq_prev
  torch::Tensor prev;     // norm weight [in] or previous linear weight [in, *]
  bool prev_is_norm = false;
  std::vector<std::string> kinds;
  std::function<torch::Tensor(const torch::Tensor&, size_t)> inspect;
  torch::Tensor scales;
};

// AutoAWQ's Llama get_layers_for_scaling from the linears table: a group per
// linear with an awq_prev, holding the linears that share its input. A norm
// before it: the whole block (self_attn, mlp) is inspected; a linear: the
// group's one linear. v → o only when v and o have the same shape (no GQA).
std::vector<ScaleGroup> awq_scale_groups(model::LlamaDecoderLayerImpl* layer,
                                         const std::vector<DecoderInputs>& layer_in) {
  auto& at = layer->self_attn;
  auto& mlp = layer->mlp;
  std::vector<ScaleGroup> groups;
  for (const auto& lead : model::llama_linear_table()) {
    if (lead.awq_prev.empty()) continue;
    ScaleGroup g;
    g.prev_kind = lead.awq_prev;
    for (const auto& l : model::llama_linear_table())
      if (l.shares_input_with == lead.kind) g.kinds.push_back(l.kind);
    g.prev_is_norm =
        lead.awq_prev == "input_layernorm" || lead.awq_prev == "post_attention_layernorm";
    if (lead.awq_prev == "input_layernorm") {
      g.prev = layer->input_layernorm->weight;
    } else if (lead.awq_prev == "post_attention_layernorm") {
      g.prev = layer->post_attention_layernorm->weight;
    } else if (lead.awq_prev == "v_proj") {
      if (at->v_proj->weight.sizes() != at->o_proj->weight.sizes()) continue;
      g.prev = at->v_proj->weight;
    } else {
      RELAPSE_CHECK(lead.awq_prev == "up_proj", "AWQ: unknown preceding op ", lead.awq_prev);
      g.prev = mlp->up_proj->weight;
    }
    if (lead.block == "self_attn" && g.prev_is_norm) {
      g.inspect = [layer, &layer_in](const torch::Tensor& x, size_t b) {
        return layer->self_attn->forward(x, layer_in[b].cos, layer_in[b].sin, layer_in[b].mask,
                                         nullptr);
      };
    } else if (g.prev_is_norm) {
      g.inspect = [layer](const torch::Tensor& x, size_t) { return layer->mlp->forward(x); };
    } else if (lead.kind == "o_proj") {
      g.inspect = [layer](const torch::Tensor& x, size_t) {
        return layer->self_attn->o_proj->forward(x);
      };
    } else {
      g.inspect = [layer](const torch::Tensor& x, size_t) {
        return layer->mlp->down_proj->forward(x);
      };
    }
    groups.push_back(std::move(g));
  }
  return groups;
}

// 0. Each distinct linear input of layer l (k/v see q's, up sees gate's),
//    captured while the layer runs at full precision; `in` becomes the
//    layer's outputs (the next layer's inputs).
std::map<std::string, Feats> awq_capture_inputs(model::LlamaDecoderLayerImpl* layer,
                                                std::vector<LinearRef>& all,
                                                std::vector<DecoderInputs>& in) {
  std::map<std::string, Feats> feat;
  for (auto& r : all) {
    if (model::llama_linear_find(r.kind)->shares_input_with != r.kind) continue;
    Feats* f = &feat[r.kind];
    r.set_input_hook([f](const torch::Tensor& x) { f->push_back(x.detach().clone()); });
  }
  calib_layer_forward(*layer, in, /*update=*/true);
  for (auto& r : all) r.set_input_hook(nullptr);
  return feat;
}

// 1. Scale search, every group before any is applied (as AutoAWQ).
void awq_search_layer_scales(std::vector<ScaleGroup>& groups, std::map<std::string, Feats>& feat,
                             std::map<std::string, LinearRef*>& by_kind, const AwqModelOptions& o,
                             Communicator* comm, int64_t l) {
  for (auto& g : groups) {
    const Feats& x = feat[g.kinds[0]];
    std::vector<torch::Tensor> ws;
    for (const auto& k : g.kinds) ws.push_back(by_kind[k]->weight);
    auto run_block = [&]() {
      std::vector<torch::Tensor> outs;
      for (size_t b = 0; b < x.size(); ++b) outs.push_back(g.inspect(x[b], b));
      return torch::cat(outs, 0);
    };
    torch::Tensor ref = run_block();
    AwqScaleResult sr = awq_search_scales(ws, x_mean_all(x, comm), run_block, ref, o.c, comm);
    g.scales = sr.scales;
    log_debug("AWQ layer ", l, " ", g.kinds[0], ": ratio ", sr.best_ratio);
  }
}

// 2. Apply: the previous op absorbs 1/s, the linears' inputs are x / s.
//    Records each linear's input scale and each previous linear's divisor.
void awq_apply_layer_scales(std::vector<ScaleGroup>& groups, std::map<std::string, Feats>& feat,
                            std::map<std::string, LinearRef*>& by_kind,
                            std::map<std::string, torch::Tensor>& in_scale,
                            std::map<std::string, torch::Tensor>& out_div) {
  for (auto& g : groups) {
    std::vector<torch::Tensor> ws;
    for (const auto& k : g.kinds) ws.push_back(by_kind[k]->weight);
    if (g.prev_is_norm) {
      awq_scale_prev_norm(g.prev, ws, g.scales);
    } else {
      awq_scale_prev_linear(g.prev, ws, g.scales);
      out_div[g.prev_kind] = g.scales;
    }
    for (const auto& k : g.kinds) in_scale[k] = g.scales;
    for (auto& x : feat[g.kinds[0]]) x = x / g.scales.to(x.scalar_type());
  }
}

// 3. Clipping on one global token sample (AutoAWQ: every
//    (T_total / n_sample_token)-th token), except q/k. Each linear's search
//    is dealt to one rank (round robin) and its max_val broadcast.
void awq_clip_layer(std::vector<LinearRef>& all, std::map<std::string, Feats>& feat,
                    const AwqModelOptions& o, Communicator* comm, int64_t row_offset) {
  const int rank = comm ? comm->rank() : 0, size = comm ? comm->size() : 1;
  int job = 0;
  for (auto& r : all) {
    if (r.kind == "q_proj" || r.kind == "k_proj") continue;
    if (std::find(o.modules.begin(), o.modules.end(), r.kind) == o.modules.end()) continue;
    const std::string src = model::llama_linear_find(r.kind)->shares_input_with;
    torch::Tensor x_local = cat_rows(feat[src]);
    torch::Tensor total = torch::tensor({static_cast<double>(x_local.size(0))}, torch::kFloat64);
    if (comm && size > 1) comm->all_reduce(total, ReduceOp::kSum);
    const int64_t step =
        awq_clip_token_step(static_cast<int64_t>(total.item<double>()), o.c.n_sample_token);
    torch::Tensor xs = calib_gather_every(x_local, row_offset, step, comm);
    const int owner = job++ % size;
    torch::Tensor max_val;
    if (rank == owner) max_val = awq_search_clip(r.weight, xs, o.c).contiguous();
    if (comm && size > 1) {
      const int64_t gs = o.c.group_size == -1 ? r.weight.size(1) : o.c.group_size;
      if (rank != owner)
        max_val = torch::empty({r.weight.size(0), r.weight.size(1) / gs}, torch::kFloat32);
      comm->broadcast(max_val, owner);
    }
    awq_apply_clip(r.weight, max_val);
  }
}

}  // namespace

std::vector<LayerQuant> awq_quantize_model(model::LlamaForCausalLM& m,
                                           const torch::Tensor& calib_ids, const AwqModelOptions& o,
                                           Communicator* comm, bool keep_codes) {
  torch::NoGradGuard no_grad;
  awq_config_validate(o.c);
  const int rank = comm ? comm->rank() : 0, size = comm ? comm->size() : 1;
  RELAPSE_CHECK_CONFIG(calib_ids.size(0) >= size, "AWQ: ", calib_ids.size(0),
                       " calibration samples cannot be shared "
                       "by ",
                       size, " ranks (quantize.calibration.n_samples >= ranks)");
  const torch::Tensor ids_local = calib_shard(calib_ids, comm);
  const int64_t row_offset =
      calib_shard_range(calib_ids.size(0), rank, size).first * calib_ids.size(1);
  std::vector<DecoderInputs> in = calib_decoder_inputs(m, ids_local, o.batch);

  std::vector<LayerQuant> out;
  const int64_t n_layers = static_cast<int64_t>(m->model->layers->size());
  for (int64_t l = 0; l < n_layers; ++l) {
    LayerWork work(m, l);  // TP > 1: layer l gathered whole (tp_layer.h)
    model::LlamaDecoderLayerImpl* layer = &work.layer();
    std::vector<LinearRef> all = work.linears(rtn_linear_kinds());
    std::map<std::string, LinearRef*> by_kind;
    for (auto& r : all) by_kind[r.kind] = &r;
    const std::vector<DecoderInputs> layer_in = in;
    std::map<std::string, Feats> feat = awq_capture_inputs(layer, all, in);
    std::vector<ScaleGroup> groups = awq_scale_groups(layer, layer_in);
    awq_search_layer_scales(groups, feat, by_kind, o, comm, l);
    std::map<std::string, torch::Tensor> in_scale, out_div;
    awq_apply_layer_scales(groups, feat, by_kind, in_scale, out_div);
    if (o.c.clip) awq_clip_layer(all, feat, o, comm, row_offset);
    // 4. Quantize.
    for (auto& r : all) {
      if (std::find(o.modules.begin(), o.modules.end(), r.kind) == o.modules.end()) continue;
      LayerQuant lq;
      lq.name = r.name;
      lq.result = awq_pseudo_quantize(r.weight, o.c, r.name);
      r.weight.copy_(lq.result.dequant);
      lq.result.dequant = torch::Tensor();
      if (in_scale.count(r.kind)) lq.in_scale = in_scale[r.kind];
      if (out_div.count(r.kind)) lq.out_div = out_div[r.kind];
      if (!keep_codes) {
        lq.result.codes = torch::Tensor();
        lq.result.zeros = torch::Tensor();
      }
      out.push_back(std::move(lq));
    }
    work.write_back();  // the scaled norms and the quantized linears
  }
  log_debug("AWQ ", o.c.bits, "-bit, group ", o.c.group_size, ": ", out.size(),
            " weights quantized");
  return out;
}

}  // namespace relapse::quant
