// tests/report/test_report_dose.cpp — the dose-response section of report.md
// (src/report/report_dose.cpp): forget KnowMem against the learning rate per
// precision, the paired quantized − full difference across seeds and the
// conclusion it supports. The intervals are scipy's (values below, made with
// scipy.stats.t.interval(0.95, n - 1, loc=mean, scale=std(ddof=1)/sqrt(n))):
//   diffs 10, 12, 14      -> 12.0 [7.0317245764993395, 16.96827542350066]   back
//   diffs -1, 0.5, 1      -> 0.1667 [-2.418905839604465, 2.752239172937798] no change
//   diffs -5, -6, -7.5    -> -6.1667 [-9.292471406354554, -3.040861926978779] lower
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "relapse/core/rng.h"
#include "relapse/eval/bootstrap.h"
#include "relapse/report/report.h"
#include "test_util.h"

using namespace relapse::results;
using namespace relapse::report;

namespace {

PrecisionEval ev(const std::string& precision, double kf, double kr = 50) {
  PrecisionEval e;
  e.precision = precision;
  e.bits = precision == "int4" ? 4 : 0;
  e.scheme = e.bits ? "rtn_sym" : "";
  e.metrics.has_knowmem = true;
  e.metrics.knowmem_forget.mean = kf;
  e.metrics.knowmem_retain.mean = kr;
  return e;
}

ModelResult unlearned(const std::string& method, double lr, const std::string& regime, int seed,
                      double full_kf, double int4_kf) {
  ModelResult m;
  char g[64];
  std::snprintf(g, sizeof g, "%s_lr%g", method.c_str(), lr);
  m.info.group = g;
  m.info.name = m.info.group + "_s" + std::to_string(seed);
  m.info.kind = "unlearned";
  m.info.method = method;
  m.info.lr = lr;
  m.info.lr_regime = regime;
  m.info.seed = seed;
  if (!std::isnan(full_kf)) m.evals = {ev("full", full_kf), ev("int4", int4_kf)};
  return m;
}

RunResult dose_run() {
  RunResult r;
  r.bootstrap.level = 0.95;
  ModelResult t;
  t.info.name = t.info.group = "target";
  t.info.kind = "target";
  t.evals = {ev("full", 60, 70), ev("int4", 55, 68)};
  r.models.push_back(t);
  const double full[3][3] = {{20, 22, 18}, {10, 11, 12}, {61, 62, 63}};
  const double diff[3][3] = {{10, 12, 14}, {-1, 0.5, 1}, {-5, -6, -7.5}};
  const double lrs[3] = {3e-5, 1e-5, 1e-4};  // out of order: the section sorts by LR
  const int row[3] = {1, 0, 2};              // lrs[i] holds the numbers of row[i]
  for (int i = 0; i < 3; ++i)
    for (int s = 0; s < 3; ++s) {
      const int k = row[i];
      r.models.push_back(unlearned("ga_gdr", lrs[i], lrs[i] > 5e-5 ? "large" : "small", s + 1,
                                   full[k][s], full[k][s] + diff[k][s]));
    }
  // One LR only: no curve. A SURE run and a diverged run: not points of it.
  r.models.push_back(unlearned("npo_gdr", 1e-5, "small", 1, 15, 40));
  r.models.push_back(unlearned("ga_gdr", 5e-3, "sure", 1, 5, 50));
  r.models.push_back(unlearned("ga_gdr", 2e-5, "small", 1, std::nan(""), 0));
  return r;
}

}  // namespace

TEST(ReportDose, PairedIntervalsAcrossSeedsMatchScipy) {
  const RunResult r = dose_run();
  const GroupValue back = group_paired(r, "ga_gdr_lr1e-05", "int4", "knowmem_f");
  EXPECT_EQ(back.n, 3);
  EXPECT_NEAR(back.mean, 12.0, 1e-12);
  EXPECT_NEAR(back.lo, 7.0317245764993395, 1e-9);  // t quantile: ~1e-12 relative
  EXPECT_NEAR(back.hi, 16.96827542350066, 1e-9);
  const GroupValue none = group_paired(r, "ga_gdr_lr3e-05", "int4", "knowmem_f");
  EXPECT_NEAR(none.lo, -2.418905839604465, 1e-9);
  EXPECT_NEAR(none.hi, 2.752239172937798, 1e-9);
  const GroupValue lower = group_paired(r, "ga_gdr_lr0.0001", "int4", "knowmem_f");
  EXPECT_NEAR(lower.lo, -9.292471406354554, 1e-9);
  EXPECT_NEAR(lower.hi, -3.040861926978779, 1e-9);
  EXPECT_EQ(dose_verdict(back), DoseVerdict::kBack);
  EXPECT_EQ(dose_verdict(none), DoseVerdict::kNoChange);
  EXPECT_EQ(dose_verdict(lower), DoseVerdict::kLower);
}

