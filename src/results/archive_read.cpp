// src/results/archive_read.cpp — archive_read_run (relapse/results/archive.h):
// reads a run archive back into a RunResult, so `relapse report ARCHIVE`
// renders exactly what `relapse run` rendered. The model order is the order
// of /summary (models × evals as written); models without evaluations follow
// in name order. Fields added after the first archives (group, seed,
// saliency, intervals, masks) fall back to their defaults when absent.
#include <algorithm>
#include <set>

#include "relapse/core/error.h"
#include "relapse/results/archive.h"

namespace relapse::results {

using archive::Column;
using archive::H5File;
using archive::H5Group;

namespace {

// Every missing object names the file and the object's path in it.
void need(const H5Group& g, const std::string& name, bool attr) {
  bool ok = attr ? g.has_attr(name) : g.has(name);
  RELAPSE_CHECK_INPUT(ok, "archive '", g.file_path(), "': ", g.path(), " has no ",
                      attr ? "attribute '" : "object '", name, "'");
}
std::string attr_str(const H5Group& g, const std::string& k) {
  need(g, k, true);
  return g.attr_string(k);
}
double attr_f64(const H5Group& g, const std::string& k) {
  need(g, k, true);
  return g.attr_double(k);
}
int64_t attr_i64(const H5Group& g, const std::string& k) {
  need(g, k, true);
  return g.attr_int(k);
}
std::string attr_str_or(const H5Group& g, const std::string& k, const std::string& dflt) {
  return g.has_attr(k) ? g.attr_string(k) : dflt;
}
uint64_t parse_u64(const H5Group& g, const std::string& k) {
  std::string s = attr_str(g, k);
  try {
    return std::stoull(s);
  } catch (const std::exception&) {
    RELAPSE_THROW(ExitCode::kInput, "archive '", g.file_path(), "': ", g.path(), "@", k, " = '", s,
                  "' is not an unsigned integer");
  }
}

const Column& table_col(const H5Group& g, const std::string& table, const std::vector<Column>& cols,
                        const std::string& name) {
  for (const auto& c : cols)
    if (c.name == name) return c;
  RELAPSE_THROW(ExitCode::kInput, "archive '", g.file_path(), "': table ", g.path(), "/", table,
                " has no column '", name, "'");
}
template <typename T>
std::vector<T> col(const H5Group& g, const std::string& table, const std::vector<Column>& cols,
                   const std::string& name) {
  const auto* v = std::get_if<std::vector<T>>(&table_col(g, table, cols, name).values);
  RELAPSE_CHECK_INPUT(v != nullptr, "archive '", g.file_path(), "': column '", name, "' of ",
                      g.path(), "/", table, " has the wrong type");
  return *v;
}
bool has_col(const std::vector<Column>& cols, const std::string& name) {
  for (const auto& c : cols)
    if (c.name == name) return true;
  return false;
}

std::vector<unlearn::StepStats> read_curve(const H5Group& g) {
  auto cols = g.read_table("curve");
  auto step = col<int64_t>(g, "curve", cols, "step");
  auto tokens = col<int64_t>(g, "curve", cols, "tokens");
  auto lr = col<double>(g, "curve", cols, "lr");
  auto loss = col<double>(g, "curve", cols, "loss");
  auto ft = col<double>(g, "curve", cols, "forget_term");
  auto rt = col<double>(g, "curve", cols, "retain_term");
  auto gn = col<double>(g, "curve", cols, "grad_norm");
  std::vector<unlearn::StepStats> out(step.size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = {step[i], lr[i], loss[i], ft[i], rt[i], gn[i], tokens[i]};
  return out;
}

SaliencyMaskInfo read_mask(const H5Group& g) {
  SaliencyMaskInfo m;
  m.steps = attr_i64(g, "steps");
  for (const char* k : {"names", "offsets", "selected_steps"}) need(g, k, false);
  m.names = g.read_strings("names");
  auto offsets = g.read_int64s("offsets");
  auto counts = g.read_int32s("selected_steps");
  RELAPSE_CHECK_INPUT(offsets.size() == m.names.size() + 1 && offsets.front() == 0 &&
                          offsets.back() == static_cast<int64_t>(counts.size()),
                      "archive '", g.file_path(), "': ", g.path(),
                      "/offsets does not match names and selected_steps");
  for (size_t i = 0; i < m.names.size(); ++i) {
    RELAPSE_CHECK_INPUT(offsets[i] <= offsets[i + 1], "archive '", g.file_path(), "': ", g.path(),
                        "/offsets decreases at ", i);
    m.selected_steps.emplace_back(counts.begin() + offsets[i], counts.begin() + offsets[i + 1]);
  }
  return m;
}

eval::KnowmemResult read_knowmem(const H5Group& g) {
  eval::KnowmemResult k;
  for (const char* n : {"question", "answer", "generation", "rouge"}) need(g, n, false);
  k.questions = g.read_strings("question");
  k.answers = g.read_strings("answer");
  k.generations = g.read_strings("generation");
  k.scores = g.read_doubles("rouge");
  k.mean = attr_f64(g, "mean");
  return k;
}

quant::CodeChangeStats read_code_change(const H5Group& g, PrecisionEval& e) {
  quant::CodeChangeStats c;
  c.n_weights = attr_i64(g, "n_weights");
  c.n_codes_changed = attr_i64(g, "n_codes_changed");
  c.n_moved = attr_i64(g, "n_moved");
  c.max_ratio = attr_f64(g, "max_ratio");
  c.n_groups = attr_i64(g, "n_groups");
  c.n_groups_params_changed = attr_i64(g, "n_groups_params_changed");
  c.n_zero_delta_moved = attr_i64(g, "n_zero_delta_moved");
  // Older archives lack sum_ratio / n_finite: rebuild them from the mean
  // (every weight but the Δ = 0 movers has a finite ratio).
  c.n_finite = g.has_attr("n_finite") ? g.attr_int("n_finite") : c.n_weights - c.n_zero_delta_moved;
  c.sum_ratio = g.has_attr("sum_ratio")
                    ? g.attr_double("sum_ratio")
                    : attr_f64(g, "mean_ratio") * static_cast<double>(c.n_finite);
  need(g, "hist", false);
  need(g, "bin_edges", false);
  c.hist = g.read_int64s("hist");
  c.bin_edges = g.read_doubles("bin_edges");
  RELAPSE_CHECK_INPUT(c.hist.size() == c.bin_edges.size(), "archive '", g.file_path(),
                      "': ", g.path(), " has ", c.hist.size(), " histogram bins but ",
                      c.bin_edges.size(), " bin edges");
  need(g, "layers", false);
  auto cols = g.read_table("layers");
  auto name = col<std::string>(g, "layers", cols, "name");
  auto nw = col<int64_t>(g, "layers", cols, "n_weights");
  auto nc = col<int64_t>(g, "layers", cols, "n_codes_changed");
  auto nm = col<int64_t>(g, "layers", cols, "n_moved");
  auto mr = col<double>(g, "layers", cols, "mean_ratio");
  auto xr = col<double>(g, "layers", cols, "max_ratio");
  std::vector<std::vector<int64_t>> hist;
  for (size_t b = 0; b < c.bin_edges.size(); ++b)
    hist.push_back(col<int64_t>(g, "layers", cols, "hist_" + std::to_string(b)));
  const bool full = has_col(cols, "n_finite");
  for (size_t i = 0; i < name.size(); ++i) {
    quant::CodeChangeStats s;
    s.n_weights = nw[i];
    s.n_codes_changed = nc[i];
    s.n_moved = nm[i];
    s.max_ratio = xr[i];
    s.bin_edges = c.bin_edges;
    s.hist.assign(c.bin_edges.size(), 0);
    for (size_t b = 0; b < hist.size(); ++b) s.hist[b] = hist[b][i];
    if (full) {
      s.n_groups = col<int64_t>(g, "layers", cols, "n_groups")[i];
      s.n_groups_params_changed = col<int64_t>(g, "layers", cols, "n_groups_params_changed")[i];
      s.n_zero_delta_moved = col<int64_t>(g, "layers", cols, "n_zero_delta_moved")[i];
      s.n_finite = col<int64_t>(g, "layers", cols, "n_finite")[i];
      s.sum_ratio = col<double>(g, "layers", cols, "sum_ratio")[i];
    } else {
      s.n_finite = s.n_weights;
      s.sum_ratio = mr[i] * static_cast<double>(s.n_weights);
    }
    e.code_change_layers.emplace_back(name[i], s);
  }
  return c;
}

PrecisionEval read_precision(const H5Group& g, const std::string& precision) {
  PrecisionEval e;
  e.precision = precision;
  e.scheme = attr_str(g, "scheme");
  e.bits = static_cast<int>(attr_i64(g, "bits"));
  e.group_size = attr_i64(g, "group_size");
  e.privleak = attr_f64(g, "privleak");
  e.wall_s = attr_f64(g, "wall_s");
  auto& m = e.metrics;
  if ((m.has_verbmem = g.has("verbmem"))) {
    H5Group v = g.open_group("verbmem");
    for (const char* n : {"prompt", "reference", "generation", "rouge"}) need(v, n, false);
    m.verbmem_prompts = v.read_strings("prompt");
    m.verbmem_references = v.read_strings("reference");
    m.verbmem_generations = v.read_strings("generation");
    m.verbmem_scores = v.read_doubles("rouge");
    m.verbmem_forget = attr_f64(g, "verbmem_f");
  }
  if ((m.has_knowmem = g.has("knowmem_forget"))) {
    m.knowmem_forget = read_knowmem(g.open_group("knowmem_forget"));
    need(g, "knowmem_retain", false);
    m.knowmem_retain = read_knowmem(g.open_group("knowmem_retain"));
  }
  if ((m.has_privleak = g.has("privleak"))) {
    H5Group p = g.open_group("privleak");
    for (const char* n : {"forget", "retain", "holdout"}) need(p, n, false);
    m.mink_forget = p.read_doubles("forget");
    m.mink_retain = p.read_doubles("retain");
    m.mink_holdout = p.read_doubles("holdout");
    m.privleak_auc = attr_f64(g, "privleak_auc");
  }
  if (g.has_attr("ci_metrics"))
    for (const auto& metric : g.attr_strings("ci_metrics")) {
      MetricCI ci;
      ci.lo = attr_f64(g, metric + "_lo");
      ci.hi = attr_f64(g, metric + "_hi");
      ci.value = attr_f64(g, metric + "_ci_value");
      e.ci.emplace_back(metric, ci);
    }
  if (g.has("vs_full")) {
    auto cols = g.read_table("vs_full");
    auto metric = col<std::string>(g, "vs_full", cols, "metric");
    auto mean = col<double>(g, "vs_full", cols, "mean");
    auto lo = col<double>(g, "vs_full", cols, "lo");
    auto hi = col<double>(g, "vs_full", cols, "hi");
    auto n = col<int64_t>(g, "vs_full", cols, "n");
    for (size_t i = 0; i < metric.size(); ++i)
      e.vs_full.push_back({metric[i], mean[i], lo[i], hi[i], n[i]});
  }
  if ((e.has_code_change = g.has("code_change")))
    e.code_change = read_code_change(g.open_group("code_change"), e);
  return e;
}

ModelResult read_model(const H5Group& models, const std::string& name,
                       const std::vector<std::string>& precisions) {
  ModelResult mr;
  H5Group g = models.open_group(name);
  ModelInfo& i = mr.info;
  i.name = name;
  i.kind = attr_str(g, "kind");
  i.method = attr_str(g, "method");
  i.variant = attr_str(g, "variant");
  i.lr = attr_f64(g, "lr");
  i.alpha = attr_f64(g, "alpha");
  i.beta = attr_f64(g, "beta");
  i.epochs = attr_i64(g, "epochs");
  i.steps = attr_i64(g, "steps");
  i.lr_regime = attr_str(g, "lr_regime");
  i.checkpoint = attr_str(g, "checkpoint");
  i.group = attr_str_or(g, "group", name);
  i.seed = g.has_attr("seed") ? g.attr_int("seed") : -1;
  i.saliency = attr_str_or(g, "saliency", "");
  i.saliency_threshold = attr_str_or(g, "saliency_threshold", "");
  i.diverged_step = g.has_attr("diverged_step") ? attr_i64(g, "diverged_step") : 0;
  if (g.has("curve")) i.curve = read_curve(g);
  if (g.has("saliency_mask")) i.mask = read_mask(g.open_group("saliency_mask"));
  std::vector<std::string> order = precisions;
  for (const auto& c : g.children())  // evaluations /summary did not list (none normally)
    if (c != "curve" && c != "saliency_mask" && g.is_group(c) &&
        std::find(order.begin(), order.end(), c) == order.end())
      order.push_back(c);
  for (const auto& p : order) {
    need(g, p, false);
    mr.evals.push_back(read_precision(g.open_group(p), p));
  }
  return mr;
}

}  // namespace

RunResult archive_read_run(const std::string& path) {
  RunResult r;
  std::vector<SummaryRow> rows = archive_read_summary(path);  // kInput naming the file if absent
  H5File f = H5File::open_read(path);
  H5Group root = f.root();
  for (const char* k : {"provenance", "stages", "models"}) need(root, k, false);

  H5Group prov = root.open_group("provenance");
  r.config_yaml = attr_str(prov, "config_yaml");
  r.name = attr_str(prov, "run_name");
  r.total_wall_s = attr_f64(prov, "total_wall_s");
  if (prov.has_attr("bootstrap_resamples")) {
    r.bootstrap.resamples = attr_i64(prov, "bootstrap_resamples");
    r.bootstrap.level = attr_f64(prov, "bootstrap_level");
    r.bootstrap.seed = parse_u64(prov, "bootstrap_seed");
  }
  if (prov.has_attr("relearn_steps")) {
    r.relearn.steps = attr_i64(prov, "relearn_steps");
    r.relearn.lr = attr_f64(prov, "relearn_lr");
    r.relearn.source = attr_str(prov, "relearn_source");
    r.relearn.rows = attr_i64(prov, "relearn_rows");
  }
  static const std::set<std::string> kNotProvenance = {
      "config_yaml",    "run_name",      "total_wall_s", "bootstrap_resamples", "bootstrap_level",
      "bootstrap_seed", "relearn_steps", "relearn_lr",   "relearn_source",      "relearn_rows"};
  for (const auto& k : prov.attr_names())
    if (!kNotProvenance.count(k)) r.provenance.fields[k] = prov.attr_string(k);

  if (root.has("calibration")) {
    H5Group c = root.open_group("calibration");
    r.calibration.used = true;
    r.calibration.source = attr_str(c, "source");
    r.calibration.file = attr_str(c, "file");
    r.calibration.n_samples = attr_i64(c, "n_samples");
    r.calibration.seq_len = attr_i64(c, "seq_len");
    r.calibration.seed = parse_u64(c, "seed");
    r.calibration.text_tokens = attr_i64(c, "text_tokens");
  }

  auto stages = root.read_table("stages");
  auto stage = col<std::string>(root, "stages", stages, "stage");
  auto wall = col<double>(root, "stages", stages, "wall_s");
  for (size_t i = 0; i < stage.size(); ++i) r.stages.push_back({stage[i], wall[i]});

  // Model order and each model's precision order from /summary.
  std::vector<std::string> names;
  std::vector<std::vector<std::string>> precs;
  for (const auto& s : rows) {
    auto it = std::find(names.begin(), names.end(), s.model);
    if (it == names.end()) {
      names.push_back(s.model);
      precs.emplace_back();
      it = names.end() - 1;
    }
    precs[it - names.begin()].push_back(s.precision);
  }
  H5Group models = root.open_group("models");
  for (const auto& c : models.children())
    if (std::find(names.begin(), names.end(), c) == names.end()) {
      names.push_back(c);
      precs.emplace_back();
    }
  for (size_t i = 0; i < names.size(); ++i) {
    need(models, names[i], false);
    r.models.push_back(read_model(models, names[i], precs[i]));
  }
  return r;
}

}  // namespace relapse::results
