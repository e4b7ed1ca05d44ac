// tests/fuzz/fuzz_util.h — what every libFuzzer target of relapse shares: the
// input written to a file of this process's scratch directory (relapse's
// readers take paths, as users give them), and the rule that a reader may
// refuse an input only with relapse::Error (a clear error naming the file:
// exit 3/4/5). Any other exception, a crash or a sanitizer report is a
// finding. Built with -fsanitize=fuzzer (RELAPSE_FUZZ, launch/fuzz.sh) or,
// without it, with replay_main.cpp, which runs the seeds and the committed
// crashers as a CTest regression test.
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "relapse/core/error.h"

namespace relapse::fuzz {

// A directory of this process (created once, reused by every input).
inline const std::string& scratch() {
  static const std::string d = [] {
    std::string p =
        (std::filesystem::temp_directory_path() / ("relapse-fuzz-" + std::to_string(::getpid())))
            .string();
    std::filesystem::create_directories(p);
    return p;
  }();
  return d;
}

// The input as the file scratch()/name; returns its path.
inline std::string input_file(const uint8_t* data, size_t size, const std::string& name) {
  const std::string path = scratch() + "/" + name;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

// Runs a reader; relapse::Error is the expected refusal of a bad input.
template <typename Fn>
void refuse_cleanly(Fn&& fn) {
  try {
    fn();
  } catch (const relapse::Error&) {
  }
}

}  // namespace relapse::fuzz
