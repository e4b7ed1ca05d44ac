// tests/test_util.h — helpers shared by the tests: paths to the source tree and
// fixtures, and a scratch directory removed at exit.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "relapse/core/error.h"

namespace relapse::test {

// Root of the source tree (RELAPSE_SOURCE_DIR set by CTest, else the cwd).
std::string source_dir();
// tests/golden/fixtures/<name>
std::string fixture_path(const std::string& name);
// A fresh, empty directory unique to this process; removed recursively at exit.
std::string scratch_dir(const std::string& tag);
// Rank 0's scratch_dir(tag), broadcast over MPI_COMM_WORLD: the same paths on
// every rank (rank 0 writes, all read). Collective.
std::string scratch_dir_shared(const std::string& tag);
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& bytes);

// Runs fn and expects a relapse::Error with `code` whose message contains every needle.
template <typename Fn>
void expect_error(Fn&& fn, ExitCode code, const std::vector<std::string>& needles) {
  try {
    fn();
    ADD_FAILURE() << "no relapse::Error thrown; expected one naming "
                  << (needles.empty() ? "" : needles[0]);
  } catch (const Error& e) {
    EXPECT_EQ(static_cast<int>(e.code()), static_cast<int>(code)) << e.what();
    for (const auto& n : needles)
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}
// The common case: bad input (ExitCode::kInput) naming the file / key / tensor.
template <typename Fn>
void expect_input_error(Fn&& fn, const std::vector<std::string>& needles) {
  expect_error(fn, ExitCode::kInput, needles);
}
// (A template parameter is never deduced from a braced list, so {"a", "b"} picks the vector.)
template <typename Fn, typename Str>
void expect_input_error(Fn&& fn, const Str& needle) {
  expect_error(fn, ExitCode::kInput, {std::string(needle)});
}

}  // namespace relapse::test
