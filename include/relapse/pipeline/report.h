// relapse/pipeline/report.h — the human-readable side of a run: the summary
// table printed at the end of `relapse run`, and report.md beside the archive.
//
// report.md holds: what ran (run name, provenance essentials, stage wall
// times), the summary table (one row per model × precision: VerbMem, forget
// KnowMem, retain KnowMem, PrivLeak, share of int codes changed vs Q(target)),
// the paper's retention figure per precision — Σ over the utility-constrained
// unlearned models (methods with a retain term: *_gdr, *_klr; runs of the
// "large" LR regime excluded, they are the contrast) of
// (VerbMem + forget KnowMem) ÷ the same sum for the target at the same
// precision (Zhang et al. 2025, Table 1: ~21% full precision → ~83% int4) —
// and per unlearned model and quantized precision the recovery
// (M(Q(u)) − M(u)) / (M(Q(target)) − M(u)) for forget KnowMem and VerbMem
// (NaN when the denominator is 0), followed by a plain-language reading of the
// pattern (does the target know the forget facts, does retrain, does each
// method forget at full precision, does int4 bring it back, does int8).
#pragma once
#include <string>
#include <vector>

#include "relapse/pipeline/archive.h"
#include "relapse/pipeline/results.h"

namespace relapse::pipeline {

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
// Writes DIR/report.md atomically (DIR created).
void report_write(const RunResult& r, const std::string& dir, const std::string& archive_name);

}  // namespace relapse::pipeline
