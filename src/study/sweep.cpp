// src/study/sweep.cpp — sweep files, their expansion into cells and the
// cells' stable ids (relapse/study/sweep.h).
#include "relapse/study/sweep.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "relapse/core/error.h"
#include "relapse/core/rng.h"
#include "relapse/model/presets.h"
#include "relapse/pipeline/memory_plan.h"

namespace fs = std::filesystem;

namespace relapse::study {

namespace {

// A YAML node as one-line flow text: what `--set key=...` parses back.
std::string flow_text(const YAML::Node& n) {
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}

std::string where_in(const std::string& file, const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  return m.line >= 0 ? file + ":" + std::to_string(m.line + 1) : file;
}

// Every leaf of a (nested) map as "a.b.c=<flow>"; sequences are leaves.
void flatten(const YAML::Node& n, const std::string& prefix, std::vector<std::string>& out) {
  if (n.IsMap()) {
    for (const auto& kv : n) {
      const std::string key = kv.first.as<std::string>();
      flatten(kv.second, prefix.empty() ? key : prefix + "." + key, out);
    }
  } else {
    out.push_back(prefix + "=" + flow_text(n));
  }
}

// The key types of the config ("list<...>" keys take a scalar as a one-element list).
const std::map<std::string, std::string>& key_types() {
  static const std::map<std::string, std::string> types = [] {
    std::map<std::string, std::string> m;
    for (const auto& k : config_describe_as<RelapseConfig>()) m[k.key] = k.type;
    return m;
  }();
  return types;
}

std::string nearest_key(const std::string& key) {
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& [k, t] : key_types()) {
    const size_t d = config_edit_distance(key, k);
    if (d < best_d) best_d = d, best = k;
  }
  return best;
}

// One axis value of `key` as the --set overrides it stands for.
std::vector<std::string> axis_sets(const SweepSpec& spec, const std::string& key,
                                   const std::string& value) {
  if (key == "model") {
    YAML::Node v = YAML::Load(value);
    RELAPSE_CHECK_CONFIG(v.IsScalar(), "sweep ", spec.path, ": axis 'model' value ", value,
                         " must be a preset name, a fragment name or a model directory");
    const std::string name = v.as<std::string>();
    if (fs::exists(fs::path(name) / "config.json"))
      return {"model.path=" + flow_text(YAML::Node(name))};
    const std::string frag = (fs::path(spec.models_dir) / (name + ".yaml")).string();
    if (fs::exists(frag)) {
      YAML::Node f;
      try {
        f = YAML::LoadFile(frag);
      } catch (const YAML::Exception& e) {
        RELAPSE_THROW(ExitCode::kConfig, "model fragment ", frag, ": ", e.what());
      }
      std::vector<std::string> sets;
      if (f.IsMap()) flatten(f, "", sets);
      return sets;
    }
    for (const auto& p : model::model_preset_names())
      if (p == name) return {"model.path=\"\"", "model.preset=" + flow_text(YAML::Node(name))};
    RELAPSE_THROW(ExitCode::kConfig, "sweep ", spec.path, ": model '", name,
                  "' is neither a directory with config.json, nor ", frag,
                  ", nor a built-in preset");
  }
  auto it = key_types().find(key);
  if (it == key_types().end()) {
    const std::string near = nearest_key(key);
    RELAPSE_THROW(ExitCode::kConfig, "sweep ", spec.path, ": unknown axis key '", key, "'",
                  near.empty() ? std::string() : " (did you mean '" + near + "'?)");
  }
  YAML::Node v = YAML::Load(value);
  if (it->second.rfind("list<", 0) == 0 && v.IsScalar())
    return {key + "=[" + value + "]"};  // a scalar for a list key: a one-element list
  return {key + "=" + value};
}

// The values of one axis as flow texts (kConfig unless a non-empty sequence).
std::vector<std::string> axis_values(const std::string& file, const std::string& key,
                                     const YAML::Node& n) {
  RELAPSE_CHECK_CONFIG(n.IsSequence() && n.size() > 0, "sweep ", where_in(file, n), ": axis '", key,
                       "' must be a non-empty list of values");
  std::vector<std::string> out;
  for (const auto& v : n) out.push_back(flow_text(v));
  return out;
}

template <typename T>
void get(const YAML::Node& n, const char* key, T& v, const std::string& file) {
  if (!n[key]) return;
  try {
    v = n[key].as<T>();
  } catch (const YAML::Exception&) {
    RELAPSE_THROW(ExitCode::kConfig, "sweep ", where_in(file, n[key]), ": '", key,
                  "' has the wrong type");
  }
}

void load_slurm(const YAML::Node& n, SweepSlurm& s, const std::string& file) {
  static const std::set<std::string> known = {
      "partition",     "account", "qos",          "time",        "gpus_per_node",
      "cpus_per_task", "mem",     "max_parallel", "relapse_bin", "setup"};
  for (const auto& kv : n) {
    const std::string k = kv.first.as<std::string>();
    RELAPSE_CHECK_CONFIG(known.count(k), "sweep ", where_in(file, kv.first),
                         ": unknown key 'slurm.", k, "'");
  }
  get(n, "partition", s.partition, file);
  get(n, "account", s.account, file);
  get(n, "qos", s.qos, file);
  get(n, "time", s.time, file);
  get(n, "gpus_per_node", s.gpus_per_node, file);
  get(n, "cpus_per_task", s.cpus_per_task, file);
  get(n, "mem", s.mem, file);
  get(n, "max_parallel", s.max_parallel, file);
  get(n, "relapse_bin", s.relapse_bin, file);
  get(n, "setup", s.setup, file);
  RELAPSE_CHECK_CONFIG(s.gpus_per_node >= 1, "sweep ", file, ": slurm.gpus_per_node must be >= 1");
  RELAPSE_CHECK_CONFIG(s.cpus_per_task >= 1, "sweep ", file, ": slurm.cpus_per_task must be >= 1");
}

}  // namespace

