// src/results/archive_bind.h — one binder per result type of the run archive
// (internal to the results layer): each names its type's fields, attributes,
// datasets and tables once (layout in relapse/results/archive.h). Walked with
// ArchiveOut by archive_write.cpp, with ArchiveIn by archive_read.cpp; the
// /summary row's binder serves both sides of archive_summary.cpp.
// Defined in archive_bind.cpp for exactly these two walkers.
#pragma once
#include "archive_io.h"
#include "relapse/results/archive.h"

namespace relapse::results {

// A metric's value where it was computed, NaN where not (the summary row and
// the precision group's attributes).
inline double nan_unless(bool has, double v) {
  return has ? v : kNaN;
}

// A model's attributes, its training curve and its SURE mask (not its evaluations).
template <class Io>
void bind_model_info(Io& g, Bound<Io, ModelInfo>& info);
// One evaluation of a model at one precision: metrics, intervals, paired
// differences and the code-change diagnostics.
template <class Io>
void bind_precision(Io& g, Bound<Io, PrecisionEval>& e);
// /provenance's run attributes (besides the Provenance fields), /calibration
// and /stages.
template <class Io>
void bind_run_header(Io& root, Io& prov, Bound<Io, RunResult>& r);
// The /summary table.
template <class Io>
void bind_summary(Io& root, Bound<Io, std::vector<SummaryRow>>& rows);

}  // namespace relapse::results
