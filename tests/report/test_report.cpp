// tests/report/test_report.cpp — the report side of a run
// (relapse/report/report.h): retention and recovery against numbers worked
// out by hand below, the text summary table, report.md (table rows, NaN shown
// as "–", the pattern reading) and report_write; plus the results.h look-ups.
#include <cmath>
#include <filesystem>
#include <sstream>

#include "relapse/report/report.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace relapse::results;
using namespace relapse::report;

namespace {

// One evaluation with the three headline metrics (× 100) and optional
// code-change stats (n_changed of 1000 weights, mean |Δw|/Δ = sum / 1000).
PrecisionEval ev(const std::string& precision, double vm, double kf, double kr,
                 double privleak = kNaN, int64_t n_changed = -1, double sum_ratio = 0) {
  PrecisionEval e;
  e.precision = precision;
  e.bits = precision == "int8" ? 8 : precision == "int4" ? 4 : 0;
  e.scheme = e.bits ? "rtn_sym" : "";
  e.metrics.has_verbmem = e.metrics.has_knowmem = true;
  e.metrics.verbmem_forget = vm;
  e.metrics.knowmem_forget.mean = kf;
  e.metrics.knowmem_retain.mean = kr;
  e.privleak = privleak;
  if (n_changed >= 0) {
    e.has_code_change = true;
    e.code_change.n_weights = 1000;
    e.code_change.n_codes_changed = n_changed;
    e.code_change.sum_ratio = sum_ratio;
    e.code_change.n_finite = 1000;
  }
  return e;
}

ModelResult model(const std::string& name, const std::string& kind, const std::string& method,
                  double lr, std::vector<PrecisionEval> evals) {
  ModelResult m;
  m.info.name = name;
  m.info.kind = kind;
  m.info.method = method;
  m.info.lr = lr;
  m.info.lr_regime = method.empty() ? "" : lr > 5e-5 ? "large" : "small";
  m.evals = std::move(evals);
  return m;
}

// The numbers every expectation below is worked out from (VerbMem, KnowMem
// forget, KnowMem retain):
//   target   full 60/80/70   int8 59/79/70   int4 50/70/65
//   retrain  full 10/20/68   int8 10/20/68   int4 (no VerbMem)/21/67
//   ga_gdr   full 12/25/60   int8 13/26/60   int4 41/58/62   (small LR)
//   npo_gdr  full  5/15/65   int8  5/15/64   int4  6/17/60   (large LR)
//   ga       full  0/0/5     int4 30/30/5    (no retain term: not in retention)
RunResult make_run() {
  RunResult r;
  r.name = "quickstart";
  r.provenance.fields = {{"git_sha", "0123abcd"}, {"relapse_version", "0.1.0"}};
  r.models.push_back(
      model("target", "target", "", 3e-4,
            {ev("full", 60, 80, 70, 45.3), ev("int8", 59, 79, 70), ev("int4", 50, 70, 65)}));
  PrecisionEval rt4 = ev("int4", 0, 21, 67);
  rt4.metrics.has_verbmem = false;  // VerbMem not computed: NaN
  r.models.push_back(model("retrain", "retrain", "", 3e-4,
                           {ev("full", 10, 20, 68, 0.0), ev("int8", 10, 20, 68), rt4}));
  r.models.push_back(model("ga_gdr", "unlearned", "ga_gdr", 1e-5,
                           {ev("full", 12, 25, 60, -3.2), ev("int8", 13, 26, 60, kNaN, 5, 40),
                            ev("int4", 41, 58, 62, -3.2, 2, 50)}));
  r.models.push_back(model("npo_gdr", "unlearned", "npo_gdr", 1e-4,
                           {ev("full", 5, 15, 65), ev("int8", 5, 15, 64, kNaN, 300, 900),
                            ev("int4", 6, 17, 60, kNaN, 150, 2000)}));
  r.models.push_back(
      model("ga", "unlearned", "ga", 1e-5, {ev("full", 0, 0, 5), ev("int4", 30, 30, 5)}));
  r.stages = {{"data", 1.25}, {"train_target", 12.5}};
  r.total_wall_s = 13.75;
  return r;
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

size_t utf8_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

TEST(Results, FindModelAndEval) {
  RunResult r = make_run();
  const ModelResult* m = run_find_model(r, "npo_gdr");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->info.method, "npo_gdr");
  EXPECT_EQ(run_find_model(r, "nope"), nullptr);
  const PrecisionEval* e = model_find_eval(*m, "int8");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->bits, 8);
  EXPECT_EQ(model_find_eval(*m, "int3"), nullptr);
}

