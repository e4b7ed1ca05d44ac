// tests/report/test_report_figures.cpp — issue 6's report: a synthetic run
// (target, retrain, ga_gdr, npo_gdr with 2 seeds, a SURE run with a mask;
// precisions full / int8 / int4 / gptq4 / relearn; bootstrap intervals,
// paired differences, per-layer |Δw|/Δ histograms) goes through
// archive_write → archive_read_run → archive_write (same objects, same
// summary), then report_write. Every figure must exist, be well-formed XML
// with an <svg xmlns=...> root (a small checker below, independent of the
// plotter), and carry the plotted numbers (formatted here with printf, not
// with the plotter's formatter); report.md links only files that exist and
// every figure; missing archive objects are errors naming the file and key.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "relapse/archive/h5.h"
#include "relapse/report/report.h"
#include "relapse/report/svg_plot.h"
#include "relapse/results/archive.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace relapse::results;
using namespace relapse::report;
using relapse::archive::H5File;

namespace {

std::string f1(double v) {  // the reference formatting of a plotted value
  char b[64];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

relapse::quant::CodeChangeStats layer_stats(int64_t n, std::vector<int64_t> hist, int64_t changed) {
  relapse::quant::CodeChangeStats s;
  s.n_weights = n;
  s.n_codes_changed = changed;
  s.n_groups = n / 100;
  s.n_groups_params_changed = 1;
  s.n_moved = n - hist[0];
  s.hist = std::move(hist);
  s.sum_ratio = 0.125 * static_cast<double>(n);
  s.n_finite = n;
  s.max_ratio = 2.5;
  return s;
}

// Metrics of one evaluation: VerbMem vm, forget KnowMem kf, retain KnowMem kr.
PrecisionEval make_eval(const std::string& p, const std::string& scheme, int bits, double vm,
                        double kf, double kr, bool with_stats, bool code_change = false) {
  PrecisionEval e;
  e.precision = p;
  e.scheme = scheme;
  e.bits = bits;
  e.group_size = bits ? 128 : 0;
  auto& m = e.metrics;
  m.has_verbmem = m.has_knowmem = m.has_privleak = true;
  m.verbmem_prompts = {"Once <upon> & a time", "b"};
  m.verbmem_references = {"ref ✓", "r"};
  m.verbmem_generations = {"gen", ""};
  m.verbmem_scores = {vm / 100.0, vm / 100.0};
  m.verbmem_forget = vm;
  m.knowmem_forget = {{"q1", "q2"}, {"a1", "a2"}, {"g1", "g2"}, {kf / 100, kf / 100}, kf};
  m.knowmem_retain = {{"r1"}, {"ra"}, {"rg"}, {kr / 100}, kr};
  m.mink_forget = {-1.0, -2.0};
  m.mink_retain = {-3.0};
  m.mink_holdout = {-4.0, -5.0};
  m.privleak_auc = 0.75;
  e.privleak = -12.3;
  e.wall_s = 0.5;
  if (with_stats) {
    e.ci = {{"verbmem_f", {vm, vm - 3.1, vm + 2.9}},
            {"knowmem_f", {kf, kf - 4.2, kf + 3.8}},
            {"knowmem_r", {kr, kr - 1.1, kr + 1.3}},
            {"privleak", {-12.3, -20.1, -5.2}}};
    if (p != "full")
      e.vs_full = {{"verbmem_f", 1.7, 0.4, 3.1, 2},
                   {"knowmem_f", 6.3, 2.1, 9.9, 2},
                   {"knowmem_r", -0.6, -1.7, 0.3, 1},
                   {"privleak", 0.0, -1.0, 1.0, 4}};
  }
  if (code_change) {
    e.has_code_change = true;
    auto a = layer_stats(1000, {960, 10, 10, 5, 5, 4, 3, 2, 1}, 3);
    auto b = layer_stats(2000, {1800, 100, 50, 20, 10, 10, 5, 4, 1}, 9);
    e.code_change_layers = {{"model.layers.0.self_attn.q_proj.weight", a},
                            {"model.layers.1.mlp.down_proj.weight", b}};
    e.code_change = a;
    relapse::quant::code_change_merge(e.code_change, b);
  }
  return e;
}

// A model at full / int8 / int4 / gptq4 (and relearn for unlearned models);
// kf_q = forget KnowMem after 4-bit quantization.
ModelResult make_model(const std::string& name, const std::string& kind, const std::string& method,
                       double kf_full, double kf_q, bool stats) {
  ModelResult m;
  m.info.name = name;
  m.info.kind = kind;
  m.info.method = method;
  m.info.variant = method.empty() ? "" : "published";
  m.info.lr = 1e-5;
  m.info.epochs = 1;
  m.info.steps = 10;
  m.info.lr_regime = method.empty() ? "" : "small";
  m.info.group = name;
  m.info.curve = {{1, 1e-5, 2.5, -1.0, 0.5, 3.0, 64}, {2, 1e-5, 2.25, -1.5, 0.5, 2.0, 128}};
  const bool unl = kind == "unlearned";
  m.evals.push_back(make_eval("full", "", 0, kf_full + 1.4, kf_full, 61.3, stats));
  m.evals.push_back(make_eval("int8", "rtn_sym", 8, kf_full + 1.6, kf_full + 0.2, 61.1, stats));
  m.evals.push_back(make_eval("int4", "rtn_sym", 4, kf_q + 2.4, kf_q, 58.7, stats, unl));
  m.evals.push_back(make_eval("gptq4", "gptq", 4, kf_q + 1.4, kf_q - 1.0, 59.2, stats, unl));
  if (unl) m.evals.push_back(make_eval("relearn", "", 0, 40.4, 55.6, 60.2, stats));
  return m;
}

RunResult make_run() {
  RunResult r;
  r.name = "figures";
  r.config_yaml = "run:\n  name: figures\n";
  r.provenance.fields = {{"relapse_version", "0.1.0"}, {"git_sha", "abc"}};
  r.bootstrap = {200, 0.95, 1234567890123ULL};
  r.relearn = {5, 2e-5, "forget", 16};
  r.models.push_back(make_model("target", "target", "", 70.3, 69.1, false));
  r.models.push_back(make_model("retrain", "retrain", "", 12.7, 12.9, false));
  r.models.push_back(make_model("ga_gdr", "unlearned", "ga_gdr", 14.3, 47.3, true));
  for (int s = 1; s <= 2; ++s) {
    auto m = make_model("npo_gdr_s" + std::to_string(s), "unlearned", "npo_gdr", 18.0 + 2 * s,
                        30.0 + 10 * s, false);
    m.info.group = "npo_gdr";
    m.info.seed = s;
    r.models.push_back(m);
  }
  auto sure = make_model("sure_ga_gdr", "unlearned", "ga_gdr", 15.1, 16.2, true);
  sure.info.lr = 5e-4;
  sure.info.lr_regime = "sure";
  sure.info.saliency = "row";
  sure.info.saliency_threshold = "p90";
  sure.info.mask.steps = 10;
  sure.info.mask.names = {"model.layers.0.self_attn.q_proj.weight", "model.norm.weight"};
  sure.info.mask.selected_steps = {{10, 0, 3}, {0, 0, 0, 10}};
  r.models.push_back(sure);
  r.stages = {{"data", 1.0}, {"eval/ga_gdr/int4", 2.5}};
  r.total_wall_s = 3.5;
  return r;
}

// A minimal XML well-formedness check: one root element <svg> with the SVG
// namespace, every tag closed in order, attributes quoted, '&' only as an
// entity, no '<' in text or attribute values.
std::string xml_check(const std::string& s) {
  std::vector<std::string> stack;
  size_t i = 0;
  bool root_seen = false;
  auto entity_ok = [&](size_t k) {
    static const std::regex ent("^&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);");
    return std::regex_search(s.substr(k, 12), ent);
  };
  if (s.rfind("<?xml", 0) == 0) i = s.find("?>") + 2;
  while (i < s.size()) {
    if (s[i] != '<') {
      if (stack.empty() && !std::isspace(static_cast<unsigned char>(s[i])))
        return "text outside the root at " + std::to_string(i);
      if (s[i] == '&' && !entity_ok(i)) return "bare '&' at " + std::to_string(i);
      ++i;
      continue;
    }
    if (s.compare(i, 4, "<!--") == 0) {
      size_t e = s.find("-->", i);
      if (e == std::string::npos) return "unclosed comment";
      i = e + 3;
      continue;
    }
    bool closing = s[i + 1] == '/';
    size_t k = i + (closing ? 2 : 1), n0 = k;
    while (k < s.size() && (std::isalnum(static_cast<unsigned char>(s[k])) || s[k] == '-' ||
                            s[k] == ':' || s[k] == '_'))
      ++k;
    std::string name = s.substr(n0, k - n0);
    if (name.empty()) return "empty tag name at " + std::to_string(i);
    if (closing) {
      if (stack.empty() || stack.back() != name) return "mismatched </" + name + ">";
      stack.pop_back();
      i = s.find('>', k) + 1;
      continue;
    }
    if (stack.empty()) {
      if (root_seen) return "second root element <" + name + ">";
      if (name != "svg") return "root is <" + name + ">";
      root_seen = true;
    }
    // Attributes: name="value" or name='value'.
    std::set<std::string> attrs;
    bool self_close = false;
    while (true) {
      while (k < s.size() && std::isspace(static_cast<unsigned char>(s[k]))) ++k;
      if (k >= s.size()) return "unterminated tag <" + name + ">";
      if (s[k] == '>') break;
      if (s.compare(k, 2, "/>") == 0) {
        self_close = true;
        ++k;
        break;
      }
      size_t a0 = k;
      while (k < s.size() && s[k] != '=' && !std::isspace(static_cast<unsigned char>(s[k]))) ++k;
      std::string an = s.substr(a0, k - a0);
      if (k >= s.size() || s[k] != '=' || (s[k + 1] != '"' && s[k + 1] != '\''))
        return "unquoted attribute '" + an + "' in <" + name + ">";
      char q = s[k + 1];
      size_t e = s.find(q, k + 2);
      if (e == std::string::npos) return "unterminated attribute value";
      for (size_t j = k + 2; j < e; ++j) {
        if (s[j] == '<') return "'<' in attribute " + an;
        if (s[j] == '&' && !entity_ok(j)) return "bare '&' in attribute " + an;
      }
      if (!attrs.insert(an).second) return "duplicate attribute " + an;
      if (name == "svg" && stack.empty() && an == "xmlns" &&
          s.substr(k + 2, e - k - 2) != "http://www.w3.org/2000/svg")
        return "wrong xmlns";
      k = e + 1;
    }
    if (name == "svg" && stack.empty() && !attrs.count("xmlns")) return "<svg> without xmlns";
    if (!self_close) stack.push_back(name);
    i = k + 1;
  }
  if (!root_seen) return "no root element";
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  return "";
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

}  // namespace

TEST(SvgPlot, EscapesTextAndIsWellFormed) {
  SvgBarChart c;
  c.title = "a < b & \"c\" 'd' > e";
  c.series = {"full", "int4"};
  SvgPanel p;
  p.title = "<panel>";
  p.groups = {{"g&1", {{"full", 12.34, 10.0, 14.0, ""}, {"int4", kNaN, kNaN, kNaN, ""}}}};
  p.lines = {{50.0, "target <full>", "#B2182B", true}};
  c.panels = {p};
  std::string svg = svg_bar_chart(c);
  EXPECT_EQ(xml_check(svg), "") << svg;
  EXPECT_TRUE(contains(svg, "a &lt; b &amp; &quot;c&quot; &apos;d&apos; &gt; e"));
  EXPECT_TRUE(contains(svg, ">12.3<"));        // data label
  EXPECT_TRUE(contains(svg, "[10.0, 14.0]"));  // tooltip with the interval
  EXPECT_TRUE(contains(svg, ">n/a<"));         // NaN bar
  // The checker itself must reject broken documents.
  EXPECT_NE(xml_check("<svg xmlns=\"http://www.w3.org/2000/svg\"><g></svg>"), "");
  EXPECT_NE(xml_check("<svg xmlns=\"http://www.w3.org/2000/svg\"><rect x=1/></svg>"), "");
  EXPECT_NE(xml_check("<svg xmlns=\"http://www.w3.org/2000/svg\">a & b</svg>"), "");
  EXPECT_NE(xml_check("<svg><g/></svg>"), "");
  EXPECT_NE(xml_check("<html xmlns=\"x\"></html>"), "");
}

TEST(ReportFigures, ArchiveRoundTripKeepsEveryNewField) {
  RunResult r = make_run();
  std::string dir = relapse::test::scratch_dir("figs");
  archive_write(r, dir + "/a.h5");
  RunResult back = archive_read_run(dir + "/a.h5");
  archive_write(back, dir + "/b.h5");
  auto s1 = archive_read_summary(dir + "/a.h5"), s2 = archive_read_summary(dir + "/b.h5");
  ASSERT_EQ(s1.size(), 4u * 2 + 5u * 4);
  ASSERT_EQ(s1.size(), s2.size());
  for (size_t i = 0; i < s1.size(); ++i) {
    EXPECT_EQ(s1[i].model, s2[i].model);
    EXPECT_EQ(s1[i].precision, s2[i].precision);
    EXPECT_EQ(s1[i].group, s2[i].group);
    EXPECT_EQ(s1[i].seed, s2[i].seed);
    EXPECT_EQ(s1[i].saliency, s2[i].saliency);
    EXPECT_EQ(s1[i].knowmem_f, s2[i].knowmem_f);
    for (int k = 0; k < 4; ++k) {
      auto same = [](double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; };
      EXPECT_TRUE(same(s1[i].band[k].lo, s2[i].band[k].lo)) << i << " " << k;
      EXPECT_TRUE(same(s1[i].band[k].d_hi, s2[i].band[k].d_hi)) << i << " " << k;
    }
  }
  // Summary bands: ga_gdr int4 is row 10 (target 0-3, retrain 4-7, ga_gdr full 8, int8 9).
  const SummaryRow& g4 = s1[10];
  EXPECT_EQ(g4.model, "ga_gdr");
  EXPECT_EQ(g4.precision, "int4");
  EXPECT_DOUBLE_EQ(g4.band[1].lo, 47.3 - 4.2);
  EXPECT_DOUBLE_EQ(g4.band[1].d, 6.3);
  EXPECT_TRUE(std::isnan(s1[8].band[1].d));   // ga_gdr full: no paired difference
  EXPECT_TRUE(std::isnan(s1[0].band[0].lo));  // target: no intervals

  EXPECT_EQ(back.name, r.name);
  EXPECT_EQ(back.config_yaml, r.config_yaml);
  EXPECT_EQ(back.provenance.fields, r.provenance.fields);
  EXPECT_EQ(back.bootstrap.resamples, 200);
  EXPECT_EQ(back.bootstrap.seed, 1234567890123ULL);
  EXPECT_EQ(back.relearn.source, "forget");
  EXPECT_EQ(back.relearn.rows, 16);
  ASSERT_EQ(back.stages.size(), 2u);
  EXPECT_EQ(back.stages[1].stage, "eval/ga_gdr/int4");
  ASSERT_EQ(back.models.size(), r.models.size());
  for (size_t i = 0; i < r.models.size(); ++i) {
    const auto &a = r.models[i].info, &b = back.models[i].info;
    SCOPED_TRACE(a.name);
    EXPECT_EQ(b.name, a.name);  // order kept
    EXPECT_EQ(b.group, a.group);
    EXPECT_EQ(b.seed, a.seed);
    EXPECT_EQ(b.saliency, a.saliency);
    EXPECT_EQ(b.saliency_threshold, a.saliency_threshold);
    EXPECT_EQ(b.mask.steps, a.mask.steps);
    EXPECT_EQ(b.mask.names, a.mask.names);
    EXPECT_EQ(b.mask.selected_steps, a.mask.selected_steps);
    ASSERT_EQ(b.curve.size(), a.curve.size());
    EXPECT_EQ(b.curve[1].loss, a.curve[1].loss);
    ASSERT_EQ(back.models[i].evals.size(), r.models[i].evals.size());
    for (size_t j = 0; j < r.models[i].evals.size(); ++j) {
      const auto &ea = r.models[i].evals[j], &eb = back.models[i].evals[j];
      SCOPED_TRACE(ea.precision);
      EXPECT_EQ(eb.precision, ea.precision);
      EXPECT_EQ(eb.metrics.verbmem_scores, ea.metrics.verbmem_scores);
      EXPECT_EQ(eb.metrics.knowmem_forget.generations, ea.metrics.knowmem_forget.generations);
      EXPECT_EQ(eb.metrics.mink_holdout, ea.metrics.mink_holdout);
      ASSERT_EQ(eb.ci.size(), ea.ci.size());
      for (size_t k = 0; k < ea.ci.size(); ++k) {
        EXPECT_EQ(eb.ci[k].first, ea.ci[k].first);
        EXPECT_EQ(eb.ci[k].second.value, ea.ci[k].second.value);
        EXPECT_EQ(eb.ci[k].second.hi, ea.ci[k].second.hi);
      }
      ASSERT_EQ(eb.vs_full.size(), ea.vs_full.size());
      for (size_t k = 0; k < ea.vs_full.size(); ++k) {
        EXPECT_EQ(eb.vs_full[k].metric, ea.vs_full[k].metric);
        EXPECT_EQ(eb.vs_full[k].lo, ea.vs_full[k].lo);
        EXPECT_EQ(eb.vs_full[k].n, ea.vs_full[k].n);
      }
      EXPECT_EQ(eb.has_code_change, ea.has_code_change);
      ASSERT_EQ(eb.code_change_layers.size(), ea.code_change_layers.size());
      EXPECT_EQ(eb.code_change.hist, ea.code_change.hist);
      EXPECT_EQ(eb.code_change.sum_ratio, ea.code_change.sum_ratio);
      for (size_t k = 0; k < ea.code_change_layers.size(); ++k) {
        const auto &la = ea.code_change_layers[k], &lb = eb.code_change_layers[k];
        EXPECT_EQ(lb.first, la.first);
        EXPECT_EQ(lb.second.hist, la.second.hist);
        EXPECT_EQ(lb.second.n_groups, la.second.n_groups);
        EXPECT_EQ(lb.second.n_finite, la.second.n_finite);
        EXPECT_EQ(lb.second.sum_ratio, la.second.sum_ratio);
      }
    }
  }
  // The report from the read-back run is the report of the original.
  EXPECT_EQ(report_markdown(back, "a.h5"), report_markdown(r, "a.h5"));
}

TEST(ReportFigures, FiguresExistAreWellFormedAndCarryTheValues) {
  std::string dir = relapse::test::scratch_dir("figs");
  archive_write(make_run(), dir + "/relapse.h5");
  RunResult r = archive_read_run(dir + "/relapse.h5");
  // RELAPSE_FIGURES_OUT=DIR keeps a copy of the archive and report to look at.
  if (const char* keep = std::getenv("RELAPSE_FIGURES_OUT")) {
    fs::create_directories(keep);
    fs::copy_file(dir + "/relapse.h5", std::string(keep) + "/relapse.h5",
                  fs::copy_options::overwrite_existing);
    report_write(r, std::string(keep) + "/report", "../relapse.h5");
  }
  std::string out = dir + "/report";
  report_write(r, out, "../relapse.h5");

  std::set<std::string> expected = {"fig_overview.svg",       "fig_ga_gdr.svg",
                                    "fig_npo_gdr.svg",        "fig_sure_ga_gdr.svg",
                                    "fig_dw_ga_gdr_int4.svg", "fig_dw_ga_gdr_gptq4.svg"};
  for (const char* m : {"npo_gdr_s1", "npo_gdr_s2", "sure_ga_gdr"})
    for (const char* p : {"int4", "gptq4"})
      expected.insert(std::string("fig_dw_") + m + "_" + p + ".svg");
  std::set<std::string> found;
  for (const auto& e : fs::directory_iterator(out)) {
    std::string n = e.path().filename().string();
    EXPECT_EQ(n.find(".tmp"), std::string::npos) << n;
    if (n != "report.md") found.insert(n);
  }
  EXPECT_EQ(found, expected);
  for (const auto& n : found) {
    std::string svg = relapse::test::read_file(out + "/" + n);
    EXPECT_EQ(xml_check(svg), "") << n;
  }

  // Plotted values, formatted independently of the plotter.
  std::string g = relapse::test::read_file(out + "/fig_ga_gdr.svg");
  EXPECT_TRUE(contains(g, "data-value=\"" + f1(47.3) + "\""));  // forget KnowMem int4
  EXPECT_TRUE(contains(g, ">" + f1(47.3) + "<"));               // its data label
  EXPECT_TRUE(contains(g, "[" + f1(47.3 - 4.2) + ", " + f1(47.3 + 3.8) + "]"));  // its CI
  EXPECT_TRUE(contains(g, "data-value=\"" + f1(55.6) + "\""));                   // relearn
  EXPECT_TRUE(contains(g, "target (before unlearning): " + f1(70.3)));           // reference lines
  EXPECT_TRUE(contains(g, "retrain (never saw forget set): " + f1(12.7)));
  EXPECT_TRUE(contains(g, "stroke-dasharray"));
  for (const char* t : {"Forget VerbMem", "Forget KnowMem", "Retain KnowMem", "higher = more"})
    EXPECT_TRUE(contains(g, t)) << t;
  // Two seeds: the bar is their mean ((40 + 50) / 2 forget KnowMem at int4).
  std::string n = relapse::test::read_file(out + "/fig_npo_gdr.svg");
  EXPECT_TRUE(contains(n, "data-value=\"" + f1(45.0) + "\""));
  EXPECT_TRUE(contains(n, "mean of 2 seeds"));
  // ... with the 95% Student-t interval across the seeds: 45 ± t(0.975, 1) · s / √2,
  // t = 12.7062 (scipy.stats.t.ppf(0.975, 1)), s = 7.0711: [-18.5, 108.5].
  EXPECT_TRUE(contains(n, "[" + f1(45.0 - 12.706204736 * std::sqrt(50.0) / std::sqrt(2.0)) + ", " +
                              f1(45.0 + 12.706204736 * std::sqrt(50.0) / std::sqrt(2.0)) + "]"))
      << n;
  std::string o = relapse::test::read_file(out + "/fig_overview.svg");
  EXPECT_TRUE(contains(o, "data-value=\"" + f1(45.0) + "\""));
  EXPECT_TRUE(contains(o, "data-value=\"" + f1(16.2) + "\""));  // SURE int4 stays low
  EXPECT_TRUE(contains(relapse::test::read_file(out + "/fig_sure_ga_gdr.svg"), "SURE"));
  // Heat map: layer 1's first bin holds 1800 of 2000 weights = 90.0%; all weights 2760/3000.
  std::string d = relapse::test::read_file(out + "/fig_dw_ga_gdr_int4.svg");
  EXPECT_TRUE(contains(d, "data-value=\"" + f1(90.0) + "\""));
  EXPECT_TRUE(contains(d, "data-value=\"" + f1(100.0 * 2760 / 3000) + "\""));
  EXPECT_TRUE(contains(d, "[0, 0.001)"));
  EXPECT_TRUE(contains(d, "0.5"));

  // report.md: links only existing files, and every figure.
  std::string md = relapse::test::read_file(out + "/report.md");
  std::regex link(R"(\]\(([^)]+)\))");
  std::set<std::string> linked;
  for (auto it = std::sregex_iterator(md.begin(), md.end(), link); it != std::sregex_iterator();
       ++it) {
    std::string f = (*it)[1];
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
    linked.insert(f);
  }
  EXPECT_EQ(linked, expected);
  for (const char* t : {"## Quantized vs full precision (paired)", "## Across seeds",
                        "## Relearning attack vs quantization", "SURE row p90", "47.3 [43.1, 51.1]",
                        "6.3 [2.1, 9.9]"})
    EXPECT_TRUE(contains(md, t)) << t;
}

// The committed small archive of a real run (tests/golden/make_report_archive.sh:
// nano model, two seeds of GA_GDR and of SURE, relearning, bootstrap, int8 /
// int4 / GPTQ-4) renders: every figure is well-formed SVG, the overview
// carries each group's forget KnowMem (mean over its seeds, computed here
// from /summary) at every precision, and report.md links every figure.
TEST(ReportFigures, CommittedSmallArchiveRenders) {
  const std::string path = relapse::test::fixture_path("pipeline/small_run.h5");
  RunResult r = archive_read_run(path);
  std::vector<SummaryRow> rows = archive_read_summary(path);
  ASSERT_FALSE(rows.empty());
  const std::string out = relapse::test::scratch_dir("small_run_report");
  report_write(r, out, "small_run.h5");
  int svgs = 0;
  for (const auto& e : fs::directory_iterator(out)) {
    const std::string n = e.path().filename().string();
    if (n.size() < 4 || n.substr(n.size() - 4) != ".svg") continue;
    ++svgs;
    EXPECT_EQ(xml_check(relapse::test::read_file(e.path().string())), "") << n;
  }
  EXPECT_GE(svgs, 4);  // overview, ga_gdr, sure_ga_gdr, at least one |dw|/Δ map
  const std::string o = relapse::test::read_file(out + "/fig_overview.svg");
  std::map<std::pair<std::string, std::string>, std::vector<double>> by_group;
  for (const auto& row : rows)
    if (row.kind == "unlearned") by_group[{row.group, row.precision}].push_back(row.knowmem_f);
  ASSERT_FALSE(by_group.empty());
  for (const auto& [key, v] : by_group) {
    double mean = 0;
    for (double x : v) mean += x;
    mean /= static_cast<double>(v.size());
    EXPECT_TRUE(contains(o, "data-value=\"" + f1(mean) + "\""))
        << key.first << " @ " << key.second << " mean " << mean;
  }
  const std::string md = relapse::test::read_file(out + "/report.md");
  for (const char* t :
       {"fig_overview.svg", "fig_ga_gdr_lr0.0001.svg", "fig_sure_ga_gdr_lr0.001.svg",
        "## Across seeds", "## Relearning attack vs quantization"})
    EXPECT_TRUE(contains(md, t)) << t;
}

TEST(ReportFigures, ReadErrorsNameTheFileAndKey) {
  std::string dir = relapse::test::scratch_dir("figs");
  relapse::test::expect_input_error([&] { archive_read_run(dir + "/missing.h5"); },
                                    {dir + "/missing.h5"});
  // A file with a valid /summary but nothing else: /provenance is missing.
  archive_write(make_run(), dir + "/ok.h5");
  auto cols = H5File::open_read(dir + "/ok.h5").root().read_table("summary");
  std::string bad = dir + "/bad.h5";
  {
    H5File f = H5File::create(bad);
    f.root().write_table("summary", cols);
    f.commit();
  }
  relapse::test::expect_input_error([&] { archive_read_run(bad); }, {bad, "provenance"});
  // ... and a model group without its attributes.
  {
    H5File f = H5File::create(bad);
    auto root = f.root();
    root.write_table("summary", cols);
    auto p = root.group("provenance");
    p.set_attr("config_yaml", "");
    p.set_attr("run_name", "x");
    p.set_attr("total_wall_s", 0.0);
    root.write_table("stages",
                     {{"stage", std::vector<std::string>{}}, {"wall_s", std::vector<double>{}}});
    root.group("models/target");
    f.commit();
  }
  relapse::test::expect_input_error([&] { archive_read_run(bad); },
                                    {bad, "/models/target", "kind"});
}
