// relapse/core/rng.h — named, seeded random streams. relapse has no global RNG:
// every random choice (weight init, data shuffling, sampling, bootstrap) draws
// from a stream named after its purpose, seeded from (global seed, name).
//
// Seed derivation (FROZEN — archives record only the global seed, so
// reproducing a result a year later depends on this never changing):
//
//   fnv1a64(name)   = FNV-1a 64 over the bytes of name
//                     (offset basis 0xcbf29ce484222325, prime 0x100000001b3)
//   splitmix64(x)   = z = x + 0x9e3779b97f4a7c15;
//                     z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
//                     z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
//                     z ^ (z >> 31)                         (all mod 2^64)
//   seed_of(name)   = splitmix64(splitmix64(seed) ^ fnv1a64(name))
//
// tests/core/test_rng.cpp pins seed_of(1234, "init") so any change fails.
//
// Note: libtorch's CPU generator (mt19937) keeps only the low 32 bits of its
// seed, so two torch streams collide with probability ~2^-32 per pair; the
// std::mt19937_64 engines use all 64 bits.
#pragma once
#include <ATen/core/Generator.h>

#include <cstdint>
#include <random>
#include <string_view>

namespace relapse {

// splitmix64 / FNV-1a 64 as documented above (exposed for tests and for
// deriving sub-stream names deterministically).
uint64_t rng_splitmix64(uint64_t x);
uint64_t rng_fnv1a64(std::string_view bytes);

class RngStreams {
 public:
  explicit RngStreams(uint64_t seed) : seed_(seed) {}

  uint64_t seed() const { return seed_; }
  // The seed of the stream `name` (see the derivation above).
  uint64_t seed_of(std::string_view name) const;
  // A fresh libtorch CPU generator at the start of stream `name`: every call
  // returns an independent generator in the same initial state. Pass it to
  // torch::randn(sizes, gen, options) etc.; the global generator is not used.
  at::Generator torch_generator(std::string_view name) const;
  // A fresh std::mt19937_64 at the start of stream `name`.
  std::mt19937_64 std_engine(std::string_view name) const;

 private:
  uint64_t seed_;
};

}  // namespace relapse