SweepSpec sweep_load(const std::string& path, const std::vector<std::string>& sets) {
  SweepSpec spec;
  spec.path = path;
  RELAPSE_CHECK_INPUT(fs::is_regular_file(path), "sweep file '", path, "' not found");
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    RELAPSE_THROW(ExitCode::kConfig, "sweep ", path, ": not valid YAML: ", e.what());
  }
  RELAPSE_CHECK_CONFIG(root.IsMap(), "sweep ", path, ": expected a map of keys");
  static const std::set<std::string> known = {"name", "base", "out_dir", "set",
                                              "axes", "zip",  "slurm",   "models_dir"};
  for (const auto& kv : root) {
    const std::string k = kv.first.as<std::string>();
    RELAPSE_CHECK_CONFIG(known.count(k), "sweep ", where_in(path, kv.first), ": unknown key '", k,
                         "' (known: name, base, out_dir, set, axes, zip, models_dir, slurm)");
  }
  const fs::path dir = fs::path(path).parent_path();
  auto rel = [&](const std::string& p) {
    return p.empty() || fs::path(p).is_absolute() ? p : (dir / p).lexically_normal().string();
  };
  spec.name = fs::path(path).stem().string();
  get(root, "name", spec.name, path);
  get(root, "base", spec.base, path);
  spec.base = rel(spec.base);
  spec.out_dir = "runs/sweeps/" + spec.name;
  get(root, "out_dir", spec.out_dir, path);
  spec.models_dir = "../models";
  get(root, "models_dir", spec.models_dir, path);
  spec.models_dir = rel(spec.models_dir);
  if (root["set"]) {
    RELAPSE_CHECK_CONFIG(root["set"].IsMap(), "sweep ", where_in(path, root["set"]),
                         ": 'set' must be a map of config keys");
    flatten(root["set"], "", spec.sets);
  }
  for (const auto& s : sets) spec.sets.push_back(s);
  if (root["axes"]) {
    RELAPSE_CHECK_CONFIG(root["axes"].IsMap(), "sweep ", where_in(path, root["axes"]),
                         ": 'axes' must be a map: key -> list of values");
    for (const auto& kv : root["axes"]) {
      SweepAxis a;
      a.keys = {kv.first.as<std::string>()};
      for (auto& v : axis_values(path, a.keys[0], kv.second)) a.values.push_back({v});
      spec.axes.push_back(std::move(a));
    }
  }
  if (root["zip"]) {
    RELAPSE_CHECK_CONFIG(root["zip"].IsSequence(), "sweep ", where_in(path, root["zip"]),
                         ": 'zip' must be a list of maps (keys varied together)");
    for (const auto& entry : root["zip"]) {
      RELAPSE_CHECK_CONFIG(entry.IsMap() && entry.size() > 0, "sweep ", where_in(path, entry),
                           ": a zip entry must be a map: key -> list of values");
      SweepAxis a;
      for (const auto& kv : entry) {
        const std::string key = kv.first.as<std::string>();
        std::vector<std::string> vals = axis_values(path, key, kv.second);
        if (a.keys.empty()) a.values.resize(vals.size());
        RELAPSE_CHECK_CONFIG(vals.size() == a.values.size(), "sweep ", where_in(path, kv.second),
                             ": zipped key '", key, "' has ", vals.size(), " values, '", a.keys[0],
                             "' has ", a.values.size());
        a.keys.push_back(key);
        for (size_t i = 0; i < vals.size(); ++i) a.values[i].push_back(vals[i]);
      }
      spec.axes.push_back(std::move(a));
    }
  }
  std::set<std::string> seen;
  for (const auto& a : spec.axes)
    for (const auto& k : a.keys)
      RELAPSE_CHECK_CONFIG(seen.insert(k).second, "sweep ", path, ": key '", k,
                           "' appears in more than one axis");
  if (root["slurm"]) {
    RELAPSE_CHECK_CONFIG(root["slurm"].IsMap(), "sweep ", where_in(path, root["slurm"]),
                         ": 'slurm' must be a map");
    load_slurm(root["slurm"], spec.slurm, path);
  }
  return spec;
}

