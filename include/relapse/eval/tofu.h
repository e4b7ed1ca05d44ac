// relapse/eval/tofu.h — TOFU's forget quality and model utility (Maini et al.
// 2024, "TOFU: A Task of Fictitious Unlearning for LLMs"), computed from the
// per-sample evaluation logs TOFU's evaluate_util.py writes, as its
// aggregate_eval_stat.py aggregates them (github.com/locuslab/tofu at 8c49eee):
//
//   truth ratio R_i  = exp(mean_k perturbed_loss_ik − paraphrased_loss_i)
//                      (per-token mean losses of the k perturbed answers and of
//                      the paraphrased answer, "average_perturb_loss" and
//                      "avg_paraphrased_loss");
//   forget quality   = ks_2samp(R on the forget split of the model,
//                               R on the forget split of the retain model).pvalue;
//   model utility    = harmonic mean of nine numbers, for each of Retain
//                      (eval_log.json), Real Authors and Real World:
//     Prob.       Retain: mean exp(−avg_gt_loss); the others: mean of
//                 p_true / (p_true + Σ_k p_perturbed_k), p = exp(−loss);
//     ROUGE       mean rougeL_recall;
//     Truth Ratio mean max(0, 1 − 1/R)  (forget split: mean min(R, 1/R)).
// Means are numpy's (np_mean). Samples are paired by their index key.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "relapse/eval/ks_test.h"

namespace relapse::eval {

// One TOFU evaluation file's four per-sample arrays, in index order.
struct TofuSplitLog {
  std::vector<double> avg_gt_loss, avg_paraphrased_loss, rougeL_recall;
  std::vector<std::vector<double>> average_perturb_loss;  // [samples][perturbations]
};

// A model's logs by TOFU's file names ("eval_log.json", "eval_log_forget.json",
// "eval_real_author_wo_options.json", "eval_real_world_wo_options.json").
using TofuEvalLog = std::map<std::string, TofuSplitLog>;

// TOFU's eval_log_aggregated.json (the four files under their names), or a
// directory holding the four files. Throws relapse::Error(kInput) naming the
// file and key when one is missing or malformed.
TofuEvalLog tofu_eval_log_read(const std::string& path);

// R_i of every sample of one split.
std::vector<double> tofu_truth_ratios(const TofuSplitLog& s);
// ks_2samp of the forget split's truth ratios: the model's against the retain model's.
KsResult tofu_forget_quality(const TofuEvalLog& model, const TofuEvalLog& retain);

struct TofuUtility {
  // "Prob. Retain", "ROUGE Real Authors", ..., "Truth Ratio Forget": twelve
  // numbers as aggregate_eval_stat.py names them.
  std::map<std::string, double> parts;
  double model_utility = 0;  // harmonic mean of the nine parts without "Forget"
};
TofuUtility tofu_model_utility(const TofuEvalLog& model);

}  // namespace relapse::eval
