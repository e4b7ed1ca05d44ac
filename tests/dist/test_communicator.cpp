// tests/dist/test_communicator.cpp — every collective of the MPI communicator,
// for every dtype and for the world, TP and DP groups, against a naive
// reference that each rank computes locally from the inputs every rank would
// have made (inputs are a pure function of rank and index). Run at np 1, 2, 4.
#include <gtest/gtest.h>

#include "relapse/dist/process_grid.h"
#include "relapse/dist/runtime.h"

using namespace relapse;

namespace {

// Rank r's input: small integers (exact in every dtype, bf16 included) plus,
// for float types, a quarter so that averaging is visible.
torch::Tensor input_of(int rank, int64_t n, torch::ScalarType dt) {
  torch::Tensor i = torch::arange(n, torch::kFloat64);
  torch::Tensor v = (i * 3 + rank * 7).remainder(17) - 8;
  if (c10::isFloatingType(dt)) v = v + 0.25 * (rank % 2);
  if (dt == torch::kUInt8) v = v.abs();
  return v.to(dt);
}

const std::vector<torch::ScalarType> kDtypes = {torch::kFloat32, torch::kFloat64, torch::kBFloat16,
                                                torch::kFloat16, torch::kInt32,   torch::kInt64};

// Global ranks of the members of `c`'s group, in group-rank order.
std::vector<int> members(Communicator& c, int world_rank) {
  torch::Tensor me = torch::tensor({static_cast<int64_t>(world_rank)}, torch::kInt64);
  torch::Tensor all = c.all_gather(me);
  std::vector<int> out;
  for (int64_t i = 0; i < all.size(0); ++i) out.push_back(static_cast<int>(all[i].item<int64_t>()));
  return out;
}

torch::Tensor reference(const std::vector<int>& group, int64_t n, torch::ScalarType dt,
                        ReduceOp op) {
  torch::Tensor acc;
  for (int r : group) {
    torch::Tensor x = input_of(r, n, dt).to(torch::kFloat64);
    acc = !acc.defined() ? x : (op == ReduceOp::kMax ? torch::maximum(acc, x) : acc + x);
  }
  if (op == ReduceOp::kAvg)
    acc =
        c10::isFloatingType(dt) ? acc / double(group.size()) : (acc / double(group.size())).trunc();
  return acc.to(dt);
}

void check_group(Communicator& c, int world_rank, const char* name) {
  std::vector<int> group = members(c, world_rank);
  ASSERT_EQ(static_cast<int>(group.size()), c.size());
  ASSERT_EQ(group[c.rank()], world_rank);
  const int64_t n = 24;  // divisible by 1, 2, 4
  for (auto dt : kDtypes) {
    for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kAvg, ReduceOp::kMax}) {
      torch::Tensor t = input_of(world_rank, n, dt);
      c.all_reduce(t, op);
      EXPECT_TRUE(torch::equal(t, reference(group, n, dt, op)))
          << name << " all_reduce " << c10::toString(dt) << " op " << int(op);
      torch::Tensor rs = c.reduce_scatter(input_of(world_rank, n, dt), op);
      int64_t blk = n / c.size();
      EXPECT_TRUE(torch::equal(rs, reference(group, n, dt, op).narrow(0, blk * c.rank(), blk)))
          << name << " reduce_scatter " << c10::toString(dt);
    }
    torch::Tensor g = c.all_gather(input_of(world_rank, n, dt).view({4, n / 4}));
    std::vector<torch::Tensor> parts;
    for (int r : group) parts.push_back(input_of(r, n, dt).view({4, n / 4}));
    EXPECT_TRUE(torch::equal(g, torch::cat(parts, 0)))
        << name << " all_gather " << c10::toString(dt);
    for (int root = 0; root < c.size(); ++root) {
      torch::Tensor b = input_of(world_rank, n, dt);
      c.broadcast(b, root);
      EXPECT_TRUE(torch::equal(b, input_of(group[root], n, dt)))
          << name << " broadcast root " << root;
    }
  }
  c.barrier();
}

TEST(Communicator, WorldGroupMatchesReference) {
  ProcessGrid g = grid_create(MPI_COMM_WORLD, 1);
  EXPECT_EQ(g.world->backend(), "mpi");
  check_group(*g.world, g.world_rank, "world");
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
    check_group(*g.tp, g.world_rank, "tp");
    check_group(*g.dp, g.world_rank, "dp");
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
