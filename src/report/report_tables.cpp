// src/report/report_tables.cpp — what report.md and the figures share
// (relapse/report/report.h): metric look-up, unlearning groups, the
// display order of precisions, a group's value across seeds; and the
// markdown sections added with issue 6 (paired differences vs full, seeds,
// relearning vs quantization).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "relapse/core/error.h"
#include "relapse/report/report.h"

#include "relapse/report/recovery_stats.h"
#include "report_format.h"

namespace relapse::report {

namespace {

const char* const kMetricNames[4][2] = {{"verbmem_f", "VerbMem"},
                                        {"knowmem_f", "KnowMem forget"},
                                        {"knowmem_r", "KnowMem retain"},
                                        {"privleak", "PrivLeak"}};

std::string fmt_pct(double level) {  // 0.95 → "95"
  char b[32];
  std::snprintf(b, sizeof b, "%g", 100.0 * level);
  return b;
}
std::string group_of(const ModelInfo& i) {
  return i.group.empty() ? i.name : i.group;
}
int precision_class(const std::string& p, int bits) {
  if (p == "full") return 0;
  if (p == "relearn") return 9;
  if (bits == 8) return 1;
  if (p == "int4") return 2;
  if (bits == 4) return 3;
  return 4;
}

}  // namespace

double eval_metric(const PrecisionEval& e, const std::string& metric) {
  const auto& m = e.metrics;
  if (metric == "verbmem_f") return m.has_verbmem ? m.verbmem_forget : kNaN;
  if (metric == "knowmem_f") return m.has_knowmem ? m.knowmem_forget.mean : kNaN;
  if (metric == "knowmem_r") return m.has_knowmem ? m.knowmem_retain.mean : kNaN;
  if (metric == "privleak") return e.privleak;
  RELAPSE_CHECK(false, "unknown metric '", metric, "'");
  return kNaN;
}

std::vector<std::string> report_groups(const RunResult& r) {
  std::vector<std::string> out;
  for (const auto& m : r.models)
    if (m.info.kind == "unlearned" &&
        std::find(out.begin(), out.end(), group_of(m.info)) == out.end())
      out.push_back(group_of(m.info));
  return out;
}

std::vector<const ModelResult*> group_models(const RunResult& r, const std::string& group) {
  std::vector<const ModelResult*> out;
  for (const auto& m : r.models)
    if (m.info.kind == "unlearned" && group_of(m.info) == group) out.push_back(&m);
  return out;
}

std::vector<std::string> report_precisions(const RunResult& r) {
  std::vector<std::pair<int, std::string>> seen;
  for (const auto& m : r.models)
    for (const auto& e : m.evals) {
      bool dup = false;
      for (const auto& s : seen) dup = dup || s.second == e.precision;
      if (!dup) seen.emplace_back(precision_class(e.precision, e.bits), e.precision);
    }
  std::stable_sort(seen.begin(), seen.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (const auto& s : seen) out.push_back(s.second);
  return out;
}

GroupValue group_metric(const RunResult& r, const std::string& group, const std::string& precision,
                        const std::string& metric) {
  GroupValue g;
  std::vector<double> values;
  const PrecisionEval* single = nullptr;
  for (const ModelResult* m : group_models(r, group)) {
    const PrecisionEval* e = model_find_eval(*m, precision);
    double v = e ? eval_metric(*e, metric) : kNaN;
    if (!std::isfinite(v)) continue;
    values.push_back(v);
    single = e;
  }
  g.n = static_cast<int64_t>(values.size());
  if (values.empty()) return g;
  if (values.size() == 1) {
    g.mean = values[0];
    for (const auto& [name, ci] : single->ci)
      if (name == metric) g.lo = ci.lo, g.hi = ci.hi;
    return g;
  }
  const double level = r.bootstrap.level > 0 && r.bootstrap.level < 1 ? r.bootstrap.level : 0.95;
  SeedInterval s = seed_interval(values, level);
  g.mean = s.mean;
  g.lo = s.lo;
  g.hi = s.hi;
  return g;
}

std::string report_paired_section(const RunResult& r) {
  std::ostringstream os;
  for (const auto& m : r.models)
    for (const auto& e : m.evals) {
      if (e.vs_full.empty()) continue;
      if (os.tellp() == 0)
        os << "\n## Quantized vs full precision (paired)\n\n"
              "Per-sample difference quantized − full precision of the same model, averaged over "
              "the evaluation samples, with its "
           << fmt_pct(r.bootstrap.level) << "% bootstrap interval (" << r.bootstrap.resamples
           << " resamples, seed " << r.bootstrap.seed
           << "). A positive forget difference means quantization made the model reproduce more "
              "of the forget set; an interval that excludes 0 is a difference the evaluation "
              "samples support.\n\n"
              "| model | precision | Δ VerbMem | Δ KnowMem forget | Δ KnowMem retain | Δ PrivLeak "
              "| paired samples |\n|---|---|---:|---:|---:|---:|---|\n";
      os << "| " << m.info.name << " | " << e.precision;
      std::string ns;
      for (const auto& mn : kMetricNames) {
        const PairedDiff* d = nullptr;
        for (const auto& x : e.vs_full)
          if (x.metric == mn[0]) d = &x;
        os << " | " << (d ? fmt_band(d->mean, d->lo, d->hi) : kDash);
        if (d) ns += (ns.empty() ? "" : ", ") + std::to_string(d->n);
      }
      os << " | " << (ns.empty() ? kDash : ns) << " |\n";
    }
  return os.str();
}

std::string report_seeds_section(const RunResult& r) {
  bool any = false;
  for (const auto& g : report_groups(r)) any = any || group_models(r, g).size() > 1;
  if (!any) return "";
  std::ostringstream os;
  os << "\n## Across seeds\n\n"
        "Groups whose unlearning was repeated with different data orders (unlearn.seeds): the "
        "mean over the seeds and its "
     << fmt_pct(r.bootstrap.level)
     << "% interval across seeds (relapse/report/recovery_stats.h). One seed: its value and "
        "bootstrap interval.\n\n"
        "| group | precision | seeds | VerbMem | KnowMem forget | KnowMem retain | PrivLeak |\n"
        "|---|---|---:|---:|---:|---:|---:|\n";
  for (const auto& g : report_groups(r)) {
    if (group_models(r, g).size() < 2) continue;
    for (const auto& p : report_precisions(r)) {
      GroupValue v[4];
      int64_t n = 0;
      for (int k = 0; k < 4; ++k) {
        v[k] = group_metric(r, g, p, kMetricNames[k][0]);
        n = std::max(n, v[k].n);
      }
      if (n == 0) continue;
      os << "| " << g << " | " << p << " | " << n;
      for (const auto& x : v) os << " | " << fmt_band(x.mean, x.lo, x.hi);
      os << " |\n";
    }
  }
  return os.str();
}

std::string report_relearn_section(const RunResult& r) {
  bool any = false;
  for (const auto& m : r.models) any = any || model_find_eval(m, "relearn") != nullptr;
  if (!any) return "";
  std::vector<std::string> quant;
  for (const auto& p : report_precisions(r))
    if (p != "full" && p != "relearn") quant.push_back(p);
  std::ostringstream os;
  os << "\n## Relearning attack vs quantization\n\n"
        "Forget KnowMem of each unlearned model at full precision, after each quantization, and "
        "after the relearning attack ("
     << r.relearn.steps << " fine-tuning steps at LR " << r.relearn.lr << " on " << r.relearn.rows
     << " rows of the " << (r.relearn.source.empty() ? "?" : r.relearn.source)
     << " set, starting from the "
     << (r.relearn.from == "full" ? std::string("full-precision") : r.relearn.from)
     << " model; evaluated in full precision). Higher = more of the forgotten facts back; the "
        "retrain model "
        "(never saw the forget set) under the same attack shows how much the attack teaches "
        "from scratch.\n\n"
        "| model | full";
  for (const auto& p : quant) os << " | " << p;
  os << " | relearn |\n|---|---:";
  for (size_t i = 0; i <= quant.size(); ++i) os << "|---:";
  os << "|\n";
  for (const auto& m : r.models) {
    if (m.info.kind != "unlearned" && m.info.kind != "retrain") continue;
    auto cell = [&](const std::string& p) {
      const PrecisionEval* e = model_find_eval(m, p);
      return e ? fmt_m(eval_metric(*e, "knowmem_f")) : std::string(kDash);
    };
    os << "| " << m.info.name << " | " << cell("full");
    for (const auto& p : quant) os << " | " << cell(p);
    os << " | " << cell("relearn") << " |\n";
  }
  return os.str();
}

std::string report_mia_section(const RunResult& r) {
  std::vector<std::string> attacks;  // from the first evaluation that has them
  bool memorization = false;
  for (const auto& m : r.models)
    for (const auto& e : m.evals) {
      memorization = memorization || e.metrics.has_memorization;
      if (attacks.empty())
        for (const auto& a : e.metrics.mia) attacks.push_back(a.attack);
    }
  if (attacks.empty() && !memorization) return "";
  std::ostringstream os;
  os << "\n## Membership inference and memorization\n\n"
        "The AUC of each of MUSE's attacks (privleak.py) separating the forget texts (0) from "
        "the holdout texts (1) on the negated score, as PrivLeak's Min-K% AUC: near 0 = the "
        "model knows the forget texts better than unseen ones, near 0.5 = no difference (the "
        "retrain model). ppl: the mean NLL (MUSE's \"PPL\"), ppl_lower: over the NLL of the "
        "lower-cased text, ppl_zlib: over the text's zlib-compressed length; min_k_plus_plus: "
        "OpenUnlearning's Min-K%++ (each token's log-probability standardised by the mean "
        "and spread of the model's log-probabilities at that position). ES and EM: "
        "OpenUnlearning's extraction strength and exact memorization of the VerbMem forget "
        "texts (× 100; higher = more of the text reproduced greedily).\n\n"
        "| model | precision | Min-K%";
  for (const auto& a : attacks) os << " | " << a;
  os << " | ES | EM |\n|---|---|---:";
  for (size_t i = 0; i < attacks.size() + 2; ++i) os << "|---:";
  os << "|\n";
  for (const auto& m : r.models)
    for (const auto& e : m.evals) {
      const auto& mt = e.metrics;
      if (mt.mia.empty() && !mt.has_memorization) continue;
      os << "| " << m.info.name << " | " << e.precision << " | "
         << fmt(mt.has_privleak ? mt.privleak_auc : kNaN, 3);
      for (const auto& name : attacks) {
        double auc = kNaN;
        for (const auto& a : mt.mia)
          if (a.attack == name) auc = a.auc;
        os << " | " << fmt(auc, 3);
      }
      os << " | " << fmt_m(mt.has_memorization ? 100 * mt.extraction_strength : kNaN) << " | "
         << fmt_m(mt.has_memorization ? 100 * mt.exact_memorization : kNaN) << " |\n";
    }
  return os.str();
}

}  // namespace relapse::report
