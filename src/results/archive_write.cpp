// src/results/archive_write.cpp — writes a RunResult to the HDF5 archive whose
// layout is documented in relapse/results/archive.h: the names checked, then
// every result type through its binder (archive_bind.h). Everything goes through
// relapse/archive/h5.h; the file is created as PATH.tmp and renamed to PATH only after the last
// write, so an exception half-way (bad name, full disk) leaves no file at PATH (H5File's destructor
// removes the .tmp) and an older archive at PATH intact.
#include "relapse/results/archive.h"

#include <filesystem>
#include <set>

#include "archive_bind.h"
#include "relapse/archive/h5_provenance.h"
#include "relapse/core/error.h"

namespace relapse::results {

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

void write_model(H5Group models, const ModelResult& mr, const std::string& path) {
  const ModelInfo& info = mr.info;
  ArchiveOut g(models.group(info.name));
  bind_model_info(g, info);
  std::set<std::string> seen;
  for (const auto& e : mr.evals) {
    archive_check_name(e.precision, "precision of model '" + info.name + "'", path,
                       {"curve", "saliency_mask"});
    RELAPSE_CHECK_INPUT(seen.insert(e.precision).second, "archive '", path, "': model '", info.name,
                        "' has precision '", e.precision, "' twice");
    ArchiveOut pg = g.child(e.precision);
    bind_precision(pg, e);
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
    ArchiveOut prov(archive::h5_write_provenance(root, r.provenance));
    ArchiveOut out(root);
    bind_run_header(out, prov, r);

    H5Group models = root.group("models");
    std::set<std::string> seen;
    for (const auto& m : r.models) {
      archive_check_name(m.info.name, "model", path, {});
      RELAPSE_CHECK_INPUT(seen.insert(m.info.name).second, "archive '", path, "': model '",
                          m.info.name, "' appears twice");
      write_model(models, m, path);
    }
    const std::vector<SummaryRow> rows = summary_rows(r);
    bind_summary(out, rows);
  }  // every group handle is closed before the commit
  f.commit();
}

}  // namespace relapse::results
