// relapse/archive/h5.h — small RAII wrappers over the HDF5 C API: files that
// appear atomically, groups, attributes, 1-D/2-D numeric datasets, UTF-8
// string datasets, ragged arrays and flat column tables. The archive schema
// (src/archive) is written with these; h5py and pandas read the result.
//
// Errors are relapse::Error: ExitCode::kInput for a missing / unreadable file,
// a missing object or an object of the wrong kind or type (the message names
// the file and the object path), ExitCode::kRuntime when an HDF5 call fails
// (HDF5's own error stack is silenced and its messages appended to ours).
// Programming errors (bad names, mismatched sizes) are RELAPSE_CHECK (kInternal).
//
// Serial I/O (one process writes, normally rank 0); not thread-safe.
//
// Layouts written here (all names relative to the group they are written in):
//  - numeric dataset: float32 / float64 / int64 / int32, little-endian, 1-D or
//    2-D (row-major), possibly empty (shape (0,)).
//  - string dataset: 1-D, variable-length UTF-8 strings (h5py: dtype
//    object; `ds.asstr()[()]` gives str, `ds[()]` gives bytes). Strings must
//    not contain NUL bytes (C strings).
//  - scalar attributes: float64, int64 or variable-length UTF-8 string;
//    array attributes: 1-D float64 or 1-D variable-length UTF-8 strings.
//  - ragged array NAME (write_ragged): a group NAME holding
//      NAME/values  float32 (total,)  all rows concatenated in order
//      NAME/offsets int64   (n+1,)    row i is values[offsets[i]:offsets[i+1]]
//    with offsets[0] == 0, nondecreasing, offsets[n] == total, and the group
//    attribute `layout` = "ragged". Empty rows have offsets[i] == offsets[i+1].
//  - table NAME (write_table): a group NAME holding one 1-D dataset per column
//    (float64, int64 or UTF-8 strings, all the same length) and the group
//    attributes `columns` (1-D strings, the column order), `nrows` (int64) and
//    `layout` = "table". In Python:
//        g = f[NAME]; cols = [c.decode() if isinstance(c, bytes) else c
//                             for c in g.attrs["columns"]]
//        pd.DataFrame({c: (g[c].asstr()[()] if g[c].dtype.kind == "O" else g[c][()])
//                      for c in cols})
//
// Writing a dataset, ragged array or table over an existing object of the
// same name replaces it (HDF5 does not reclaim the old space). Attributes are
// replaced likewise.
#pragma once
#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace relapse::archive {

namespace detail {
// Owns one HDF5 identifier (an hid_t, which is int64_t since HDF5 1.10);
// copies share it (H5Iinc_ref), the last owner releases it (H5Idec_ref).
class Handle {
 public:
  Handle() = default;
  explicit Handle(int64_t id) : id_(id) {}
  Handle(const Handle& o);
  Handle& operator=(const Handle& o);
  Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept;
  ~Handle() { reset(); }
  int64_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset() noexcept;
  int64_t release() noexcept {  // gives up ownership without closing
    int64_t id = id_;
    id_ = -1;
    return id;
  }

 private:
  int64_t id_ = -1;
};
}  // namespace detail

// One column of a table: a name and one vector of values.
struct Column {
  std::string name;
  std::variant<std::vector<double>, std::vector<int64_t>, std::vector<std::string>> values;
  size_t size() const;
};

class H5Group {
 public:
  H5Group() = default;

  // Path of this group inside the file ("/" for the root) and the file path.
  const std::string& path() const { return path_; }
  const std::string& file_path() const { return file_; }

  // ---- groups and links. Names may be nested ("a/b/c"), never absolute or empty.
  // Opens group `name`, creating it and any missing parents when the file is
  // writable. kInput when it is missing in a read-only file or is not a group.
  H5Group group(const std::string& name) const;
  // Opens an existing group (kInput naming file and path when missing).
  H5Group open_group(const std::string& name) const;
  // True when `name` exists (every component of a nested name must exist).
  bool has(const std::string& name) const;
  bool is_group(const std::string& name) const;
  // Names of the direct children (groups and datasets), sorted by name.
  std::vector<std::string> children() const;

  // ---- attributes on this group.
  void set_attr(const std::string& name, double v);
  void set_attr(const std::string& name, const std::string& v);
  void set_attr(const std::string& name, const char* v) { set_attr(name, std::string(v)); }
  void set_attr(const std::string& name, const std::vector<double>& v);
  void set_attr(const std::string& name, const std::vector<std::string>& v);
  // Any integer (incl. bool) is stored as int64.
  template <typename T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
  void set_attr(const std::string& name, T v) {
    set_attr_int(name, static_cast<int64_t>(v));
  }
  bool has_attr(const std::string& name) const;
  std::vector<std::string> attr_names() const;
  double attr_double(const std::string& name) const;  // float or integer attribute
  int64_t attr_int(const std::string& name) const;    // integer attribute only
  std::string attr_string(const std::string& name) const;
  std::vector<double> attr_doubles(const std::string& name) const;
  std::vector<std::string> attr_strings(const std::string& name) const;

