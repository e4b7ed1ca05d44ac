// relapse/unlearn/bench_dp.h — `relapse bench dp`: the data-parallel training
// step (forward, backward, the DP gradient average, clipping, AdamW) with the
// gradient buckets reduced after the backward and overlapped with it
// (grad_reducer.h), alternated in one run on the same model, batch and ranks,
// so the ratio is measured against a reference of the same invocation.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace relapse {
class Communicator;
}

namespace relapse::unlearn {

struct BenchDpOptions {
  std::string shape = "30m";      // bench_model_shape_names()
  std::string dtype = "float32";  // float32 | bfloat16
  std::string backend = "mpi";    // mpi (CPU) | nccl (CUDA)
  int64_t batch = 4;              // rows per rank
  int64_t seq = 128;
  double bucket_mib = 25;  // DDP's default bucket
  int iters = 5, warmup = 1;
};

struct BenchDpRow {
  std::string mode;  // "blocking" | "overlapped"
  double step_s = 0;
  int buckets = 0, started_in_backward = 0;
};

// Collective over `dp` (every rank runs it; rank 0's times are returned,
// each the median over iters of the slowest rank's step).
std::vector<BenchDpRow> bench_dp_run(Communicator& dp, const BenchDpOptions& o);
std::string bench_dp_format(const std::vector<BenchDpRow>& rows, const BenchDpOptions& o,
                            int ranks);

}  // namespace relapse::unlearn
