// tests/test_util.h — helpers shared by the tests: paths to the source tree and
// fixtures, and a scratch directory removed at exit.
#pragma once
#include <string>

namespace relapse::test {

// Root of the source tree (RELAPSE_SOURCE_DIR set by CTest, else the cwd).
std::string source_dir();
// tests/golden/fixtures/<name>
std::string fixture_path(const std::string& name);
// A fresh, empty directory unique to this process; removed recursively at exit.
std::string scratch_dir(const std::string& tag);
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& bytes);

}  // namespace relapse::test
