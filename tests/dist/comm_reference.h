// tests/dist/comm_reference.h — the communicator checks shared by the MPI
// (test_communicator.cpp) and NCCL (test_comm_nccl.cpp) tests: every collective
// (all_reduce also started asynchronously, two in flight),
// for every dtype, against a naive reference that each rank computes locally
// from the inputs every rank would have made (inputs are a pure function of
// rank and index). Tensors go to `device` for the op and back to the CPU for
// the comparison; the comparisons are exact (all values are small integers or
// quarters, exact in every dtype and under any reduction order).
#pragma once
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "relapse/dist/communicator.h"

namespace relapse::test {

// Rank r's input: small integers (exact in every dtype, bf16 included) plus,
// for float types, a quarter so that averaging is visible.
inline torch::Tensor comm_input_of(int rank, int64_t n, torch::ScalarType dt) {
  torch::Tensor i = torch::arange(n, torch::kFloat64);
  torch::Tensor v = (i * 3 + rank * 7).remainder(17) - 8;
  if (c10::isFloatingType(dt)) v = v + 0.25 * (rank % 2);
  if (dt == torch::kUInt8) v = v.abs();
  return v.to(dt);
}

inline const std::vector<torch::ScalarType>& comm_dtypes() {
  static const std::vector<torch::ScalarType> k = {
      torch::kFloat32, torch::kFloat64, torch::kBFloat16, torch::kFloat16,
      torch::kInt32,   torch::kInt64,   torch::kUInt8};
  return k;
}

// Global ranks of the members of `c`'s group, in group-rank order.
inline std::vector<int> comm_members(Communicator& c, int world_rank, const torch::Device& dev) {
  torch::Tensor me = torch::tensor({static_cast<int64_t>(world_rank)}, torch::kInt64).to(dev);
  torch::Tensor all = c.all_gather(me).cpu();
  std::vector<int> out;
  for (int64_t i = 0; i < all.size(0); ++i) out.push_back(static_cast<int>(all[i].item<int64_t>()));
  return out;
}

inline torch::Tensor comm_reference(const std::vector<int>& group, int64_t n, torch::ScalarType dt,
                                    ReduceOp op) {
  torch::Tensor acc;
  for (int r : group) {
    torch::Tensor x = comm_input_of(r, n, dt).to(torch::kFloat64);
    acc = !acc.defined() ? x : (op == ReduceOp::kMax ? torch::maximum(acc, x) : acc + x);
  }
  if (op == ReduceOp::kAvg)
    acc =
        c10::isFloatingType(dt) ? acc / double(group.size()) : (acc / double(group.size())).trunc();
  return acc.to(dt);
}

inline void comm_check_group(Communicator& c, int world_rank, const char* name,
                             const torch::Device& dev = torch::kCPU) {
  std::vector<int> group = comm_members(c, world_rank, dev);
  ASSERT_EQ(static_cast<int>(group.size()), c.size());
  ASSERT_EQ(group[c.rank()], world_rank);
  const int64_t n = 24;  // divisible by 1, 2, 4
  for (auto dt : comm_dtypes()) {
    for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kAvg, ReduceOp::kMax}) {
      torch::Tensor t = comm_input_of(world_rank, n, dt).to(dev);
      c.all_reduce(t, op);
      EXPECT_TRUE(torch::equal(t.cpu(), comm_reference(group, n, dt, op)))
          << name << " all_reduce " << c10::toString(dt) << " op " << int(op);
      // Started without waiting, two in flight at once, finished in reverse
      // order (wait and test may be called again).
      torch::Tensor a1 = comm_input_of(world_rank, n, dt).to(dev);
      torch::Tensor a2 = comm_input_of(world_rank, n, dt).to(dev);
      std::unique_ptr<CommRequest> q1 = c.all_reduce_async(a1, op);
      std::unique_ptr<CommRequest> q2 = c.all_reduce_async(a2, op);
      q2->test();
      q2->wait();
      q1->wait();
      EXPECT_TRUE(q1->test() && q2->test()) << name << " all_reduce_async done";
      q1->wait();
      EXPECT_TRUE(torch::equal(a1.cpu(), comm_reference(group, n, dt, op)) &&
                  torch::equal(a2.cpu(), comm_reference(group, n, dt, op)))
          << name << " all_reduce_async " << c10::toString(dt) << " op " << int(op);
      torch::Tensor rs = c.reduce_scatter(comm_input_of(world_rank, n, dt).to(dev), op).cpu();
      int64_t blk = n / c.size();
      EXPECT_TRUE(torch::equal(rs, comm_reference(group, n, dt, op).narrow(0, blk * c.rank(), blk)))
          << name << " reduce_scatter " << c10::toString(dt);
    }
    torch::Tensor g = c.all_gather(comm_input_of(world_rank, n, dt).view({4, n / 4}).to(dev)).cpu();
    std::vector<torch::Tensor> parts;
    for (int r : group) parts.push_back(comm_input_of(r, n, dt).view({4, n / 4}));
    EXPECT_TRUE(torch::equal(g, torch::cat(parts, 0)))
        << name << " all_gather " << c10::toString(dt);
    torch::Tensor into = torch::full_like(g, 7).to(dev);  // stale contents must be overwritten
    c.all_gather_into(comm_input_of(world_rank, n, dt).view({4, n / 4}).to(dev), into);
    EXPECT_TRUE(torch::equal(into.cpu(), torch::cat(parts, 0)))
        << name << " all_gather_into " << c10::toString(dt);
    for (int root = 0; root < c.size(); ++root) {
      torch::Tensor b = comm_input_of(world_rank, n, dt).to(dev);
      c.broadcast(b, root);
      EXPECT_TRUE(torch::equal(b.cpu(), comm_input_of(group[root], n, dt)))
          << name << " broadcast root " << root;
    }
  }
  c.barrier();
}

}  // namespace relapse::test
