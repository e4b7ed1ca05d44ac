// src/results/archive_write.cpp — writes a RunResult to the HDF5 archive whose
// layout is documented in relapse/results/archive.h, and reads its /summary
// table back (archive_summary.cpp). Everything goes through relapse/archive/h5.h; the file is
// created as PATH.tmp and renamed to PATH only after the last write, so an
// exception half-way (bad name, full disk) leaves no file at PATH (H5File's
// destructor removes the .tmp) and an older archive at PATH intact.
#include "relapse/results/archive.h"

#include <filesystem>
#include <set>

#include "archive_summary.h"
#include "relapse/archive/h5_provenance.h"
#include "relapse/core/error.h"

namespace relapse::results {

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
  g.set_attr("sum_ratio", c.sum_ratio);
  g.set_attr("n_finite", c.n_finite);
  g.write("hist", c.hist);
  g.write("bin_edges", c.bin_edges);
  std::vector<std::string> name;
  std::vector<int64_t> n_weights, n_changed, n_moved, n_groups, n_groups_chg, n_zero, n_finite;
  std::vector<double> frac_changed, mean_ratio, max_ratio, sum_ratio;
  // The per-layer histogram of |w_unl − w_target| / Δ: one column per bin
  // (hist_0 counts [bin_edges[0], bin_edges[1]), the last one [edges.back(), inf]).
  std::vector<std::vector<int64_t>> hist(c.bin_edges.size());
  for (const auto& [layer, s] : e.code_change_layers) {
    RELAPSE_CHECK(s.hist.size() == hist.size(), "code-change layer '", layer, "' has ",
                  s.hist.size(), " histogram bins, expected ", hist.size());
    for (size_t b = 0; b < hist.size(); ++b) hist[b].push_back(s.hist[b]);
    n_groups.push_back(s.n_groups);
    n_groups_chg.push_back(s.n_groups_params_changed);
    n_zero.push_back(s.n_zero_delta_moved);
    n_finite.push_back(s.n_finite);
    sum_ratio.push_back(s.sum_ratio);
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
  // What the merged stats are made of, so a reader can rebuild every field.
  cols.push_back({"n_groups", n_groups});
  cols.push_back({"n_groups_params_changed", n_groups_chg});
  cols.push_back({"n_zero_delta_moved", n_zero});
  cols.push_back({"n_finite", n_finite});
  cols.push_back({"sum_ratio", sum_ratio});
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
  if (!e.ci.empty()) {
    std::vector<std::string> names;
    for (const auto& [metric, ci] : e.ci) {
      names.push_back(metric);
      g.set_attr(metric + "_lo", ci.lo);
      g.set_attr(metric + "_hi", ci.hi);
      g.set_attr(metric + "_ci_value", ci.value);
    }
    g.set_attr("ci_metrics", names);
  }
  if (!e.vs_full.empty()) {
    std::vector<std::string> metric;
    std::vector<double> mean, lo, hi;
    std::vector<int64_t> n;
    for (const auto& d : e.vs_full) {
      metric.push_back(d.metric);
      mean.push_back(d.mean);
      lo.push_back(d.lo);
      hi.push_back(d.hi);
      n.push_back(d.n);
    }
    g.write_table("vs_full",
                  {{"metric", metric}, {"mean", mean}, {"lo", lo}, {"hi", hi}, {"n", n}});
  }
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

// The SURE mask as one ragged array (names / offsets / selected_steps): one
// object per field instead of one per parameter keeps a 70B model's mask to
// three datasets and any parameter name legal.
void write_mask(H5Group g, const SaliencyMaskInfo& mask, const std::string& model,
                const std::string& path) {
  RELAPSE_CHECK_INPUT(mask.names.size() == mask.selected_steps.size(), "archive '", path,
                      "': saliency mask of model '", model, "' has ", mask.names.size(),
                      " names but ", mask.selected_steps.size(), " count vectors");
  std::vector<int64_t> offsets = {0};
  std::vector<int32_t> counts;
  for (const auto& v : mask.selected_steps) {
    counts.insert(counts.end(), v.begin(), v.end());
    offsets.push_back(static_cast<int64_t>(counts.size()));
  }
  g.set_attr("steps", mask.steps);
  g.write_strings("names", mask.names);
  g.write("offsets", offsets);
  g.write("selected_steps", counts);
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
  g.set_attr("group", info.group);
  g.set_attr("seed", info.seed);
  g.set_attr("saliency", info.saliency);
  g.set_attr("saliency_threshold", info.saliency_threshold);
  // Only when set: archives of runs that did not diverge keep their attributes.
  if (info.diverged_step > 0) g.set_attr("diverged_step", info.diverged_step);
  if (!info.curve.empty()) write_curve(g, info.curve);
  if (!info.mask.names.empty()) write_mask(g.group("saliency_mask"), info.mask, info.name, path);
  std::set<std::string> seen;
  for (const auto& e : mr.evals) {
    archive_check_name(e.precision, "precision of model '" + info.name + "'", path,
                       {"curve", "saliency_mask"});
    RELAPSE_CHECK_INPUT(seen.insert(e.precision).second, "archive '", path, "': model '", info.name,
                        "' has precision '", e.precision, "' twice");
    write_precision(g.group(e.precision), e, summary_row(info, e));
  }
}

}  // namespace

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
    for (const auto& kv : r.provenance.fields)
      archive_check_name(kv.first, "provenance field", path, {});
    H5Group prov = archive::h5_write_provenance(root, r.provenance);
    prov.set_attr("config_yaml", r.config_yaml);
    prov.set_attr("run_name", r.name);
    prov.set_attr("total_wall_s", r.total_wall_s);
    prov.set_attr("bootstrap_resamples", r.bootstrap.resamples);
    prov.set_attr("bootstrap_level", r.bootstrap.level);
    prov.set_attr("bootstrap_seed", std::to_string(r.bootstrap.seed));  // uint64, as decimal text
    prov.set_attr("relearn_steps", r.relearn.steps);
    prov.set_attr("relearn_lr", r.relearn.lr);
    prov.set_attr("relearn_source", r.relearn.source);
    prov.set_attr("relearn_rows", r.relearn.rows);
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

}  // namespace relapse::results
