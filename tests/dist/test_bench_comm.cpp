// tests/dist/test_bench_comm.cpp — `relapse bench comm`'s arithmetic against
// nccl-tests' definitions (doc/PERFORMANCE.md there): algbw = size / time,
// busbw = algbw * 2(n-1)/n for all-reduce and * (n-1)/n for all-gather with
// size = the whole gathered output; plus a small real run over the world.
#include <gtest/gtest.h>

#include "relapse/dist/bench_comm.h"
#include "relapse/dist/runtime.h"

using namespace relapse;

namespace {

TEST(BenchComm, BusBandwidthFactorsAreNcclTests) {
  // Hand-computed values of 2(n-1)/n and (n-1)/n.
  EXPECT_DOUBLE_EQ(bench_busbw_factor("all_reduce", 1), 0.0);
  EXPECT_DOUBLE_EQ(bench_busbw_factor("all_reduce", 2), 1.0);
  EXPECT_DOUBLE_EQ(bench_busbw_factor("all_reduce", 4), 1.5);
  EXPECT_DOUBLE_EQ(bench_busbw_factor("all_reduce", 8), 1.75);
  EXPECT_DOUBLE_EQ(bench_busbw_factor("all_gather", 1), 0.0);
  EXPECT_DOUBLE_EQ(bench_busbw_factor("all_gather", 2), 0.5);
  EXPECT_DOUBLE_EQ(bench_busbw_factor("all_gather", 4), 0.75);
  EXPECT_DOUBLE_EQ(bench_busbw_factor("all_gather", 8), 0.875);
  try {
    bench_busbw_factor("broadcast", 2);
    FAIL() << "unknown op accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kConfig);
  }
}

TEST(BenchComm, AlgorithmBandwidthIsBytesOverTimeInGBs) {
  // nccl-tests' example: 1 GB all-reduced in 0.1 s is 10 GB/s (1e9 bytes, not GiB).
  EXPECT_DOUBLE_EQ(bench_algbw(1000000000, 0.1), 10.0);
  EXPECT_DOUBLE_EQ(bench_algbw(268435456, 0.5), 268435456 / 0.5 / 1e9);
  EXPECT_DOUBLE_EQ(bench_algbw(8, 0.0), 0.0);  // no division by zero
}

TEST(BenchComm, RowsFollowTheDefinitions) {
  int n = Runtime::instance()->world_size();
  BenchCommOptions o;
  o.min_bytes = 8;
  o.max_bytes = 4096;
  o.iters = 2;
  o.warmup = 1;
  std::vector<BenchCommRow> rows = bench_comm_run(MPI_COMM_WORLD, o);
  int reduce_rows = 0;
  for (const auto& r : rows) {
    EXPECT_EQ(r.ranks, n);
    EXPECT_GT(r.time_s, 0.0);
    EXPECT_GT(r.raw_time_s, 0.0);
    EXPECT_DOUBLE_EQ(r.algbw, r.bytes / r.time_s / 1e9);
    EXPECT_DOUBLE_EQ(r.busbw, r.algbw * bench_busbw_factor(r.op, n));
    EXPECT_DOUBLE_EQ(r.raw_busbw, r.raw_algbw * bench_busbw_factor(r.op, n));
    EXPECT_DOUBLE_EQ(r.ratio, r.time_s / r.raw_time_s);
    EXPECT_EQ(r.bytes, r.count * 4);  // float32
    if (r.op == "all_gather") {
      EXPECT_EQ(r.count % n, 0);  // whole output, an equal share per rank
    } else {
      ++reduce_rows;
    }
  }
  EXPECT_EQ(reduce_rows, 10);  // 8, 16, ..., 4096 bytes
}

TEST(BenchComm, RejectsBadOptions) {
  BenchCommOptions o;
  o.min_bytes = 64;
  o.max_bytes = 8;
  EXPECT_THROW(bench_comm_run(MPI_COMM_WORLD, o), Error);
}

}  // namespace
