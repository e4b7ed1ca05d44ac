// src/results/archive_read.cpp — archive_read_run (relapse/results/archive.h):
// reads a run archive back into a RunResult, so `relapse report ARCHIVE`
// renders exactly what `relapse run` rendered. Every result type is read by
// the binder that wrote it (archive_bind.h). The model order is the order
// of /summary (models × evals as written); models without evaluations follow
// in name order. Fields added after the first archives (group, seed,
// saliency, intervals, masks) fall back to their defaults when absent.
#include <algorithm>

#include "archive_bind.h"
#include "relapse/core/error.h"

namespace relapse::results {

namespace {

ModelResult read_model(const ArchiveIn& models, const std::string& name,
                       const std::vector<std::string>& precisions) {
  ModelResult mr;
  ArchiveIn g = models.child(name);
  mr.info.name = name;
  bind_model_info(g, mr.info);
  std::vector<std::string> order = precisions;
  for (const auto& c : g.group().children())  // evaluations /summary did not list (none normally)
    if (c != "curve" && c != "saliency_mask" && g.group().is_group(c) &&
        std::find(order.begin(), order.end(), c) == order.end())
      order.push_back(c);
  for (const auto& p : order) {
    ArchiveIn pg = g.child(p);
    PrecisionEval& e = mr.evals.emplace_back();
    e.precision = p;
    bind_precision(pg, e);
  }
  return mr;
}

}  // namespace

RunResult archive_read_run(const std::string& path) {
  archive::H5File f = archive::H5File::open_read(path);
  return archive_read_run(f.root());
}

RunResult archive_read_run(const archive::H5Group& at) {
  RunResult r;
  std::vector<SummaryRow> rows = archive_read_summary(at);  // kInput naming the file if absent
  ArchiveIn root(at);
  ArchiveIn prov = root.child("provenance");
  bind_run_header(root, prov, r);
  // The Provenance fields: every /provenance attribute the binder did not name.
  for (const auto& k : prov.group().attr_names())
    if (!prov.consumed().count(k)) r.provenance.fields[k] = prov.group().attr_string(k);

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
  ArchiveIn models = root.child("models");
  for (const auto& c : models.group().children())
    if (std::find(names.begin(), names.end(), c) == names.end()) {
      names.push_back(c);
      precs.emplace_back();
    }
  for (size_t i = 0; i < names.size(); ++i)
    r.models.push_back(read_model(models, names[i], precs[i]));
  return r;
}

}  // namespace relapse::results