std::string sweep_cell_id(const RelapseConfig& cfg) {
  // Where a cell runs and what it is called are not part of what it computes.
  auto blank = [](RelapseConfig c) {
    c.run.name.clear();
    c.run.out_dir.clear();
    c.run.cache_dir.clear();
    c.run.log_level.clear();
    return c;
  };
  // Only the keys that differ from relapse's defaults: a later version that
  // adds a key (with a default that keeps the old behaviour) keeps the ids of
  // an existing study, so its done cells stay done.
  static const std::vector<ConfigKeyInfo> defaults = config_describe_as(blank(config_load("")));
  const std::vector<ConfigKeyInfo> keys = config_describe_as(blank(cfg));
  std::map<std::string, std::string> differ;
  for (size_t i = 0; i < keys.size(); ++i)
    if (i >= defaults.size() || keys[i].key != defaults[i].key ||
        keys[i].value != defaults[i].value)
      differ[keys[i].key] = keys[i].value;
  std::string text;
  for (const auto& [k, v] : differ) text += k + ": " + v + "\n";
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)rng_fnv1a64(text));
  return std::string(buf).substr(0, 12);
}

std::vector<SweepCell> sweep_expand(const SweepSpec& spec) {
  size_t n = 1;
  for (const auto& a : spec.axes) n *= a.values.size();
  std::vector<SweepCell> cells;
  std::map<std::string, int> ids;
  for (size_t i = 0; i < n; ++i) {
    SweepCell c;
    c.index = static_cast<int>(i);
    c.sets = spec.sets;
    // Mixed radix, the last axis fastest.
    size_t rest = i, stride = n;
    for (const auto& a : spec.axes) {
      stride /= a.values.size();
      const size_t j = rest / stride;
      rest %= stride;
      for (size_t k = 0; k < a.keys.size(); ++k) {
        c.axis_values.emplace_back(a.keys[k], a.values[j][k]);
        for (auto& s : axis_sets(spec, a.keys[k], a.values[j][k])) c.sets.push_back(s);
      }
    }
    std::string label;
    for (const auto& [k, v] : c.axis_values) label += (label.empty() ? "" : ", ") + k + "=" + v;
    try {
      c.cfg = config_load(spec.base, c.sets);
    } catch (const Error& e) {
      throw Error(
          e.code(),
          "sweep " + spec.path + ", cell " + std::to_string(i) + " (" + label + "): " + e.what(),
          e.where());
    }
    c.id = sweep_cell_id(c.cfg);
    auto [it, fresh] = ids.emplace(c.id, c.index);
    RELAPSE_CHECK_CONFIG(fresh, "sweep ", spec.path, ": cells ", it->second, " and ", i,
                         " resolve to the same config (id ", c.id, "; ", label, ")");
    c.cfg.run.out_dir = (fs::path(spec.out_dir) / "cells" / c.id).string();
    if (c.cfg.run.cache_dir.empty())
      c.cfg.run.cache_dir = (fs::path(spec.out_dir) / "cache").string();
    c.cfg.run.name = spec.name + "-" + c.id;
    c.ranks = c.cfg.parallel.ranks > 0 ? c.cfg.parallel.ranks : 1;
    RELAPSE_CHECK_CONFIG(c.ranks % c.cfg.parallel.tp == 0, "sweep ", spec.path, ", cell ", i, " (",
                         label, "): parallel.tp = ", c.cfg.parallel.tp,
                         " does not divide its ranks (", c.ranks, ")");
    cells.push_back(std::move(c));
  }
  return cells;
}

