// src/report/report_format.h — what report.md, the summary table and the
// figures share (internal to the report layer): the dash for a number that
// was not computed, fixed-decimal numbers, markdown cells, and finding a
// model or a summary row. Every number is printed with a fixed number of
// decimals so that report.md, the terminal table and the figures agree.
#pragma once
#include <string>
#include <vector>

#include "relapse/report/report.h"

namespace relapse::report {

inline constexpr const char* kDash = "\xE2\x80\x93";  // "–" (U+2013): not computed

// v with `decimals` decimals ("%.*f"); kDash when v is not finite.
std::string fmt(double v, int decimals);
// v as "%g" (learning rates); kDash when not finite.
std::string fmt_g(double v);
// A metric (× 100 already): one decimal.
inline std::string fmt_m(double v) {
  return fmt(v, 1);
}
// "v [lo, hi]" (metric decimals); just v when the interval is not finite.
std::string fmt_band(double v, double lo, double hi);
// The same with signs: "+1.2 [−0.3, +2.8]" (a difference).
std::string fmt_signed_band(const GroupValue& d);
// A markdown table cell: '|' escaped, newlines as spaces, "" as kDash.
std::string md_cell(const std::string& s);

// Writes DIR/report.md (markdown) and every figure, each atomically (DIR
// created; figures first, so report.md never links a file not there yet).
void report_files_write(const std::string& dir, const std::vector<ReportFigure>& figures,
                        const std::string& markdown);

// The first model of `kind` ("target", "retrain"); nullptr when none.
const ModelResult* find_kind(const RunResult& r, const std::string& kind);
// The summary row of model × precision; nullptr when none.
const SummaryRow* find_row(const std::vector<SummaryRow>& rows, const std::string& model,
                           const std::string& precision);

}  // namespace relapse::report
