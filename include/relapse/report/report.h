// relapse/report/report.h — the human-readable side of a run: the summary
// table printed at the end of `relapse run`, and report.md beside the archive.
//
// report.md holds: what ran (run name, provenance essentials, stage wall
// times), the summary table (one row per model × precision: VerbMem, forget
// KnowMem, retain KnowMem, PrivLeak, share of int codes changed vs Q(target)),
// the paper's retention figure per precision — Σ over the utility-constrained
// unlearned models (methods with a retain term: *_gdr, *_klr; runs of the
// "large" LR regime and SURE runs excluded, they are the contrast) of
// (VerbMem + forget KnowMem) ÷ the same sum for the target at the same
// precision (Zhang et al. 2025, Table 1: ~21% full precision → ~83% int4) —
// and per unlearned model and quantized precision the recovery
// (M(Q(u)) − M(u)) / (M(Q(target)) − M(u)) for forget KnowMem and VerbMem
// (NaN when the denominator is 0), followed by a plain-language reading of the
// pattern (does the target know the forget facts, does retrain, does each
// method forget at full precision, does int4 bring it back, does int8).
// With bootstrap intervals the summary shows "value [lo, hi]" and a table of
// paired differences quantized − full (report_tables.cpp); with several
// seeds per group a seeds table (mean and interval across seeds); with a
// relearning attack a table comparing it with quantization; SURE runs are
// flagged with their saliency mode. The figures (report_figures.cpp, SVG)
// are embedded as ![caption](file) and written beside report.md.
#pragma once
#include <string>
#include <vector>

#include "relapse/results/archive.h"
#include "relapse/results/results.h"

