// relapse/results/archive.h — the HDF5 archive of a run (DESIGN.md,
// "Archive"), written with relapse/archive/h5.h. Layout:
//
//   /provenance                    attributes: every Provenance field (strings),
//                                  config_yaml (the resolved config text),
//                                  run_name, total_wall_s; how the bootstrap
//                                  intervals were drawn: bootstrap_resamples
//                                  (i64, 0 = none), bootstrap_level (f64),
//                                  bootstrap_seed (uint64 as decimal text); the
//                                  relearning attack: relearn_steps (i64, 0 =
//                                  none), relearn_lr (f64), relearn_source
//                                  (str), relearn_rows (i64), relearn_from
//                                  (str: full or the quantized precision
//                                  attacked; absent in older archives = full)
//   /calibration                   (only when GPTQ/AWQ calibrated) attributes:
//                                  source, file, n_samples, seq_len, seed
//                                  (decimal text), text_tokens
//   /stages                        table: stage (str), wall_s (f64)
//   /summary                       table, one row per model × precision:
//       model, kind, method, variant, lr_regime, precision, scheme (str);
//       lr, alpha, beta (f64); bits, group_size, steps (i64);
//       verbmem_f, knowmem_f, knowmem_r, privleak, privleak_auc (f64, × 100
//       except privleak_auc), codes_changed_frac, mean_dw_over_delta (f64;
//       NaN where no code-change stats), wall_s (f64);
//       group, seed (i64), saliency (str: "" | module | row | released);
//       for m in verbmem_f, knowmem_f, knowmem_r, privleak (f64, NaN when
//       absent): m_lo, m_hi (bootstrap interval of m), d_m, d_m_lo, d_m_hi
//       (paired difference quantized − full of the same model, and its
//       interval; NaN at "full")
//   /models/<model>/               attributes: kind, method, variant, lr, alpha,
//                                  beta, epochs, steps, lr_regime, checkpoint,
//                                  group, seed (i64, -1 = none), saliency,
//                                  saliency_threshold
//   /models/<model>/curve          table: step, tokens (i64); lr, loss,
//                                  forget_term, retain_term, grad_norm (f64)
//   /models/<model>/saliency_mask/ (only for a SURE run with a mask) attribute
//                                  steps (i64); datasets names (strings, the
//                                  parameters in order), offsets (i64, n+1),
//                                  selected_steps (i32, every parameter's
//                                  per-row counts concatenated: parameter i is
//                                  selected_steps[offsets[i]:offsets[i+1]])
//   /models/<model>/<precision>/   attributes: scheme, bits, group_size,
//                                  verbmem_f, knowmem_f, knowmem_r, privleak,
//                                  privleak_auc, wall_s; with bootstrap
//                                  intervals: ci_metrics (1-D strings, the
//                                  metrics in order) and per metric m:
//                                  m_lo, m_hi, m_ci_value (f64, × 100)
//     verbmem/{prompt,reference,generation} (strings), verbmem/rouge (f64)
//     verbmem/{exact_memorization,extraction_strength} (f64 per item) and
//                                 attributes exact_memorization_mean,
//                                 extraction_strength_mean: OpenUnlearning's
//                                 (eval/muse_metrics.h); absent before them
//     knowmem_forget/{question,answer,generation} (strings), knowmem_forget/rouge,
//                                 attribute mean (× 100)
//     knowmem_retain/...          same
//     privleak/{forget,retain,holdout} (f64 Min-K% scores)
//     privleak/mia/<attack>/{forget,retain,holdout} (f64 per text) and
//                                 attribute auc (forget vs holdout): MUSE's
//                                 other attacks, eval::kMiaAttacks (ppl,
//                                 ppl_lower, ppl_zlib; absent before them)
//                                 and OpenUnlearning's min_k_plus_plus
//                                 (absent in archives before it)
//     vs_full                     (only when non-empty) table: metric (str),
//                                  mean, lo, hi (f64), n (i64): paired
//                                  differences vs the model's "full"
//     code_change/                (only when has_code_change) attributes:
//                                  n_weights, n_codes_changed, frac_codes_changed,
//                                  n_moved, frac_moved, mean_ratio, max_ratio,
//                                  n_groups, n_groups_params_changed,
//                                  n_zero_delta_moved, sum_ratio, n_finite;
//                                  table `layers`: name, n_weights,
//                                  n_codes_changed, frac_codes_changed, n_moved,
//                                  mean_ratio, max_ratio, hist_0 .. hist_<B-1>
//                                  (i64 per-layer |Δw|/Δ histogram), n_groups,
//                                  n_groups_params_changed,
//                                  n_zero_delta_moved, n_finite (i64),
//                                  sum_ratio (f64); `hist` (i64 counts
//                                  of the merged |Δw|/Δ histogram) and
//                                  `bin_edges` (f64)
// Model and precision names must be non-empty single path components
// (no '/', not "." / ".."), unique, and a precision may not be "curve" or
// "saliency_mask" (kInput naming the archive and the name). A curve table is written only
// for a non-empty curve. A metric that was not computed is NaN. Sections absent from a result
// (no verbmem, ...) are absent from the file.
//
// The file is written to PATH.tmp and renamed over PATH at the end
// (H5File's atomic create), so a crash never leaves a half-written archive.
#pragma once
#include <string>
#include <vector>

