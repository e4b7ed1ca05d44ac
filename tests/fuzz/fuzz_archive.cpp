// tests/fuzz/fuzz_archive.cpp — the run archive reader (relapse.h5: schema,
// attributes, tables) on arbitrary bytes. The bytes go through libhdf5 first;
// a crash inside libhdf5 itself is reported as that library's, not relapse's.
#include "fuzz_util.h"
#include "relapse/results/archive.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = relapse::fuzz::input_file(data, size, "relapse.h5");
  relapse::fuzz::refuse_cleanly([&] { relapse::results::archive_read_run(path); });
  return 0;
}
