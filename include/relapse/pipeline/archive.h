// relapse/pipeline/archive.h — the HDF5 archive of a run (DESIGN.md,
// "Archive"), written with relapse/archive/h5.h. Layout:
//
//   /provenance                    attributes: every Provenance field (strings),
//                                  config_yaml (the resolved config text),
//                                  run_name, total_wall_s
//   /stages                        table: stage (str), wall_s (f64)
//   /summary                       table, one row per model × precision:
//       model, kind, method, variant, lr_regime, precision, scheme (str);
//       lr, alpha, beta (f64); bits, group_size, steps (i64);
//       verbmem_f, knowmem_f, knowmem_r, privleak, privleak_auc (f64, × 100
//       except privleak_auc), codes_changed_frac, mean_dw_over_delta (f64;
//       NaN where no code-change stats), wall_s (f64)
//   /models/<model>/               attributes: kind, method, variant, lr, alpha,
//                                  beta, epochs, steps, lr_regime, checkpoint
//   /models/<model>/curve          table: step, tokens (i64); lr, loss,
//                                  forget_term, retain_term, grad_norm (f64)
//   /models/<model>/<precision>/   attributes: scheme, bits, group_size,
//                                  verbmem_f, knowmem_f, knowmem_r, privleak,
//                                  privleak_auc, wall_s
//     verbmem/{prompt,reference,generation} (strings), verbmem/rouge (f64)
//     knowmem_forget/{question,answer,generation} (strings), knowmem_forget/rouge,
//                                 attribute mean (× 100)
//     knowmem_retain/...          same
//     privleak/{forget,retain,holdout} (f64 Min-K% scores)
//     code_change/                (only when has_code_change) attributes:
//                                  n_weights, n_codes_changed, frac_codes_changed,
//                                  n_moved, frac_moved, mean_ratio, max_ratio,
//                                  n_groups, n_groups_params_changed,
//                                  n_zero_delta_moved;
//                                  table `layers`: name, n_weights,
//                                  n_codes_changed, frac_codes_changed, n_moved,
//                                  mean_ratio, max_ratio; `hist` (i64 counts
//                                  of the merged |Δw|/Δ histogram) and
//                                  `bin_edges` (f64)
// Model and precision names must be non-empty single path components
// (no '/', not "." / ".."), unique, and a precision may not be "curve"
// (kInput naming the archive and the name). A curve table is written only
// for a non-empty curve. A metric that was not computed is NaN. Sections absent from a result
// (no verbmem, ...) are absent from the file.
//
// The file is written to PATH.tmp and renamed over PATH at the end
// (H5File's atomic create), so a crash never leaves a half-written archive.
#pragma once
#include <string>
#include <vector>

#include "relapse/archive/h5.h"
#include "relapse/pipeline/results.h"

namespace relapse::pipeline {

// Writes the whole run to `path` atomically (parent directories created).
void archive_write(const RunResult& r, const std::string& path);

// One row of /summary.
struct SummaryRow {
  std::string model, kind, method, variant, lr_regime, precision, scheme;
  double lr = 0, alpha = 0, beta = 0;
  int64_t bits = 0, group_size = 0, steps = 0;
  double verbmem_f = kNaN, knowmem_f = kNaN, knowmem_r = kNaN, privleak = kNaN, privleak_auc = kNaN;
  double codes_changed_frac = kNaN, mean_dw_over_delta = kNaN, wall_s = 0;
};
// The summary rows of a run (what /summary holds), in models × evals order.
std::vector<SummaryRow> summary_rows(const RunResult& r);
// Reads /summary back from an archive (kInput naming the file when absent).
std::vector<SummaryRow> archive_read_summary(const std::string& path);

}  // namespace relapse::pipeline
