// src/report/report_study.cpp — the study report (relapse/report/report_study.h):
// a sweep's done cells side by side. For every method a cell ran at two or
// more learning rates (report_dose.h's curves), per LR and cell: forget
// KnowMem at full precision and at each quantized precision, the paired
// difference quantized − full pooled over the seeds, and the same net of
// the target's own quantized − full ("undone"), with the intervals each
// cell's report.md computes from the same archive (the same named bootstrap
// streams, so the numbers here equal the cells' own). The verdicts read the
// same intervals as the cells' dose sections.
#include "relapse/report/report_study.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "relapse/report/svg_plot.h"
#include "report_dose.h"
#include "report_format.h"

namespace relapse::report {

namespace {

// The quantized precisions of any cell (full and relearn left out), in the
// cells' display order.
std::vector<std::string> study_quant(const Study& s) {
  std::vector<std::string> out;
  for (const auto& c : s.cells)
    for (const auto& p : report_precisions(c.run))
      if (p != "full" && p != "relearn" && std::find(out.begin(), out.end(), p) == out.end())
        out.push_back(p);
  return out;
}

int precision_bits(const Study& s, const std::string& precision) {
  for (const auto& c : s.cells)
    for (const auto& m : c.run.models)
      if (const PrecisionEval* e = model_find_eval(m, precision)) return e->bits;
  return 0;
}

// The quantized precisions with the fewest bits (the figures' precisions).
std::vector<std::string> fewest_bits(const Study& s, const std::vector<std::string>& quant) {
  int lo = 0;
  for (const auto& p : quant) {
    const int b = precision_bits(s, p);
    if (b > 0 && (lo == 0 || b < lo)) lo = b;
  }
  std::vector<std::string> out;
  for (const auto& p : quant)
    if (precision_bits(s, p) == lo) out.push_back(p);
  return out;
}

// Every cell's dose curves, and per method the LRs any cell ran (ascending).
struct StudyCurves {
  std::vector<std::map<std::string, std::vector<DosePoint>>> per_cell;
  std::map<std::string, std::vector<double>> lrs;
};

StudyCurves study_curves(const Study& s) {
  StudyCurves sc;
  for (const auto& c : s.cells) {
    sc.per_cell.push_back(dose_curves(c.run));
    for (const auto& [method, pts] : sc.per_cell.back())
      for (const DosePoint& p : pts) sc.lrs[method].push_back(p.lr);
  }
  for (auto& [method, v] : sc.lrs) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  }
  return sc;
}

// The point of `method` at `lr` in cell i; nullptr when that cell did not run it.
const DosePoint* cell_point(const StudyCurves& sc, size_t i, const std::string& method, double lr) {
  auto it = sc.per_cell[i].find(method);
  if (it == sc.per_cell[i].end()) return nullptr;
  for (const DosePoint& p : it->second)
    if (p.lr == lr) return &p;
  return nullptr;
}

double cell_x(const Study& s, size_t i) {
  return std::isfinite(s.cells[i].x) ? s.cells[i].x : static_cast<double>(i + 1);
}

std::string cell_name(const StudyCell& c) {
  return c.label.empty() ? c.id : c.label;
}

// The cells table: each cell's target and retrain model, full and quantized.
std::string cells_section(const Study& s, const std::vector<std::string>& quant) {
  std::ostringstream os;
  os << "\n## Cells\n\nForget KnowMem (× 100) of each cell's target at full precision and "
        "quantized (what quantization costs the model that knows the facts), the retrain "
        "model's, and the target's retain KnowMem.\n\n| cell | axes |"
     << (s.x_label.empty() ? "" : " " + s.x_label + " |") << " target: full";
  for (const auto& p : quant) os << " | " << p;
  os << " | retrain | target retain |\n|---|---|" << (s.x_label.empty() ? "" : "---:|") << "---:";
  for (size_t i = 0; i < quant.size(); ++i) os << "|---:";
  os << "|---:|---:|\n";
  for (const auto& c : s.cells) {
    const ModelResult* t = find_kind(c.run, "target");
    const ModelResult* rt = find_kind(c.run, "retrain");
    auto metric = [](const ModelResult* m, const std::string& p, const char* name) {
      const PrecisionEval* e = m ? model_find_eval(*m, p) : nullptr;
      return e ? eval_metric(*e, name) : kNaN;
    };
    os << "| `" << c.id << "` | " << md_cell(c.label) << " |"
       << (s.x_label.empty() ? "" : " " + md_cell(c.x_text) + " |") << " "
       << fmt_m(metric(t, "full", "knowmem_f"));
    for (const auto& p : quant) os << " | " << fmt_m(metric(t, p, "knowmem_f"));
    os << " | " << fmt_m(metric(rt, "full", "knowmem_f")) << " | "
       << fmt_m(metric(t, "full", "knowmem_r")) << " |\n";
  }
  return os.str();
}

// One row of a method's table: the cell's point at one LR.
void method_row(std::ostringstream& os, const StudyCell& c, const DosePoint& pt,
                const std::vector<std::string>& quant) {
  const RunResult& r = c.run;
  const GroupValue f = group_metric(r, pt.group, "full", "knowmem_f");
  os << "| " << fmt_g(pt.lr) << " | " << md_cell(cell_name(c)) << " | " << f.n << " | "
     << fmt_band(f.mean, f.lo, f.hi);
  for (const auto& p : quant) {
    const GroupValue q = group_metric(r, pt.group, p, "knowmem_f");
    os << " | " << fmt_m(q.mean) << " | " << fmt_signed_band(dose_paired(r, pt.group, p)) << " | "
       << fmt_signed_band(group_undone_pooled(r, pt.group, p, "knowmem_f"));
  }
  os << " | " << fmt_m(group_metric(r, pt.group, "full", "knowmem_r").mean) << " |\n";
}

// Cells by verdict of one difference at one LR: "above 0 in a, b; ...".
std::string verdict_text(const std::map<DoseVerdict, std::vector<std::string>>& by) {
  const std::pair<DoseVerdict, const char*> words[] = {
      {DoseVerdict::kBack, "above 0 in "},
      {DoseVerdict::kNoChange, "includes 0 in "},
      {DoseVerdict::kLower, "below 0 in "},
      {DoseVerdict::kNoInterval, "no interval in "}};
  std::string out;
  for (const auto& [v, w] : words) {
    auto it = by.find(v);
    if (it == by.end()) continue;
    std::string cells;
    for (size_t i = 0; i < it->second.size(); ++i) cells += (i ? ", " : "") + it->second[i];
    out += (out.empty() ? "" : "; ") + std::string(w) + cells;
  }
  return out.empty() ? kDash : out;
}

// What the intervals support for one method, per quantized precision and LR.
std::string method_verdicts(const Study& s, const StudyCurves& sc, const std::string& method,
                            const std::vector<std::string>& quant) {
  std::ostringstream os;
  for (const auto& p : quant)
    for (double lr : sc.lrs.at(method)) {
      std::map<DoseVerdict, std::vector<std::string>> diff, undone;
      for (size_t i = 0; i < s.cells.size(); ++i) {
        const DosePoint* pt = cell_point(sc, i, method, lr);
        if (!pt) continue;
        const RunResult& r = s.cells[i].run;
        const std::string name = cell_name(s.cells[i]);
        if (dose_paired(r, pt->group, p).n > 0)
          diff[dose_verdict(dose_paired(r, pt->group, p))].push_back(name);
        const GroupValue u = group_undone_pooled(r, pt->group, p, "knowmem_f");
        if (u.n > 0) undone[dose_verdict(u)].push_back(name);
      }
      os << "- **" << method << ", LR " << fmt_g(lr) << ", " << p << "**: " << p << " − full "
         << verdict_text(diff) << "; undone " << verdict_text(undone) << ".\n";
    }
  return os.str();
}

// One figure: a difference (which = "diff" | "undone") of `method` at
// `precision` against x, one line per LR.
ReportFigure study_figure(const Study& s, const StudyCurves& sc, const std::string& method,
                          const std::string& precision, const std::string& which) {
  const bool undone = which == "undone";
  SvgLineChart c;
  c.title = method + ": " + precision + (undone ? ", undone" : " − full") + " across the study";
  c.subtitle = undone ? "forget KnowMem, (" + precision +
                            " − full) of the unlearned model minus "
                            "the target's: above 0 = moved back towards the quantized target"
                      : "forget KnowMem, " + precision +
                            " − full of the unlearned model: above 0 = knowledge back";
  c.x_label = s.x_label.empty() ? "cell" : s.x_label;
  c.y_label = "difference (points)";
  c.log_x = s.log_x;
  c.dodge = 8;
  for (double lr : sc.lrs.at(method)) {
    SvgSeries ser;
    ser.name = "LR " + fmt_g(lr);
    for (size_t i = 0; i < s.cells.size(); ++i) {
      const DosePoint* pt = cell_point(sc, i, method, lr);
      if (!pt) continue;
      const RunResult& r = s.cells[i].run;
      const GroupValue d = undone ? group_undone_pooled(r, pt->group, precision, "knowmem_f")
                                  : dose_paired(r, pt->group, precision);
      ser.points.push_back({cell_x(s, i), d.mean, d.lo, d.hi,
                            cell_name(s.cells[i]) + ", " + std::to_string(d.n) +
                                (d.n == 1 ? " seed" : " seeds") + ", " + pt->regime + " LR"});
    }
    std::sort(ser.points.begin(), ser.points.end(),
              [](const SvgPoint& a, const SvgPoint& b) { return a.x < b.x; });
    c.series.push_back(std::move(ser));
  }
  c.lines.push_back({0.0, "no change"});
  c.caption =
      "Pooled over each cell's seeds (per question, then the bootstrap over the "
      "questions); points where a cell ran the LR.";
  ReportFigure f;
  f.file = "fig_study_" + method + "_" + precision + "_" + which + ".svg";
  f.caption = method + " at " + precision + ": " + (undone ? "undone" : precision + " − full") +
              " of forget KnowMem across the study";
  f.section = "study";
  f.svg = svg_line_chart(c);
  return f;
}

}  // namespace

