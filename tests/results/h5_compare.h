// tests/results/h5_compare.h — are two HDF5 groups the same, value for value?
// Walks both recursively and compares every attribute and dataset exactly
// (NaN equals NaN): numbers as float64 (integers converted exactly below
// 2^53), strings as strings, the same child names on both sides; objects or
// attributes named in `skip` are skipped wherever they are. Used by the
// h5_same tool (the sweep and resume tests) and the archive binder's test.
#pragma once
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "relapse/archive/h5.h"
#include "relapse/core/error.h"

namespace relapse::test {

using relapse::archive::H5Group;

struct Value {
  bool is_text = false;
  std::vector<double> num;
  std::vector<std::string> text;
};

inline bool same(const Value& a, const Value& b) {
  if (a.is_text != b.is_text) return false;
  if (a.is_text) return a.text == b.text;
  if (a.num.size() != b.num.size()) return false;
  for (size_t i = 0; i < a.num.size(); ++i)
    if (!(a.num[i] == b.num[i] || (std::isnan(a.num[i]) && std::isnan(b.num[i])))) return false;
  return true;
}

inline Value read_attr(const H5Group& g, const std::string& name) {
  Value v;
  try {
    v.num = g.attr_doubles(name);
  } catch (const relapse::Error&) {
    v.is_text = true;
    v.text = g.attr_strings(name);
  }
  return v;
}

inline Value read_dataset(const H5Group& g, const std::string& name) {
  Value v;
  try {
    v.num = g.read_doubles(name);
    return v;
  } catch (const relapse::Error&) {
  }
  try {
    for (int64_t x : g.read_int64s(name)) v.num.push_back(static_cast<double>(x));
    return v;
  } catch (const relapse::Error&) {
  }
  v.is_text = true;
  v.text = g.read_strings(name);
  return v;
}

inline void h5_compare(const H5Group& a, const H5Group& b, const std::string& path,
                       const std::set<std::string>& skip, std::vector<std::string>& out) {
  auto diff = [&out](const std::string& where, const std::string& what) {
    out.push_back(where + ": " + what);
  };
  std::vector<std::string> an, bn;
  for (const auto& n : a.attr_names())
    if (!skip.count(n)) an.push_back(n);
  for (const auto& n : b.attr_names())
    if (!skip.count(n)) bn.push_back(n);
  if (an != bn) diff(path, "different attribute names");
  for (const auto& n : an)
    if (b.has_attr(n) && !same(read_attr(a, n), read_attr(b, n))) diff(path + "@" + n, "differs");
  std::vector<std::string> ac, bc;
  for (const auto& n : a.children())
    if (!skip.count(n)) ac.push_back(n);
  for (const auto& n : b.children())
    if (!skip.count(n)) bc.push_back(n);
  if (ac != bc) diff(path, "different children");
  for (const auto& n : ac) {
    if (!b.has(n)) continue;
    const std::string p = path == "/" ? "/" + n : path + "/" + n;
    if (a.is_group(n) != b.is_group(n)) {
      diff(p, "group on one side, dataset on the other");
    } else if (a.is_group(n)) {
      h5_compare(a.open_group(n), b.open_group(n), p, skip, out);
    } else if (!same(read_dataset(a, n), read_dataset(b, n))) {
      diff(p, "differs");
    }
  }
}

// The differences between a and b ("PATH: what"), empty when the same.
inline std::vector<std::string> h5_differences(const H5Group& a, const H5Group& b,
                                               const std::set<std::string>& skip = {}) {
  std::vector<std::string> out;
  h5_compare(a, b, a.path(), skip, out);
  return out;
}

}  // namespace relapse::test
