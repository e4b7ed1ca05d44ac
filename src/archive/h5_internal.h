// src/archive/h5_internal.h — helpers shared by h5.cpp and h5_data.cpp (not
// installed): HDF5 error capture, object lookup, type tables, string and
// number readers for datasets and attributes.
#pragma once
#include <hdf5.h>

#include <string>
#include <vector>

#include "relapse/archive/h5.h"
#include "relapse/core/error.h"

namespace relapse::archive::internal {

using detail::Handle;

enum Dtype { kF32 = 0, kF64 = 1, kI64 = 2, kI32 = 3 };
struct DtypeInfo {
  hid_t file, mem;
  H5T_class_t cls;
};
DtypeInfo dtype_info(int d);
const char* class_name(H5T_class_t c);

// HDF5's error stack as " (HDF5: f(): msg; ...)", or "" when it is empty; clears
// it. Every HDF5 API call clears the stack, so call this right after the failure.
std::string h5_stack();
// Owns `id` or throws kRuntime with `what` and the HDF5 error stack.
Handle h5_own(hid_t id, const std::string& what);
// Throws kRuntime with `what` and the HDF5 error stack when rc < 0.
void h5_ok(herr_t rc, const std::string& what);
// "'obj' in file 'file'"
std::string in_file(const std::string& obj, const std::string& file);
// Components of a relative object name; programming error when malformed.
std::vector<std::string> name_split(const std::string& name);
// The object at relative `name` below `loc`, or an invalid handle when any
// component is missing (or an intermediate component is not a group).
Handle object_open(hid_t loc, const std::string& name);
// Variable-length string type with the given character set.
Handle string_type(H5T_cset_t cset);
Handle space_simple(const std::vector<int64_t>& dims);
// c_str() of each string; programming error when one holds a NUL byte.
std::vector<const char*> c_strings(const std::vector<std::string>& v, const std::string& what);
// All values of a string dataset or attribute (variable- or fixed-length).
std::vector<std::string> strings_read(hid_t obj, bool attr, const std::string& what);

// All values of a numeric dataset or attribute, converted to `d` by HDF5.
// Float readers accept float data (and integers for attributes), integer
// readers integer data only.
template <typename T>
std::vector<T> numbers_read(hid_t obj, bool attr, int d, bool int_ok, const std::string& what) {
  Handle ftype = h5_own(attr ? H5Aget_type(obj) : H5Dget_type(obj), "type of " + what);
  Handle space = h5_own(attr ? H5Aget_space(obj) : H5Dget_space(obj), "space of " + what);
  H5T_class_t cls = H5Tget_class(ftype.get()), want = dtype_info(d).cls;
  RELAPSE_CHECK_INPUT(cls == want || (int_ok && cls == H5T_INTEGER), what, " holds ",
                      class_name(cls), " values, expected ", class_name(want));
  hssize_t n = H5Sget_simple_extent_npoints(space.get());
  h5_ok(n < 0 ? -1 : 0, "size of " + what);
  std::vector<T> out(static_cast<size_t>(n));
  if (out.empty()) return out;
  hid_t mtype = dtype_info(d).mem;
  herr_t rc = attr ? H5Aread(obj, mtype, out.data())
                   : H5Dread(obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data());
  h5_ok(rc, "cannot read " + what);
  return out;
}

}  // namespace relapse::archive::internal
