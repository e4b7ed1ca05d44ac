// tests/dist/test_communicator.cpp — every collective of the MPI communicator,
// for every dtype and for the world, TP and DP groups, against a naive
// reference that each rank computes locally from the inputs every rank would
// have made (inputs are a pure function of rank and index; tests/dist/
// comm_reference.h, shared with the NCCL test). Run at np 1, 2, 4.
#include <gtest/gtest.h>

#include "comm_reference.h"

#include "relapse/dist/process_grid.h"
#include "relapse/dist/runtime.h"

using namespace relapse;

namespace {

using test::comm_check_group;

TEST(Communicator, WorldGroupMatchesReference) {
  ProcessGrid g = grid_create(MPI_COMM_WORLD, 1);
  EXPECT_EQ(g.world->backend(), "mpi");
  comm_check_group(*g.world, g.world_rank, "world");
}

TEST(Communicator, TensorAndDataParallelGroupsMatchReference) {
  int world = Runtime::instance()->world_size();
  for (int tp : {1, 2, 4}) {
    if (world % tp != 0) continue;
    ProcessGrid g = grid_create(MPI_COMM_WORLD, tp);
    EXPECT_EQ(g.tp_size * g.dp_size, world);
    EXPECT_EQ(g.tp->size(), tp);
    EXPECT_EQ(g.tp->rank(), g.world_rank % tp);  // TP innermost: adjacent ranks share a TP group
    EXPECT_EQ(g.dp->rank(), g.world_rank / tp);
    comm_check_group(*g.tp, g.world_rank, "tp");
    comm_check_group(*g.dp, g.world_rank, "dp");
  }
}

TEST(Communicator, GridRejectsIndivisibleTp) {
  int world = Runtime::instance()->world_size();
  try {
    grid_create(MPI_COMM_WORLD, world + 1);
    if (world + 1 != 1) FAIL() << "tp=" << world + 1 << " accepted at world " << world;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kConfig);
    EXPECT_NE(std::string(e.what()).find("parallel.tp"), std::string::npos);
  }
}

}  // namespace
