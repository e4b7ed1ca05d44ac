// src/study/sweep_archive.cpp — the study archive OUT/study.h5: every done
// cell's archive copied in, the cell table and the summary indexed by the
// sweep axes, committed atomically under a file lock
// (relapse/study/sweep.h, sweep_archive_commit).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "relapse/archive/h5.h"
#include "relapse/archive/h5_provenance.h"
#include "relapse/core/error.h"
#include "relapse/core/fs.h"
#include "relapse/core/log.h"
#include "relapse/core/provenance.h"
#include "relapse/pipeline/memory_plan.h"
#include "relapse/study/sweep.h"

namespace fs = std::filesystem;

namespace relapse::study {

namespace {

using archive::Column;
using archive::H5File;
using archive::H5Group;

// An exclusive flock on PATH for the lifetime of the object (released by
// close, also when the process dies).
class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
    RELAPSE_CHECK_INPUT(fd_ >= 0, "cannot open the study lock '", path, "'");
    RELAPSE_CHECK_INPUT(::flock(fd_, LOCK_EX) == 0, "cannot lock '", path, "'");
  }
  ~FileLock() { ::close(fd_); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

std::string column_name(const std::string& key) {
  return key == "model" ? "base_model" : key;
}

// The axis value as the table shows it: the scalar itself ("ga", "5e-05"),
// a one-element list as its element, anything else as its YAML flow text.
std::string value_text(const std::string& flow) {
  YAML::Node n = YAML::Load(flow);
  if (n.IsSequence() && n.size() == 1 && n[0].IsScalar()) n = n[0];
  return n.IsScalar() ? n.as<std::string>() : flow;
}

bool as_number(const std::string& text, double& v) {
  std::istringstream is(text);
  is >> v;
  return !is.fail() && is.eof();
}

// One column per axis key, over `cells` (every value a number → float64).
std::vector<Column> axis_columns(const std::vector<std::string>& keys,
                                 const std::vector<const SweepCell*>& cells) {
  std::vector<Column> out;
  for (size_t k = 0; k < keys.size(); ++k) {
    std::vector<std::string> text;
    for (const SweepCell* c : cells) text.push_back(value_text(c->axis_values[k].second));
    std::vector<double> num;
    bool numeric = true;
    for (const auto& t : text) {
      double v = 0;
      numeric = numeric && as_number(t, v);
      num.push_back(v);
    }
    Column col;
    col.name = column_name(keys[k]);
    if (numeric)
      col.values = num;
    else
      col.values = text;
    out.push_back(std::move(col));
  }
  return out;
}

// Appends `rows` copies of the missing value of `like`'s type.
void pad(Column& c, const Column& like, size_t rows) {
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if (c.values.index() != like.values.index()) c.values = V{};
        auto& out = std::get<V>(c.values);
        for (size_t i = 0; i < rows; ++i) {
          if constexpr (std::is_same_v<V, std::vector<double>>)
            out.push_back(std::nan(""));
          else if constexpr (std::is_same_v<V, std::vector<int64_t>>)
            out.push_back(-1);
          else
            out.push_back("");
        }
      },
      like.values);
}

void append(Column& dst, const Column& src) {
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        auto& out = std::get<V>(dst.values);
        out.insert(out.end(), v.begin(), v.end());
      },
      src.values);
}

// /provenance of the study archive.
void write_study_provenance(H5Group root, const SweepSpec& spec,
                            const std::vector<std::string>& axis_cols, size_t n_cells,
                            size_t n_done) {
  // Only what does not change between commits of the same study (no start
  // time or hosts): a resumed sweep's archive equals an uninterrupted one's.
  const Provenance now = provenance_collect(1, {}, "");
  Provenance prov;
  for (const char* k : {"relapse_version", "git_sha"}) {
    auto it = now.fields.find(k);
    prov.fields[k] = it == now.fields.end() ? std::string() : it->second;
  }
  H5Group p = archive::h5_write_provenance(root, prov);
  p.set_attr("sweep_name", spec.name);
  p.set_attr("sweep_file", spec.path);
  p.set_attr("sweep_yaml", fs_read_file(spec.path, "sweep file"));
  p.set_attr("base", spec.base);
  p.set_attr("out_dir", spec.out_dir);
  p.set_attr("axes", axis_cols);
  p.set_attr("n_cells", static_cast<int64_t>(n_cells));
  p.set_attr("n_done", static_cast<int64_t>(n_done));
}

// The cell's parameter count (the whole model, embeddings included), from
// its memory plan's shape: the size axis of a size sweep.
int64_t cell_params(const SweepCell& c) {
  return pipeline::memory_plan(c.cfg, c.ranks).params_total;
}

