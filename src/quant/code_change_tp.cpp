// src/quant/code_change_tp.cpp — bucket diagnostics kept layer by layer over
// the TP ranks (relapse/quant/code_change_tp.h).
#include "relapse/quant/code_change_tp.h"

#include <algorithm>
#include <cstdlib>

#include "relapse/core/error.h"
#include "relapse/dist/communicator.h"
#include "relapse/quant/quantize_model.h"

namespace relapse::quant {

namespace {

// The scalar fields of CodeChangeStats, then the histogram (counts < 2^53
// are exact in fp64).
constexpr int64_t kScalars = 9;

void stats_to_row(const CodeChangeStats& s, torch::Tensor row) {
  const double v[kScalars] = {double(s.n_weights),         double(s.n_codes_changed),
                              double(s.n_groups),          double(s.n_groups_params_changed),
                              double(s.n_moved),           s.sum_ratio,
                              double(s.n_finite),          s.max_ratio,
                              double(s.n_zero_delta_moved)};
  auto a = row.accessor<double, 1>();
  for (int64_t i = 0; i < kScalars; ++i) a[i] = v[i];
  for (size_t i = 0; i < s.hist.size(); ++i) a[kScalars + int64_t(i)] = double(s.hist[i]);
}

CodeChangeStats stats_from_row(const torch::Tensor& row) {
  CodeChangeStats s;
  auto a = row.accessor<double, 1>();
  s.n_weights = int64_t(a[0]);
  s.n_codes_changed = int64_t(a[1]);
  s.n_groups = int64_t(a[2]);
  s.n_groups_params_changed = int64_t(a[3]);
  s.n_moved = int64_t(a[4]);
  s.sum_ratio = a[5];
  s.n_finite = int64_t(a[6]);
  s.max_ratio = a[7];
  s.n_zero_delta_moved = int64_t(a[8]);
  for (size_t i = 0; i < s.hist.size(); ++i) s.hist[i] = int64_t(a[kScalars + int64_t(i)]);
  return s;
}

}  // namespace

bool code_change_tp_keeps(const std::string& name, const model::TpContext& tp) {
  if (tp.size <= 1) return true;
  const std::string prefix = "model.layers.";
  if (name.compare(0, prefix.size(), prefix) != 0) return tp.rank == 0;
  const long layer = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
  return layer % tp.size == tp.rank;
}

std::vector<std::pair<std::string, torch::Tensor>> code_change_tp_weights(
    const model::LlamaForCausalLM& m, const RtnConfig& c) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& [name, w] : rtn_model_weights(m, c)) {
    torch::Tensor whole = rtn_full_weight(m, name, w.detach(), /*unique_rows=*/true);
    if (code_change_tp_keeps(name, m->tp())) out.emplace_back(name, whole.clone());
  }
  return out;
}

void code_change_tp_filter(std::vector<LayerQuant>& q, const model::TpContext& tp) {
  q.erase(std::remove_if(q.begin(), q.end(),
                         [&](const LayerQuant& l) { return !code_change_tp_keeps(l.name, tp); }),
          q.end());
}

CodeChangeStats code_change_tp_gather(
    const std::vector<std::string>& names,
    const std::vector<std::pair<std::string, CodeChangeStats>>& local, const model::TpContext& tp,
    std::vector<std::pair<std::string, CodeChangeStats>>* per_layer) {
  const int64_t width = kScalars + static_cast<int64_t>(code_change_bin_edges().size());
  torch::Tensor rows = torch::zeros({static_cast<int64_t>(names.size()), width}, torch::kFloat64);
  for (const auto& [name, s] : local) {
    auto it = std::find(names.begin(), names.end(), name);
    RELAPSE_CHECK(it != names.end(), "code_change_tp_gather: ", name, " is not a listed weight");
    stats_to_row(s, rows[it - names.begin()]);
  }
  // Each row is non-zero on exactly one rank: the sum is that rank's values.
  if (tp.size > 1) tp.comm->all_reduce(rows, ReduceOp::kSum);
  CodeChangeStats total;
  for (size_t i = 0; i < names.size(); ++i) {
    CodeChangeStats s = stats_from_row(rows[static_cast<int64_t>(i)]);
    code_change_merge(total, s);
    if (per_layer) per_layer->emplace_back(names[i], std::move(s));
  }
  return total;
}

}  // namespace relapse::quant
