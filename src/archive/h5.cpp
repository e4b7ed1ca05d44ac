// src/archive/h5.cpp — HDF5 RAII wrappers over the C API (see relapse/archive/h5.h):
// handles, error capture, atomic file creation, groups and attributes.
// Datasets, ragged arrays and tables are in h5_data.cpp.
#include "relapse/archive/h5.h"

#include <hdf5.h>

#include <cstring>
#include <filesystem>
#include <utility>

#include "h5_internal.h"
#include "relapse/core/error.h"
#include "relapse/core/fs.h"

static_assert(std::is_same_v<hid_t, int64_t>,
              "relapse::archive needs hid_t == int64_t (HDF5 >= 1.10)");

namespace relapse::archive {

using detail::Handle;

namespace detail {

Handle::Handle(const Handle& o) : id_(o.id_) {
  if (id_ >= 0) H5Iinc_ref(id_);
}

Handle& Handle::operator=(const Handle& o) {
  if (this != &o) {
    Handle tmp(o);
    std::swap(id_, tmp.id_);
  }
  return *this;
}

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.release();
  }
  return *this;
}

void Handle::reset() noexcept {
  // A file closed with H5F_CLOSE_STRONG has already closed its objects.
  // (Every HDF5 API call clears the error stack: callers read it before any
  // Handle goes out of scope.)
  if (id_ >= 0 && H5Iis_valid(id_) > 0) H5Idec_ref(id_);
  id_ = -1;
}

}  // namespace detail

using namespace internal;

namespace {

// Silences HDF5's error printing (per thread in thread-safe builds, so it is
// repeated at every file open); failures are reported through h5_stack().
void h5_init() {
  H5open();
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

herr_t h5_walk_cb(unsigned, const H5E_error2_t* e, void* data) {
  auto* s = static_cast<std::string*>(data);
  if (e && e->desc && *e->desc) {
    if (!s->empty()) *s += "; ";
    *s += std::string(e->func_name ? e->func_name : "?") + "(): " + e->desc;
  }
  return 0;
}

// (Re)creates attribute `name` on `obj` and writes `buf` to it.
void attr_write(hid_t obj, const std::string& name, hid_t ftype, hid_t mtype, hid_t space,
                const void* buf, const std::string& what) {
  if (H5Aexists(obj, name.c_str()) > 0) h5_ok(H5Adelete(obj, name.c_str()), "delete " + what);
  Handle a = h5_own(H5Acreate2(obj, name.c_str(), ftype, space, H5P_DEFAULT, H5P_DEFAULT),
                    "cannot create " + what);
  if (H5Sget_simple_extent_npoints(space) > 0)
    h5_ok(H5Awrite(a.get(), mtype, buf), "write " + what);
}

}  // namespace

namespace internal {

std::string h5_stack() {
  std::string s;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, h5_walk_cb, &s);
  H5Eclear2(H5E_DEFAULT);
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  if (s.size() > 2000) s = s.substr(0, 2000) + "...";
  return s.empty() ? "" : " (HDF5: " + s + ")";
}

Handle h5_own(hid_t id, const std::string& what) {
  if (id < 0) RELAPSE_THROW(ExitCode::kRuntime, what, h5_stack());
  return Handle(id);
}

void h5_ok(herr_t rc, const std::string& what) {
  if (rc < 0) RELAPSE_THROW(ExitCode::kRuntime, what, h5_stack());
}

std::string in_file(const std::string& obj, const std::string& file) {
  return "'" + obj + "' in file '" + file + "'";
}

std::vector<std::string> name_split(const std::string& name) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t end = name.find('/', start);
    std::string p = name.substr(start, end == std::string::npos ? std::string::npos : end - start);
    RELAPSE_CHECK(!p.empty() && p != "." && p != "..", "bad HDF5 object name '", name, "'");
    parts.push_back(p);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return parts;
}