TEST(Report, RetentionByHand) {
  RunResult r = make_run();
  // Utility-constrained at a small LR: ga_gdr only (ga has no retain term,
  // npo_gdr ran at a large LR), n = 1.
  // full: (12 + 25) / (1 · (60 + 80)) = 37 / 140
  EXPECT_NEAR(retention_percent(r, "full"), 100.0 * 37.0 / 140.0, 1e-12);  // 26.429
  // int8: (13 + 26) / (1 · (59 + 79)) = 39 / 138
  EXPECT_NEAR(retention_percent(r, "int8"), 100.0 * 39.0 / 138.0, 1e-12);  // 28.261
  // int4: (41 + 58) / (1 · (50 + 70)) = 99 / 120
  EXPECT_NEAR(retention_percent(r, "int4"), 100.0 * 99.0 / 120.0, 1e-12);  // 82.5
  EXPECT_TRUE(std::isnan(retention_percent(r, "int3")));                   // nobody evaluated there

  // Counted as small-LR, npo_gdr joins (n = 2): full ((12 + 25) + (5 + 15)) / (2 · 140).
  RunResult r1 = make_run();
  r1.models[3].info.lr_regime = "small";
  EXPECT_NEAR(retention_percent(r1, "full"), 100.0 * 57.0 / 280.0, 1e-12);  // 20.357
  // A model with a NaN metric at a precision is left out: without ga_gdr's
  // int8 VerbMem, int8 = (5 + 15) / (1 · (59 + 79)) = 20 / 138.
  RunResult r2 = make_run();
  r2.models[3].info.lr_regime = "small";
  r2.models[2].evals[1].metrics.has_verbmem = false;
  EXPECT_NEAR(retention_percent(r2, "int8"), 100.0 * 20.0 / 138.0, 1e-12);  // 14.493
  // No target, or no utility-constrained model: NaN.
  RunResult r3 = make_run();
  r3.models.erase(r3.models.begin());
  EXPECT_TRUE(std::isnan(retention_percent(r3, "full")));
  RunResult r4 = make_run();
  r4.models.erase(r4.models.begin() + 2, r4.models.begin() + 4);
  EXPECT_TRUE(std::isnan(retention_percent(r4, "full")));
}

TEST(Report, RecoveryByHand) {
  RunResult r = make_run();
  // (M(Q(u)) − M(u)) / (M(Q(target)) − M(u)):
  // ga_gdr int4 KnowMem_f: (58 − 25) / (70 − 25) = 33 / 45
  EXPECT_NEAR(recovery(r, "ga_gdr", "int4", "knowmem_f"), 33.0 / 45.0, 1e-12);  // 0.733
  // ga_gdr int4 VerbMem: (41 − 12) / (50 − 12) = 29 / 38
  EXPECT_NEAR(recovery(r, "ga_gdr", "int4", "verbmem_f"), 29.0 / 38.0, 1e-12);  // 0.763
  // ga_gdr int8 KnowMem_f: (26 − 25) / (79 − 25) = 1 / 54
  EXPECT_NEAR(recovery(r, "ga_gdr", "int8", "knowmem_f"), 1.0 / 54.0, 1e-12);
  // npo_gdr int4 KnowMem_f: (17 − 15) / (70 − 15) = 2 / 55
  EXPECT_NEAR(recovery(r, "npo_gdr", "int4", "knowmem_f"), 2.0 / 55.0, 1e-12);
  // npo_gdr int4 KnowMem_r: (60 − 65) / (65 − 65): denominator 0 -> NaN
  EXPECT_TRUE(std::isnan(recovery(r, "npo_gdr", "int4", "knowmem_r")));
  // full vs full is 0 by construction: (25 − 25) / (80 − 25)
  EXPECT_EQ(recovery(r, "ga_gdr", "full", "knowmem_f"), 0.0);
  // Missing model / precision / target value: NaN.
  EXPECT_TRUE(std::isnan(recovery(r, "nope", "int4", "knowmem_f")));
  EXPECT_TRUE(std::isnan(recovery(r, "ga_gdr", "int3", "knowmem_f")));
  EXPECT_TRUE(std::isnan(recovery(r, "ga", "int8", "knowmem_f")));
  RunResult r2 = make_run();
  r2.models[0].evals[2].metrics.has_verbmem = false;  // Q(target) VerbMem unknown
  EXPECT_TRUE(std::isnan(recovery(r2, "ga_gdr", "int4", "verbmem_f")));
  relapse::test::expect_error([&] { recovery(r, "ga_gdr", "int4", "rouge"); },
                              relapse::ExitCode::kInternal, {"rouge"});
}

