// relapse/dist/bench_comm.h — `relapse bench comm`: relapse's all-reduce and
// all-gather against the raw library call on the same buffer in the same run,
// with time, algorithm bandwidth and bus bandwidth as nccl-tests defines them.
#pragma once
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "relapse/dist/communicator.h"
#include "relapse/dist/process_grid.h"

namespace relapse {

struct BenchCommOptions {
  int64_t min_bytes = 8;
  int64_t max_bytes = int64_t(256) << 20;  // 256 MiB
  int iters = 20;                          // timed iterations per size (nccl-tests' default)
  int warmup = 5;
  torch::ScalarType dtype = torch::kFloat32;  // float32 | bfloat16
  CommBackend backend = CommBackend::kMpi;
  std::vector<std::string> ops = {"all_reduce", "all_gather"};
};

struct BenchCommRow {
  std::string op;     // "all_reduce" | "all_gather"
  int64_t bytes = 0;  // nccl-tests' size: the buffer (all_reduce) / the whole output (all_gather)
  int64_t count = 0;  // elements of that size
  int ranks = 1;
  double time_s = 0;      // relapse: median seconds per op over iters, slowest rank
  double algbw = 0;       // GB/s (1e9 bytes/s) = bytes / time
  double busbw = 0;       // GB/s = algbw * bench_busbw_factor(op, ranks)
  double raw_time_s = 0;  // the raw call (MPI_Allreduce / MPI_Allgather, or NCCL's for nccl)
  double raw_algbw = 0, raw_busbw = 0;
  double ratio = 0;  // time_s / raw_time_s (> 1: relapse's layer costs time)
};

// nccl-tests' bus-bandwidth factor: all_reduce 2(n-1)/n, all_gather (n-1)/n.
// Throws relapse::Error(kConfig) for an unknown op.
double bench_busbw_factor(const std::string& op, int ranks);
// bytes / seconds in GB/s (1e9), as nccl-tests prints it.
double bench_algbw(int64_t bytes, double seconds);

// Runs the benchmark over `comm` (collective; every rank gets the same rows).
// Sizes double from min_bytes to max_bytes. Each timed loop starts after a
// barrier; every op is timed alone and the time is the median over the loop
// (robust to a preempted iteration on a shared machine), maximised over ranks.
std::vector<BenchCommRow> bench_comm_run(MPI_Comm comm, const BenchCommOptions& opt);

// For the NCCL backend (src/dist/comm_nccl.cpp): the device of an NCCL
// communicator, and one synchronised raw ncclAllReduce (sum, in place on
// `buf`) or ncclAllGather (`buf` into `out`) through its ncclComm.
int bench_nccl_device(Communicator& c);
std::function<void()> bench_nccl_raw_op(Communicator& c, torch::Tensor& buf, torch::Tensor& out,
                                        const std::string& op);

}  // namespace relapse