std::vector<ReportFigure> study_figures(const Study& s) {
  std::vector<ReportFigure> out;
  const StudyCurves sc = study_curves(s);
  for (const auto& p : fewest_bits(s, study_quant(s)))
    for (const auto& [method, lrs] : sc.lrs)
      for (const char* which : {"diff", "undone"})
        out.push_back(study_figure(s, sc, method, p, which));
  return out;
}

std::string study_markdown(const Study& s) {
  const std::vector<std::string> quant = study_quant(s);
  const StudyCurves sc = study_curves(s);
  std::ostringstream os;
  os << "# Study `" << s.name << "`\n\n"
     << s.cells.size() << " of " << s.cells_total << " cells done. Study archive: `"
     << s.archive_name
     << "` (/summary: one row per cell × model × precision; /cells/<id>: each cell's "
        "archive); each cell's own report: `cells/<id>/report.md`.\n";
  os << cells_section(s, quant);
  if (sc.lrs.empty()) {
    os << "\nNo cell ran a method at two or more learning rates: no dose-response to compare.\n";
    return os.str();
  }
  const std::vector<ReportFigure> figs = study_figures(s);
  for (const auto& [method, lrs] : sc.lrs) {
    os << "\n## " << method
       << " across the study\n\nForget KnowMem (× 100) per learning rate "
          "and cell: the mean over the seeds at full precision (with its interval across "
          "seeds) and quantized; quantized − full pooled over the seeds (one seed: its "
          "bootstrap's paired interval); *undone*: the same net of the target's own "
          "quantized − full; retain KnowMem at full precision.\n\n| LR | cell | seeds | full";
    for (const auto& p : quant) os << " | " << p << " | " << p << " − full | " << p << ": undone";
    os << " | retain |\n|---:|---|---:|---:";
    for (size_t i = 0; i < quant.size(); ++i) os << "|---:|---:|---:";
    os << "|---:|\n";
    for (double lr : lrs)
      for (size_t i = 0; i < s.cells.size(); ++i)
        if (const DosePoint* pt = cell_point(sc, i, method, lr))
          method_row(os, s.cells[i], *pt, quant);
    os << "\n";
    for (const auto& f : figs)
      if (f.file.rfind("fig_study_" + method + "_", 0) == 0)
        os << "![" << f.caption << "](" << f.file << ")\n";
    os << "\n" << method_verdicts(s, sc, method, quant);
  }
  os << "\nA cell supports \"quantization brings the knowledge back\" where its full-precision "
        "model forgot (below the target's forget KnowMem) and the quantized − full interval "
        "lies above 0; *undone* above 0 says the quantized model moved back towards the "
        "quantized target, net of what quantization costs the target itself.\n";
  return os.str();
}

void study_report_write(const Study& s, const std::string& dir) {
  report_files_write(dir, study_figures(s), study_markdown(s));
}

}  // namespace relapse::report
