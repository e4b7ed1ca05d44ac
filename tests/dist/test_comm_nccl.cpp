// tests/dist/test_comm_nccl.cpp — the NCCL communicator: the same op / dtype /
// group checks as the MPI backend (tests/dist/comm_reference.h) on CUDA
// tensors when a CUDA device and a CUDA libtorch are present; without a
// device, creating it must throw a clear kEnvironment error (not crash) and
// the op checks are skipped with a message saying so. Compiles whether or not
// RELAPSE_WITH_NCCL is defined (tests/mpi_tests.cmake defines it for this
// target when the backend is built). Run at np 1 here, np 2 on multi-GPU hosts.
#include <gtest/gtest.h>

#include <cstdio>

#include "comm_reference.h"
#include "relapse/dist/bench_comm.h"
#include "relapse/dist/process_grid.h"
#include "relapse/dist/runtime.h"

using namespace relapse;

namespace {

bool has_device() {
  return comm_nccl_built() && comm_cuda_device_count() > 0;
}

TEST(CommNccl, BuildFlagMatchesLibrary) {
#ifdef RELAPSE_WITH_NCCL
  EXPECT_TRUE(comm_nccl_built());
#else
  EXPECT_FALSE(comm_nccl_built());
#endif
}

TEST(CommNccl, CreateWithoutDeviceThrowsEnvironmentError) {
  if (has_device())
    GTEST_SKIP() << "a CUDA device is visible; the no-device error path is not taken";
  for (int attempt = 0; attempt < 2; ++attempt) {  // the direct factory, then through the grid
    try {
      if (attempt == 0) {
        comm_nccl_create(MPI_COMM_WORLD);
      } else {
        grid_create(MPI_COMM_WORLD, 1, CommBackend::kNccl);
      }
      FAIL() << "NCCL communicator created without a CUDA device (attempt " << attempt << ")";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kEnvironment) << e.what();
      std::string msg = e.what();
      if (attempt == 0) std::printf("expected error: %s\n", msg.c_str());
      EXPECT_NE(msg.find("NCCL communicator"), std::string::npos) << msg;
      EXPECT_TRUE(msg.find("no CUDA device") != std::string::npos ||
                  msg.find("RELAPSE_WITH_NCCL=OFF") != std::string::npos)
          << msg;
    }
  }
}

TEST(CommNccl, BackendNamesAndDevicePicking) {
  EXPECT_EQ(comm_backend_parse("mpi"), CommBackend::kMpi);
  EXPECT_EQ(comm_backend_parse("nccl"), CommBackend::kNccl);
  EXPECT_STREQ(comm_backend_name(CommBackend::kNccl), "nccl");
  try {
    comm_backend_parse("gloo");
    FAIL() << "backend 'gloo' accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kConfig);
    EXPECT_NE(std::string(e.what()).find("'gloo'"), std::string::npos);
  }
  // An MPI grid serves CPU tensors and refuses CUDA ones with a config error.
  ProcessGrid g = grid_create(MPI_COMM_WORLD, 1);
  EXPECT_EQ(&g.tp_for(torch::kCPU), g.tp.get());
  EXPECT_EQ(g.nccl_world, nullptr);
  try {
    g.dp_for(torch::Device(torch::kCUDA, 0));
    FAIL() << "CUDA tensor accepted by an mpi grid";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kConfig);
    EXPECT_NE(std::string(e.what()).find("dp group's NCCL communicator"), std::string::npos);
  }
}

// The op checks need a device and CUDA tensors (a CUDA libtorch).
bool skip_ops(std::string* why) {
  if (!comm_nccl_built()) {
    *why = "relapse built without NCCL (RELAPSE_WITH_NCCL=OFF)";
  } else if (comm_cuda_device_count() == 0) {
    *why =
        "no CUDA device visible: NCCL op checks skipped (run launch/device-smoke.sh on a GPU "
        "machine)";
  } else if (!torch::cuda::is_available()) {
    *why =
        "libtorch without CUDA: cannot make CUDA tensors (build against a CUDA libtorch, see "
        "launch/device-smoke.sh)";
  }
  return !why->empty();
}

TEST(CommNccl, WorldGroupMatchesReference) {
  std::string why;
  if (skip_ops(&why)) GTEST_SKIP() << why;
  ProcessGrid g = grid_create(MPI_COMM_WORLD, 1, CommBackend::kNccl);
  ASSERT_NE(g.nccl_world, nullptr);
  EXPECT_EQ(g.nccl_world->backend(), "nccl");
  EXPECT_EQ(g.world->backend(), "mpi");  // the MPI groups stay for CPU-side work
  torch::Device dev(torch::kCUDA, bench_nccl_device(*g.nccl_world));
  EXPECT_EQ(&g.world_for(dev), g.nccl_world.get());
  test::comm_check_group(*g.nccl_world, g.world_rank, "nccl world", dev);
}

TEST(CommNccl, TensorAndDataParallelGroupsMatchReference) {
  std::string why;
  if (skip_ops(&why)) GTEST_SKIP() << why;
  int world = Runtime::instance()->world_size();
  for (int tp : {1, 2, 4}) {
    if (world % tp != 0) continue;
    ProcessGrid g = grid_create(MPI_COMM_WORLD, tp, CommBackend::kNccl);
    EXPECT_EQ(g.nccl_tp->size(), tp);
    EXPECT_EQ(g.nccl_tp->rank(), g.world_rank % tp);
    EXPECT_EQ(g.nccl_dp->rank(), g.world_rank / tp);
    torch::Device dev(torch::kCUDA, bench_nccl_device(*g.nccl_tp));
    test::comm_check_group(*g.nccl_tp, g.world_rank, "nccl tp", dev);
    test::comm_check_group(*g.nccl_dp, g.world_rank, "nccl dp", dev);
  }
}

TEST(CommNccl, StagesHostTensorsRejectsNonContiguous) {
  std::string why;
  if (skip_ops(&why)) GTEST_SKIP() << why;
  std::unique_ptr<Communicator> c = comm_nccl_create(MPI_COMM_WORLD);
  const int world = Runtime::instance()->world_size();
  // Host tensors (the pipeline's bookkeeping) go through the device and come back.
  torch::Tensor cpu = torch::ones({4}, torch::kFloat64);
  c->all_reduce(cpu, ReduceOp::kSum);
  EXPECT_TRUE(cpu.is_cpu());
  EXPECT_TRUE(torch::equal(cpu, torch::full({4}, double(world), torch::kFloat64)));
  torch::Tensor g = c->all_gather(torch::arange(3, torch::kInt64));
  EXPECT_TRUE(g.is_cpu());
  EXPECT_EQ(g.size(0), 3 * world);
  torch::Device dev(torch::kCUDA, bench_nccl_device(*c));
  torch::Tensor strided = torch::ones({4, 4}, torch::TensorOptions().device(dev)).t();
  try {
    c->broadcast(strided, 0);
    FAIL() << "non-contiguous tensor accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("contiguous"), std::string::npos) << e.what();
  }
  c->barrier();
}

}  // namespace
