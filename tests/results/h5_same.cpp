// tests/results/h5_same.cpp — test tool: are two HDF5 objects the same?
//
//   h5_same A.h5 B.h5 [--path /group] [--path-b /group] [--skip NAME]...
//
// Walks the group PATH of A (default "/") and PATH-B of B (default: PATH)
// recursively and compares every attribute and dataset exactly (NaN equals
// NaN): numbers as float64 (integers converted exactly below 2^53), strings
// as strings, the same child names on both sides. Objects or attributes named
// NAME are skipped wherever they are (wall times, provenance that records
// when and where). Exit 0 when the same, 1 listing the first differences.
// The sweep tests use it to say "the final archive equals an uninterrupted
// run's".
#include <cmath>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "relapse/archive/h5.h"
#include "relapse/core/error.h"

using relapse::archive::H5File;
using relapse::archive::H5Group;

namespace {

std::set<std::string> g_skip;
int g_diffs = 0;

void diff(const std::string& where, const std::string& what) {
  if (++g_diffs <= 20) std::fprintf(stderr, "h5_same: %s: %s\n", where.c_str(), what.c_str());
}

struct Value {
  bool is_text = false;
  std::vector<double> num;
  std::vector<std::string> text;
};

bool same(const Value& a, const Value& b) {
  if (a.is_text != b.is_text) return false;
  if (a.is_text) return a.text == b.text;
  if (a.num.size() != b.num.size()) return false;
  for (size_t i = 0; i < a.num.size(); ++i)
    if (!(a.num[i] == b.num[i] || (std::isnan(a.num[i]) && std::isnan(b.num[i])))) return false;
  return true;
}

Value read_attr(const H5Group& g, const std::string& name) {
  Value v;
  try {
    v.num = g.attr_doubles(name);
  } catch (const relapse::Error&) {
    v.is_text = true;
    v.text = g.attr_strings(name);
  }
  return v;
}

Value read_dataset(const H5Group& g, const std::string& name) {
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

void compare(const H5Group& a, const H5Group& b, const std::string& path) {
  std::vector<std::string> an, bn;
  for (const auto& n : a.attr_names())
    if (!g_skip.count(n)) an.push_back(n);
  for (const auto& n : b.attr_names())
    if (!g_skip.count(n)) bn.push_back(n);
  if (an != bn) diff(path, "different attribute names");
  for (const auto& n : an)
    if (b.has_attr(n) && !same(read_attr(a, n), read_attr(b, n))) diff(path + "@" + n, "differs");
  std::vector<std::string> ac, bc;
  for (const auto& n : a.children())
    if (!g_skip.count(n)) ac.push_back(n);
  for (const auto& n : b.children())
    if (!g_skip.count(n)) bc.push_back(n);
  if (ac != bc) diff(path, "different children");
  for (const auto& n : ac) {
    if (!b.has(n)) continue;
    const std::string p = path == "/" ? "/" + n : path + "/" + n;
    if (a.is_group(n) != b.is_group(n)) {
      diff(p, "group on one side, dataset on the other");
    } else if (a.is_group(n)) {
      compare(a.open_group(n), b.open_group(n), p);
    } else if (!same(read_dataset(a, n), read_dataset(b, n))) {
      diff(p, "differs");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  std::string path = "/", path_b;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--skip" || arg == "--path" || arg == "--path-b") && i + 1 < argc) {
      const std::string v = argv[++i];
      if (arg == "--skip")
        g_skip.insert(v);
      else if (arg == "--path")
        path = v;
      else
        path_b = v;
    } else {
      files.push_back(arg);
    }
  }
  if (files.size() != 2) {
    std::fprintf(stderr, "usage: h5_same A.h5 B.h5 [--path P] [--path-b P] [--skip NAME]...\n");
    return 2;
  }
  if (path_b.empty()) path_b = path;
  try {
    H5File fa = H5File::open_read(files[0]), fb = H5File::open_read(files[1]);
    auto open = [](const H5File& f, const std::string& p) {
      return p == "/" ? f.root() : f.root().open_group(p.substr(1));
    };
    compare(open(fa, path), open(fb, path_b), path);
  } catch (const relapse::Error& e) {
    std::fprintf(stderr, "h5_same: %s\n", e.what());
    return 2;
  }
  if (g_diffs > 0) {
    std::fprintf(stderr, "h5_same: %s%s and %s%s differ (%d difference(s))\n", files[0].c_str(),
                 path.c_str(), files[1].c_str(), path_b.c_str(), g_diffs);
    return 1;
  }
  std::printf("h5_same: %s%s and %s%s are the same\n", files[0].c_str(), path.c_str(),
              files[1].c_str(), path_b.c_str());
  return 0;
}
