// tests/fuzz/replay_main.cpp — main() for a fuzz target built without
// libFuzzer: runs LLVMFuzzerTestOneInput once on each file named on the
// command line (the seed corpus and the committed crashers), so they are
// regression tests of the normal build. Exit 0 when every input passed.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::ifstream f(argv[i], std::ios::binary);
    if (!f) {
      std::fprintf(stderr, "replay: cannot read %s\n", argv[i]);
      return 1;
    }
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    std::printf("replay: %s (%zu bytes) ok\n", argv[i], bytes.size());
  }
  return 0;
}
