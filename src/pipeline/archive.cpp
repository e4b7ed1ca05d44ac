// src/pipeline/archive.cpp — writes a RunResult to the HDF5 archive whose
// layout is documented in relapse/pipeline/archive.h, and reads its /summary
// table back. Everything goes through relapse/archive/h5.h; the file is
// created as PATH.tmp and renamed to PATH only after the last write, so an
// exception half-way (bad name, full disk) leaves no file at PATH (H5File's
// destructor removes the .tmp) and an older archive at PATH intact.
#include "relapse/pipeline/archive.h"

#include <filesystem>
#include <set>

#include "relapse/core/error.h"

namespace relapse::pipeline {

using archive::Column;
using archive::H5File;
using archive::H5Group;

namespace {

// A model or precision name becomes an HDF5 group name: it must be a single
// path component that cannot collide with the fixed children of its parent.
void archive_check_name(const std::string& name, const std::string& what, const std::string& path,
                        const std::set<std::string>& reserved) {
  RELAPSE_CHECK_INPUT(!name.empty(), "archive '", path, "': ", what, " name is empty");
  RELAPSE_CHECK_INPUT(name.find('/') == std::string::npos, "archive '", path, "': ", what,
                      " name '", name, "' contains '/'");
  RELAPSE_CHECK_INPUT(name != "." && name != "..", "archive '", path, "': ", what, " name '", name,
                      "' is not a valid group name");
  RELAPSE_CHECK_INPUT(name.find('\0') == std::string::npos, "archive '", path, "': ", what,
                      " name contains a NUL byte");
  RELAPSE_CHECK_INPUT(reserved.count(name) == 0, "archive '", path, "': ", what, " name '", name,
                      "' is reserved");
}

double nan_unless(bool has, double v) {
  return has ? v : kNaN;
}

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
  return s;
}

void write_curve(H5Group& g, const std::vector<unlearn::StepStats>& curve) {
  std::vector<int64_t> step, tokens;
  std::vector<double> lr, loss, forget, retain, gnorm;
  for (const auto& s : curve) {
    step.push_back(s.step);
    tokens.push_back(s.tokens);
    lr.push_back(s.lr);
    loss.push_back(s.loss);
    forget.push_back(s.forget_term);
    retain.push_back(s.retain_term);
    gnorm.push_back(s.grad_norm);
  }
  g.write_table("curve", {{"step", step},
                          {"tokens", tokens},
                          {"lr", lr},
                          {"loss", loss},
                          {"forget_term", forget},
                          {"retain_term", retain},
                          {"grad_norm", gnorm}});
}

void write_knowmem(H5Group g, const eval::KnowmemResult& k) {
  g.write_strings("question", k.questions);
  g.write_strings("answer", k.answers);
  g.write_strings("generation", k.generations);
  g.write("rouge", k.scores);
  g.set_attr("mean", k.mean);
}

void write_code_change(H5Group g, const PrecisionEval& e) {
  const auto& c = e.code_change;
  g.set_attr("n_weights", c.n_weights);
  g.set_attr("n_codes_changed", c.n_codes_changed);
  g.set_attr("frac_codes_changed", c.frac_codes_changed());
  g.set_attr("n_moved", c.n_moved);
  g.set_attr("frac_moved", c.frac_moved());
  g.set_attr("mean_ratio", c.mean_ratio());
  g.set_attr("max_ratio", c.max_ratio);
  g.set_attr("n_groups", c.n_groups);
  g.set_attr("n_groups_params_changed", c.n_groups_params_changed);
  g.set_attr("n_zero_delta_moved", c.n_zero_delta_moved);
  g.write("hist", c.hist);
  g.write("bin_edges", c.bin_edges);
  std::vector<std::string> name;
  std::vector<int64_t> n_weights, n_changed, n_moved;
  std::vector<double> frac_changed, mean_ratio, max_ratio;
  // The per-layer histogram of |w_unl − w_target| / Δ: one column per bin
  // (hist_0 counts [bin_edges[0], bin_edges[1]), the last one [edges.back(), inf]).
  std::vector<std::vector<int64_t>> hist(c.bin_edges.size());
  for (const auto& [layer, s] : e.code_change_layers) {
    for (size_t b = 0; b < hist.size(); ++b) hist[b].push_back(s.hist[b]);
    name.push_back(layer);
    n_weights.push_back(s.n_weights);
    n_changed.push_back(s.n_codes_changed);
    frac_changed.push_back(s.frac_codes_changed());
    n_moved.push_back(s.n_moved);
    mean_ratio.push_back(s.mean_ratio());
    max_ratio.push_back(s.max_ratio);
  }
  std::vector<Column> cols = {{"name", name},
                              {"n_weights", n_weights},
                              {"n_codes_changed", n_changed},
                              {"frac_codes_changed", frac_changed},
                              {"n_moved", n_moved},
                              {"mean_ratio", mean_ratio},
                              {"max_ratio", max_ratio}};
  for (size_t b = 0; b < hist.size(); ++b) cols.push_back({"hist_" + std::to_string(b), hist[b]});
  g.write_table("layers", cols);
}

void write_precision(H5Group g, const PrecisionEval& e, const SummaryRow& s) {
  g.set_attr("scheme", e.scheme);
  g.set_attr("bits", e.bits);
  g.set_attr("group_size", e.group_size);
  g.set_attr("verbmem_f", s.verbmem_f);
  g.set_attr("knowmem_f", s.knowmem_f);
  g.set_attr("knowmem_r", s.knowmem_r);
  g.set_attr("privleak", s.privleak);
  g.set_attr("privleak_auc", s.privleak_auc);
  g.set_attr("wall_s", e.wall_s);
  const auto& m = e.metrics;
  if (m.has_verbmem) {
    H5Group v = g.group("verbmem");
    v.write_strings("prompt", m.verbmem_prompts);
    v.write_strings("reference", m.verbmem_references);
    v.write_strings("generation", m.verbmem_generations);
    v.write("rouge", m.verbmem_scores);
  }
  if (m.has_knowmem) {
    write_knowmem(g.group("knowmem_forget"), m.knowmem_forget);
    write_knowmem(g.group("knowmem_retain"), m.knowmem_retain);
  }
  if (m.has_privleak) {
    H5Group p = g.group("privleak");
    p.write("forget", m.mink_forget);
    p.write("retain", m.mink_retain);
    p.write("holdout", m.mink_holdout);
  }
  if (e.has_code_change) write_code_change(g.group("code_change"), e);
}

void write_model(H5Group models, const ModelResult& mr, const std::string& path) {
  const ModelInfo& info = mr.info;
  H5Group g = models.group(info.name);
  g.set_attr("kind", info.kind);
  g.set_attr("method", info.method);
  g.set_attr("variant", info.variant);
  g.set_attr("lr", info.lr);
  g.set_attr("alpha", info.alpha);
  g.set_attr("beta", info.beta);
  g.set_attr("epochs", info.epochs);
  g.set_attr("steps", info.steps);
  g.set_attr("lr_regime", info.lr_regime);
  g.set_attr("checkpoint", info.checkpoint);
  if (!info.curve.empty()) write_curve(g, info.curve);
  std::set<std::string> seen;
  for (const auto& e : mr.evals) {
    archive_check_name(e.precision, "precision of model '" + info.name + "'", path, {"curve"});
    RELAPSE_CHECK_INPUT(seen.insert(e.precision).second, "archive '", path, "': model '", info.name,
                        "' has precision '", e.precision, "' twice");
    write_precision(g.group(e.precision), e, summary_row(info, e));
  }
}

void write_summary(H5Group root, const std::vector<SummaryRow>& rows) {
  std::vector<std::string> model, kind, method, variant, regime, precision, scheme;
  std::vector<double> lr, alpha, beta, vm, kf, kr, pl, auc, ccf, mdw, wall;
  std::vector<int64_t> bits, gs, steps;
  for (const auto& s : rows) {
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
  root.write_table("summary", {{"model", model},
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
                               {"wall_s", wall}});
}

const Column& find_column(const std::vector<Column>& cols, const std::string& name,
                          const std::string& path) {
  for (const auto& c : cols)
    if (c.name == name) return c;
  RELAPSE_THROW(ExitCode::kInput, "archive '", path, "': /summary has no column '", name, "'");
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

void archive_write(const RunResult& r, const std::string& path) {
  RELAPSE_CHECK_INPUT(!path.empty(), "archive path is empty");
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    RELAPSE_CHECK_INPUT(!ec, "cannot create directory '", parent.string(), "' for archive '", path,
                        "': ", ec.message());
  }
  // On any exception below, f's destructor closes and removes PATH.tmp.
  H5File f = H5File::create(path);
  {
    H5Group root = f.root();
    H5Group prov = root.group("provenance");
    for (const auto& [k, v] : r.provenance.fields) {
      archive_check_name(k, "provenance field", path, {});
      prov.set_attr(k, v);
    }
    prov.set_attr("config_yaml", r.config_yaml);
    prov.set_attr("run_name", r.name);
    prov.set_attr("total_wall_s", r.total_wall_s);
    if (r.calibration.used) {
      // What GPTQ/AWQ were calibrated on: enough to redraw the same windows.
      H5Group cal = root.group("calibration");
      cal.set_attr("source", r.calibration.source);
      cal.set_attr("file", r.calibration.file);
      cal.set_attr("n_samples", r.calibration.n_samples);
      cal.set_attr("seq_len", r.calibration.seq_len);
      cal.set_attr("seed", std::to_string(r.calibration.seed));  // uint64, as decimal text
      cal.set_attr("text_tokens", r.calibration.text_tokens);
    }

    std::vector<std::string> stage;
    std::vector<double> wall;
    for (const auto& s : r.stages) {
      stage.push_back(s.stage);
      wall.push_back(s.wall_s);
    }
    root.write_table("stages", {{"stage", stage}, {"wall_s", wall}});

    H5Group models = root.group("models");
    std::set<std::string> seen;
    for (const auto& m : r.models) {
      archive_check_name(m.info.name, "model", path, {});
      RELAPSE_CHECK_INPUT(seen.insert(m.info.name).second, "archive '", path, "': model '",
                          m.info.name, "' appears twice");
      write_model(models, m, path);
    }
    write_summary(root, summary_rows(r));
  }  // every group handle is closed before the commit
  f.commit();
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
  std::vector<SummaryRow> rows(n);
  for (size_t i = 0; i < n; ++i) {
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

}  // namespace relapse::pipeline
