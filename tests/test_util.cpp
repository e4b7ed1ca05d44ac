// tests/test_util.cpp — see test_util.h.
#include "test_util.h"

#include <mpi.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace fs = std::filesystem;

namespace relapse::test {

std::string source_dir() {
  const char* s = std::getenv("RELAPSE_SOURCE_DIR");
  if (s) return s;
#ifdef RELAPSE_SOURCE_DIR_DEFAULT
  return RELAPSE_SOURCE_DIR_DEFAULT;
#else
  return fs::current_path().string();
#endif
}

std::string fixture_path(const std::string& name) {
  return source_dir() + "/tests/golden/fixtures/" + name;
}

namespace {
struct ScratchCleanup {
  std::vector<std::string> dirs;
  ~ScratchCleanup() {
    std::error_code ec;
    for (auto& d : dirs) fs::remove_all(d, ec);
  }
};
ScratchCleanup g_cleanup;
}  // namespace

std::string scratch_dir(const std::string& tag) {
  static int counter = 0;
  fs::path p =
      fs::temp_directory_path() /
      ("relapse-test-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(p);
  fs::create_directories(p);
  g_cleanup.dirs.push_back(p.string());
  return p.string();
}

std::string scratch_dir_shared(const std::string& tag) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::string path = rank == 0 ? scratch_dir(tag) : "";
  int n = static_cast<int>(path.size());
  MPI_Bcast(&n, 1, MPI_INT, 0, MPI_COMM_WORLD);
  path.resize(n);
  MPI_Bcast(path.data(), n, MPI_CHAR, 0, MPI_COMM_WORLD);
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace relapse::test
