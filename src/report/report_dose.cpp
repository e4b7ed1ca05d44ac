// src/report/report_dose.cpp — the dose–response section of report.md
// (issue 21): for every unlearning method run at two or more learning rates
// (small- and large-LR runs; SURE runs are another recipe and stay out),
// forget KnowMem against the learning rate at full precision and at every
// quantized precision — each the mean over the group's seeds with its
// interval across seeds — and the paired difference quantized − full (per
// seed, then across seeds; one seed: the bootstrap's paired interval over the
// questions). The paper describes this curve (small LR: forgotten at full
// precision, back after 4-bit quantization; large LR: the forgetting survives,
// utility is lost) without plotting it. The section ends with the conclusion
// its intervals support, learning rate by learning rate, and with what would
// have to differ for that conclusion not to hold.
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "relapse/core/rng.h"
#include "relapse/eval/auc.h"
#include "relapse/eval/bootstrap.h"
#include "relapse/report/recovery_stats.h"
#include "relapse/report/report.h"
#include "relapse/report/svg_plot.h"
#include "report_dose.h"
#include "report_format.h"

namespace relapse::report {

namespace {

double level_of(const RunResult& r) {
  return r.bootstrap.level > 0 && r.bootstrap.level < 1 ? r.bootstrap.level : 0.95;
}

}  // namespace

std::map<std::string, std::vector<DosePoint>> dose_curves(const RunResult& r) {
  std::map<std::string, std::vector<DosePoint>> all;
  for (const auto& g : report_groups(r)) {
    const ModelResult* m = group_models(r, g).front();
    if (m->info.lr_regime != "small" && m->info.lr_regime != "large") continue;
    if (m->evals.empty()) continue;  // diverged
    all[m->info.method].push_back({m->info.lr, g, m->info.lr_regime});
  }
  std::map<std::string, std::vector<DosePoint>> out;
  for (auto& [method, pts] : all) {
    std::sort(pts.begin(), pts.end(), [](const DosePoint& a, const DosePoint& b) {
      return a.lr < b.lr || (a.lr == b.lr && a.group < b.group);
    });
    if (pts.front().lr != pts.back().lr) out[method] = pts;
  }
  return out;
}

GroupValue dose_paired(const RunResult& r, const std::string& group, const std::string& precision) {
  const GroupValue pooled = group_paired_pooled(r, group, precision, "knowmem_f");
  return pooled.n >= 2 ? pooled : group_paired(r, group, precision, "knowmem_f");
}

namespace {

// The LRs of a curve by what the paired interval at `precision` supports;
// `seeds` = the most seeds behind one point.
std::map<DoseVerdict, std::vector<double>> verdict_lrs(const RunResult& r,
                                                       const std::vector<DosePoint>& pts,
                                                       const std::string& precision,
                                                       int64_t* seeds) {
  std::map<DoseVerdict, std::vector<double>> by;
  for (const DosePoint& pt : pts) {
    const GroupValue d = dose_paired(r, pt.group, precision);
    if (d.n == 0) continue;
    by[dose_verdict(d)].push_back(pt.lr);
    *seeds = std::max(*seeds, d.n);
  }
  return by;
}

std::string lr_list(const std::vector<double>& lrs) {
  std::string s;
  for (size_t i = 0; i < lrs.size(); ++i) s += (i ? ", " : "") + fmt_g(lrs[i]);
  return s;
}

// The same LRs judged net of what `precision` does to the target
// (group_undone_pooled): where the forgetting is undone, survives or deepens.
std::string dose_undone_line(const RunResult& r, const std::string& method,
                             const std::vector<DosePoint>& pts, const std::string& precision) {
  std::map<DoseVerdict, std::vector<double>> by;
  for (const DosePoint& pt : pts) {
    const GroupValue u = group_undone_pooled(r, pt.group, precision, "knowmem_f");
    if (u.n > 0) by[dose_verdict(u)].push_back(pt.lr);
  }
  if (by.empty()) return "";
  std::vector<std::string> parts;
  if (by.count(DoseVerdict::kBack))
    parts.push_back("undone (in part or whole) at LR " + lr_list(by[DoseVerdict::kBack]));
  if (by.count(DoseVerdict::kNoChange))
    parts.push_back("not detectably undone at LR " + lr_list(by[DoseVerdict::kNoChange]));
  if (by.count(DoseVerdict::kLower))
    parts.push_back("deepened at LR " + lr_list(by[DoseVerdict::kLower]));
  if (by.count(DoseVerdict::kNoInterval))
    parts.push_back("no interval at LR " + lr_list(by[DoseVerdict::kNoInterval]));
  std::string line = "  - net of what " + precision + " does to the target (its own " + precision +
                     " − full taken out), " + method + "'s forgetting is ";
  for (size_t i = 0; i < parts.size(); ++i) line += (i ? "; " : "") + parts[i];
  return line + ".\n";
}

// One paragraph per quantized precision: the LRs where the knowledge comes
// back, where nothing detectable changes, where it drops, and where no
// interval exists; plus where the full-precision model did not forget.
std::string dose_conclusion(const RunResult& r, const std::string& method,
                            const std::vector<DosePoint>& pts,
                            const std::vector<std::string>& quant, double t_knowmem) {
  std::ostringstream os;
  std::vector<double> kept;  // full-precision forget KnowMem not below the target's
  for (const DosePoint& pt : pts) {
    const GroupValue f = group_metric(r, pt.group, "full", "knowmem_f");
    if (std::isfinite(t_knowmem) && std::isfinite(f.mean) && f.mean >= t_knowmem)
      kept.push_back(pt.lr);
  }
  for (const auto& p : quant) {
    int64_t seeds = 0;
    std::map<DoseVerdict, std::vector<double>> by = verdict_lrs(r, pts, p, &seeds);
    if (by.empty()) continue;
    os << "- **" << method << ", " << p << "**: ";
    std::vector<std::string> parts;
    if (by.count(DoseVerdict::kBack))
      parts.push_back("forgotten knowledge comes back at LR " + lr_list(by[DoseVerdict::kBack]) +
                      " (" + p + " − full above 0 over its whole interval)");
    if (by.count(DoseVerdict::kNoChange))
      parts.push_back("no detectable change at LR " + lr_list(by[DoseVerdict::kNoChange]) +
                      " (the interval includes 0: the forgetting survives " + p + ")");
    if (by.count(DoseVerdict::kLower))
      parts.push_back("lower after quantization at LR " + lr_list(by[DoseVerdict::kLower]));
    if (by.count(DoseVerdict::kNoInterval))
      parts.push_back("no interval at LR " + lr_list(by[DoseVerdict::kNoInterval]) +
                      " (one seed without bootstrap)");
    for (size_t i = 0; i < parts.size(); ++i) os << (i ? "; " : "") << parts[i];
    os << " — " << (seeds > 1 ? std::to_string(seeds) + " seeds" : std::string("one seed")) << ".\n"
       << dose_undone_line(r, method, pts, p);
  }
  if (!kept.empty())
    os << "- At LR " << lr_list(kept) << " " << method
       << " did not forget at full precision (forget KnowMem not below the target's): nothing "
          "there for quantization to bring back.\n";
  return os.str();
}

// fig_dose_<method>.svg: forget KnowMem against the LR, one line per
// precision with the intervals across seeds; the target and retrain dashed.
ReportFigure dose_figure(const RunResult& r, const std::string& method,
                         const std::vector<DosePoint>& pts, const std::vector<std::string>& quant) {
  SvgLineChart c;
  c.title = "Dose–response: " + method;
  c.subtitle =
      "forget KnowMem (higher = more of the forgotten facts known) against the "
      "unlearning learning rate";
  c.x_label = "learning rate";
  c.y_label = "forget KnowMem";
  c.log_x = true;
  c.y_max_hint = 0;
  std::vector<std::string> precs = {"full"};
  precs.insert(precs.end(), quant.begin(), quant.end());
  int64_t seeds = 0;
  for (const auto& p : precs) {
    SvgSeries s;
    s.name = p;
    for (const DosePoint& pt : pts) {
      const GroupValue v = group_metric(r, pt.group, p, "knowmem_f");
      s.points.push_back(
          {pt.lr, v.mean, v.lo, v.hi,
           std::to_string(v.n) + (v.n == 1 ? " seed" : " seeds") + ", " + pt.regime + " LR"});
      seeds = std::max(seeds, v.n);
    }
    c.series.push_back(std::move(s));
  }
  for (const char* kind : {"target", "retrain"}) {
    const ModelResult* m = find_kind(r, kind);
    const PrecisionEval* e = m ? model_find_eval(*m, "full") : nullptr;
    if (e) c.lines.push_back({eval_metric(*e, "knowmem_f"), std::string(kind) + " (full)"});
  }
  // The quantized target: where full recovery would put a quantized point.
  if (const ModelResult* t = find_kind(r, "target"))
    for (const auto& p : quant)
      if (const PrecisionEval* e = model_find_eval(*t, p))
        c.lines.push_back({eval_metric(*e, "knowmem_f"), "target (" + p + ")"});
  std::string cap = "Mean over " + std::to_string(seeds) + (seeds == 1 ? " seed" : " seeds") +
                    (seeds > 1 ? " with " + fmt(100.0 * level_of(r), 0) +
                                     "% intervals across "
                                     "seeds."
                               : ".");
  for (const auto& p : quant) {
    int64_t n = 0;
    auto by = verdict_lrs(r, pts, p, &n);
    std::string line;
    const std::pair<DoseVerdict, const char*> words[] = {{DoseVerdict::kBack, "back at LR "},
                                                         {DoseVerdict::kNoChange, "no change at "},
                                                         {DoseVerdict::kLower, "lower at "}};
    for (const auto& [v, w] : words)
      if (by.count(v)) line += (line.empty() ? "" : "; ") + std::string(w) + lr_list(by[v]);
    if (!line.empty()) cap += "\n" + p + " − full: " + line + ".";
  }
  c.caption = cap;
  ReportFigure f;
  f.file = "fig_dose_" + method + ".svg";
  f.caption = "Dose–response of " + method + ": forget KnowMem against the learning rate";
  f.section = "dose";
  f.svg = svg_line_chart(c);
  return f;
}

}  // namespace

std::vector<ReportFigure> report_dose_figures(const RunResult& r) {
  std::vector<ReportFigure> out;
  std::vector<std::string> quant;
  for (const auto& p : report_precisions(r))
    if (p != "full" && p != "relearn") quant.push_back(p);
  for (const auto& [method, pts] : dose_curves(r))
    out.push_back(dose_figure(r, method, pts, quant));
  return out;
}

GroupValue group_paired(const RunResult& r, const std::string& group, const std::string& precision,
                        const std::string& metric) {
  std::vector<double> diffs;
  const PrecisionEval* single = nullptr;
  for (const ModelResult* m : group_models(r, group)) {
    const PrecisionEval* full = model_find_eval(*m, "full");
    const PrecisionEval* q = model_find_eval(*m, precision);
    if (!full || !q) continue;
    const double d = eval_metric(*q, metric) - eval_metric(*full, metric);
    if (!std::isfinite(d)) continue;
    diffs.push_back(d);
    single = q;
  }
  GroupValue g;
  g.n = static_cast<int64_t>(diffs.size());
  if (diffs.empty()) return g;
  if (diffs.size() == 1) {
    g.mean = diffs[0];
    for (const PairedDiff& p : single->vs_full)  // already × 100
      if (p.metric == metric) g.lo = p.lo, g.hi = p.hi;
    return g;
  }
  const SeedInterval s = seed_interval(diffs, level_of(r));
  g.mean = s.mean;
  g.lo = s.lo;
  g.hi = s.hi;
  return g;
}

namespace {

// Per-question scores of a metric (empty for PrivLeak, which has none).
const std::vector<double>* metric_scores(const PrecisionEval& e, const std::string& metric) {
  const auto& m = e.metrics;
  if (metric == "verbmem_f" && m.has_verbmem) return &m.verbmem_scores;
  if (metric == "knowmem_f" && m.has_knowmem) return &m.knowmem_forget.scores;
  if (metric == "knowmem_r" && m.has_knowmem) return &m.knowmem_retain.scores;
  return nullptr;
}

// Per question, (precision − full) of each seed's model, minus the same
// difference of `baseline` (null: none), averaged over the seeds; with the
// bootstrap over the questions on stream "bootstrap/<tag>/<group>/...".
GroupValue pooled_difference(const RunResult& r, const std::string& group,
                             const std::string& precision, const std::string& metric,
                             const ModelResult* baseline, const std::string& tag,
                             int64_t min_seeds) {
  std::vector<double> base;
  if (baseline) {
    const PrecisionEval* bf = model_find_eval(*baseline, "full");
    const PrecisionEval* bq = model_find_eval(*baseline, precision);
    const std::vector<double>* a = bf ? metric_scores(*bf, metric) : nullptr;
    const std::vector<double>* b = bq ? metric_scores(*bq, metric) : nullptr;
    if (!a || !b || a->size() != b->size() || a->empty()) return {};
    for (size_t i = 0; i < a->size(); ++i) base.push_back((*b)[i] - (*a)[i]);
  }
  std::vector<double> pooled;  // per question, summed over seeds
  int64_t seeds = 0;
  for (const ModelResult* m : group_models(r, group)) {
    const PrecisionEval* full = model_find_eval(*m, "full");
    const PrecisionEval* q = model_find_eval(*m, precision);
    const std::vector<double>* a = full ? metric_scores(*full, metric) : nullptr;
    const std::vector<double>* b = q ? metric_scores(*q, metric) : nullptr;
    if (!a || !b || a->size() != b->size() || a->empty()) continue;
    if (!base.empty() && base.size() != a->size()) continue;  // not the same questions
    if (seeds > 0 && pooled.size() != a->size()) continue;
    pooled.resize(a->size(), 0.0);
    for (size_t i = 0; i < a->size(); ++i)
      pooled[i] += (*b)[i] - (*a)[i] - (base.empty() ? 0.0 : base[i]);
    ++seeds;
  }
  GroupValue g;
  if (seeds < min_seeds || seeds == 0) return g;  // n = 0: nothing to pool
  g.n = seeds;
  for (double& d : pooled) d *= 100.0 / static_cast<double>(seeds);
  g.mean = eval::np_mean(pooled.data(), pooled.size());
  if (r.bootstrap.resamples <= 0) return g;
  eval::BootstrapOptions o;
  o.resamples = r.bootstrap.resamples;
  o.level = level_of(r);
  // Its own named stream of the run's root seed: the same interval from the
  // archive as from the run.
  o.seed = RngStreams(r.bootstrap.seed)
               .seed_of("bootstrap/" + tag + "/" + group + "/" + precision + "/" + metric);
  const eval::Interval iv = eval::bootstrap_mean(pooled, o);
  g.lo = iv.lo;
  g.hi = iv.hi;
  return g;
}

}  // namespace

GroupValue group_paired_pooled(const RunResult& r, const std::string& group,
                               const std::string& precision, const std::string& metric) {
  return pooled_difference(r, group, precision, metric, nullptr, "pooled", 2);
}

GroupValue group_undone_pooled(const RunResult& r, const std::string& group,
                               const std::string& precision, const std::string& metric) {
  const ModelResult* target = find_kind(r, "target");
  if (!target) return {};
  return pooled_difference(r, group, precision, metric, target, "undone", 1);
}

DoseVerdict dose_verdict(const GroupValue& d) {
  if (!std::isfinite(d.lo) || !std::isfinite(d.hi)) return DoseVerdict::kNoInterval;
  if (d.lo > 0) return DoseVerdict::kBack;
  if (d.hi < 0) return DoseVerdict::kLower;
  return DoseVerdict::kNoChange;
}

std::string report_dose_section(const RunResult& r) {
  const auto curves = dose_curves(r);
  if (curves.empty()) return "";
  std::vector<std::string> quant;
  for (const auto& p : report_precisions(r))
    if (p != "full" && p != "relearn") quant.push_back(p);
  const ModelResult* target = find_kind(r, "target");
  const PrecisionEval* tfull = target ? model_find_eval(*target, "full") : nullptr;
  const double t_knowmem = tfull ? eval_metric(*tfull, "knowmem_f") : kNaN;
  const std::string pct = fmt(100.0 * level_of(r), 0);
  std::ostringstream os;
  os << "\n## Dose–response: forgetting and its undoing against the learning rate\n\n"
        "Forget KnowMem (higher = more of the forgotten facts known) of each method at every "
        "learning rate it ran, at full precision and quantized: the mean over the seeds with "
        "its "
     << pct
     << "% interval across seeds, and the paired difference quantized − full two ways: "
        "pooled (per question, averaged over the seeds, then the bootstrap over the "
        "questions: how sure the difference is for these facts) and across seeds (per seed, "
        "then the Student-t interval over the seeds: how much the recipe's outcome moves "
        "with the data order). The verdicts read the pooled interval (the across-seed one where "
        "per-question scores are missing). "
        "Retain KnowMem at full precision shows what each LR cost in utility. Target: "
     << fmt_m(t_knowmem) << ".\n";
  for (const auto& [method, pts] : curves) {
    os << "\n### " << method << "\n\n| LR | regime | seeds | full";
    for (const auto& p : quant)
      os << " | " << p << " | " << p << " − full, pooled | " << p << " − full, across seeds | " << p
         << ": undone";
    os << " | retain (full) |\n|---:|---|---:|---:";
    for (size_t i = 0; i < quant.size(); ++i) os << "|---:|---:|---:|---:";
    os << "|---:|\n";
    for (const DosePoint& pt : pts) {
      const GroupValue f = group_metric(r, pt.group, "full", "knowmem_f");
      os << "| " << fmt_g(pt.lr) << " | " << pt.regime << " | " << f.n << " | "
         << fmt_band(f.mean, f.lo, f.hi);
      for (const auto& p : quant) {
        const GroupValue q = group_metric(r, pt.group, p, "knowmem_f");
        const GroupValue pooled = group_paired_pooled(r, pt.group, p, "knowmem_f");
        const GroupValue spread = group_paired(r, pt.group, p, "knowmem_f");
        // One seed: its bootstrap paired interval is the pooled one.
        os << " | " << fmt_band(q.mean, q.lo, q.hi) << " | "
           << (pooled.n >= 2   ? fmt_signed_band(pooled)
               : spread.n == 1 ? fmt_signed_band(spread)
                               : std::string("–"))
           << " | " << (spread.n > 1 ? fmt_signed_band(spread) : std::string("–")) << " | "
           << fmt_signed_band(group_undone_pooled(r, pt.group, p, "knowmem_f"));
      }
      const GroupValue ret = group_metric(r, pt.group, "full", "knowmem_r");
      os << " | " << fmt_band(ret.mean, ret.lo, ret.hi) << " |\n";
    }
    const ReportFigure fig = dose_figure(r, method, pts, quant);
    os << "\n![" << fig.caption << "](" << fig.file << ")\n\n"
       << dose_conclusion(r, method, pts, quant, t_knowmem);
  }
  os << "\nThe conclusion for an LR needs two things: that the model forgot at full precision "
        "(its forget KnowMem below the target's, else there is nothing to bring back), and a "
        "paired interval that excludes 0. It would not hold — and the table says so — where "
        "the interval includes 0 (too few seeds, or a recipe on a knife's edge), where the "
        "full-precision model did not forget, or on a machine whose training path lands "
        "elsewhere (bf16 kernels differ between CPUs; see the README).\n";
  return os.str();
}

}  // namespace relapse::report