std::string sweep_cell_archive(const SweepSpec& spec, const SweepCell& cell) {
  return (fs::path(spec.out_dir) / "cells" / cell.id / "relapse.h5").string();
}
bool sweep_cell_done(const SweepSpec& spec, const SweepCell& cell) {
  return fs::exists(sweep_cell_archive(spec, cell));
}
std::string sweep_study_archive(const SweepSpec& spec) {
  return (fs::path(spec.out_dir) / "study.h5").string();
}

std::string sweep_plan_text(const SweepSpec& spec, const std::vector<SweepCell>& cells) {
  std::ostringstream os;
  int done = 0;
  for (const auto& c : cells) done += sweep_cell_done(spec, c);
  os << "sweep " << spec.name << " (" << spec.path << "): " << cells.size() << " cells, " << done
     << " done, " << cells.size() - done << " to run; study " << sweep_study_archive(spec) << "\n";
  char line[256];
  std::snprintf(line, sizeof line, "%5s  %-12s  %-6s  %5s  %4s  %4s  %12s  %-4s  %s\n", "cell",
                "id", "status", "ranks", "dp", "tp", "mem/rank GiB", "fits", "axes");
  os << line;
  for (const auto& c : cells) {
    const pipeline::MemoryPlan mp = pipeline::memory_plan(c.cfg, c.ranks);
    std::string axes;
    for (const auto& [k, v] : c.axis_values) axes += (axes.empty() ? "" : "  ") + k + "=" + v;
    std::snprintf(line, sizeof line, "%5d  %-12s  %-6s  %5d  %4d  %4d  %12.3f  %-4s  ", c.index,
                  c.id.c_str(), sweep_cell_done(spec, c) ? "done" : "todo", c.ranks, mp.dp, mp.tp,
                  mp.total / 1073741824.0, mp.fits ? "yes" : "NO");
    os << line << axes << "\n";
  }
  return os.str();
}

}  // namespace relapse::study