Handle object_open(hid_t loc, const std::string& name) {
  std::string sub;
  for (const auto& p : name_split(name)) {
    sub += (sub.empty() ? "" : "/") + p;
    if (H5Lexists(loc, sub.c_str(), H5P_DEFAULT) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return Handle();
    }
  }
  hid_t id = H5Oopen(loc, name.c_str(), H5P_DEFAULT);
  if (id < 0) H5Eclear2(H5E_DEFAULT);  // e.g. a dangling soft link
  return Handle(id);
}

DtypeInfo dtype_info(int d) {
  switch (d) {
    case kF32:
      return {H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, H5T_FLOAT};
    case kF64:
      return {H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, H5T_FLOAT};
    case kI64:
      return {H5T_STD_I64LE, H5T_NATIVE_INT64, H5T_INTEGER};
    default:
      return {H5T_STD_I32LE, H5T_NATIVE_INT32, H5T_INTEGER};
  }
}

const char* class_name(H5T_class_t c) {
  switch (c) {
    case H5T_INTEGER:
      return "integer";
    case H5T_FLOAT:
      return "float";
    case H5T_STRING:
      return "string";
    case H5T_COMPOUND:
      return "compound";
    default:
      return "other";
  }
}

Handle string_type(H5T_cset_t cset) {
  Handle t = h5_own(H5Tcopy(H5T_C_S1), "H5Tcopy");
  h5_ok(H5Tset_size(t.get(), H5T_VARIABLE), "H5Tset_size");
  h5_ok(H5Tset_cset(t.get(), cset), "H5Tset_cset");
  return t;
}

Handle space_simple(const std::vector<int64_t>& dims) {
  std::vector<hsize_t> d(dims.begin(), dims.end());
  return h5_own(H5Screate_simple(static_cast<int>(d.size()), d.data(), nullptr),
                "H5Screate_simple");
}

std::vector<const char*> c_strings(const std::vector<std::string>& v, const std::string& what) {
  std::vector<const char*> p;
  p.reserve(v.size());
  for (const auto& s : v) {
    RELAPSE_CHECK(s.find('\0') == std::string::npos, what, ": string contains a NUL byte");
    p.push_back(s.c_str());
  }
  return p;
}

std::vector<std::string> strings_read(hid_t obj, bool attr, const std::string& what) {
  Handle ftype = h5_own(attr ? H5Aget_type(obj) : H5Dget_type(obj), "type of " + what);
  Handle space = h5_own(attr ? H5Aget_space(obj) : H5Dget_space(obj), "space of " + what);
  H5T_class_t cls = H5Tget_class(ftype.get());
  RELAPSE_CHECK_INPUT(cls == H5T_STRING, what, " holds ", class_name(cls), " values, not strings");
  hssize_t npoints = H5Sget_simple_extent_npoints(space.get());
  h5_ok(npoints < 0 ? -1 : 0, "size of " + what);
  auto n = static_cast<size_t>(npoints);
  std::vector<std::string> out(n);
  if (n == 0) return out;
  H5T_cset_t cset = H5Tget_cset(ftype.get());
  auto read = [&](hid_t mtype, void* buf) {
    herr_t rc =
        attr ? H5Aread(obj, mtype, buf) : H5Dread(obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    h5_ok(rc, "cannot read " + what);
  };
  if (H5Tis_variable_str(ftype.get()) > 0) {
    Handle mtype = string_type(cset);
    std::vector<char*> buf(n, nullptr);
    read(mtype.get(), buf.data());
    for (size_t i = 0; i < n; ++i) out[i] = buf[i] ? buf[i] : "";
#if H5_VERSION_GE(1, 12, 0)
    H5Treclaim(mtype.get(), space.get(), H5P_DEFAULT, buf.data());
#else
    H5Dvlen_reclaim(mtype.get(), space.get(), H5P_DEFAULT, buf.data());
#endif
  } else {
    size_t size = H5Tget_size(ftype.get());
    Handle mtype = h5_own(H5Tcopy(H5T_C_S1), "H5Tcopy");
    h5_ok(H5Tset_size(mtype.get(), size), "H5Tset_size");
    h5_ok(H5Tset_cset(mtype.get(), cset), "H5Tset_cset");
    h5_ok(H5Tset_strpad(mtype.get(), H5T_STR_NULLPAD), "H5Tset_strpad");
    std::vector<char> buf(n * size);
    read(mtype.get(), buf.data());
    for (size_t i = 0; i < n; ++i) out[i].assign(&buf[i * size], strnlen(&buf[i * size], size));
  }
  return out;
}

}  // namespace internal

