// relapse/report/report_study.h — the report of a study (a sweep's done
// cells, relapse/study/sweep.h): OUT/report.md and its figures beside
// study.h5. Where each cell's report.md shows one run's dose-response, this
// one sets the cells side by side: per method and learning rate, forget
// KnowMem at full precision and quantized, the paired difference
// quantized − full pooled over the seeds and the same net of the target's
// own (group_paired_pooled, group_undone_pooled: the intervals each cell's
// report shows), the cells on one axis (the parameter count for a size
// sweep), and what the intervals support cell by cell. Figures: per method
// and quantized precision of the fewest bits, each of those two differences
// against the axis, one line per learning rate.
#pragma once
#include <string>
#include <vector>

#include "relapse/report/report.h"

namespace relapse::report {

// One done cell as the study report reads it.
struct StudyCell {
  std::string id;      // the cell id
  std::string label;   // its axis values, "model.preset=small"
  double x = kNaN;     // its position on the figures' x axis (NaN: its order, 1..n)
  std::string x_text;  // how the tables show x ("3.2M"; "" = none)
  RunResult run;
};

struct Study {
  std::string name;          // the sweep's name
  std::string archive_name;  // how report.md refers to the study archive
  std::string x_label;       // what x is ("parameters (millions)"; "" = "cell")
  bool log_x = false;
  int64_t cells_total = 0;       // cells of the sweep, done or not
  std::vector<StudyCell> cells;  // the done cells, in sweep order
};

// The figures (none without a method run at two or more LRs in some cell),
// per method and quantized precision of the fewest bits:
// fig_study_<method>_<precision>_diff.svg (precision − full of forget
// KnowMem, pooled over the seeds) and ..._undone.svg (the same net of the
// target's own), each against x, one line per LR, with their intervals.
std::vector<ReportFigure> study_figures(const Study& s);
// report.md of the study as text.
std::string study_markdown(const Study& s);
// Writes DIR/report.md and every figure atomically (DIR created).
void study_report_write(const Study& s, const std::string& dir);

}  // namespace relapse::report
