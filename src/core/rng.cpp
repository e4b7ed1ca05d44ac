// src/core/rng.cpp — named, seeded random streams (derivation documented and
// frozen in relapse/core/rng.h).
#include "relapse/core/rng.h"

#include <ATen/CPUGeneratorImpl.h>

namespace relapse {

uint64_t rng_splitmix64(uint64_t x) {
  uint64_t z = x + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t rng_fnv1a64(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t RngStreams::seed_of(std::string_view name) const {
  return rng_splitmix64(rng_splitmix64(seed_) ^ rng_fnv1a64(name));
}

at::Generator RngStreams::torch_generator(std::string_view name) const {
  // createCPUGenerator exists with this signature in libtorch 1.13 and 2.x.
  return at::detail::createCPUGenerator(seed_of(name));
}

std::mt19937_64 RngStreams::std_engine(std::string_view name) const {
  return std::mt19937_64(seed_of(name));
}

}  // namespace relapse