// ---------------------------------------------------------------- H5Group

std::string H5Group::full(const std::string& name) const {
  return path_ == "/" ? "/" + name : path_ + "/" + name;
}

H5Group H5Group::walk(const std::string& name, bool create) const {
  RELAPSE_CHECK(id_.valid(), "H5Group not open");
  Handle cur = id_;
  std::string path = path_;
  for (const auto& p : name_split(name)) {
    path = path == "/" ? "/" + p : path + "/" + p;
    Handle next;
    if (H5Lexists(cur.get(), p.c_str(), H5P_DEFAULT) > 0) {
      next = Handle(H5Oopen(cur.get(), p.c_str(), H5P_DEFAULT));
      RELAPSE_CHECK_INPUT(next.valid() && H5Iget_type(next.get()) == H5I_GROUP,
                          in_file(path, file_), " is not a group");
    } else {
      H5Eclear2(H5E_DEFAULT);
      RELAPSE_CHECK_INPUT(create && writable_, "group ", in_file(path, file_), " not found");
      next = h5_own(H5Gcreate2(cur.get(), p.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                    "cannot create group " + in_file(path, file_));
    }
    cur = std::move(next);
  }
  return H5Group(std::move(cur), file_, path, writable_);
}

H5Group H5Group::group(const std::string& name) const {
  return walk(name, true);
}
H5Group H5Group::open_group(const std::string& name) const {
  return walk(name, false);
}

bool H5Group::has(const std::string& name) const {
  return object_open(id_.get(), name).valid();
}

bool H5Group::is_group(const std::string& name) const {
  Handle h = object_open(id_.get(), name);
  return h.valid() && H5Iget_type(h.get()) == H5I_GROUP;
}

std::vector<std::string> H5Group::children() const {
  H5G_info_t info;
  h5_ok(H5Gget_info(id_.get(), &info), "cannot list group " + in_file(path_, file_));
  std::vector<std::string> out;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    ssize_t len =
        H5Lget_name_by_idx(id_.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    h5_ok(static_cast<herr_t>(len < 0 ? -1 : 0), "cannot list group " + in_file(path_, file_));
    std::vector<char> buf(static_cast<size_t>(len) + 1);
    H5Lget_name_by_idx(id_.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, buf.data(), buf.size(),
                       H5P_DEFAULT);
    out.emplace_back(buf.data(), static_cast<size_t>(len));
  }
  return out;
}

// ---- attributes

void H5Group::set_attr(const std::string& name, double v) {
  Handle space = h5_own(H5Screate(H5S_SCALAR), "H5Screate");
  attr_write(id_.get(), name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, space.get(), &v,
             "attribute '" + name + "' on " + in_file(path_, file_));
}

void H5Group::set_attr_int(const std::string& name, int64_t v) {
  Handle space = h5_own(H5Screate(H5S_SCALAR), "H5Screate");
  attr_write(id_.get(), name, H5T_STD_I64LE, H5T_NATIVE_INT64, space.get(), &v,
             "attribute '" + name + "' on " + in_file(path_, file_));
}

void H5Group::set_attr(const std::string& name, const std::string& v) {
  std::string what = "attribute '" + name + "' on " + in_file(path_, file_);
  c_strings({v}, what);  // checks for NUL
  const char* p = v.c_str();
  Handle space = h5_own(H5Screate(H5S_SCALAR), "H5Screate");
  Handle t = string_type(H5T_CSET_UTF8);
  attr_write(id_.get(), name, t.get(), t.get(), space.get(), &p, what);
}

void H5Group::set_attr(const std::string& name, const std::vector<double>& v) {
  Handle space = space_simple({static_cast<int64_t>(v.size())});
  attr_write(id_.get(), name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, space.get(), v.data(),
             "attribute '" + name + "' on " + in_file(path_, file_));
}

void H5Group::set_attr(const std::string& name, const std::vector<std::string>& v) {
  std::string what = "attribute '" + name + "' on " + in_file(path_, file_);
  auto p = c_strings(v, what);
  Handle space = space_simple({static_cast<int64_t>(v.size())});
  Handle t = string_type(H5T_CSET_UTF8);
  attr_write(id_.get(), name, t.get(), t.get(), space.get(), p.data(), what);
}

bool H5Group::has_attr(const std::string& name) const {
  htri_t e = H5Aexists(id_.get(), name.c_str());
  if (e < 0) H5Eclear2(H5E_DEFAULT);
  return e > 0;
}

std::vector<std::string> H5Group::attr_names() const {
  std::vector<std::string> out;
  auto cb = [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  hsize_t idx = 0;
  h5_ok(H5Aiterate2(id_.get(), H5_INDEX_NAME, H5_ITER_INC, &idx, cb, &out),
        "cannot list attributes of " + in_file(path_, file_));
  return out;
}

Handle H5Group::open_attr(const std::string& name) const {
  RELAPSE_CHECK_INPUT(has_attr(name), "attribute '", name, "' not found on ",
                      in_file(path_, file_));
  return h5_own(H5Aopen(id_.get(), name.c_str(), H5P_DEFAULT),
                "cannot open attribute '" + name + "' on " + in_file(path_, file_));
}

namespace {
template <typename T>
T scalar_of(std::vector<T> v, const std::string& what) {
  RELAPSE_CHECK_INPUT(v.size() == 1, what, " has ", v.size(), " values, expected one");
  return v.front();
}
}  // namespace

double H5Group::attr_double(const std::string& name) const {
  std::string what = "attribute '" + name + "' on " + in_file(path_, file_);
  return scalar_of(numbers_read<double>(open_attr(name).get(), true, kF64, true, what), what);
}

int64_t H5Group::attr_int(const std::string& name) const {
  std::string what = "attribute '" + name + "' on " + in_file(path_, file_);
  return scalar_of(numbers_read<int64_t>(open_attr(name).get(), true, kI64, false, what), what);
}

std::string H5Group::attr_string(const std::string& name) const {
  std::string what = "attribute '" + name + "' on " + in_file(path_, file_);
  return scalar_of(strings_read(open_attr(name).get(), true, what), what);
}

std::vector<double> H5Group::attr_doubles(const std::string& name) const {
  std::string what = "attribute '" + name + "' on " + in_file(path_, file_);
  return numbers_read<double>(open_attr(name).get(), true, kF64, true, what);
}

std::vector<std::string> H5Group::attr_strings(const std::string& name) const {
  std::string what = "attribute '" + name + "' on " + in_file(path_, file_);
  return strings_read(open_attr(name).get(), true, what);
}

// ---------------------------------------------------------------- H5File

namespace {
Handle fapl_strong() {
  Handle fapl = h5_own(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate");
  h5_ok(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG), "H5Pset_fclose_degree");
#if (H5_VERSION_GE(1, 10, 7) && !H5_VERSION_GE(1, 12, 0)) || H5_VERSION_GE(1, 12, 1)
  // Lock, but go on where the file system has no locks (common on Lustre/NFS);
  // HDF5_USE_FILE_LOCKING=FALSE still turns locking off.
  h5_ok(H5Pset_file_locking(fapl.get(), true, true), "H5Pset_file_locking");
#endif
  return fapl;
}

}  // namespace

// Built in memory (HDF5's core driver, no backing store) and written by
// fs_write_file_atomic at commit: HDF5 never writes to the disk itself, so a
// full disk or a read-only directory is one error naming the file (exit 5),
// never a half-flushed file HDF5 tries to close again at exit (which crashed
// in H5F_term_package under MPI_Finalize).
H5File H5File::create(const std::string& path) {
  h5_init();
  // Checked now, not at commit: a typo in the output path fails before the run.
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  RELAPSE_CHECK_INPUT(parent.empty() || std::filesystem::is_directory(parent, ec),
                      "cannot create HDF5 file '", path, "': no directory '", parent.string(), "'");
  H5File f;
  f.path_ = path;
  f.writable_ = true;
  Handle fapl = fapl_strong();
  h5_ok(H5Pset_fapl_core(fapl.get(), 1 << 20, /*backing_store=*/0), "H5Pset_fapl_core");
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
  if (id < 0) RELAPSE_THROW(ExitCode::kInput, "cannot create HDF5 file '", path, "'", h5_stack());
  f.id_ = Handle(id);
  return f;
}

H5File H5File::open_read(const std::string& path) {
  h5_init();
  std::error_code ec;
  RELAPSE_CHECK_INPUT(std::filesystem::exists(path, ec), "HDF5 file '", path, "' not found");
  RELAPSE_CHECK_INPUT(std::filesystem::is_regular_file(path, ec), "HDF5 file '", path,
                      "' is not a regular file");
  Handle fapl = fapl_strong();
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get());
  if (id < 0)
    RELAPSE_THROW(ExitCode::kInput, "cannot open '", path, "' as an HDF5 file", h5_stack());
  H5File f;
  f.path_ = path;
  f.id_ = Handle(id);
  return f;
}

H5File::H5File(H5File&& o) noexcept
    : id_(std::move(o.id_)), path_(std::move(o.path_)), writable_(o.writable_) {}

H5File& H5File::operator=(H5File&& o) noexcept {
  if (this != &o) {
    close_noexcept();
    id_ = std::move(o.id_);
    path_ = std::move(o.path_);
    writable_ = o.writable_;
  }
  return *this;
}

H5File::~H5File() {
  close_noexcept();
}

void H5File::close_noexcept() noexcept {
  if (id_.valid()) {  // in memory (created) or read-only: nothing is flushed to disk
    H5Fclose(static_cast<hid_t>(id_.release()));
    H5Eclear2(H5E_DEFAULT);
  }
}

H5Group H5File::root() const {
  RELAPSE_CHECK(id_.valid(), "HDF5 file '", path_, "' is not open");
  return H5Group(
      h5_own(H5Gopen2(id_.get(), "/", H5P_DEFAULT), "cannot open '/' in '" + path_ + "'"), path_,
      "/", writable_);
}

void H5File::commit() {
  RELAPSE_CHECK(id_.valid(), "HDF5 file '", path_, "' is not open");
  std::string image;
  if (writable_) {
    h5_ok(H5Fflush(id_.get(), H5F_SCOPE_GLOBAL), "cannot flush HDF5 file '" + path_ + "'");
    const ssize_t n = H5Fget_file_image(id_.get(), nullptr, 0);
    h5_ok(n < 0 ? -1 : 0, "cannot size the image of HDF5 file '" + path_ + "'");
    image.resize(static_cast<size_t>(n));
    h5_ok(H5Fget_file_image(id_.get(), image.data(), image.size()) < 0 ? -1 : 0,
          "cannot copy the image of HDF5 file '" + path_ + "'");
  }
  h5_ok(H5Fclose(static_cast<hid_t>(id_.release())), "cannot close HDF5 file '" + path_ + "'");
  if (writable_) fs_write_file_atomic(path_, image);  // .tmp, fsync, rename
}

}  // namespace relapse::archive