// /cells_table: every cell of the sweep.
void write_cells_table(H5Group root, const std::vector<const SweepCell*>& done,
                       const std::vector<std::string>& keys,
                       const std::vector<const SweepCell*>& all) {
  std::vector<std::string> ids;
  std::vector<int64_t> index, is_done, ranks, tp, params;
  for (const SweepCell* c : all) {
    ids.push_back(c->id);
    index.push_back(c->index);
    is_done.push_back(std::find(done.begin(), done.end(), c) != done.end() ? 1 : 0);
    ranks.push_back(c->ranks);
    tp.push_back(c->cfg.parallel.tp);
    params.push_back(cell_params(*c));
  }
  std::vector<Column> t = {{"cell_id", ids}, {"cell", index}, {"done", is_done},
                           {"ranks", ranks}, {"tp", tp},      {"params", params}};
  for (auto& c : axis_columns(keys, all)) t.push_back(std::move(c));
  root.write_table("cells_table", t);
}

// /summary of the study: the done cells' /summary tables stacked, each row led
// by its cell's id, index and axis values; a column some cells lack is padded.
struct StudySummary {
  std::vector<Column> summary;  // cell_id, cell, axis columns, then the cells' columns
  std::map<std::string, size_t> where;
  size_t rows = 0;

  // Done cell i's archive copied to /cells/<id> and its rows appended.
  void add_cell(H5Group root, const SweepSpec& spec, const SweepCell& c, size_t i,
                const std::vector<Column>& axes_done) {
    const std::string src = sweep_cell_archive(spec, c);
    H5File in = H5File::open_read(src);
    H5Group from = in.root();
    H5Group to = root.group("cells/" + c.id);
    for (const auto& child : from.children()) to.copy_from(from, child, child);
    to.set_attr("cell", static_cast<int64_t>(c.index));
    for (const auto& [k, v] : c.axis_values) to.set_attr("axis." + k, value_text(v));

    std::vector<Column> cols = from.read_table("summary");
    const size_t n = cols.empty() ? 0 : cols[0].size();
    std::vector<Column> lead = {{"cell_id", std::vector<std::string>(n, c.id)},
                                {"cell", std::vector<int64_t>(n, c.index)}};
    for (const auto& a : axes_done) {
      Column one{a.name, {}};
      std::visit(
          [&](const auto& v) {
            using V = std::decay_t<decltype(v)>;
            one.values = V(n, v[i]);
          },
          a.values);
      lead.push_back(std::move(one));
    }
    lead.push_back({"params", std::vector<int64_t>(n, cell_params(c))});
    for (auto& col : cols) lead.push_back(std::move(col));
    std::vector<bool> seen(summary.size(), false);
    for (const Column& col : lead) {
      auto it = where.find(col.name);
      if (it == where.end()) {  // a column the earlier cells did not have
        Column fresh{col.name, {}};
        pad(fresh, col, rows);
        where[col.name] = summary.size();
        summary.push_back(std::move(fresh));
        seen.push_back(false);
        it = where.find(col.name);
      }
      RELAPSE_CHECK_INPUT(summary[it->second].values.index() == col.values.index(), "column '",
                          col.name, "' of /summary in '", src,
                          "' has another type than in the other cells");
      append(summary[it->second], col);
      seen[it->second] = true;
    }
    for (size_t j = 0; j < summary.size(); ++j)
      if (!seen[j]) pad(summary[j], summary[j], n);  // a column this cell lacks
    rows += n;
  }
};

}  // namespace

void sweep_archive_commit(const SweepSpec& spec, const std::vector<SweepCell>& cells) {
  fs::create_directories(spec.out_dir);
  FileLock lock((fs::path(spec.out_dir) / "study.lock").string());

  std::vector<std::string> keys;
  for (const auto& a : spec.axes) keys.insert(keys.end(), a.keys.begin(), a.keys.end());
  std::vector<std::string> axis_cols;
  for (const auto& k : keys) axis_cols.push_back(column_name(k));

  std::vector<const SweepCell*> all, done;
  for (const auto& c : cells) {
    all.push_back(&c);
    if (sweep_cell_done(spec, c)) done.push_back(&c);
  }

  H5File f = H5File::create(sweep_study_archive(spec));
  H5Group root = f.root();
  write_study_provenance(root, spec, axis_cols, cells.size(), done.size());
  // The done cells as listed once above: a cell finishing while this commit
  // runs (concurrent cells) is in neither /cells_table's done nor /cells/
  // until the next commit.
  write_cells_table(root, done, keys, all);

  // /cells/<id> and /summary from the done cells' archives.
  StudySummary st;
  const std::vector<Column> axes_done = axis_columns(keys, done);
  for (size_t i = 0; i < done.size(); ++i) st.add_cell(root, spec, *done[i], i, axes_done);
  std::vector<Column>& summary = st.summary;
  if (summary.empty()) {
    summary = {{"cell_id", std::vector<std::string>{}}, {"cell", std::vector<int64_t>{}}};
    for (const auto& a : axis_cols) summary.push_back({a, std::vector<std::string>{}});
    summary.push_back({"params", std::vector<int64_t>{}});
  }
  root.write_table("summary", summary);
  root.open_group("summary").set_attr("axes", axis_cols);
  f.commit();
  // The study's report.md beside it, from the archive just committed. A
  // report that cannot be written is a warning: the study archive is complete.
  try {
    sweep_report_write(sweep_study_archive(spec), spec.out_dir);
  } catch (const std::exception& e) {
    log_warn("sweep ", spec.name, ": the study report was not written: ", e.what());
  }
}

}  // namespace relapse::study
