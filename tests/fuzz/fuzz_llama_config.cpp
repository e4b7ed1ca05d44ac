// tests/fuzz/fuzz_llama_config.cpp — config.json of a Hugging Face model
// directory (model families, rope scaling, head counts) on arbitrary bytes.
#include "fuzz_util.h"
#include "relapse/model/llama_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = relapse::fuzz::input_file(data, size, "config.json");
  relapse::fuzz::refuse_cleanly([&] { relapse::model::llama_config_load(path); });
  return 0;
}
