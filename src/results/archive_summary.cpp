// src/results/archive_summary.cpp — the archive's flat /summary table: one
// row per model × precision (summary_row), written with every column
// (write_summary) and read back (archive_read_summary), columns added after
// the first archives being optional (relapse/results/archive.h).
#include "archive_summary.h"

#include "relapse/core/error.h"

namespace relapse::results {

using archive::Column;
using archive::H5File;
using archive::H5Group;

namespace {

double nan_unless(bool has, double v) {
  return has ? v : kNaN;
}

}  // namespace

SummaryRow summary_row(const ModelInfo& info, const PrecisionEval& e) {
  SummaryRow s;
  s.model = info.name;
  s.kind = info.kind;
  s.method = info.method;
  s.variant = info.variant;
  s.lr_regime = info.lr_regime;
  s.precision = e.precision;
  s.scheme = e.scheme;
  s.lr = info.lr;
  s.alpha = info.alpha;
  s.beta = info.beta;
  s.bits = e.bits;
  s.group_size = e.group_size;
  s.steps = info.steps;
  const auto& m = e.metrics;
  s.verbmem_f = nan_unless(m.has_verbmem, m.verbmem_forget);
  s.knowmem_f = nan_unless(m.has_knowmem, m.knowmem_forget.mean);
  s.knowmem_r = nan_unless(m.has_knowmem, m.knowmem_retain.mean);
  s.privleak = e.privleak;
  s.privleak_auc = nan_unless(m.has_privleak, m.privleak_auc);
  s.codes_changed_frac = nan_unless(e.has_code_change, e.code_change.frac_codes_changed());
  s.mean_dw_over_delta = nan_unless(e.has_code_change, e.code_change.mean_ratio());
  s.wall_s = e.wall_s;
  s.group = info.group;
  s.seed = info.seed;
  s.saliency = info.saliency;
  for (int k = 0; k < 4; ++k) {
    const std::string metric = kSummaryCiMetrics[k];
    SummaryBand& b = s.band[k];
    for (const auto& [name, ci] : e.ci)
      if (name == metric) {
        b.lo = ci.lo;
        b.hi = ci.hi;
      }
    for (const auto& d : e.vs_full)
      if (d.metric == metric) {
        b.d = d.mean;
        b.d_lo = d.lo;
        b.d_hi = d.hi;
      }
  }
  return s;
}

namespace {

// Column j of metric k's band: m_lo, m_hi, d_m, d_m_lo, d_m_hi.
std::string band_column(int k, int j) {
  const std::string m = kSummaryCiMetrics[k];
  static const char* const kFmt[5] = {"_lo", "_hi", "", "_lo", "_hi"};
  return (j >= 2 ? "d_" + m : m) + kFmt[j];
}
double& band_ref(SummaryBand& b, int j) {
  double* f[5] = {&b.lo, &b.hi, &b.d, &b.d_lo, &b.d_hi};
  return *f[j];
}
double band_value(const SummaryBand& b, int j) {
  const double f[5] = {b.lo, b.hi, b.d, b.d_lo, b.d_hi};
  return f[j];
}

}  // namespace

void write_summary(H5Group root, const std::vector<SummaryRow>& rows) {
  std::vector<std::string> model, kind, method, variant, regime, precision, scheme;
  std::vector<double> lr, alpha, beta, vm, kf, kr, pl, auc, ccf, mdw, wall;
  std::vector<int64_t> bits, gs, steps, seed;
  std::vector<std::string> group, saliency;
  std::vector<std::vector<double>> band(20);  // 4 metrics × (lo, hi, d, d_lo, d_hi)
  for (const auto& s : rows) {
    group.push_back(s.group);
    seed.push_back(s.seed);
    saliency.push_back(s.saliency);
    for (int k = 0; k < 4; ++k) {
      const SummaryBand& b = s.band[k];
      for (int j = 0; j < 5; ++j) band[5 * k + j].push_back(band_value(b, j));
    }
    model.push_back(s.model);
    kind.push_back(s.kind);
    method.push_back(s.method);
    variant.push_back(s.variant);
    regime.push_back(s.lr_regime);
    precision.push_back(s.precision);
    scheme.push_back(s.scheme);
    lr.push_back(s.lr);
    alpha.push_back(s.alpha);
    beta.push_back(s.beta);
    bits.push_back(s.bits);
    gs.push_back(s.group_size);
    steps.push_back(s.steps);
    vm.push_back(s.verbmem_f);
    kf.push_back(s.knowmem_f);
    kr.push_back(s.knowmem_r);
    pl.push_back(s.privleak);
    auc.push_back(s.privleak_auc);
    ccf.push_back(s.codes_changed_frac);
    mdw.push_back(s.mean_dw_over_delta);
    wall.push_back(s.wall_s);
  }
  std::vector<Column> cols = {{"model", model},
                              {"kind", kind},
                              {"method", method},
                              {"variant", variant},
                              {"lr_regime", regime},
                              {"precision", precision},
                              {"scheme", scheme},
                              {"lr", lr},
                              {"alpha", alpha},
                              {"beta", beta},
                              {"bits", bits},
                              {"group_size", gs},
                              {"steps", steps},
                              {"verbmem_f", vm},
                              {"knowmem_f", kf},
                              {"knowmem_r", kr},
                              {"privleak", pl},
                              {"privleak_auc", auc},
                              {"codes_changed_frac", ccf},
                              {"mean_dw_over_delta", mdw},
                              {"wall_s", wall},
                              {"group", group},
                              {"seed", seed},
                              {"saliency", saliency}};
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 5; ++j) cols.push_back({band_column(k, j), band[5 * k + j]});
  root.write_table("summary", cols);
}

