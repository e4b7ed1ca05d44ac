// tests/dist/test_runtime.cpp — the MPI runtime: the Slurm task-count check and
// the host name gather. Runs as a plain process and under mpiexec -n 2
// (test_runtime_np2 in tests/mpi_tests.cmake).
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <functional>

#include "relapse/dist/hostnames.h"
#include "relapse/dist/runtime.h"

namespace relapse {
namespace {

TEST(Runtime, SlurmUnsetIsFine) {
  EXPECT_EQ(runtime_slurm_mismatch("", 1), "");
}

TEST(Runtime, SlurmEqualIsFine) {
  EXPECT_EQ(runtime_slurm_mismatch("1", 1), "");
  EXPECT_EQ(runtime_slurm_mismatch("4", 4), "");
}

TEST(Runtime, SlurmSingletonsExplainPmix) {
  std::string msg = runtime_slurm_mismatch("4", 1);
  ASSERT_FALSE(msg.empty());
  EXPECT_NE(msg.find("srun --mpi=pmix"), std::string::npos) << msg;
  EXPECT_NE(msg.find("SLURM_NTASKS=4"), std::string::npos) << msg;
  EXPECT_NE(msg.find("world size is 1"), std::string::npos) << msg;
  EXPECT_FALSE(runtime_slurm_mismatch("2", 4).empty());
}

TEST(Runtime, SlurmGarbageIsError) {
  for (const char* bad : {"abc", "4x", "0", "-2", "2.5"}) {
    std::string msg = runtime_slurm_mismatch(bad, 1);
    EXPECT_FALSE(msg.empty()) << bad;
    EXPECT_NE(msg.find("not a positive integer"), std::string::npos) << bad << ": " << msg;
  }
}

TEST(Runtime, InstanceMatchesMpi) {
  Runtime* rt = Runtime::instance();
  ASSERT_NE(rt, nullptr);
  int rank = -1, size = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  EXPECT_EQ(rt->rank(), rank);
  EXPECT_EQ(rt->world_size(), size);
}

TEST(Runtime, GatherHostnamesHasOneEntryPerRank) {
  Runtime* rt = Runtime::instance();
  ASSERT_NE(rt, nullptr);
  auto names = runtime_gather_hostnames();
  ASSERT_EQ(static_cast<int>(names.size()), rt->world_size());
  char mine[256] = {0};
  ASSERT_EQ(gethostname(mine, sizeof(mine) - 1), 0);
  EXPECT_EQ(names[rt->rank()], std::string(mine));
  EXPECT_EQ(names[rt->rank()], rt->hostname());
  for (const auto& n : names) EXPECT_FALSE(n.empty());
  // Every rank got the same list: compare a hash across ranks.
  std::string joined;
  for (const auto& n : names) joined += n + '\n';
  unsigned long long h = std::hash<std::string>{}(joined), lo = 0, hi = 0;
  MPI_Allreduce(&h, &lo, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&h, &hi, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
  EXPECT_EQ(lo, hi);
}

}  // namespace
}  // namespace relapse
