// src/report/report.cpp — the human-readable side of a run
// (relapse/report/report.h): the paper's retention figure, per-model
// recovery under quantization, the terminal summary table and report.md.
// Every number is printed with a fixed number of decimals (metrics: 1) and a
// metric that was not computed (NaN) is shown as "–".
#include "relapse/report/report.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "relapse/core/error.h"
#include "relapse/core/fs.h"
#include "relapse/report/recovery_stats.h"
#include "report_format.h"

namespace relapse::report {

namespace {

// Thresholds of the plain-language reading (stated in the report itself).
constexpr double kKnowsGap = 10.0;       // target − retrain forget KnowMem, points
constexpr double kForgetShare = 50.0;    // % of the target→retrain gap closed = "forgets"
constexpr double kForgetSome = 20.0;     // % closed = "partly forgets" (below: "does not")
constexpr double kUtilityKept = 80.0;    // retain KnowMem ≥ this % of the target's = "keeps"
constexpr double kRecoveryLarge = 50.0;  // recovery % = "comes back a large part of the way"
constexpr double kRecoverySmall = 20.0;  // recovery % below = "forgetting survives"

std::string pct_codes(const SummaryRow& s) {  // share of int codes changed, in %
  return fmt(s.codes_changed_frac * 100.0, 3);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool utility_constrained(const ModelInfo& m) {
  return ends_with(m.method, "_gdr") || ends_with(m.method, "_klr");
}

double row_metric(const SummaryRow* s, const std::string& metric) {
  if (!s) return kNaN;
  if (metric == "verbmem_f") return s->verbmem_f;
  if (metric == "knowmem_f") return s->knowmem_f;
  if (metric == "knowmem_r") return s->knowmem_r;
  RELAPSE_CHECK(false, "unknown metric '", metric, "' (verbmem_f | knowmem_f | knowmem_r)");
  return kNaN;
}

// Every precision evaluated in the run, in order of first appearance.
std::vector<std::string> run_precisions(const RunResult& r) {
  std::vector<std::string> out;
  for (const auto& m : r.models)
    for (const auto& e : m.evals) {
      bool seen = false;
      for (const auto& p : out) seen = seen || p == e.precision;
      if (!seen) out.push_back(e.precision);
    }
  return out;
}

// Display width of UTF-8 text (code points; "–" and "Δ" count as one).
size_t text_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}
std::string pad(const std::string& s, size_t w, bool right) {
  size_t n = text_width(s);
  std::string fill(n < w ? w - n : 0, ' ');
  return right ? fill + s : s + fill;
}

// "value [lo, hi]" with the bootstrap interval when there is one.
std::string fmt_ci(double v, const SummaryBand& b) {
  std::string s = fmt_m(v);
  if (std::isfinite(v) && std::isfinite(b.lo) && std::isfinite(b.hi))
    s += " [" + fmt_m(b.lo) + ", " + fmt_m(b.hi) + "]";
  return s;
}

// "SURE row p90" for a SURE run ("" otherwise).
std::string sure_label(const ModelInfo& i) {
  if (i.saliency.empty()) return "";
  return "SURE " + i.saliency + (i.saliency_threshold.empty() ? "" : " " + i.saliency_threshold);
}

// The figures of one section as markdown images (files written by report_write).
std::string figures_section(const RunResult& r, const std::string& section) {
  std::ostringstream os;
  for (const auto& f : report_figures(r))
    if (f.section == section) {
      std::string alt;  // brackets would end the alt text early
      for (char ch : f.caption) alt += (ch == '[' || ch == ']' || ch == '\n') ? ' ' : ch;
      os << "\n![" << alt << "](" << f.file << ")\n";
    }
  if (os.tellp() == 0) return "";
  const char* head = section == "overview"  ? "\n## At a glance\n"
                     : section == "methods" ? "\n## Per method\n"
                                            : "\n## How far unlearning moved the weights\n";
  return head + os.str();
}

std::string py_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

double retention_percent(const RunResult& r, const std::string& precision) {
  const ModelResult* target = find_kind(r, "target");
  if (!target) return kNaN;
  std::vector<SummaryRow> rows = summary_rows(r);
  const SummaryRow* t = find_row(rows, target->info.name, precision);
  if (!t) return kNaN;
  std::vector<std::pair<double, double>> unlearned;
  for (const auto& m : r.models) {
    // The paper's figure is over the utility-constrained methods at their
    // (small) tuned learning rates; the large-LR and SURE runs are its contrast.
    if (m.info.kind == "target" || !utility_constrained(m.info) || m.info.lr_regime == "large" ||
        m.info.lr_regime == "sure")
      continue;
    if (const SummaryRow* s = find_row(rows, m.info.name, precision))
      unlearned.emplace_back(s->verbmem_f, s->knowmem_f);
  }
  return retention_percent_of(unlearned, {t->verbmem_f, t->knowmem_f});
}

double recovery(const RunResult& r, const std::string& model, const std::string& precision,
                const std::string& metric) {
  const ModelResult* target = find_kind(r, "target");
  std::vector<SummaryRow> rows = summary_rows(r);
  double u_full = row_metric(find_row(rows, model, "full"), metric);
  double u_q = row_metric(find_row(rows, model, precision), metric);
  double t_q = target ? row_metric(find_row(rows, target->info.name, precision), metric) : kNaN;
  double den = t_q - u_full;
  if (!std::isfinite(den) || !std::isfinite(u_q) || den == 0.0) return kNaN;
  return (u_q - u_full) / den;
}

// One sentence naming the runs that diverged ("" when none): they have no
// rows in the tables (not evaluated), so the reader is told why.
static std::string diverged_note(const RunResult& r) {
  std::string names;
  for (const auto& m : r.models)
    if (m.info.diverged_step > 0)
      names += (names.empty() ? "" : ", ") + m.info.name + " at update " +
               std::to_string(m.info.diverged_step);
  if (names.empty()) return "";
  return "Diverged (a non-finite gradient or weights; stopped there, not evaluated): " + names +
         ".\n";
}

std::string summary_table_text(const RunResult& r) {
  std::vector<std::vector<std::string>> cells = {{"model", "precision", "VerbMem", "KnowMem_f",
                                                  "KnowMem_r", "PrivLeak", "codes chg %",
                                                  "|dw|/delta"}};
  for (const auto& s : summary_rows(r))
    cells.push_back({s.model, s.precision, fmt_m(s.verbmem_f), fmt_m(s.knowmem_f),
                     fmt_m(s.knowmem_r), fmt_m(s.privleak), pct_codes(s),
                     fmt(s.mean_dw_over_delta, 3)});
  std::vector<size_t> w(cells[0].size(), 0);
  for (const auto& row : cells)
    for (size_t j = 0; j < row.size(); ++j) w[j] = std::max(w[j], text_width(row[j]));
  std::ostringstream os;
  for (size_t i = 0; i < cells.size(); ++i) {
    for (size_t j = 0; j < cells[i].size(); ++j)
      os << (j ? "  " : "") << pad(cells[i][j], w[j], j >= 2);
    os << "\n";
    if (i == 0) {
      size_t total = 0;
      for (size_t x : w) total += x + 2;
      os << std::string(total - 2, '-') << "\n";
    }
  }
  os << diverged_note(r);
  return os.str();
}

// The paper's mechanism, per unlearned model and quantized precision: how far
// unlearning moved the weights in units of the target's quantization step Δ,
// and how many integer codes changed. Weights that moved < Δ/2 keep their
// code unless they sat near a bucket boundary.
static std::string bucket_section(const RunResult& r) {
  std::ostringstream os;
  bool any = false;
  for (const auto& m : r.models)
    for (const auto& e : m.evals) any = any || e.has_code_change;
  if (!any) return "";
  os << "\n## Bucket diagnostics\n\n"
        "Share of weights by |w_unlearned − w_target| / Δ (Δ = the target's quantization step "
        "of that weight: its group's scale, or for fp4/nf4 the width of its code's bucket), "
        "and the share of integer codes that differ between Q(target) and Q(unlearned). "
        "Per-layer counts are in the archive (`code_change/layers`).\n\n"
        "| model | precision | codes changed (%) | < 0.01 Δ (%) | 0.01–0.1 Δ (%) | 0.1–0.5 Δ (%) "
        "| ≥ 0.5 Δ (%) | layer with most changes |\n"
        "|---|---|---:|---:|---:|---:|---:|---|\n";
  for (const auto& m : r.models) {
    for (const auto& e : m.evals) {
      if (!e.has_code_change) continue;
      const auto& c = e.code_change;
      double b[4] = {0, 0, 0, 0};  // edges {0, .001, .01, .05, .1, .25, .5, 1, 2}
      for (size_t i = 0; i < c.hist.size(); ++i) {
        const double lo = c.bin_edges[i];
        b[lo < 0.01 ? 0 : lo < 0.1 ? 1 : lo < 0.5 ? 2 : 3] += static_cast<double>(c.hist[i]);
      }
      std::string worst = kDash;
      double worst_f = -1;
      for (const auto& [name, ls] : e.code_change_layers)
        if (ls.frac_codes_changed() > worst_f) {
          worst_f = ls.frac_codes_changed();
          worst = name + " (" + fmt(100.0 * worst_f, 2) + "%)";
        }
      const double n = c.n_weights ? static_cast<double>(c.n_weights) : kNaN;
      os << "| " << md_cell(m.info.name) << " | " << md_cell(e.precision) << " | "
         << fmt(100.0 * c.frac_codes_changed(), 2);
      for (double v : b) os << " | " << fmt(100.0 * v / n, 1);
      os << " | " << md_cell(worst) << " |\n";
    }
  }
  return os.str();
}

namespace {

// report.md's sections, in order (report_markdown).
void md_intro(std::ostream& os, const RunResult& r) {
  os << "# relapse run: " << r.name << "\n\n";
  os << "## How to read this\n\n"
        "This run checks whether quantizing an *unlearned* language model brings back the "
        "knowledge that unlearning removed (Zhang et al. 2025, \"Catastrophic failure of LLM "
        "unlearning via quantization\"). **target** was trained on the forget set and the retain "
        "set, so it is the ceiling: it knows the forget facts. **retrain** was trained on the "
        "retain set only, so it never saw the forget set: its scores are the floor. Every other "
        "model is the target after an unlearning method. **KnowMem forget** (answers to questions "
        "about forget facts) and **VerbMem** (verbatim continuation of forget passages) are "
        "ROUGE-L "
        "× 100: high means the model still remembers the forget set. **KnowMem retain** should "
        "stay "
        "high (the model keeps its other knowledge). **PrivLeak** near 0 means the forget set "
        "looks as unseen as held-out text. Each model is evaluated at full precision and after "
        "quantization: round-to-nearest (int8, int4, ...), GPTQ (gptq4), AWQ (awq4) and the "
        "bitsandbytes formats the paper's code ran (fp4, nf4, llm_int8). **Recovery** near "
        "100% means "
        "quantization gave the forgotten knowledge back (the quantized unlearned model scores "
        "like the quantized target); near 0% means the forgetting survived quantization. "
        "\""
     << kDash << "\" marks a number that was not computed.\n\n";
}

void md_what_ran(std::ostream& os, const RunResult& r) {
  os << "## What ran\n\n";
  for (const char* k : {"relapse_version", "git_sha", "libtorch_version", "hostnames", "world_size",
                        "start_time", "command_line"}) {
    auto it = r.provenance.fields.find(k);
    if (it != r.provenance.fields.end()) os << "- " << k << ": `" << it->second << "`\n";
  }
  os << "- total wall time: " << fmt(r.total_wall_s, 1) << " s\n\n";
  os << "| model | kind | method | variant | LR | LR regime | steps | group | seed | SURE |\n"
        "|---|---|---|---|---:|---|---:|---|---:|---|\n";
  for (const auto& m : r.models) {
    const auto& i = m.info;
    os << "| " << md_cell(i.name) << " | " << md_cell(i.kind) << " | " << md_cell(i.method) << " | "
       << md_cell(i.variant) << " | " << fmt_g(i.lr) << " | " << md_cell(i.lr_regime) << " | "
       << i.steps << (i.diverged_step > 0 ? " (diverged)" : "") << " | " << md_cell(i.group)
       << " | " << (i.seed >= 0 ? std::to_string(i.seed) : kDash) << " | " << md_cell(sure_label(i))
       << " |\n";
  }
}

void md_summary(std::ostream& os, const RunResult& r, const std::vector<SummaryRow>& rows) {
  os << "\n## Summary\n\n"
        "| model | precision | VerbMem | KnowMem forget | KnowMem retain | PrivLeak | "
        "int codes changed vs Q(target) (%) | mean \\|Δw\\|/Δ |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& s : rows) {
    const ModelResult* m = run_find_model(r, s.model);
    std::string sure = m ? sure_label(m->info) : "";
    os << "| " << md_cell(s.model) << (sure.empty() ? "" : " (" + md_cell(sure) + ")") << " | "
       << md_cell(s.precision) << " | " << fmt_ci(s.verbmem_f, s.band[0]) << " | "
       << fmt_ci(s.knowmem_f, s.band[1]) << " | " << fmt_ci(s.knowmem_r, s.band[2]) << " | "
       << fmt_ci(s.privleak, s.band[3]) << " | " << pct_codes(s) << " | "
       << fmt(s.mean_dw_over_delta, 3) << " |\n";
  }
  const std::string diverged = diverged_note(r);
  if (!diverged.empty()) os << "\n" << diverged;
  if (r.bootstrap.resamples > 0)
    os << "\nBrackets: " << fmt(100.0 * r.bootstrap.level, 0) << "% bootstrap interval over the "
       << "evaluation samples (" << r.bootstrap.resamples << " resamples, seed " << r.bootstrap.seed
       << ").\n";
}

void md_retention(std::ostream& os, const RunResult& r) {
  const std::vector<std::string> precisions = run_precisions(r);
  os << "\n## Retention\n\n"
        "Σ (VerbMem + KnowMem forget) over the utility-constrained unlearned models (*_gdr, "
        "*_klr; small-LR runs) ÷ the same sum for as many copies of the target, at the same "
        "precision (the "
        "paper: ~21% at full precision, ~83% at int4).\n\n"
        "| precision | retention (%) |\n|---|---:|\n";
  for (const auto& p : precisions)
    if (p != "relearn")  // the target has no relearned version: no retention there
      os << "| " << md_cell(p) << " | " << fmt(retention_percent(r, p), 1) << " |\n";
}

void md_recovery(std::ostream& os, const RunResult& r) {
  os << "\n## Recovery under quantization\n\n"
        "(M(Q(u)) − M(u)) ÷ (M(Q(target)) − M(u)) × 100 for each unlearned model u and "
        "quantized precision Q.\n\n"
        "| model | precision | KnowMem forget recovery (%) | VerbMem recovery (%) |\n"
        "|---|---|---:|---:|\n";
  for (const auto& m : r.models) {
    if (m.info.kind != "unlearned") continue;
    for (const auto& e : m.evals) {
      if (e.precision == "full" || e.precision == "relearn") continue;  // relearn: own table
      os << "| " << md_cell(m.info.name) << " | " << md_cell(e.precision) << " | "
         << fmt(100.0 * recovery(r, m.info.name, e.precision, "knowmem_f"), 1) << " | "
         << fmt(100.0 * recovery(r, m.info.name, e.precision, "verbmem_f"), 1) << " |\n";
    }
  }
}

// The target's and retrain model's full-precision rows, for the verdicts.
struct VerdictBase {
  const SummaryRow *tf = nullptr, *rf = nullptr;
  double t_kf = kNaN, r_kf = kNaN, gap = kNaN;
};

// One unlearned model's quantized precisions: does the knowledge come back?
void md_precision_verdicts(std::ostream& os, const RunResult& r,
                           const std::vector<SummaryRow>& rows, const ModelResult& m,
                           const SummaryRow* uf, double share, bool forgot_some) {
  const std::string& name = m.info.name;
  for (const auto& e : m.evals) {
    if (e.precision == "full" || e.precision == "relearn") continue;
    const SummaryRow* uq = find_row(rows, name, e.precision);
    double rk = 100.0 * recovery(r, name, e.precision, "knowmem_f");
    double rv = 100.0 * recovery(r, name, e.precision, "verbmem_f");
    double basis = std::isfinite(rk) ? rk : rv;
    std::string verdict;
    if (!std::isfinite(share) || !std::isfinite(basis))
      verdict = "recovery undefined";
    else if (!forgot_some)
      verdict = "nothing to recover (little forgetting at full precision)";
    else if (basis >= kRecoveryLarge)
      verdict = "the forgotten knowledge comes back";
    else if (basis >= kRecoverySmall)
      verdict = "the forgotten knowledge partly comes back";
    else
      verdict = "the forgetting survives";
    os << "  - at " << e.precision << ": " << verdict << " " << kDash << " KnowMem_f "
       << fmt_m(uf->knowmem_f) << " → " << fmt_m(uq->knowmem_f) << " (recovery " << fmt(rk, 1)
       << "%), VerbMem " << fmt_m(uf->verbmem_f) << " → " << fmt_m(uq->verbmem_f) << " (recovery "
       << fmt(rv, 1) << "%); " << pct_codes(*uq) << "% of int codes changed vs Q(target)\n";
  }
}

// One unlearned model at full precision: does it forget, does it keep utility?
void md_model_verdict(std::ostream& os, const RunResult& r, const std::vector<SummaryRow>& rows,
                      const ModelResult& m, const VerdictBase& v) {
  const SummaryRow* tf = v.tf;
  const double t_kf = v.t_kf, r_kf = v.r_kf, gap = v.gap;
  const std::string& name = m.info.name;
  const SummaryRow* uf = find_row(rows, name, "full");
  if (!uf) return;
  double share = 100.0 * (t_kf - uf->knowmem_f) / gap;  // % of the gap closed
  double kept = tf ? 100.0 * uf->knowmem_r / tf->knowmem_r : kNaN;
  bool forgot = std::isfinite(share) && gap > 0 && share >= kForgetShare;
  bool forgot_some = std::isfinite(share) && gap > 0 && share >= kForgetSome;
  os << "- " << name << " (" << m.info.method << ", LR " << fmt_g(m.info.lr)
     << (m.info.lr_regime.empty() ? "" : ", " + m.info.lr_regime + " LR") << ") "
     << (!std::isfinite(share) ? "forgetting unknown"
         : forgot              ? "forgets"
         : forgot_some         ? "partly forgets"
                               : "does not forget")
     << " at full precision: KnowMem_f " << fmt_m(uf->knowmem_f) << " (target " << fmt_m(t_kf)
     << ", retrain " << fmt_m(r_kf) << "; " << fmt(share, 1) << "% of the gap closed), VerbMem "
     << fmt_m(uf->verbmem_f) << "; "
     << (!std::isfinite(kept)   ? "retain KnowMem"
         : kept >= kUtilityKept ? "keeps retain KnowMem"
                                : "loses retain KnowMem")
     << " " << fmt_m(uf->knowmem_r) << " (" << fmt(kept, 1) << "% of the target's)\n";
  md_precision_verdicts(os, r, rows, m, uf, share, forgot_some);
}

void md_verdicts(std::ostream& os, const RunResult& r, const std::vector<SummaryRow>& rows) {
  const ModelResult* target = find_kind(r, "target");
  const ModelResult* retrain = find_kind(r, "retrain");
  os << "\n## What the numbers say\n\n";
  const SummaryRow* tf = target ? find_row(rows, target->info.name, "full") : nullptr;
  const SummaryRow* rf = retrain ? find_row(rows, retrain->info.name, "full") : nullptr;
  double t_kf = tf ? tf->knowmem_f : kNaN, r_kf = rf ? rf->knowmem_f : kNaN;
  double gap = t_kf - r_kf;
  if (std::isfinite(gap)) {
    os << "- target " << (gap >= kKnowsGap ? "knows" : "does not clearly know")
       << " the forget facts: KnowMem_f " << fmt_m(t_kf) << " vs retrain " << fmt_m(r_kf)
       << ", VerbMem " << fmt_m(tf->verbmem_f) << " vs retrain " << fmt_m(rf->verbmem_f) << "\n";
    os << "- retrain " << (gap >= kKnowsGap ? "does not know them" : "scores close to the target")
       << ": KnowMem_f " << fmt_m(r_kf) << " (the floor), retain KnowMem " << fmt_m(rf->knowmem_r)
       << " vs target " << fmt_m(tf->knowmem_r) << "\n";
  } else {
    os << "- target vs retrain: cannot tell (forget KnowMem at full precision: target "
       << fmt_m(t_kf) << ", retrain " << fmt_m(r_kf) << ")\n";
  }
  const VerdictBase base{tf, rf, t_kf, r_kf, gap};
  for (const auto& m : r.models)
    if (m.info.kind == "unlearned") md_model_verdict(os, r, rows, m, base);
  os << "\nCriteria: the target *knows* the forget facts when its forget KnowMem exceeds the "
        "retrain model's by at least "
     << fmt(kKnowsGap, 0)
     << " points; a method *forgets* when "
        "it closes at least "
     << fmt(kForgetShare, 0) << "% of that gap (*partly* at ≥ " << fmt(kForgetSome, 0)
     << "%; below that there is nothing to recover) and *keeps* retain "
        "KnowMem at ≥ "
     << fmt(kUtilityKept, 0)
     << "% of the target's; knowledge *comes back* at "
        "a recovery ≥ "
     << fmt(kRecoveryLarge, 0)
     << "% (forget KnowMem, else VerbMem), *partly* "
        "at ≥ "
     << fmt(kRecoverySmall, 0) << "%, and the forgetting *survives* below that.\n";
}

void md_stage_times_and_archive(std::ostream& os, const RunResult& r,
                                const std::string& archive_name) {
  os << "\n## Stage wall times\n\n| stage | wall (s) |\n|---|---:|\n";
  for (const auto& s : r.stages)
    os << "| " << md_cell(s.stage) << " | " << fmt(s.wall_s, 1) << " |\n";
  os << "| **total** | " << fmt(r.total_wall_s, 1) << " |\n";

  os << "\n## Archive\n\n"
        "Every number above, every per-sample score and generation, the training curves and the "
        "per-layer code-change statistics are in `"
     << archive_name
     << "` (HDF5; layout in "
        "relapse/results/archive.h). The summary table in Python:\n\n"
        "```python\n"
        "import h5py, pandas as pd\n"
        "g = h5py.File("
     << py_string(archive_name)
     << ", \"r\")[\"summary\"]\n"
        "cols = [c.decode() if isinstance(c, bytes) else c for c in g.attrs[\"columns\"]]\n"
        "df = pd.DataFrame({c: g[c].asstr()[()] if g[c].dtype.kind == \"O\" else g[c][()] "
        "for c in cols})\n"
        "```\n";
}

}  // namespace

std::string report_markdown(const RunResult& r, const std::string& archive_name) {
  const std::vector<SummaryRow> rows = summary_rows(r);
  std::ostringstream os;
  md_intro(os, r);
  md_what_ran(os, r);
  md_summary(os, r, rows);
  os << figures_section(r, "overview");
  md_retention(os, r);
  md_recovery(os, r);
  os << report_paired_section(r) << report_seeds_section(r) << report_dose_section(r)
     << report_relearn_section(r) << report_mia_section(r);
  os << figures_section(r, "methods");
  os << bucket_section(r);
  os << figures_section(r, "dw");
  md_verdicts(os, r, rows);
  md_stage_times_and_archive(os, r, archive_name);
  return os.str();
}

void report_files_write(const std::string& dir, const std::vector<ReportFigure>& figures,
                        const std::string& markdown) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  RELAPSE_CHECK_INPUT(!ec, "cannot create report directory '", dir, "': ", ec.message());
  // Figures first, so report.md never links a file that is not there yet.
  // Each file written aside and renamed: a reader never sees half of one.
  for (const auto& f : figures) fs_write_file_atomic((fs::path(dir) / f.file).string(), f.svg);
  fs_write_file_atomic((fs::path(dir) / "report.md").string(), markdown);
}

void report_write(const RunResult& r, const std::string& dir, const std::string& archive_name) {
  report_files_write(dir, report_figures(r), report_markdown(r, archive_name));
}

}  // namespace relapse::report
