// tests/report/test_report_study.cpp — the study report
// (src/report/report_study.cpp) on hand-built cells: per method, LR and cell
// the pooled quantized − full and the undone difference, each checked
// against eval::bootstrap_mean run here on per-question differences built by
// hand (the same named streams: the study report must show each cell's own
// numbers); the verdicts name the right cells; the figures carry one point
// per cell that ran the LR, at the cell's x.
#include <cmath>
#include <cstdio>

#include "relapse/core/rng.h"
#include "relapse/eval/bootstrap.h"
#include "relapse/report/report_study.h"
#include "test_util.h"

using namespace relapse::results;
using namespace relapse::report;

namespace {

constexpr int kQuestions = 10;

// An evaluation whose forget KnowMem per question is base[i] + shift.
PrecisionEval ev(const std::string& precision, const std::vector<double>& base, double shift) {
  PrecisionEval e;
  e.precision = precision;
  e.bits = precision == "int4" ? 4 : precision == "int8" ? 8 : 0;
  e.metrics.has_knowmem = true;
  double sum = 0;
  for (double b : base) {
    e.metrics.knowmem_forget.scores.push_back(b + shift);
    sum += b + shift;
  }
  e.metrics.knowmem_forget.mean = 100.0 * sum / static_cast<double>(base.size());
  e.metrics.knowmem_retain.mean = 50;
  return e;
}

std::vector<double> question_base(int salt) {
  std::vector<double> b;
  for (int i = 0; i < kQuestions; ++i) b.push_back(0.3 + 0.05 * ((i * 7 + salt) % 5));
  return b;
}

// Per-question int4 − full of a model: shift plus a pattern that differs per
// question (so the bootstrap interval has a width).
double q_shift(double shift, int i, int seed) {
  return shift + 0.02 * ((i + seed) % 3) - 0.02;
}

ModelResult model(const std::string& kind, const std::string& group, double lr, int seed,
                  double full_shift, double int4_shift, int salt) {
  ModelResult m;
  m.info.kind = kind;
  m.info.group = group;
  m.info.name = kind == "unlearned" ? group + "_s" + std::to_string(seed) : group;
  m.info.method = kind == "unlearned" ? "ga_gdr" : "";
  m.info.lr = lr;
  m.info.lr_regime = kind == "unlearned" ? "small" : "";
  m.info.seed = kind == "unlearned" ? seed : -1;
  const std::vector<double> base = question_base(salt);
  PrecisionEval full = ev("full", base, full_shift);
  PrecisionEval q = ev("int4", base, full_shift);
  double sum = 0;
  for (int i = 0; i < kQuestions; ++i) {
    q.metrics.knowmem_forget.scores[i] += q_shift(int4_shift, i, seed);
    sum += q.metrics.knowmem_forget.scores[i];
  }
  q.metrics.knowmem_forget.mean = 100.0 * sum / kQuestions;
  m.evals = {full, q};
  return m;
}

// A cell: the target (int4 costs it target_cost per question) and ga_gdr
// at the LRs given, two seeds each, int4 moving every question by `back`.
RunResult cell_run(double target_cost, const std::vector<double>& lrs, double back) {
  RunResult r;
  r.bootstrap = {500, 0.95, 11};
  r.models.push_back(model("target", "target", 0, 0, 0.2, target_cost, 3));
  for (double lr : lrs) {
    char g[32];
    std::snprintf(g, sizeof g, "ga_gdr_lr%g", lr);
    for (int seed : {1, 2}) r.models.push_back(model("unlearned", g, lr, seed, 0, back, 3));
  }
  return r;
}

// The reference: per question, int4 − full averaged over the two seeds
// (minus the target's own for `undone`), × 100, and its bootstrap.
relapse::eval::Interval reference(const RunResult& r, const std::string& group, bool undone) {
  std::vector<double> d(kQuestions, 0.0);
  for (const auto& m : r.models) {
    if (m.info.group != group) continue;
    for (int i = 0; i < kQuestions; ++i)
      d[i] += 50.0 * (m.evals[1].metrics.knowmem_forget.scores[i] -
                      m.evals[0].metrics.knowmem_forget.scores[i]);
  }
  if (undone)
    for (int i = 0; i < kQuestions; ++i)
      d[i] -= 100.0 * (r.models[0].evals[1].metrics.knowmem_forget.scores[i] -
                       r.models[0].evals[0].metrics.knowmem_forget.scores[i]);
  relapse::eval::BootstrapOptions o;
  o.resamples = 500;
  o.level = 0.95;
  o.seed = relapse::RngStreams(11).seed_of(
      std::string("bootstrap/") + (undone ? "undone/" : "pooled/") + group + "/int4/knowmem_f");
  return relapse::eval::bootstrap_mean(d, o);
}

std::string band(const relapse::eval::Interval& iv) {
  auto s = [](double x) {
    char b[32];
    std::snprintf(b, sizeof b, "%s%.1f", x > 0 ? "+" : "", x);
    return std::string(b);
  };
  return s(iv.value) + " [" + s(iv.lo) + ", " + s(iv.hi) + "]";
}

Study two_cells() {
  Study s;
  s.name = "size";
  s.archive_name = "study.h5";
  s.x_label = "parameters (millions)";
  s.log_x = true;
  s.cells_total = 3;
  // The small cell: int4 costs the target little and brings 0.15 back; the
  // larger one: int4 costs the target 0.1 and brings nothing back. They
  // share LR 1e-4; 2e-4 ran in the small cell only, 5e-5 in the base only.
  s.cells.push_back(
      {"aaa", "model.preset=small", 3.2, "3.2M", cell_run(-0.01, {1e-4, 2e-4}, 0.15)});
  s.cells.push_back({"bbb", "model.preset=base", 11, "11M", cell_run(-0.1, {5e-5, 1e-4}, 0.0)});
  return s;
}

size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST(ReportStudy, TablesEachCellsPooledAndUndoneIntervals) {
  const Study s = two_cells();
  const std::string md = study_markdown(s);
  EXPECT_NE(md.find("2 of 3 cells done"), std::string::npos) << md;
  EXPECT_NE(md.find("## ga_gdr across the study"), std::string::npos) << md;
  const struct {
    size_t cell;
    const char* group;
    const char* lr;
  } rows[] = {{0, "ga_gdr_lr0.0001", "0.0001"},
              {0, "ga_gdr_lr0.0002", "0.0002"},
              {1, "ga_gdr_lr0.0001", "0.0001"},
              {1, "ga_gdr_lr5e-05", "5e-05"}};
  for (const auto& row : rows) {
    const RunResult& r = s.cells[row.cell].run;
    const std::string lead =
        std::string("| ") + row.lr + " | " + s.cells[row.cell].label + " | 2 | ";
    const size_t at = md.find(lead);
    ASSERT_NE(at, std::string::npos) << lead << "\n" << md;
    const std::string line = md.substr(at, md.find('\n', at) - at);
    SCOPED_TRACE(line);
    EXPECT_NE(line.find(band(reference(r, row.group, false))), std::string::npos);
    EXPECT_NE(line.find(band(reference(r, row.group, true))), std::string::npos);
  }
  // The base cell did not run 2e-4, the small one 5e-5: no rows for them.
  EXPECT_EQ(md.find("| 0.0002 | model.preset=base"), std::string::npos);
  EXPECT_EQ(md.find("| 5e-05 | model.preset=small"), std::string::npos);
  // The cells table: each target's full and int4 forget KnowMem, and x.
  EXPECT_NE(md.find("| `aaa` | model.preset=small | 3.2M | "), std::string::npos) << md;
}

TEST(ReportStudy, VerdictsNameTheCellsTheirIntervalsSupport) {
  const Study s = two_cells();
  // Small cell: +15 points on every question (± 2): back. Base cell: int4
  // moves the unlearned models by −2..+0 while the target loses 10: undone.
  ASSERT_GT(reference(s.cells[0].run, "ga_gdr_lr0.0001", false).lo, 0);
  ASSERT_LT(reference(s.cells[1].run, "ga_gdr_lr0.0001", false).lo, 0);
  ASSERT_GT(reference(s.cells[1].run, "ga_gdr_lr0.0001", true).lo, 0);
  const std::string md = study_markdown(s);
  EXPECT_NE(md.find("- **ga_gdr, LR 0.0001, int4**: int4 − full above 0 in model.preset=small; "
                    "includes 0 in model.preset=base; undone above 0 in model.preset=small, "
                    "model.preset=base."),
            std::string::npos)
      << md;
}

TEST(ReportStudy, FiguresPlotEachCellAtItsX) {
  const Study s = two_cells();
  const std::vector<ReportFigure> figs = study_figures(s);
  ASSERT_EQ(figs.size(), 2u);  // ga_gdr at int4 (the fewest bits): diff and undone
  EXPECT_EQ(figs[0].file, "fig_study_ga_gdr_int4_diff.svg");
  EXPECT_EQ(figs[1].file, "fig_study_ga_gdr_int4_undone.svg");
  for (const auto& f : figs) {
    SCOPED_TRACE(f.file);
    // LR 1e-4 at both cells, 2e-4 at the small cell, 5e-5 at the base cell.
    EXPECT_EQ(count(f.svg, "2 seeds, small LR"), 4u) << f.svg;
    EXPECT_NE(f.svg.find("parameters (millions) 3.2:"), std::string::npos);
    EXPECT_NE(f.svg.find("parameters (millions) 11:"), std::string::npos);
  }
  // The diff figure's small-cell point at 1e-4 carries the pooled mean.
  char v[32];
  std::snprintf(v, sizeof v, "%.1f", reference(s.cells[0].run, "ga_gdr_lr0.0001", false).value);
  EXPECT_NE(figs[0].svg.find(std::string("3.2: ") + v), std::string::npos) << figs[0].svg;
}

TEST(ReportStudy, NoDoseCurveSaysSo) {
  Study s = two_cells();
  for (auto& c : s.cells) c.run = cell_run(-0.1, {1e-4}, 0.0);  // one LR per cell
  s.cells[0].run.models.resize(1);                              // the target only
  EXPECT_TRUE(study_figures(s).empty());
  const std::string md = study_markdown(s);
  EXPECT_NE(md.find("No cell ran a method at two or more learning rates"), std::string::npos) << md;
}
