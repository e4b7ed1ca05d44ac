// src/study/sweep_report.cpp — sweep_report_write (relapse/study/sweep.h):
// the study report from the study archive alone. Each done cell's run is
// read back from /cells/<id> (results::archive_read_run on a group), its
// label is its axis values from /cells_table, and its place on the figures'
// x axis the cell's parameter count when the cells differ in size.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "relapse/archive/h5.h"
#include "relapse/core/error.h"
#include "relapse/report/report_study.h"
#include "relapse/results/archive.h"
#include "relapse/study/sweep.h"

namespace relapse::study {

namespace {

using archive::Column;

const Column* find_column(const std::vector<Column>& t, const std::string& name) {
  for (const auto& c : t)
    if (c.name == name) return &c;
  return nullptr;
}

// Row i of a column as text ("%g" for numbers) and as a number (NaN for text).
std::string column_text(const Column& c, size_t i) {
  if (auto* s = std::get_if<std::vector<std::string>>(&c.values)) return (*s)[i];
  char b[32];
  if (auto* d = std::get_if<std::vector<double>>(&c.values))
    std::snprintf(b, sizeof b, "%g", (*d)[i]);
  if (auto* n = std::get_if<std::vector<int64_t>>(&c.values))
    std::snprintf(b, sizeof b, "%lld", static_cast<long long>((*n)[i]));
  return b;
}

double column_number(const Column& c, size_t i) {
  if (auto* d = std::get_if<std::vector<double>>(&c.values)) return (*d)[i];
  if (auto* n = std::get_if<std::vector<int64_t>>(&c.values)) return static_cast<double>((*n)[i]);
  return report::kNaN;
}

// Millions of parameters to two significant digits (the figure's ticks
// print x with "%g": 0.12, 3.2, 25).
double params_millions(double params) {
  const double m = params / 1e6;
  if (!(m > 0)) return report::kNaN;
  const double scale = std::pow(10.0, std::floor(std::log10(m)) - 1);
  return std::round(m / scale) * scale;
}

// The figures' x: the parameter count when the cells differ in it, else the
// one numeric axis, else none (the cells' order).
void study_set_x(report::Study& s, const std::vector<double>& params,
                 const std::vector<const Column*>& axes, const std::vector<size_t>& rows) {
  const auto [lo, hi] = std::minmax_element(params.begin(), params.end());
  if (!params.empty() && *lo > 0 && *hi > *lo) {
    s.x_label = "parameters (millions)";
    s.log_x = true;
    for (size_t i = 0; i < s.cells.size(); ++i) {
      s.cells[i].x = params_millions(params[i]);
      char b[32];
      std::snprintf(b, sizeof b, "%gM", s.cells[i].x);
      s.cells[i].x_text = b;
    }
    return;
  }
  if (axes.size() != 1 || !std::holds_alternative<std::vector<double>>(axes[0]->values)) return;
  s.x_label = axes[0]->name;
  bool positive = true;
  double xmin = 0, xmax = 0;
  for (size_t i = 0; i < s.cells.size(); ++i) {
    const double x = column_number(*axes[0], rows[i]);
    s.cells[i].x = x;
    s.cells[i].x_text = column_text(*axes[0], rows[i]);
    positive = positive && x > 0;
    xmin = i ? std::min(xmin, x) : x;
    xmax = i ? std::max(xmax, x) : x;
  }
  s.log_x = positive && xmax >= 10 * xmin;
}

}  // namespace

void sweep_report_write(const std::string& study_archive, const std::string& dir) {
  archive::H5File f = archive::H5File::open_read(study_archive);
  archive::H5Group root = f.root();
  RELAPSE_CHECK_INPUT(root.has("cells_table") && root.has("provenance"), "'", study_archive,
                      "' is not a study archive (no /cells_table or /provenance)");
  archive::H5Group prov = root.open_group("provenance");
  report::Study s;
  s.name = prov.attr_string("sweep_name");
  s.archive_name = std::filesystem::path(study_archive).filename().string();
  const std::vector<Column> table = root.read_table("cells_table");
  const Column* ids = find_column(table, "cell_id");
  const Column* done = find_column(table, "done");
  RELAPSE_CHECK_INPUT(ids && done, "'", study_archive, "': /cells_table has no cell_id / done");
  s.cells_total = static_cast<int64_t>(ids->size());
  std::vector<const Column*> axes;
  for (const auto& name : prov.attr_strings("axes")) {
    const Column* c = find_column(table, name);
    RELAPSE_CHECK_INPUT(c, "'", study_archive, "': /cells_table has no axis column '", name, "'");
    axes.push_back(c);
  }
  const Column* params = find_column(table, "params");  // absent in studies before it
  std::vector<double> sizes;
  std::vector<size_t> rows;
  for (size_t i = 0; i < ids->size(); ++i) {
    if (column_number(*done, i) != 1) continue;
    report::StudyCell c;
    c.id = column_text(*ids, i);
    for (const Column* a : axes)
      c.label += (c.label.empty() ? "" : ", ") + a->name + "=" + column_text(*a, i);
    const std::string group = "cells/" + c.id;
    RELAPSE_CHECK_INPUT(root.has(group), "'", study_archive, "': cell ", c.id,
                        " is done in /cells_table but has no /", group);
    c.run = results::archive_read_run(root.open_group(group));
    s.cells.push_back(std::move(c));
    sizes.push_back(params ? column_number(*params, i) : report::kNaN);
    rows.push_back(i);
  }
  if (!params) sizes.clear();
  study_set_x(s, sizes, axes, rows);
  report::study_report_write(s, dir);
}

}  // namespace relapse::study