TEST(ReportDose, OneSeedUsesTheBootstrapPairedInterval) {
  RunResult r = dose_run();
  ModelResult* npo = nullptr;
  for (auto& m : r.models)
    if (m.info.method == "npo_gdr") npo = &m;
  ASSERT_NE(npo, nullptr);
  const GroupValue bare = group_paired(r, npo->info.group, "int4", "knowmem_f");
  EXPECT_EQ(bare.n, 1);
  EXPECT_DOUBLE_EQ(bare.mean, 25.0);
  EXPECT_EQ(dose_verdict(bare), DoseVerdict::kNoInterval);
  npo->evals[1].vs_full.push_back({"knowmem_f", 25.0, -1.0, 51.0, 30});  // × 100 already
  const GroupValue boot = group_paired(r, npo->info.group, "int4", "knowmem_f");
  EXPECT_DOUBLE_EQ(boot.lo, -1.0);
  EXPECT_DOUBLE_EQ(boot.hi, 51.0);
  EXPECT_EQ(dose_verdict(boot), DoseVerdict::kNoChange);
}

TEST(ReportDose, SectionTabulatesTheCurveAndStatesWhatTheIntervalsSupport) {
  const RunResult r = dose_run();
  const std::string s = report_dose_section(r);
  SCOPED_TRACE(s);
  if (std::getenv("SHOW")) std::puts(s.c_str());
  EXPECT_NE(s.find("### ga_gdr"), std::string::npos);
  EXPECT_EQ(s.find("### npo_gdr"), std::string::npos);  // one LR: no curve
  EXPECT_EQ(s.find("0.005"), std::string::npos);        // the SURE run is not a point
  EXPECT_EQ(s.find("| 2e-05 |"), std::string::npos);    // nor the diverged one
  // Rows in LR order, full = mean of 20, 22, 18 with its t interval [15.03, 24.97].
  const size_t a = s.find("| 1e-05 | small | 3 | 20.0 [15.0, 25.0] | 32.0");
  const size_t b = s.find("| 3e-05 | small | 3 |");
  const size_t c = s.find("| 0.0001 | large | 3 |");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(c, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_NE(s.find("+12.0 [+7.0, +17.0]"), std::string::npos);
  EXPECT_NE(s.find("+0.2 [-2.4, +2.8]"), std::string::npos);
  EXPECT_NE(s.find("-6.2 [-9.3, -3.0]"), std::string::npos);
  EXPECT_NE(s.find("forgotten knowledge comes back at LR 1e-05 ("), std::string::npos);
  EXPECT_NE(s.find("no detectable change at LR 3e-05 ("), std::string::npos);
  EXPECT_NE(s.find("lower after quantization at LR 0.0001 — 3 seeds"), std::string::npos);
  EXPECT_NE(s.find("At LR 0.0001 ga_gdr did not forget at full precision"), std::string::npos);
  EXPECT_NE(report_markdown(r, "relapse.h5").find("## Dose–response"), std::string::npos);
}

TEST(ReportDose, NoSectionWithoutTwoLearningRates) {
  RunResult r = dose_run();
  std::vector<ModelResult> keep;
  for (auto& m : r.models)
    if (m.info.method != "ga_gdr") keep.push_back(m);
  r.models = keep;
  EXPECT_EQ(report_dose_section(r), "");
}

// fig_dose_<method>.svg: one line per precision through the LR points (the
// values as tooltips and data-value), the target and retrain as references,
// and the verdicts in the caption; embedded by the section.
TEST(ReportDose, FigurePlotsEveryPointAndStatesTheVerdicts) {
  const RunResult r = dose_run();
  const std::vector<ReportFigure> figs = report_figures(r);
  const ReportFigure* f = nullptr;
  for (const auto& x : figs)
    if (x.file == "fig_dose_ga_gdr.svg") f = &x;
  ASSERT_NE(f, nullptr);
  for (const auto& x : figs) EXPECT_NE(x.file, "fig_dose_npo_gdr.svg");
  const std::string& svg = f->svg;
  // DOSE_SVG=FILE keeps the figure to look at (rsvg-convert FILE -o FILE.png).
  if (const char* out = std::getenv("DOSE_SVG")) relapse::test::write_file(out, svg);
  SCOPED_TRACE(svg);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("data-series=\"full\""), std::string::npos);
  EXPECT_NE(svg.find("data-series=\"int4\""), std::string::npos);
  // full at 1e-05: 20.0 [15.0, 25.0]; int4 at 0.0001: 55.8.
  EXPECT_NE(svg.find("full at learning rate 1e-05: 20.0 [15.0, 25.0] (3 seeds, small LR)"),
            std::string::npos);
  EXPECT_NE(svg.find("int4 at learning rate 0.0001: 55.8"), std::string::npos);
  size_t points = 0;
  for (size_t p = svg.find("class=\"point\""); p != std::string::npos;
       p = svg.find("class=\"point\"", p + 1))
    ++points;
  EXPECT_EQ(points, 6u);  // 3 LRs × (full, int4)
  EXPECT_NE(svg.find("target (full) 60.0"), std::string::npos);
  EXPECT_NE(svg.find("int4 − full: back at LR 1e-05; no change at 3e-05; lower at 0.0001."),
            std::string::npos);
  EXPECT_NE(report_dose_section(r).find("](fig_dose_ga_gdr.svg)"), std::string::npos);
}

