// src/quant/code_change.cpp — share of RTN codes that differ between a target
// and an unlearned model, and the distribution of |w_unl − w_target| / Δ_target.
#include "relapse/quant/code_change.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "relapse/core/error.h"
#include "relapse/quant/quantize_model.h"

namespace relapse::quant {

const std::vector<double>& code_change_bin_edges() {
  static const std::vector<double> edges = {0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2};
  return edges;
}

CodeChangeStats code_change_stats_bucket(const torch::Tensor& w_target,
                                         const torch::Tensor& w_unlearned,
                                         const torch::Tensor& codes_target,
                                         const torch::Tensor& codes_unlearned,
                                         const torch::Tensor& bucket, int64_t n_groups,
                                         int64_t n_groups_params_changed) {
  torch::NoGradGuard no_grad;
  RELAPSE_CHECK(w_target.sizes() == w_unlearned.sizes(), "code_change_stats: weight shapes differ");
  RELAPSE_CHECK(codes_target.defined() && codes_unlearned.defined(),
                "code_change_stats: quantization results without codes");
  RELAPSE_CHECK(codes_target.sizes() == w_target.sizes() &&
                    codes_unlearned.sizes() == w_target.sizes() &&
                    bucket.sizes() == w_target.sizes(),
                "code_change_stats: codes / bucket widths do not match the weights");
  CodeChangeStats s;
  s.n_weights = w_target.numel();
  s.n_codes_changed = codes_target.ne(codes_unlearned).sum().item<int64_t>();
  s.n_groups = n_groups;
  s.n_groups_params_changed = n_groups_params_changed;

  torch::Tensor wt = w_target.detach().to(torch::kFloat64);
  torch::Tensor wu = w_unlearned.detach().to(torch::kFloat64);
  torch::Tensor diff = (wu - wt).abs();
  torch::Tensor delta = bucket.to(torch::kFloat64);
  torch::Tensor moved = diff.gt(0);
  s.n_moved = moved.sum().item<int64_t>();
  torch::Tensor zero_delta = delta.eq(0);
  s.n_zero_delta_moved = (zero_delta & moved).sum().item<int64_t>();

  // Ratio: diff/Δ; 0 where unmoved; +inf where Δ == 0 and moved.
  torch::Tensor ratio = torch::where(zero_delta, torch::zeros_like(diff), diff / delta);
  ratio = torch::where(zero_delta & moved,
                       torch::full_like(diff, std::numeric_limits<double>::infinity()), ratio);
  torch::Tensor finite = torch::isfinite(ratio);
  s.n_finite = finite.sum().item<int64_t>();
  torch::Tensor fin = ratio.masked_select(finite);
  // Summed sequentially, not by torch's sum, whose split over threads changes
  // the last bits with the thread count: the archive must not depend on how
  // many ranks (hence threads per rank) produced it.
  s.sum_ratio = 0.0;
  if (fin.numel()) {
    torch::Tensor c = fin.contiguous();
    const double* p = c.data_ptr<double>();
    for (int64_t k = 0; k < c.numel(); ++k) s.sum_ratio += p[k];
  }
  s.max_ratio = fin.numel() ? fin.max().item<double>() : 0.0;

  const auto& e = s.bin_edges;
  for (size_t i = 0; i < e.size(); ++i) {
    torch::Tensor in_bin = ratio.ge(e[i]);
    if (i + 1 < e.size()) in_bin = in_bin & ratio.lt(e[i + 1]);
    s.hist[i] = in_bin.sum().item<int64_t>();
  }
  return s;
}

CodeChangeStats code_change_stats(const torch::Tensor& w_target, const torch::Tensor& w_unlearned,
                                  const RtnResult& q_target, const RtnResult& q_unlearned) {
  torch::NoGradGuard no_grad;
  RELAPSE_CHECK(q_target.codes.defined() && q_unlearned.codes.defined(),
                "code_change_stats: RTN results without codes");
  RELAPSE_CHECK(q_target.group_size == q_unlearned.group_size &&
                    q_target.scales.sizes() == q_unlearned.scales.sizes(),
                "code_change_stats: RTN results do not match each other");
  torch::Tensor pchg = q_target.scales.ne(q_unlearned.scales);
  if (q_target.zeros.defined() && q_unlearned.zeros.defined())
    pchg = pchg | q_target.zeros.ne(q_unlearned.zeros);
  return code_change_stats_bucket(w_target, w_unlearned, q_target.codes, q_unlearned.codes,
                                  quant_group_step(q_target, w_target.size(1)),
                                  q_target.scales.numel(), pchg.sum().item<int64_t>());
}

torch::Tensor quant_group_step(const RtnResult& q, int64_t in) {
  const int64_t out = q.scales.size(0);
  torch::Tensor gidx = q.g_idx.defined()
                           ? q.g_idx.to(torch::kInt64)
                           : torch::arange(in, torch::kInt64).div(q.group_size, "floor");
  return q.scales.to(torch::kFloat32).index_select(1, gidx).reshape({out, in});
}

CodeChangeStats code_change_stats(const torch::Tensor& w_target, const torch::Tensor& w_unlearned,
                                  const RtnConfig& c, const std::string& name) {
  RELAPSE_CHECK_INPUT(w_target.sizes() == w_unlearned.sizes(), "target and unlearned ",
                      name.empty() ? std::string("weights") : name,
                      " differ in shape: ", w_target.sizes(), " vs ", w_unlearned.sizes());
  RtnResult qt = rtn_quantize(w_target, c, name);
  RtnResult qu = rtn_quantize(w_unlearned, c, name);
  return code_change_stats(w_target, w_unlearned, qt, qu);
}

void code_change_merge(CodeChangeStats& into, const CodeChangeStats& s) {
  RELAPSE_CHECK(into.bin_edges == s.bin_edges, "code_change_merge: different bin edges");
  into.n_weights += s.n_weights;
  into.n_codes_changed += s.n_codes_changed;
  into.n_moved += s.n_moved;
  into.n_groups += s.n_groups;
  into.n_groups_params_changed += s.n_groups_params_changed;
  for (size_t i = 0; i < into.hist.size(); ++i) into.hist[i] += s.hist[i];
  into.sum_ratio += s.sum_ratio;
  into.n_finite += s.n_finite;
  into.max_ratio = std::max(into.max_ratio, s.max_ratio);
  into.n_zero_delta_moved += s.n_zero_delta_moved;
}

CodeChangeStats code_change_stats_model(
    const model::LlamaForCausalLM& target, const model::LlamaForCausalLM& unlearned,
    const RtnConfig& c, std::vector<std::pair<std::string, CodeChangeStats>>* per_layer) {
  auto wt = rtn_model_weights(target, c);
  auto wu = rtn_model_weights(unlearned, c);
  RELAPSE_CHECK_INPUT(wt.size() == wu.size(),
                      "target and unlearned models differ in architecture (", wt.size(), " vs ",
                      wu.size(), " quantizable weights)");
  CodeChangeStats total;
  for (size_t i = 0; i < wt.size(); ++i) {
    RELAPSE_CHECK_INPUT(wt[i].first == wu[i].first,
                        "target and unlearned models differ: ", wt[i].first, " vs ", wu[i].first);
    // Under TP the whole weights are compared (each KV head once), as at TP = 1.
    CodeChangeStats s = code_change_stats(
        rtn_full_weight(target, wt[i].first, wt[i].second, true),
        rtn_full_weight(unlearned, wu[i].first, wu[i].second, true), c, wt[i].first);
    code_change_merge(total, s);
    if (per_layer) per_layer->emplace_back(wt[i].first, std::move(s));
  }
  return total;
}

}  // namespace relapse::quant
