// tests/fuzz/fuzz_config_yaml.cpp — relapse's YAML run config (every section's
// keys, types, choices and range checks) on arbitrary bytes.
#include "fuzz_util.h"
#include "relapse/pipeline/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = relapse::fuzz::input_file(data, size, "config.yaml");
  relapse::fuzz::refuse_cleanly([&] { relapse::config_load(path); });
  return 0;
}
