// src/report/report_figures.cpp — the report's figures (relapse/report/
// report.h, report_figures): plain-language SVG charts built with
// relapse/report/svg_plot.h from a RunResult. Values are plotted with one
// decimal (svg_format(v, 1)), exactly as report.md prints them, so a figure
// can be checked against the table.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "relapse/report/report.h"
#include "relapse/report/svg_plot.h"
#include "report_format.h"

namespace relapse::report {

namespace {

constexpr size_t kMaxDwPerModel = 2;  // |Δw|/Δ figures per unlearned model

const char* const kTargetColor = "#B2182B";
const char* const kRetrainColor = "#1B7837";

double full_value(const ModelResult* m, const std::string& metric) {
  const PrecisionEval* e = m ? model_find_eval(*m, "full") : nullptr;
  return e ? eval_metric(*e, metric) : kNaN;
}

std::vector<SvgRefLine> ref_lines(const RunResult& r, const std::string& metric) {
  std::vector<SvgRefLine> out;
  double t = full_value(find_kind(r, "target"), metric);
  double rt = full_value(find_kind(r, "retrain"), metric);
  if (std::isfinite(t))
    out.push_back({t, "target (before unlearning): " + svg_format(t, 1), kTargetColor, true});
  if (std::isfinite(rt))
    out.push_back(
        {rt, "retrain (never saw forget set): " + svg_format(rt, 1), kRetrainColor, true});
  return out;
}

// File-name-safe version of a model / group / precision name.
std::string safe(const std::string& s) {
  std::string out;
  for (char c : s)
    out +=
        (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.') ? c : '_';
  return out;
}

std::string precision_legend(const std::string& p) {
  if (p == "full") return "full precision";
  if (p == "relearn") return "after relearning";
  return p;
}

std::string precision_glossary(const std::vector<std::string>& precs,
                               const results::RelearnInfo& rl) {
  std::string s = "Bars: full precision = the unlearned model as is";
  bool rtn = false, other = false, relearn = false;
  for (const auto& p : precs) {
    rtn = rtn || p.rfind("int", 0) == 0;
    other = other || (p != "full" && p != "relearn" && p.rfind("int", 0) != 0);
    relearn = relearn || p == "relearn";
  }
  if (rtn) s += "; intN = rounded to N-bit integers (round-to-nearest)";
  if (other) s += "; gptq4 / awq4 / nf4 / fp4 / llm_int8 = other quantization methods";
  if (relearn)
    s += "; after relearning = " + std::to_string(rl.steps) + " fine-tuning steps on " +
         (rl.source.empty() ? std::string("forget") : rl.source) + "-set text" +
         (rl.from == "full" ? std::string() : " of the " + rl.from + " model") +
         " (the other attack)";
  return s + ".";
}

const char* const kPanels[3][3] = {
    {"verbmem_f", "Forget VerbMem", "higher = more forget text recited verbatim"},
    {"knowmem_f", "Forget KnowMem", "higher = more forget facts still known"},
    {"knowmem_r", "Retain KnowMem", "higher = more other knowledge kept (good)"}};

ReportFigure group_figure(const RunResult& r, const std::string& group,
                          const std::vector<std::string>& precs) {
  auto models = group_models(r, group);
  const ModelInfo& i = models.front()->info;
  SvgBarChart c;
  c.title = group + ": does quantization bring the forgotten knowledge back?";
  char lr[32];
  std::snprintf(lr, sizeof lr, "%g", i.lr);
  std::string sub = "unlearning method " + (i.method.empty() ? std::string("?") : i.method) +
                    ", learning rate " + lr;
  if (i.lr_regime == "small" || i.lr_regime == "large")
    sub += " (" + i.lr_regime + " LR)";
  else if (!i.lr_regime.empty())
    sub += " (LR regime: " + i.lr_regime + ")";
  if (!i.saliency.empty())
    sub += "; SURE: only the most salient weights are updated (saliency " + i.saliency +
           (i.saliency_threshold.empty() ? "" : ", threshold " + i.saliency_threshold) + ")";
  if (models.size() > 1) sub += "; bars = mean of " + std::to_string(models.size()) + " seeds";
  c.subtitle = sub;
  c.y_max_hint = 100;
  std::vector<std::string> used;
  for (const auto& [metric, title, hint] : kPanels) {
    SvgPanel p;
    p.title = title;
    p.subtitle = hint;
    p.y_label = "ROUGE-L × 100";
    p.bar_labels = true;
    SvgBarGroup g;
    g.label = title;
    for (const auto& pr : precs) {
      GroupValue v = group_metric(r, group, pr, metric);
      if (v.n == 0) continue;
      SvgBar b{precision_legend(pr), v.mean, v.lo, v.hi,
               v.n > 1 ? "mean of " + std::to_string(v.n) + " seeds" : ""};
      g.bars.push_back(b);
      if (std::find(used.begin(), used.end(), b.series) == used.end()) used.push_back(b.series);
    }
    p.groups.push_back(g);
    p.lines = ref_lines(r, metric);
    c.panels.push_back(p);
  }
  for (const auto& pr : precs)  // legend in precision order
    if (std::find(used.begin(), used.end(), precision_legend(pr)) != used.end())
      c.series.push_back(precision_legend(pr));
  c.caption =
      precision_glossary(precs, r.relearn) +
      "\nGood unlearning keeps the two forget panels down at the green retrain line (a "
      "model that never saw the forget set) and the retain panel up at the red target "
      "line (the model before unlearning). A forget bar that climbs back towards the red "
      "line after quantization means the forgotten knowledge came back.\nError bars: " +
      (models.size() > 1 ? "Student-t interval across the " + std::to_string(models.size()) +
                               " seeds (wide when there are few seeds)"
                         : "bootstrap interval over the evaluation samples (when computed)") +
      ". ROUGE-L × 100 compares the model's answers / continuations with the forget set.";
  ReportFigure f;
  f.file = "fig_" + safe(group) + ".svg";
  f.section = "methods";
  f.caption = group + ": forget VerbMem, forget KnowMem and retain KnowMem at each precision";
  f.svg = svg_bar_chart(c);
  return f;
}

ReportFigure overview_figure(const RunResult& r, const std::vector<std::string>& groups,
                             const std::vector<std::string>& precs) {
  SvgBarChart c;
  c.title = "Does quantization undo unlearning? Forget KnowMem of every method";
  c.subtitle =
      "How many questions about the forgotten facts each unlearned model still answers, at full "
      "precision and after quantization (higher = more remembered)";
  c.y_max_hint = 100;
  SvgPanel p;
  p.title = "Forget KnowMem";
  p.subtitle = "higher = more of the forgotten facts still answered";
  p.y_label = "ROUGE-L × 100";
  for (const auto& g : groups) {
    SvgBarGroup bg;
    bg.label = g;
    for (const auto& pr : precs) {
      GroupValue v = group_metric(r, g, pr, "knowmem_f");
      if (v.n == 0) continue;
      bg.bars.push_back({precision_legend(pr), v.mean, v.lo, v.hi,
                         v.n > 1 ? "mean of " + std::to_string(v.n) + " seeds" : ""});
    }
    p.groups.push_back(bg);
  }
  p.lines = ref_lines(r, "knowmem_f");
  c.panels.push_back(p);
  for (const auto& pr : precs) c.series.push_back(precision_legend(pr));
  c.caption = precision_glossary(precs, r.relearn) +
              "\nThe red dashed line is the model before unlearning, the green one a model "
              "never trained on the forget set. Unlearning worked when a method's full-precision "
              "bar sits near the green line; it is undone by quantization when that method's "
              "quantized bars rise back towards the red line.";
  ReportFigure f;
  f.file = "fig_overview.svg";
  f.section = "overview";
  f.caption = "Forget KnowMem of every unlearning method at each precision";
  f.svg = svg_bar_chart(c);
  return f;
}

std::string short_layer(std::string s) {
  auto cut = [&](const std::string& a, const std::string& b) {
    size_t k = s.find(a);
    if (k != std::string::npos) s.replace(k, a.size(), b);
  };
  cut("model.layers.", "L");
  cut(".weight", "");
  return s;
}

std::string bin_label(const std::vector<double>& edges, size_t b) {
  auto f = [](double v) {
    std::string s = svg_format(v, 3);
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
    return s;
  };
  if (b + 1 >= edges.size()) return "≥ " + f(edges[b]);
  return "[" + f(edges[b]) + ", " + f(edges[b + 1]) + ")";
}

std::vector<double> shares(const quant::CodeChangeStats& s) {
  std::vector<double> out;
  for (int64_t h : s.hist)
    out.push_back(s.n_weights ? 100.0 * static_cast<double>(h) / static_cast<double>(s.n_weights)
                              : kNaN);
  return out;
}

ReportFigure dw_figure(const ModelResult& m, const PrecisionEval& e) {
  SvgHeatmap h;
  h.title = m.info.name + " at " + e.precision + ": how far did unlearning move each weight?";
  h.subtitle =
      "Share of each weight matrix's entries (%) by |Δw| / Δ: the change unlearning made to a "
      "weight, in units of the " +
      e.precision + " quantization step Δ of the target model";
  h.x_label = "|Δw| / Δ (below 0.5: the weight almost always keeps the target's quantized value)";
  h.y_label = "weight matrix";
  const auto& edges = e.code_change.bin_edges;
  for (size_t b = 0; b < edges.size(); ++b) h.col_labels.push_back(bin_label(edges, b));
  h.row_labels.push_back("all weights");
  h.values.push_back(shares(e.code_change));
  h.row_notes.push_back(svg_format(100.0 * e.code_change.frac_codes_changed(), 3) +
                        "% of integer codes changed");
  for (const auto& [name, s] : e.code_change_layers) {
    h.row_labels.push_back(short_layer(name));
    h.values.push_back(shares(s));
    h.row_notes.push_back(name + ", " + svg_format(100.0 * s.frac_codes_changed(), 3) +
                          "% of integer codes changed");
  }
  h.caption =
      "A ratio below 0.5 means unlearning moved the weight by less than half a quantization "
      "step, so after quantization it usually lands on the same value as the original (target) "
      "model: the unlearning update is rounded away. Mass in the left columns is the paper's "
      "explanation of why quantization restores forgotten knowledge; mass at ≥ 0.5 is what "
      "survives quantization.";
  ReportFigure f;
  f.file = "fig_dw_" + safe(m.info.name) + "_" + safe(e.precision) + ".svg";
  f.section = "dw";
  f.caption = m.info.name + " at " + e.precision + ": per-layer histogram of |Δw|/Δ";
  f.svg = svg_heatmap(h);
  return f;
}

}  // namespace

std::vector<ReportFigure> report_figures(const RunResult& r) {
  std::vector<ReportFigure> out;
  std::vector<std::string> groups = report_groups(r);
  std::vector<std::string> precs = report_precisions(r);
  if (groups.empty()) return out;
  out.push_back(overview_figure(r, groups, precs));
  for (const auto& g : groups) out.push_back(group_figure(r, g, precs));
  for (const auto& m : r.models) {
    if (m.info.kind != "unlearned") continue;
    // int4 first, then the other 4-bit schemes in run order.
    std::vector<const PrecisionEval*> pick;
    for (const auto& p : precs) {
      const PrecisionEval* e = model_find_eval(m, p);
      if (e && e->bits == 4 && e->has_code_change && !e->code_change_layers.empty())
        pick.push_back(e);
    }
    for (size_t k = 0; k < pick.size() && k < kMaxDwPerModel; ++k)
      out.push_back(dw_figure(m, *pick[k]));
  }
  for (auto& f : report_dose_figures(r)) out.push_back(std::move(f));
  return out;
}

}  // namespace relapse::report
