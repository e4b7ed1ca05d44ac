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
    // 0. The four distinct linear inputs (k/v see q's, up sees gate's), and
    //    the layer outputs at full precision.
    std::map<std::string, Feats> feat;
    for (auto& r : all) {
      if (r.kind == "k_proj" || r.kind == "v_proj" || r.kind == "up_proj") continue;
      Feats* f = &feat[r.kind];
      r.set_input_hook([f](const torch::Tensor& x) { f->push_back(x.detach().clone()); });
    }
    std::vector<DecoderInputs> layer_in = in;
    calib_layer_forward(*layer, in, /*update=*/true);
    for (auto& r : all) r.set_input_hook(nullptr);

    // 1. Scale search (AutoAWQ searches every group before applying any).
    struct Group {
      torch::Tensor prev;  // norm weight [in] or previous linear weight [in, *]
      bool prev_is_norm;
      std::vector<std::string> kinds;
      std::function<torch::Tensor(const torch::Tensor&, size_t)> inspect;  // (x, batch) -> out
      torch::Tensor scales;
    };
    auto& at = layer->self_attn;
    auto& mlp = layer->mlp;
    std::vector<Group> groups;
    groups.push_back({layer->input_layernorm->weight,
                      true,
                      {"q_proj", "k_proj", "v_proj"},
                      [&](const torch::Tensor& x, size_t b) {
                        return at->forward(x, layer_in[b].cos, layer_in[b].sin, layer_in[b].mask,
                                           nullptr);
                      },
                      {}});
    if (at->v_proj->weight.sizes() == at->o_proj->weight.sizes())
      groups.push_back({at->v_proj->weight,
                        false,
                        {"o_proj"},
                        [&](const torch::Tensor& x, size_t) { return at->o_proj->forward(x); },
                        {}});
    groups.push_back({layer->post_attention_layernorm->weight,
                      true,
                      {"gate_proj", "up_proj"},
                      [&](const torch::Tensor& x, size_t) { return mlp->forward(x); },
                      {}});
    groups.push_back({mlp->up_proj->weight,
                      false,
                      {"down_proj"},
                      [&](const torch::Tensor& x, size_t) { return mlp->down_proj->forward(x); },
                      {}});
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
    // 2. Apply: the previous op absorbs 1/s, the linears' inputs are x / s.
    std::map<std::string, torch::Tensor> in_scale, out_div;
    for (auto& g : groups) {
      std::vector<torch::Tensor> ws;
      for (const auto& k : g.kinds) ws.push_back(by_kind[k]->weight);
      if (g.prev_is_norm) {
        awq_scale_prev_norm(g.prev, ws, g.scales);
      } else {
        awq_scale_prev_linear(g.prev, ws, g.scales);
        out_div[g.prev.is_same(at->v_proj->weight) ? "v_proj" : "up_proj"] = g.scales;
      }
      for (const auto& k : g.kinds) in_scale[k] = g.scales;
      for (auto& x : feat[g.kinds[0]]) x = x / g.scales.to(x.scalar_type());
    }
    // 3. Clipping on one global token sample (AutoAWQ: every
    //    (T_total / n_sample_token)-th token), except q/k. Each linear's
    //    search is dealt to one rank (round robin) and its max_val broadcast.
    if (o.c.clip) {
      int job = 0;
      for (auto& r : all) {
        if (r.kind == "q_proj" || r.kind == "k_proj") continue;
        if (std::find(o.modules.begin(), o.modules.end(), r.kind) == o.modules.end()) continue;
        const std::string src = model::llama_linear_find(r.kind)->shares_input_with;
        torch::Tensor x_local = cat_rows(feat[src]);
        torch::Tensor total =
            torch::tensor({static_cast<double>(x_local.size(0))}, torch::kFloat64);
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