  // ---- numeric datasets, 1-D and 2-D (data row-major, data.size() == rows*cols).
  void write(const std::string& name, const std::vector<float>& data);
  void write(const std::string& name, const std::vector<double>& data);
  void write(const std::string& name, const std::vector<int64_t>& data);
  void write(const std::string& name, const std::vector<int32_t>& data);
  void write(const std::string& name, const std::vector<float>& data, size_t rows, size_t cols);
  void write(const std::string& name, const std::vector<double>& data, size_t rows, size_t cols);
  void write(const std::string& name, const std::vector<int64_t>& data, size_t rows, size_t cols);
  void write(const std::string& name, const std::vector<int32_t>& data, size_t rows, size_t cols);
  // Readers return the data flattened in row-major order (see shape()). The
  // float readers need a floating-point dataset, the integer readers an
  // integer one (kInput otherwise); HDF5 converts between widths.
  std::vector<float> read_floats(const std::string& name) const;
  std::vector<double> read_doubles(const std::string& name) const;
  std::vector<int64_t> read_int64s(const std::string& name) const;
  std::vector<int32_t> read_int32s(const std::string& name) const;
  // Dimensions of dataset `name` (kInput when it is missing or not a dataset).
  std::vector<int64_t> shape(const std::string& name) const;

  // ---- strings, ragged arrays, tables (layouts in the header comment).
  void write_strings(const std::string& name, const std::vector<std::string>& data);
  // Reads variable- or fixed-length string datasets.
  std::vector<std::string> read_strings(const std::string& name) const;
  void write_ragged(const std::string& name, const std::vector<std::vector<float>>& rows);
  std::vector<std::vector<float>> read_ragged(const std::string& name) const;
  void write_table(const std::string& name, const std::vector<Column>& columns);
  // Columns in the stored order: float datasets as double, integer ones as
  // int64, strings as strings.
  std::vector<Column> read_table(const std::string& name) const;

  // ---- copying. Copies object `src_name` of `src` (a group with everything
  // below it, or a dataset; attributes included) to `dst_name` here (parents
  // created, an existing object replaced), byte for byte (H5Ocopy). kInput
  // naming the source file and path when it is missing.
  void copy_from(const H5Group& src, const std::string& src_name, const std::string& dst_name);

 private:
  friend class H5File;
  H5Group(detail::Handle id, std::string file, std::string path, bool writable)
      : id_(std::move(id)), file_(std::move(file)), path_(std::move(path)), writable_(writable) {}
  std::string full(const std::string& name) const;
  H5Group walk(const std::string& name, bool create) const;
  void set_attr_int(const std::string& name, int64_t v);
  void write_numeric(const std::string& name, int dtype, const void* data, size_t n,
                     const std::vector<int64_t>& dims);
  detail::Handle open_dataset(const std::string& name) const;
  detail::Handle open_attr(const std::string& name) const;
  // Readies `name` for writing: checks the file is writable, unlinks an old object.
  void prepare_write(const std::string& name);

  detail::Handle id_;
  std::string file_;
  std::string path_;
  bool writable_ = false;
};

class H5File {
 public:
  // New archive for `path`, built in memory; commit() writes it atomically
  // (fs_write_file_atomic: `path + ".tmp"`, fsync, rename), so a crash never
  // leaves a half-written file at `path` and a full disk is one error naming
  // it (exit 5). Destroying an uncommitted file writes nothing.
  static H5File create(const std::string& path);
  // Existing file, read-only. kInput when missing or not HDF5.
  static H5File open_read(const std::string& path);

  H5File() = default;
  H5File(H5File&& o) noexcept;
  H5File& operator=(H5File&& o) noexcept;
  H5File(const H5File&) = delete;
  H5File& operator=(const H5File&) = delete;
  ~H5File();

  H5Group root() const;
  // Closes the file (every group/dataset opened from it becomes invalid) and,
  // for a created file, writes it to its path.
  void commit();
  const std::string& path() const { return path_; }
  bool writable() const { return writable_; }
  bool is_open() const { return id_.valid(); }

 private:
  void close_noexcept() noexcept;
  detail::Handle id_;
  std::string path_;  // final path
  bool writable_ = false;
};

}  // namespace relapse::archive