namespace {

const Column& find_column(const std::vector<Column>& cols, const std::string& name,
                          const std::string& path) {
  for (const auto& c : cols)
    if (c.name == name) return c;
  RELAPSE_THROW(ExitCode::kInput, "archive '", path, "': /summary has no column '", name, "'");
}

// A column added after the first archives (group, seed, saliency, bands):
// absent → every row keeps its default.
template <typename T>
const std::vector<T>* optional_column(const std::vector<Column>& cols, const std::string& name,
                                      const std::string& path, size_t nrows) {
  for (const auto& c : cols)
    if (c.name == name) {
      const auto* v = std::get_if<std::vector<T>>(&c.values);
      RELAPSE_CHECK_INPUT(v != nullptr && v->size() == nrows, "archive '", path,
                          "': /summary column '", name, "' has the wrong type or length");
      return v;
    }
  return nullptr;
}

template <typename T>
const std::vector<T>& column_values(const std::vector<Column>& cols, const std::string& name,
                                    const std::string& path, size_t nrows) {
  const Column& c = find_column(cols, name, path);
  const auto* v = std::get_if<std::vector<T>>(&c.values);
  RELAPSE_CHECK_INPUT(v != nullptr, "archive '", path, "': /summary column '", name,
                      "' has the wrong type");
  RELAPSE_CHECK_INPUT(v->size() == nrows, "archive '", path, "': /summary column '", name, "' has ",
                      v->size(), " rows, expected ", nrows);
  return *v;
}

}  // namespace

std::vector<SummaryRow> summary_rows(const RunResult& r) {
  std::vector<SummaryRow> rows;
  for (const auto& m : r.models)
    for (const auto& e : m.evals) rows.push_back(summary_row(m.info, e));
  return rows;
}

std::vector<SummaryRow> archive_read_summary(const std::string& path) {
  H5File f = H5File::open_read(path);
  H5Group root = f.root();
  RELAPSE_CHECK_INPUT(root.has("summary"), "archive '", path, "' has no /summary table");
  std::vector<Column> cols = root.read_table("summary");
  size_t n = cols.empty() ? 0 : cols.front().size();
  // Resolve (and type-check) every column once, even for an empty table.
  const auto& model = column_values<std::string>(cols, "model", path, n);
  const auto& kind = column_values<std::string>(cols, "kind", path, n);
  const auto& method = column_values<std::string>(cols, "method", path, n);
  const auto& variant = column_values<std::string>(cols, "variant", path, n);
  const auto& regime = column_values<std::string>(cols, "lr_regime", path, n);
  const auto& precision = column_values<std::string>(cols, "precision", path, n);
  const auto& scheme = column_values<std::string>(cols, "scheme", path, n);
  const auto& lr = column_values<double>(cols, "lr", path, n);
  const auto& alpha = column_values<double>(cols, "alpha", path, n);
  const auto& beta = column_values<double>(cols, "beta", path, n);
  const auto& bits = column_values<int64_t>(cols, "bits", path, n);
  const auto& gs = column_values<int64_t>(cols, "group_size", path, n);
  const auto& steps = column_values<int64_t>(cols, "steps", path, n);
  const auto& vm = column_values<double>(cols, "verbmem_f", path, n);
  const auto& kf = column_values<double>(cols, "knowmem_f", path, n);
  const auto& kr = column_values<double>(cols, "knowmem_r", path, n);
  const auto& pl = column_values<double>(cols, "privleak", path, n);
  const auto& auc = column_values<double>(cols, "privleak_auc", path, n);
  const auto& ccf = column_values<double>(cols, "codes_changed_frac", path, n);
  const auto& mdw = column_values<double>(cols, "mean_dw_over_delta", path, n);
  const auto& wall = column_values<double>(cols, "wall_s", path, n);
  const auto* group = optional_column<std::string>(cols, "group", path, n);
  const auto* seed = optional_column<int64_t>(cols, "seed", path, n);
  const auto* saliency = optional_column<std::string>(cols, "saliency", path, n);
  const std::vector<double>* band[20];
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 5; ++j)
      band[5 * k + j] = optional_column<double>(cols, band_column(k, j), path, n);
  std::vector<SummaryRow> rows(n);
  for (size_t i = 0; i < n; ++i) {
    if (group) rows[i].group = (*group)[i];
    if (seed) rows[i].seed = (*seed)[i];
    if (saliency) rows[i].saliency = (*saliency)[i];
    for (int k = 0; k < 4; ++k)
      for (int j = 0; j < 5; ++j)
        if (band[5 * k + j]) band_ref(rows[i].band[k], j) = (*band[5 * k + j])[i];
    SummaryRow& s = rows[i];
    s.model = model[i];
    s.kind = kind[i];
    s.method = method[i];
    s.variant = variant[i];
    s.lr_regime = regime[i];
    s.precision = precision[i];
    s.scheme = scheme[i];
    s.lr = lr[i];
    s.alpha = alpha[i];
    s.beta = beta[i];
    s.bits = bits[i];
    s.group_size = gs[i];
    s.steps = steps[i];
    s.verbmem_f = vm[i];
    s.knowmem_f = kf[i];
    s.knowmem_r = kr[i];
    s.privleak = pl[i];
    s.privleak_auc = auc[i];
    s.codes_changed_frac = ccf[i];
    s.mean_dw_over_delta = mdw[i];
    s.wall_s = wall[i];
  }
  return rows;
}

}  // namespace relapse::results
