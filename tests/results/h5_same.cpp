// tests/results/h5_same.cpp — test tool: are two HDF5 objects the same?
//
//   h5_same A.h5 B.h5 [--path /group] [--path-b /group] [--skip NAME]...
//
// Walks the group PATH of A (default "/") and PATH-B of B (default: PATH)
// recursively with h5_compare.h (every attribute and dataset exactly, NaN
// equal to NaN). Objects or attributes named
// NAME are skipped wherever they are (wall times, provenance that records
// when and where). Exit 0 when the same, 1 listing the first differences.
// The sweep tests use it to say "the final archive equals an uninterrupted
// run's".
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "h5_compare.h"
#include "relapse/archive/h5.h"
#include "relapse/core/error.h"

using relapse::archive::H5File;
using relapse::archive::H5Group;

namespace {

std::set<std::string> g_skip;
int g_diffs = 0;

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
    std::vector<std::string> diffs;
    relapse::test::h5_compare(open(fa, path), open(fb, path_b), path, g_skip, diffs);
    for (size_t i = 0; i < diffs.size() && i < 20; ++i)
      std::fprintf(stderr, "h5_same: %s\n", diffs[i].c_str());
    g_diffs = static_cast<int>(diffs.size());
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
