// tests/fuzz/fuzz_safetensors.cpp — the safetensors reader (header JSON,
// dtypes, shapes, data offsets against the file size) on arbitrary bytes:
// every tensor it accepts is read whole and as a slice.
#include "fuzz_util.h"
#include "relapse/model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = relapse::fuzz::input_file(data, size, "model.safetensors");
  relapse::fuzz::refuse_cleanly([&] {
    relapse::model::SafetensorsFile f(path);
    for (const auto& name : f.names()) {
      torch::Tensor t = f.read(name);
      if (t.dim() > 0 && t.size(0) > 0) f.read_slice(name, 0, 0, 1);
    }
  });
  return 0;
}