// Pooled over the seeds: per question, the seeds' (int4 − full) averaged,
// then the bootstrap over the questions (eval::bootstrap_mean, checked
// against Python in tests/eval) on its named stream of the root seed. The
// verdict reads it: here the seeds disagree (the across-seed interval
// includes 0) while every question moves up on average.
TEST(ReportDose, PooledIntervalResamplesTheQuestionsOverTheSeeds) {
  RunResult r = dose_run();
  r.bootstrap = {2000, 0.95, 77};
  const double up[3] = {0.02, 0.30, 0.04};  // per-seed shift of every question
  std::vector<double> expect(8, 0.0);
  int s = 0;
  for (auto& m : r.models) {
    if (m.info.group != "ga_gdr_lr3e-05") continue;
    std::vector<double> full, q;
    for (int i = 0; i < 8; ++i) {
      full.push_back(0.1 * (i % 5) + 0.01 * s);
      q.push_back(full.back() + up[s] + 0.05 * ((i + s) % 3) - 0.05);
      expect[i] += (q.back() - full.back()) * 100.0 / 3.0;
    }
    m.evals[0].metrics.knowmem_forget.scores = full;
    m.evals[1].metrics.knowmem_forget.scores = q;
    m.evals[1].metrics.knowmem_forget.mean = m.evals[0].metrics.knowmem_forget.mean + 100 * up[s];
    ++s;
  }
  ASSERT_EQ(s, 3);
  const GroupValue pooled = group_paired_pooled(r, "ga_gdr_lr3e-05", "int4", "knowmem_f");
  relapse::eval::BootstrapOptions o;
  o.resamples = 2000;
  o.level = 0.95;
  o.seed = relapse::RngStreams(77).seed_of("bootstrap/pooled/ga_gdr_lr3e-05/int4/knowmem_f");
  const relapse::eval::Interval iv = relapse::eval::bootstrap_mean(expect, o);
  EXPECT_EQ(pooled.n, 3);
  EXPECT_NEAR(pooled.mean, iv.value, 1e-12);
  EXPECT_NEAR(pooled.mean, 12.0, 1e-9);  // (2 + 30 + 4) / 3, the ±0.05 terms cancel per seed
  EXPECT_DOUBLE_EQ(pooled.lo, iv.lo);
  EXPECT_DOUBLE_EQ(pooled.hi, iv.hi);
  EXPECT_GT(pooled.lo, 0.0);
  const GroupValue spread = group_paired(r, "ga_gdr_lr3e-05", "int4", "knowmem_f");
  EXPECT_LT(spread.lo, 0.0);  // t(2) over 2, 30, 4: the seeds disagree
  const std::string sec = report_dose_section(r);
  EXPECT_NE(sec.find("forgotten knowledge comes back at LR 1e-05, 3e-05 ("), std::string::npos)
      << sec;
  // Net of the target's own int4 − full (per question), one seed being enough.
  std::vector<double> tf(8), tq(8), undone(8);
  for (int i = 0; i < 8; ++i) {
    tf[i] = 0.5 + 0.05 * (i % 4);
    tq[i] = tf[i] - 0.1 * (i % 2);
    undone[i] = expect[i] - (tq[i] - tf[i]) * 100.0;
  }
  r.models[0].evals[0].metrics.knowmem_forget.scores = tf;
  r.models[0].evals[1].metrics.knowmem_forget.scores = tq;
  const GroupValue u = group_undone_pooled(r, "ga_gdr_lr3e-05", "int4", "knowmem_f");
  o.seed = relapse::RngStreams(77).seed_of("bootstrap/undone/ga_gdr_lr3e-05/int4/knowmem_f");
  const relapse::eval::Interval uiv = relapse::eval::bootstrap_mean(undone, o);
  EXPECT_EQ(u.n, 3);
  EXPECT_NEAR(u.mean, 12.0 + 5.0, 1e-9);  // the target loses 0.1 on half the questions
  EXPECT_DOUBLE_EQ(u.lo, uiv.lo);
  EXPECT_DOUBLE_EQ(u.hi, uiv.hi);
  EXPECT_NE(report_dose_section(r).find("the target (its own int4 − full taken out)"),
            std::string::npos);
  // Without per-question scores there is nothing to pool.
  EXPECT_EQ(group_paired_pooled(dose_run(), "ga_gdr_lr3e-05", "int4", "knowmem_f").n, 0);
}
