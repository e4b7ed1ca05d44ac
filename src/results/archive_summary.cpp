// src/results/archive_summary.cpp — the archive's flat /summary table: one
// row per model × precision (summary_row, summary_rows), read back by
// archive_read_summary through the same binder archive_write.cpp writes it
// with (bind_summary, archive_bind.cpp).
#include "archive_bind.h"

namespace relapse::results {

namespace {

// The summary row of one model at one precision (NaN where not computed).
SummaryRow summary_row(const ModelInfo& info, const PrecisionEval& e) {
  SummaryRow s;
  s.model = info.name;
  s.kind = info.kind;
  s.method = info.method;
  s.variant = info.variant;
  s.lr_regime = info.lr_regime;
  s.precision = e.precision;
  s.scheme = e.scheme;
  s.lr = info.lr;
  s.alpha = info.alpha;
  s.beta = info.beta;
  s.bits = e.bits;
  s.group_size = e.group_size;
  s.steps = info.steps;
  const auto& m = e.metrics;
  s.verbmem_f = nan_unless(m.has_verbmem, m.verbmem_forget);
  s.knowmem_f = nan_unless(m.has_knowmem, m.knowmem_forget.mean);
  s.knowmem_r = nan_unless(m.has_knowmem, m.knowmem_retain.mean);
  s.privleak = e.privleak;
  s.privleak_auc = nan_unless(m.has_privleak, m.privleak_auc);
  s.codes_changed_frac = nan_unless(e.has_code_change, e.code_change.frac_codes_changed());
  s.mean_dw_over_delta = nan_unless(e.has_code_change, e.code_change.mean_ratio());
  s.wall_s = e.wall_s;
  s.group = info.group;
  s.seed = info.seed;
  s.saliency = info.saliency;
  for (int k = 0; k < 4; ++k) {
    const std::string metric = kSummaryCiMetrics[k];
    SummaryBand& b = s.band[k];
    for (const auto& [name, ci] : e.ci)
      if (name == metric) {
        b.lo = ci.lo;
        b.hi = ci.hi;
      }
    for (const auto& d : e.vs_full)
      if (d.metric == metric) {
        b.d = d.mean;
        b.d_lo = d.lo;
        b.d_hi = d.hi;
      }
  }
  return s;
}

}  // namespace

std::vector<SummaryRow> summary_rows(const RunResult& r) {
  std::vector<SummaryRow> rows;
  for (const auto& m : r.models)
    for (const auto& e : m.evals) rows.push_back(summary_row(m.info, e));
  return rows;
}

std::vector<SummaryRow> archive_read_summary(const std::string& path) {
  archive::H5File f = archive::H5File::open_read(path);
  return archive_read_summary(f.root());
}

std::vector<SummaryRow> archive_read_summary(const archive::H5Group& at) {
  ArchiveIn root(at);
  RELAPSE_CHECK_INPUT(at.has("summary"), "archive '", at.file_path(), "' has no ",
                      at.path() == "/" ? std::string() : at.path(), "/summary table");
  std::vector<SummaryRow> rows;
  bind_summary(root, rows);
  return rows;
}

}  // namespace relapse::results
