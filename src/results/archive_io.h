// src/results/archive_io.h — the two directions of the run archive (internal
// to the results layer). A binder (archive_bind.h) names every field of a
// result type once, in one function; walked with ArchiveOut it writes the
// field, walked with ArchiveIn it reads it back (a missing required object is
// an error naming the file and its path; optional ones fall back to their
// defaults, so archives written before a field existed still read). Tables
// (one row per element of a vector) are bound by a row function walked with
// RowOut (gathers columns) or RowIn (scatters them).
#pragma once
#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "relapse/archive/h5.h"
#include "relapse/core/error.h"

namespace relapse::results {

// T as a binder over Io sees it: const when writing, mutable when reading.
template <class Io, class T>
using Bound = std::conditional_t<Io::kReading, T, const T>;

namespace detail {
// The column type a field is stored as (tables hold float64, int64 or text).
template <class T>
using ColumnType = std::conditional_t<std::is_same_v<T, std::string>, std::string,
                                      std::conditional_t<std::is_integral_v<T>, int64_t, double>>;
}  // namespace detail

// One row of a table being written: each col() appends to its column.
class RowOut {
 public:
  static constexpr bool kReading = false;
  RowOut(std::vector<archive::Column>& cols, bool schema) : cols_(cols), schema_(schema) {}
  template <class T>
  void col(const std::string& name, const T& v) {
    using C = detail::ColumnType<T>;
    if (schema_) {
      cols_.push_back({name, std::vector<C>{}});
      return;
    }
    std::get<std::vector<C>>(cols_[next_++].values).push_back(static_cast<C>(v));
  }
  // A column added after the first archives: written always.
  template <class T>
  void col_or(const std::string& name, const T& v) {
    col(name, v);
  }
  // A column derived from others (for pandas / h5py readers), not read back.
  template <class T>
  void derived(const std::string& name, const T& v) {
    col(name, v);
  }
  bool has(const std::string&) const { return true; }

 private:
  std::vector<archive::Column>& cols_;
  bool schema_;
  size_t next_ = 0;
};

// One row of a table being read: each col() takes row i of its column.
// check_only: type-check the columns without reading (an empty table).
class RowIn {
 public:
  static constexpr bool kReading = true;
  RowIn(const archive::H5Group& g, const std::string& table,
        const std::vector<archive::Column>& cols, size_t i, bool check_only)
      : g_(g), table_(table), cols_(cols), i_(i), check_only_(check_only) {}
  template <class T>
  void col(const std::string& name, T& v) {
    const auto* c = find(name);
    RELAPSE_CHECK_INPUT(c != nullptr, "archive '", g_.file_path(), "': table ", where(),
                        " has no column '", name, "'");
    take(*c, v);
  }
  template <class T>
  void col_or(const std::string& name, T& v) {
    if (const auto* c = find(name)) take(*c, v);
  }
  template <class T>
  void derived(const std::string&, const T&) {}
  bool has(const std::string& name) const { return find(name) != nullptr; }

 private:
  const archive::Column* find(const std::string& name) const {
    for (const auto& c : cols_)
      if (c.name == name) return &c;
    return nullptr;
  }
  std::string where() const { return (g_.path() == "/" ? "/" : g_.path() + "/") + table_; }
  template <class T>
  void take(const archive::Column& c, T& v) {
    using C = detail::ColumnType<T>;
    const auto* vals = std::get_if<std::vector<C>>(&c.values);
    RELAPSE_CHECK_INPUT(vals != nullptr, "archive '", g_.file_path(), "': column '", c.name,
                        "' of ", where(), " has the wrong type");
    RELAPSE_CHECK_INPUT(vals->size() == cols_.front().size(), "archive '", g_.file_path(),
                        "': column '", c.name, "' of ", where(), " has ", vals->size(),
                        " rows, expected ", cols_.front().size());
    if (!check_only_) v = static_cast<T>((*vals)[i_]);
  }
  const archive::H5Group& g_;
  const std::string& table_;
  const std::vector<archive::Column>& cols_;
  size_t i_;
  bool check_only_;
};

// Writes what a binder names into an HDF5 group.
class ArchiveOut {
 public:
  static constexpr bool kReading = false;
  explicit ArchiveOut(archive::H5Group g) : g_(std::move(g)) {}
  ArchiveOut child(const std::string& name) const { return ArchiveOut(g_.group(name)); }
  archive::H5Group& group() { return g_; }
  const archive::H5Group& group() const { return g_; }

  template <class T>
  void attr(const std::string& k, const T& v) {
    g_.set_attr(k, v);
  }
  // Added after the first archives: written always, read as dflt when absent.
  template <class T, class D>
  void attr_or(const std::string& k, const T& v, const D&) {
    g_.set_attr(k, v);
  }
  // Written only when it differs from dflt (read as dflt when absent).
  template <class T>
  void attr_sparse(const std::string& k, const T& v, const T& dflt) {
    if (!(v == dflt)) g_.set_attr(k, v);
  }
  // Written when `write`; the reader reads it when present. Returns whether
  // the attribute is (to be) in the file.
  template <class T>
  bool attr_if(const std::string& k, const T& v, bool write) {
    if (write) g_.set_attr(k, v);
    return write;
  }
  // A value derived from others, for h5py / pandas readers; not read back.
  template <class T>
  void derived(const std::string& k, const T& v) {
    g_.set_attr(k, v);
  }
  // uint64 (seeds) as decimal text: HDF5 attributes here are int64.
  void u64_text(const std::string& k, uint64_t v) { g_.set_attr(k, std::to_string(v)); }
  template <class T>
  void data(const std::string& k, const std::vector<T>& v) {
    if constexpr (std::is_same_v<T, std::string>)
      g_.write_strings(k, v);
    else
      g_.write(k, v);
  }
  // Whether an optional child (group, table) is written: `flag` decides.
  bool present(const std::string&, const bool& flag) const { return flag; }

