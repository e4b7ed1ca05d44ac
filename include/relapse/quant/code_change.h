// relapse/quant/code_change.h — diagnostics for the paper's mechanism: when a
// target model and its unlearned version are quantized with the same RTN
// config, how many integer codes differ, and how far each weight moved in
// units of the target's quantization step Δ (|w_unl − w_target| / Δ_target;
// Δ = the group's scale: max|w|/2^(N−1) for sym, (max−min)/(2^N−1) for asym).
// Small unlearning updates (< Δ/2) mostly leave codes unchanged, which is why
// quantization can restore the forgotten knowledge.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "relapse/model/llama.h"
#include "relapse/quant/rtn.h"

namespace relapse::quant {

// Fixed histogram bin edges of |Δw|/Δ: bin i counts ratios in
// [edges[i], edges[i+1]), the last bin [edges.back(), +inf] (it also counts
// weights that moved in a group whose Δ_target is 0, ratio +inf).
// {0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2}
const std::vector<double>& code_change_bin_edges();

struct CodeChangeStats {
  int64_t n_weights = 0;
  int64_t n_codes_changed = 0;  // stored integer code differs
  int64_t n_groups = 0;
  int64_t n_groups_params_changed = 0;  // scale (or asym zero point) differs
  int64_t n_moved = 0;                  // w_unl != w_target (before quantization)
  std::vector<double> bin_edges = code_change_bin_edges();
  std::vector<int64_t> hist = std::vector<int64_t>(code_change_bin_edges().size(), 0);
  double sum_ratio = 0;            // over finite ratios
  int64_t n_finite = 0;            // weights with a finite ratio (Δ_target > 0, or not moved)
  double max_ratio = 0;            // over finite ratios
  int64_t n_zero_delta_moved = 0;  // Δ_target == 0 but moved: ratio +inf (last bin)

  double frac_codes_changed() const { return n_weights ? double(n_codes_changed) / n_weights : 0; }
  double frac_moved() const { return n_weights ? double(n_moved) / n_weights : 0; }
  double mean_ratio() const { return n_finite ? sum_ratio / n_finite : 0; }
};

// From the unquantized weights of both models and their RTN results (same
// config). A code counts as changed when the stored integer code differs
// (for asym that is q, not q − zero); groups whose scale or zero point differ
// are counted separately (their dequantized values shift even where the code
// is the same).
CodeChangeStats code_change_stats(const torch::Tensor& w_target, const torch::Tensor& w_unlearned,
                                  const RtnResult& q_target, const RtnResult& q_unlearned);
// The general form: `bucket` [out, in] is the width, in weight units, of the
// bucket each target weight's code stands for (a uniform quantizer's group
// step; for bitsandbytes' 4-bit code books the gap between the decision
// boundaries around the code times the block's absmax); n_groups and
// n_groups_params_changed count the quantizer's groups and those whose scale
// or zero point differ.
CodeChangeStats code_change_stats_bucket(const torch::Tensor& w_target,
                                         const torch::Tensor& w_unlearned,
                                         const torch::Tensor& codes_target,
                                         const torch::Tensor& codes_unlearned,
                                         const torch::Tensor& bucket, int64_t n_groups,
                                         int64_t n_groups_params_changed);
// A uniform quantizer's step of every weight [out, in]: its group's scale
// (groups from g_idx when set, else column / group_size).
torch::Tensor quant_group_step(const RtnResult& q, int64_t in);
// Quantizes both weights with `c` itself.
CodeChangeStats code_change_stats(const torch::Tensor& w_target, const torch::Tensor& w_unlearned,
                                  const RtnConfig& c, const std::string& name = "");
// Adds `s` into `into` (counts, sums, max).
void code_change_merge(CodeChangeStats& into, const CodeChangeStats& s);

// Over every weight rtn_model_weights(c) selects, without modifying either
// model (same architecture required). Returns the merged stats; per_layer, if
// given, receives (HF name, stats) for each weight.
CodeChangeStats code_change_stats_model(
    const model::LlamaForCausalLM& target, const model::LlamaForCausalLM& unlearned,
    const RtnConfig& c, std::vector<std::pair<std::string, CodeChangeStats>>* per_layer = nullptr);

}  // namespace relapse::quant