TEST(Report, SummaryTableText) {
  RunResult r = make_run();
  std::string t = summary_table_text(r);
  std::istringstream is(t);
  std::vector<std::string> lines;
  for (std::string l; std::getline(is, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 2u + 14u);  // header, rule, 14 model × precision rows
  EXPECT_TRUE(contains(lines[0], "KnowMem_f"));
  for (const auto& l : lines) EXPECT_EQ(utf8_width(l), utf8_width(lines[0])) << l;  // aligned
  // ga_gdr int4: 41.0 58.0 62.0 -3.2, 2 of 1000 codes = 0.200 %, mean 50 / 1000
  std::string g4 = lines[2 + 8];
  EXPECT_TRUE(contains(g4, "ga_gdr")) << g4;
  for (const char* v : {"int4", "41.0", "58.0", "62.0", "-3.2", "0.200", "0.050"})
    EXPECT_TRUE(contains(g4, v)) << v << " in " << g4;
  EXPECT_TRUE(contains(lines[2 + 5], "–")) << lines[2 + 5];  // retrain int4 VerbMem NaN
  EXPECT_FALSE(contains(t, "nan"));
}

TEST(Report, MarkdownHoldsTableRetentionRecoveryAndReading) {
  RunResult r = make_run();
  std::string md = report_markdown(r, "runs/quickstart/relapse.h5");
  EXPECT_TRUE(contains(md, "# relapse run: quickstart\n"));
  EXPECT_TRUE(contains(md, "## How to read this"));
  // Summary rows (NaN shown as "–": no PrivLeak / code-change stats).
  EXPECT_TRUE(contains(md, "| target | full | 60.0 | 80.0 | 70.0 | 45.3 | – | – |\n")) << md;
  EXPECT_TRUE(contains(md, "| retrain | int4 | – | 21.0 | 67.0 | – | – | – |\n"));
  EXPECT_TRUE(contains(md, "| ga_gdr | int4 | 41.0 | 58.0 | 62.0 | -3.2 | 0.200 | 0.050 |\n"));
  // npo_gdr int8: 300 / 1000 codes = 30.000 %, mean 900 / 1000
  EXPECT_TRUE(contains(md, "| npo_gdr | int8 | 5.0 | 15.0 | 64.0 | – | 30.000 | 0.900 |\n"));
  // Retention (see RetentionByHand): 26.429 -> 26.4, 28.261 -> 28.3, 82.5 -> 82.5
  EXPECT_TRUE(contains(md, "| full | 26.4 |\n"));
  EXPECT_TRUE(contains(md, "| int8 | 28.3 |\n"));
  EXPECT_TRUE(contains(md, "| int4 | 82.5 |\n"));
  // Recovery × 100: 33/45 = 73.3, 29/38 = 76.3; int8 (26 − 25)/(79 − 25) = 1.9,
  // (13 − 12)/(59 − 12) = 2.1
  EXPECT_TRUE(contains(md, "| ga_gdr | int4 | 73.3 | 76.3 |\n"));
  EXPECT_TRUE(contains(md, "| ga_gdr | int8 | 1.9 | 2.1 |\n"));
  // npo_gdr: 2/55 = 3.6; VerbMem (6 − 5) / (50 − 5) = 2.2
  EXPECT_TRUE(contains(md, "| npo_gdr | int4 | 3.6 | 2.2 |\n"));
  // The reading, with its numbers.
  EXPECT_TRUE(contains(md, "target knows the forget facts: KnowMem_f 80.0 vs retrain 20.0"));
  // ga_gdr closes (80 − 25) / (80 − 20) = 91.7 % of the gap, keeps 60/70 = 85.7 % of retain.
  EXPECT_TRUE(contains(md,
                       "ga_gdr (ga_gdr, LR 1e-05, small LR) forgets at full precision: "
                       "KnowMem_f 25.0 (target 80.0, retrain 20.0; 91.7% of the gap closed)"))
      << md;
  EXPECT_TRUE(contains(md, "keeps retain KnowMem 60.0 (85.7% of the target's)"));
  EXPECT_TRUE(contains(md,
                       "at int4: the forgotten knowledge comes back – KnowMem_f 25.0 → 58.0 "
                       "(recovery 73.3%)"));
  EXPECT_TRUE(contains(md, "at int8: the forgetting survives"));
  EXPECT_TRUE(contains(md, "npo_gdr (npo_gdr, LR 0.0001, large LR) forgets"));
  // ga: 0 retain KnowMem of 70 -> loses utility.
  EXPECT_TRUE(contains(md, "loses retain KnowMem 5.0 (7.1% of the target's)"));
  // Stage times and the archive pointer with its Python snippet.
  EXPECT_TRUE(contains(md, "| train_target | 12.5 |\n"));
  EXPECT_TRUE(contains(md, "| **total** | 13.8 |\n"));  // 13.75 is an exact tie: rounds to even
  EXPECT_TRUE(contains(md, "`runs/quickstart/relapse.h5`"));
  EXPECT_TRUE(contains(md, "h5py.File(\"runs/quickstart/relapse.h5\", \"r\")[\"summary\"]"));
  // No raw NaN / inf anywhere.
  std::string words;
  for (char c : md) words += std::isalpha(static_cast<unsigned char>(c)) ? c : ' ';
  std::istringstream ws(words);
  for (std::string w; ws >> w;) {
    EXPECT_NE(w, "nan");
    EXPECT_NE(w, "inf");
  }
}

TEST(Report, MarkdownWithoutRetrainOrTarget) {
  RunResult r = make_run();
  r.models.erase(r.models.begin(), r.models.begin() + 2);  // no target, no retrain
  std::string md = report_markdown(r, "a.h5");
  EXPECT_TRUE(contains(md, "target vs retrain: cannot tell"));
  EXPECT_TRUE(contains(md, "| full | – |\n"));  // retention undefined
  EXPECT_TRUE(contains(md, "| ga_gdr | int4 | – | – |\n"));
}

TEST(Report, WriteCreatesDirAndLeavesNoTmp) {
  RunResult r = make_run();
  std::string dir = relapse::test::scratch_dir("report") + "/runs/quickstart";
  report_write(r, dir, "relapse.h5");
  EXPECT_EQ(relapse::test::read_file(dir + "/report.md"), report_markdown(r, "relapse.h5"));
  EXPECT_FALSE(fs::exists(dir + "/report.md.tmp"));
}

// The membership-inference table: one row per evaluation with the attacks,
// each AUC with 3 decimals after Min-K%'s, then ES and EM × 100; no table
// without them.
TEST(Report, MiaSectionTablesEveryAttacksAuc) {
  RunResult r = make_run();
  EXPECT_EQ(report_mia_section(r), "");
  auto& m = r.models[0].evals[0].metrics;
  m.has_privleak = true;
  m.privleak_auc = 0.125;
  m.mia = {{"ppl", {}, {}, {}, 0.25}, {"ppl_lower", {}, {}, {}, 0.5}, {"ppl_zlib", {}, {}, {}, 1}};
  const std::string s = report_mia_section(r);
  EXPECT_NE(s.find("| model | precision | Min-K% | ppl | ppl_lower | ppl_zlib |"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("| " + r.models[0].info.name + " | " + r.models[0].evals[0].precision +
                   " | 0.125 | 0.250 | 0.500 | 1.000 |"),
            std::string::npos)
      << s;
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 8);  // title, text, header, rule, one row
  EXPECT_NE(report_markdown(r, "a.h5").find("## Membership inference and memorization"),
            std::string::npos);
}