  // Table k: one row per element of rows, bound by fields(row, RowOut&);
  // proto gives the columns when rows is empty.
  template <class Rows, class Fields>
  void table(const std::string& k, const Rows& rows, Fields fields,
             const typename Rows::value_type& proto = {}) {
    std::vector<archive::Column> cols;
    RowOut schema(cols, true);
    fields(proto, schema);
    for (const auto& r : rows) {
      RowOut row(cols, false);
      fields(r, row);
    }
    g_.write_table(k, cols);
  }
  template <class Rows, class Fields>
  bool table_if(const std::string& k, const Rows& rows, Fields fields, bool write) {
    if (write) table(k, rows, fields);
    return write;
  }

 private:
  archive::H5Group g_;
};

// Reads what a binder names from an HDF5 group; remembers every attribute
// name it was asked for (consumed()), so the rest can be read generically.
class ArchiveIn {
 public:
  static constexpr bool kReading = true;
  explicit ArchiveIn(archive::H5Group g) : g_(std::move(g)) {}
  ArchiveIn child(const std::string& name) const {
    need(name, false);
    return ArchiveIn(g_.open_group(name));
  }
  archive::H5Group& group() { return g_; }
  const archive::H5Group& group() const { return g_; }
  const std::set<std::string>& consumed() const { return consumed_; }

  template <class T>
  void attr(const std::string& k, T& v) {
    need(k, true);
    read_attr(k, v);
  }
  template <class T, class D>
  void attr_or(const std::string& k, T& v, const D& dflt) {
    consumed_.insert(k);
    if (g_.has_attr(k))
      read_attr(k, v);
    else
      v = dflt;
  }
  template <class T>
  void attr_sparse(const std::string& k, T& v, const T& dflt) {
    attr_or(k, v, dflt);
  }
  template <class T>
  bool attr_if(const std::string& k, T& v, bool) {
    consumed_.insert(k);
    if (!g_.has_attr(k)) return false;
    read_attr(k, v);
    return true;
  }
  template <class T>
  void derived(const std::string& k, const T&) {
    consumed_.insert(k);
  }
  void u64_text(const std::string& k, uint64_t& v) {
    std::string s;
    attr(k, s);
    try {
      size_t used = 0;
      v = std::stoull(s, &used);
      if (used == s.size() && !s.empty() && s[0] != '-') return;
    } catch (const std::exception&) {
    }
    RELAPSE_THROW(ExitCode::kInput, "archive '", g_.file_path(), "': ", g_.path(), "@", k, " = '",
                  s, "' is not an unsigned integer");
  }
  template <class T>
  void data(const std::string& k, std::vector<T>& v) {
    need(k, false);
    if constexpr (std::is_same_v<T, std::string>)
      v = g_.read_strings(k);
    else if constexpr (std::is_same_v<T, double>)
      v = g_.read_doubles(k);
    else if constexpr (std::is_same_v<T, int64_t>)
      v = g_.read_int64s(k);
    else
      v = g_.read_int32s(k);
  }
  bool present(const std::string& k, bool& flag) const { return flag = g_.has(k); }

  template <class Rows, class Fields>
  void table(const std::string& k, Rows& rows, Fields fields,
             const typename Rows::value_type& proto = {}) {
    need(k, false);
    const std::vector<archive::Column> cols = g_.read_table(k);
    const size_t n = cols.empty() ? 0 : cols.front().size();
    auto check = proto;  // every column is resolved and type-checked once, even for n = 0
    RowIn checker(g_, k, cols, 0, true);
    fields(check, checker);
    rows.assign(n, proto);
    for (size_t i = 0; i < n; ++i) {
      RowIn row(g_, k, cols, i, false);
      fields(rows[i], row);
    }
  }
  template <class Rows, class Fields>
  bool table_if(const std::string& k, Rows& rows, Fields fields, bool) {
    if (!g_.has(k)) return false;
    table(k, rows, fields);
    return true;
  }

  // Every missing object names the file and the object's path in it.
  void need(const std::string& name, bool attr) const {
    const bool ok = attr ? g_.has_attr(name) : g_.has(name);
    RELAPSE_CHECK_INPUT(ok, "archive '", g_.file_path(), "': ", g_.path(), " has no ",
                        attr ? "attribute '" : "object '", name, "'");
  }

 private:
  template <class T>
  void read_attr(const std::string& k, T& v) {
    consumed_.insert(k);
    if constexpr (std::is_same_v<T, std::string>)
      v = g_.attr_string(k);
    else if constexpr (std::is_same_v<T, std::vector<std::string>>)
      v = g_.attr_strings(k);
    else if constexpr (std::is_integral_v<T>)
      v = static_cast<T>(g_.attr_int(k));
    else
      v = g_.attr_double(k);
  }
  archive::H5Group g_;
  std::set<std::string> consumed_;
};

}  // namespace relapse::results