namespace relapse::report {

// What the report renders: a run's results (relapse/results/results.h).
using results::kNaN;
using results::model_find_eval;
using results::ModelInfo;
using results::ModelResult;
using results::PairedDiff;
using results::PrecisionEval;
using results::run_find_model;
using results::RunResult;
using results::summary_rows;
using results::SummaryBand;
using results::SummaryRow;

// The retention figure at `precision` (NaN when the target or no
// utility-constrained model was evaluated at it). × 100. With n such models
// u_i: Σ_i (VerbMem(u_i) + KnowMem_f(u_i)) / (n · (VerbMem(t) + KnowMem_f(t))),
// i.e. the mean over the models of their share of the target's sum; models
// with a NaN metric at `precision` are left out.
double retention_percent(const RunResult& r, const std::string& precision);
// (M(Q(u)) − M(u)) / (M(Q(target)) − M(u)) for a metric of the summary row
// type ("verbmem_f" | "knowmem_f" | "knowmem_r"), where M(u) is the model at
// "full" and the target is the model of kind "target". A fraction (1 = all
// the way back to the quantized target; report.md shows it × 100); NaN when
// a value is missing / NaN or the denominator is 0. An unknown metric name
// is a programming error (RELAPSE_CHECK).
double recovery(const RunResult& r, const std::string& model, const std::string& precision,
                const std::string& metric);

// Fixed-width text table of summary_rows (for the terminal).
std::string summary_table_text(const RunResult& r);
// report.md as text; archive_name is how the report refers to the archive.
std::string report_markdown(const RunResult& r, const std::string& archive_name);
// Writes DIR/report.md and every figure of report_figures atomically (each
// to NAME.tmp, then renamed; DIR created).
void report_write(const RunResult& r, const std::string& dir, const std::string& archive_name);

// ---- aggregation shared by the tables and the figures (report_tables.cpp)

// A metric of one evaluation by summary name (verbmem_f | knowmem_f |
// knowmem_r | privleak; × 100), NaN when not computed. kInternal for an
// unknown name.
double eval_metric(const PrecisionEval& e, const std::string& metric);
// The unlearning groups (ModelInfo::group, or the name when empty) of the
// unlearned models, in model order.
std::vector<std::string> report_groups(const RunResult& r);
// The models of a group, in model order.
std::vector<const ModelResult*> group_models(const RunResult& r, const std::string& group);
// Every precision of the run in display order: full, 8-bit, int4, the other
// 4-bit schemes, anything else, relearn (first appearance within each class).
std::vector<std::string> report_precisions(const RunResult& r);
// A metric of a group at one precision. One model: its value and bootstrap
// interval (NaN bounds without one); several (seeds): the mean and the
// interval across seeds (recovery_stats.h seed_interval at the bootstrap
// level). n = models with a finite value.
struct GroupValue {
  double mean = kNaN, lo = kNaN, hi = kNaN;
  int64_t n = 0;
};
GroupValue group_metric(const RunResult& r, const std::string& group, const std::string& precision,
                        const std::string& metric);
// The paired difference of a metric, `precision` − full, of a group: per
// model, then the interval across seeds (several), or the one model's
// bootstrap paired interval (NaN bounds without one). × 100.
GroupValue group_paired(const RunResult& r, const std::string& group, const std::string& precision,
                        const std::string& metric);
// The same difference pooled over the seeds: per question, averaged over
// the group's seeds, then the bootstrap over the questions (the run's
// bootstrap settings, stream "bootstrap/pooled/<group>/<precision>/<metric>"
// of its root seed). n = the seeds pooled; n = 0 (NaN) with fewer than two
// seeds with per-question scores. × 100.
GroupValue group_paired_pooled(const RunResult& r, const std::string& group,
                               const std::string& precision, const std::string& metric);
// How much of the forgetting `precision` undoes, relative to what it does
// to the target: per question (Q(model) − model) − (Q(target) − target),
// averaged over the seeds, bootstrap over the questions (stream
// "bootstrap/undone/..."). Above 0: the quantized unlearned model is closer
// to the quantized target than the unlearned model is to the target — the
// paper's recovery, net of what quantization costs the target itself (which
// a small model's int4 does: 45 → 38 forget KnowMem for the quickstart's
// target). n = seeds (one is enough); × 100.
GroupValue group_undone_pooled(const RunResult& r, const std::string& group,
                               const std::string& precision, const std::string& metric);
// What a paired interval supports: above 0 (back), below 0 (lower), both
// sides (no detectable change), no interval.
enum class DoseVerdict { kBack, kNoChange, kLower, kNoInterval };
DoseVerdict dose_verdict(const GroupValue& paired);
// The dose-response section (report_dose.cpp; "" unless a method ran at two
// or more learning rates): forget KnowMem against the LR per precision with
// intervals across seeds, and the conclusion they support.
std::string report_dose_section(const RunResult& r);

// The markdown sections of report_tables.cpp ("" when they do not apply):
// paired differences vs full, seeds, relearning vs quantization, membership
// inference.
std::string report_paired_section(const RunResult& r);
std::string report_seeds_section(const RunResult& r);
std::string report_relearn_section(const RunResult& r);
// The AUC of every membership-inference attack per model × precision (""
// when the archive has none beside Min-K%).
std::string report_mia_section(const RunResult& r);

// ---- figures (report_figures.cpp)

struct ReportFigure {
  std::string
      file;  // name inside DIR: fig_<group>.svg, fig_overview.svg, fig_dw_<model>_<precision>.svg
  std::string caption;  // one line, used as the markdown alt text
  std::string section;  // "methods" | "overview" | "dw"
  std::string svg;      // the document
};
// Every figure of the run (none when there is nothing to plot):
//  - fig_overview.svg: forget KnowMem per group × precision, target / retrain lines;
//  - fig_<group>.svg per unlearning group: forget VerbMem, forget KnowMem and
//    retain KnowMem per precision with error bars and target / retrain lines;
//  - fig_dw_<model>_<precision>.svg: per-layer histogram of |Δw|/Δ (heat
//    map) for every unlearned model at up to two 4-bit precisions with
//    per-layer code-change stats (int4 first, then the first other 4-bit
//    scheme), to keep the count at 2 per model.
//  - fig_dose_<method>.svg per method run at two or more learning rates:
//    forget KnowMem against the LR per precision (report_dose.cpp; embedded
//    by the dose-response section).
std::vector<ReportFigure> report_figures(const RunResult& r);
std::vector<ReportFigure> report_dose_figures(const RunResult& r);

}  // namespace relapse::report
