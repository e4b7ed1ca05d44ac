// src/archive/h5_data.cpp — datasets of the HDF5 wrappers (see
// relapse/archive/h5.h): numeric 1-D/2-D, UTF-8 strings, ragged arrays, tables.
#include <hdf5.h>

#include <set>

#include "h5_internal.h"
#include "relapse/archive/h5.h"
#include "relapse/core/error.h"

namespace relapse::archive {

using namespace internal;

size_t Column::size() const {
  return std::visit([](const auto& v) { return v.size(); }, values);
}
// ---- datasets

Handle H5Group::open_dataset(const std::string& name) const {
  Handle h = object_open(id_.get(), name);
  RELAPSE_CHECK_INPUT(h.valid(), "dataset ", in_file(full(name), file_), " not found");
  RELAPSE_CHECK_INPUT(H5Iget_type(h.get()) == H5I_DATASET, in_file(full(name), file_),
                      " is not a dataset");
  return h;
}

void H5Group::prepare_write(const std::string& name) {
  RELAPSE_CHECK(writable_, "cannot write ", in_file(full(name), file_), ": file is read-only");
  if (has(name)) {
    h5_ok(H5Ldelete(id_.get(), name.c_str(), H5P_DEFAULT),
          "cannot replace " + in_file(full(name), file_));
  }
}

void H5Group::write_numeric(const std::string& name, int d, const void* data, size_t n,
                            const std::vector<int64_t>& dims) {
  size_t prod = 1;
  for (int64_t x : dims) prod *= static_cast<size_t>(x);
  RELAPSE_CHECK(prod == n, "dataset ", in_file(full(name), file_), ": ", n,
                " values do not fill the shape");
  prepare_write(name);
  std::string what = "dataset " + in_file(full(name), file_);
  Handle space = space_simple(dims);
  Handle lcpl = h5_own(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate");
  h5_ok(H5Pset_create_intermediate_group(lcpl.get(), 1), "H5Pset_create_intermediate_group");
  DtypeInfo t = dtype_info(d);
  Handle ds = h5_own(H5Dcreate2(id_.get(), name.c_str(), t.file, space.get(), lcpl.get(),
                                H5P_DEFAULT, H5P_DEFAULT),
                     "cannot create " + what);
  if (n > 0)
    h5_ok(H5Dwrite(ds.get(), t.mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "cannot write " + what);
}

#define RELAPSE_H5_WRITE(T, D)                                                             \
  void H5Group::write(const std::string& name, const std::vector<T>& data) {               \
    write_numeric(name, D, data.data(), data.size(), {static_cast<int64_t>(data.size())}); \
  }                                                                                        \
  void H5Group::write(const std::string& name, const std::vector<T>& data, size_t rows,    \
                      size_t cols) {                                                       \
    write_numeric(name, D, data.data(), data.size(),                                       \
                  {static_cast<int64_t>(rows), static_cast<int64_t>(cols)});               \
  }
RELAPSE_H5_WRITE(float, kF32)
RELAPSE_H5_WRITE(double, kF64)
RELAPSE_H5_WRITE(int64_t, kI64)
RELAPSE_H5_WRITE(int32_t, kI32)
#undef RELAPSE_H5_WRITE

std::vector<float> H5Group::read_floats(const std::string& name) const {
  return numbers_read<float>(open_dataset(name).get(), false, kF32, false,
                             "dataset " + in_file(full(name), file_));
}
std::vector<double> H5Group::read_doubles(const std::string& name) const {
  return numbers_read<double>(open_dataset(name).get(), false, kF64, false,
                              "dataset " + in_file(full(name), file_));
}
std::vector<int64_t> H5Group::read_int64s(const std::string& name) const {
  return numbers_read<int64_t>(open_dataset(name).get(), false, kI64, false,
                               "dataset " + in_file(full(name), file_));
}
std::vector<int32_t> H5Group::read_int32s(const std::string& name) const {
  return numbers_read<int32_t>(open_dataset(name).get(), false, kI32, false,
                               "dataset " + in_file(full(name), file_));
}

std::vector<int64_t> H5Group::shape(const std::string& name) const {
  Handle ds = open_dataset(name);
  Handle space = h5_own(H5Dget_space(ds.get()), "space of " + in_file(full(name), file_));
  int nd = H5Sget_simple_extent_ndims(space.get());
  h5_ok(nd, "shape of " + in_file(full(name), file_));
  std::vector<hsize_t> dims(static_cast<size_t>(nd));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return std::vector<int64_t>(dims.begin(), dims.end());
}

void H5Group::write_strings(const std::string& name, const std::vector<std::string>& data) {
  std::string what = "dataset " + in_file(full(name), file_);
  auto p = c_strings(data, what);
  prepare_write(name);
  Handle space = space_simple({static_cast<int64_t>(data.size())});
  Handle t = string_type(H5T_CSET_UTF8);
  Handle lcpl = h5_own(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate");
  h5_ok(H5Pset_create_intermediate_group(lcpl.get(), 1), "H5Pset_create_intermediate_group");
  Handle ds = h5_own(H5Dcreate2(id_.get(), name.c_str(), t.get(), space.get(), lcpl.get(),
                                H5P_DEFAULT, H5P_DEFAULT),
                     "cannot create " + what);
  if (!p.empty()) {
    h5_ok(H5Dwrite(ds.get(), t.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, p.data()),
          "cannot write " + what);
  }
}

std::vector<std::string> H5Group::read_strings(const std::string& name) const {
  return strings_read(open_dataset(name).get(), false, "dataset " + in_file(full(name), file_));
}

// ---- ragged arrays and tables

void H5Group::write_ragged(const std::string& name, const std::vector<std::vector<float>>& rows) {
  prepare_write(name);
  std::vector<float> values;
  std::vector<int64_t> offsets{0};
  for (const auto& r : rows) {
    values.insert(values.end(), r.begin(), r.end());
    offsets.push_back(static_cast<int64_t>(values.size()));
  }
  H5Group g = group(name);
  g.set_attr("layout", "ragged");
  g.write("values", values);
  g.write("offsets", offsets);
}

std::vector<std::vector<float>> H5Group::read_ragged(const std::string& name) const {
  H5Group g = open_group(name);
  auto offsets = g.read_int64s("offsets");
  auto values = g.read_floats("values");
  bool ok = !offsets.empty() && offsets.front() == 0 &&
            offsets.back() == static_cast<int64_t>(values.size());
  for (size_t i = 1; ok && i < offsets.size(); ++i) ok = offsets[i - 1] <= offsets[i];
  RELAPSE_CHECK_INPUT(
      ok, "ragged array ", in_file(full(name), file_),
      ": offsets must start at 0, never decrease and end at len(values) = ", values.size());
  std::vector<std::vector<float>> rows(offsets.size() - 1);
  for (size_t i = 0; i + 1 < offsets.size(); ++i) {
    rows[i].assign(values.begin() + offsets[i], values.begin() + offsets[i + 1]);
  }
  return rows;
}

void H5Group::write_table(const std::string& name, const std::vector<Column>& columns) {
  std::set<std::string> seen;
  std::vector<std::string> names;
  for (const auto& c : columns) {
    RELAPSE_CHECK(
        !c.name.empty() && c.name.find('/') == std::string::npos && seen.insert(c.name).second,
        "table ", in_file(full(name), file_), ": bad or repeated column name '", c.name, "'");
    RELAPSE_CHECK(c.size() == columns.front().size(), "table ", in_file(full(name), file_),
                  ": column '", c.name, "' has ", c.size(), " rows, '", columns.front().name,
                  "' has ", columns.front().size());
    names.push_back(c.name);
  }
  prepare_write(name);
  H5Group g = group(name);
  for (const auto& c : columns) {
    if (auto* d = std::get_if<std::vector<double>>(&c.values)) g.write(c.name, *d);
    if (auto* i = std::get_if<std::vector<int64_t>>(&c.values)) g.write(c.name, *i);
    if (auto* s = std::get_if<std::vector<std::string>>(&c.values)) g.write_strings(c.name, *s);
  }
  g.set_attr("layout", "table");
  g.set_attr("columns", names);
  g.set_attr("nrows", columns.empty() ? size_t{0} : columns.front().size());
}

std::vector<Column> H5Group::read_table(const std::string& name) const {
  H5Group g = open_group(name);
  std::vector<Column> out;
  for (const auto& c : g.attr_strings("columns")) {
    Handle ds = g.open_dataset(c);
    Handle t = h5_own(H5Dget_type(ds.get()), "type of " + in_file(g.full(c), file_));
    H5T_class_t cls = H5Tget_class(t.get());
    if (cls == H5T_FLOAT) {
      out.push_back({c, g.read_doubles(c)});
    } else if (cls == H5T_INTEGER) {
      out.push_back({c, g.read_int64s(c)});
    } else {
      out.push_back({c, g.read_strings(c)});  // throws kInput for other classes
    }
  }
  return out;
}

// ---- copying

void H5Group::copy_from(const H5Group& src, const std::string& src_name,
                        const std::string& dst_name) {
  RELAPSE_CHECK_INPUT(src.has(src_name), "object ", in_file(src.full(src_name), src.file_),
                      " not found");
  // Parents of the destination first (H5Ocopy creates only the last link).
  const std::vector<std::string> parts = name_split(dst_name);
  H5Group parent = *this;
  std::string last = parts.back();
  if (parts.size() > 1) parent = walk(dst_name.substr(0, dst_name.size() - last.size() - 1), true);
  parent.prepare_write(last);
  h5_ok(H5Ocopy(src.id_.get(), src_name.c_str(), parent.id_.get(), last.c_str(), H5P_DEFAULT,
                H5P_DEFAULT),
        "cannot copy " + in_file(src.full(src_name), src.file_) + " to " +
            in_file(full(dst_name), file_));
}

}  // namespace relapse::archive
