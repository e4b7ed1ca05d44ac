// relapse/dist/gather.h — gathering per-sample results that were computed on
// data-parallel ranks back into sample order on every rank. Samples are dealt
// round robin in blocks of `block` consecutive samples: rank r of D holds
// blocks r, r + D, r + 2D, ... (dist_shard). With block = the evaluation batch
// size every rank runs exactly the batches one rank would run, so per-sample
// results do not depend on D (padding and batch shapes are the same).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace relapse {
class Communicator;

// The sample indices rank `rank` of `size` holds out of n, ascending: the
// samples of blocks rank, rank + size, ... (block 1: r, r + size, ...).
std::vector<int64_t> dist_shard(int64_t n, int rank, int size, int64_t block = 1);

// Given this rank's values for its dist_shard(n, ...) samples (in that order),
// returns all n values in sample order, on every rank. comm == null or size 1:
// returns `local` (which must then have n entries).
// `block` must be the one the shard was made with.
std::vector<double> dist_gather_doubles(Communicator* comm, const std::vector<double>& local,
                                        int64_t n, int64_t block = 1);
std::vector<std::string> dist_gather_strings(Communicator* comm,
                                             const std::vector<std::string>& local, int64_t n,
                                             int64_t block = 1);
// Per-sample variable-length integer rows (token ids), same contract.
std::vector<std::vector<int64_t>> dist_gather_rows(Communicator* comm,
                                                   const std::vector<std::vector<int64_t>>& local,
                                                   int64_t n, int64_t block = 1);

}  // namespace relapse