#include "relapse/archive/h5.h"
#include "relapse/results/results.h"

namespace relapse::results {

// Writes the whole run to `path` atomically (parent directories created).
void archive_write(const RunResult& r, const std::string& path);

// The metrics /summary carries intervals and paired differences for, in
// column order: verbmem_f, knowmem_f, knowmem_r, privleak.
inline constexpr const char* kSummaryCiMetrics[4] = {"verbmem_f", "knowmem_f", "knowmem_r",
                                                     "privleak"};
// Bootstrap interval of one metric and its paired difference vs "full".
struct SummaryBand {
  double lo = kNaN, hi = kNaN;                // m_lo, m_hi
  double d = kNaN, d_lo = kNaN, d_hi = kNaN;  // d_m, d_m_lo, d_m_hi
};

// One row of /summary.
struct SummaryRow {
  std::string model, kind, method, variant, lr_regime, precision, scheme;
  double lr = 0, alpha = 0, beta = 0;
  int64_t bits = 0, group_size = 0, steps = 0;
  double verbmem_f = kNaN, knowmem_f = kNaN, knowmem_r = kNaN, privleak = kNaN, privleak_auc = kNaN;
  double codes_changed_frac = kNaN, mean_dw_over_delta = kNaN, wall_s = 0;
  std::string group;
  int64_t seed = -1;
  std::string saliency;
  SummaryBand band[4];  // indexed like kSummaryCiMetrics
};
// The summary rows of a run (what /summary holds), in models × evals order.
std::vector<SummaryRow> summary_rows(const RunResult& r);
// Reads /summary back from an archive (kInput naming the file when absent).
std::vector<SummaryRow> archive_read_summary(const std::string& path);
// The same from a run archive stored as a group of another file (a study
// archive's /cells/<id>, relapse/study/sweep.h).
std::vector<SummaryRow> archive_read_summary(const archive::H5Group& root);

// Reads a whole archive back into a RunResult (src/results/archive_read.cpp):
// name, provenance, config_yaml, calibration, bootstrap / relearn info,
// stages, every model with its info, curve and saliency mask, and every
// evaluation with its metrics, per-sample scores and texts, intervals,
// paired differences and code-change stats (merged and per layer, with
// histograms). archive_write(archive_read_run(p)) writes the same objects.
// Archives written before a field existed read it as its default (group =
// the model name, seed -1, no intervals). kInput naming the file and the
// missing group / key.
RunResult archive_read_run(const std::string& path);
// The same from a run archive stored as a group of another file (a study
// archive's /cells/<id>); errors name the file and the group's path.
RunResult archive_read_run(const archive::H5Group& root);

}  // namespace relapse::results
