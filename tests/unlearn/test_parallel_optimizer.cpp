// tests/unlearn/test_parallel_optimizer.cpp — the data-parallel gradient
// reduction overlapped with the backward (unlearn/grad_reducer.h) and fp32
// master weights (unlearn/trainer.h) under DP, ZeRO-1 and resume. Registered
// at np 1, 2 and 4 (tests/mpi_tests.cmake); every TP size dividing the world
// is tried where a test runs the loops.
//
// All checks are bit for bit: overlap changes when a bucket's all-reduce
// starts, never what it sums; ZeRO-1 changes where a parameter's update is
// computed, never how; a resumed run restores every tensor it needs exactly.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "parallel_step_util.h"
#include "relapse/dist/process_grid.h"
#include "relapse/dist/runtime.h"
#include "relapse/unlearn/grad_reducer.h"
#include "relapse/unlearn/grad_sync.h"

using namespace relapse;
using namespace relapse::unlearn;
using namespace relapse::unlearn::test;

namespace {

// A loss that reaches every parameter: the mean log-probability of token 3
// after each position (fp32 log-softmax whatever the model's dtype).
torch::Tensor probe_loss(LlamaForCausalLM& m, const Chunks& rows) {
  std::vector<int64_t> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  torch::Tensor ids =
      torch::tensor(flat, torch::kInt64).view({static_cast<int64_t>(rows.size()), -1});
  return torch::log_softmax(m->forward(ids).to(torch::kFloat32), -1).select(-1, 3).mean();
}

// Today's reduction, written out: per bucket, flatten (fp32 for 16-bit),
// one blocking all-reduce, write back.
void blocking_average(Communicator& dp, const std::vector<torch::Tensor>& ps, int64_t bytes) {
  torch::NoGradGuard ng;
  for (const auto& bucket : grad_buckets(ps, bytes)) {
    std::vector<torch::Tensor> flat;
    for (size_t i : bucket) flat.push_back(ps[i].grad().reshape({-1}));
    torch::Tensor buf = torch::cat(flat).to(torch::kFloat32);
    dp.all_reduce(buf, ReduceOp::kAvg);
    int64_t off = 0;
    for (size_t i : bucket) {
      torch::Tensor g = ps[i].grad();
      g.copy_(buf.narrow(0, off, g.numel()).view_as(g));
      off += g.numel();
    }
  }
}

void expect_same_run(const LoopResult& ra, const LoopResult& rb, LlamaForCausalLM& a,
                     LlamaForCausalLM& b, const std::string& what) {
  ASSERT_EQ(ra.curve.size(), rb.curve.size()) << what;
  for (size_t i = 0; i < ra.curve.size(); ++i) {
    EXPECT_EQ(ra.curve[i].loss, rb.curve[i].loss) << what << " update " << i;
    EXPECT_EQ(ra.curve[i].grad_norm, rb.curve[i].grad_norm) << what << " update " << i;
  }
  auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_TRUE(torch::equal(pa[i], pb[i])) << what << " parameter " << i;
    if (pa[i].grad().defined() || pb[i].grad().defined()) {
      EXPECT_TRUE(torch::equal(pa[i].grad(), pb[i].grad())) << what << " gradient " << i;
    }
  }
}

}  // namespace

// The hooks inside a real backward (plain and activation-checkpointed, fp32
// and bf16, each rank its own rows): every bucket starts during the backward
// (the loss reaches every parameter), and the averaged gradients equal
// today's blocking per-bucket all-reduce bit for bit (Open MPI 4.1 sums
// MPI_Iallreduce and MPI_Allreduce in the same order; an MPI where they
// differ would fail here at np 4, not at np 2 where a + b = b + a).
TEST(GradOverlap, HooksStartEveryBucketInTheBackwardAndMatchBlocking) {
  auto dp = comm_mpi_create(MPI_COMM_WORLD);
  const Chunks rows = random_chunks(2, 9, 10 + static_cast<uint64_t>(dp->rank()));
  for (torch::ScalarType dt : {torch::kFloat32, torch::kBFloat16}) {
    for (bool ckpt : {false, true}) {
      const std::string what = std::string(c10::toString(dt)) + (ckpt ? " checkpointed" : " plain");
      LlamaForCausalLM a = full_model(dt, 5), b = full_model(dt, 5);
      for (auto* m : {&a, &b}) {
        (*m)->train();
        (*m)->set_activation_checkpointing(ckpt);
      }
      const auto pa = trainable_parameters(*a), pb = trainable_parameters(*b);
      const int64_t bytes = 4096;  // several buckets, some parameters larger than one
      const size_t n_buckets = grad_buckets(pa, bytes).size();
      ASSERT_GT(n_buckets, 3u);
      GradBucketReducer r(*dp, pa, bytes, /*overlap=*/true);
      r.arm();
      probe_loss(a, rows).backward();
      EXPECT_EQ(r.started_in_backward(), static_cast<int>(n_buckets)) << what;
      r.finish();
      probe_loss(b, rows).backward();
      blocking_average(*dp, pb, bytes);
      for (size_t i = 0; i < pa.size(); ++i)
        EXPECT_TRUE(torch::equal(pa[i].grad(), pb[i].grad())) << what << " gradient " << i;
      // Unarmed (an earlier micro-batch's backward): the hooks start nothing.
      for (const auto& p : pa) p.mutable_grad() = torch::Tensor();
      probe_loss(a, rows).backward();
      EXPECT_EQ(r.started_in_backward(), static_cast<int>(n_buckets)) << what << " (unchanged)";
    }
  }
}

// The loops with overlap on and off: the same curves, parameters and
// gradients bit for bit, at every DP × TP of the world, with two
// micro-batches (only the last backward starts buckets), checkpointed layers
// and pure bf16. At TP > KV heads (shared KV heads) overlap is off by design.
TEST(GradOverlap, LoopsEqualWithOverlapOnAndOff) {
  const int world = Runtime::instance()->world_size();
  const Chunks forget = random_chunks(8, 9, 1), retain = random_chunks(6, 9, 2);
  for (int tp_size : {1, 2, 4}) {
    if (world % tp_size != 0) continue;
    ProcessGrid g = grid_create(MPI_COMM_WORLD, tp_size);
    TpContext tp{g.tp_size, g.tp_rank, g.tp.get()};
    for (const Case& c : {Case{"lm"}, Case{"npo_klr"}, Case{"ga_gdr"}}) {
      for (torch::ScalarType dt : {torch::kFloat32, torch::kBFloat16}) {
        for (bool ckpt : {false, true}) {
          const std::string what = c.name + " " + c10::toString(dt) + (ckpt ? " ckpt" : "") +
                                   " DP " + std::to_string(g.dp_size) + " x TP " +
                                   std::to_string(tp_size);
          LlamaForCausalLM full = full_model(dt, 5);
          LlamaForCausalLM a = split_model(full, tp), b = split_model(full, tp);
          LoopOptions oa = step_options(2, 3, 1e-8, ckpt), ob = oa;
          oa.overlap_grad_reduce = false;
          ob.overlap_grad_reduce = true;
          LoopResult ra = run_case(c, a, forget, retain, oa, g.dp.get());
          LoopResult rb = run_case(c, b, forget, retain, ob, g.dp.get());
          expect_same_run(ra, rb, a, b, what);
        }
      }
    }
  }
}

// fp32 master weights with the optimizer state sharded over DP (ZeRO-1: the
// owner keeps the master copy and broadcasts the rounded parameter) equal
// the replicated mixed-precision run bit for bit, and differ from pure bf16
// (the master copy is used: a test that it is not silently ignored).
TEST(MasterWeights, ShardedEqualsReplicatedAndDiffersFromPureBf16) {
  const int world = Runtime::instance()->world_size();
  const Chunks forget = random_chunks(8, 9, 1), retain = random_chunks(6, 9, 2);
  for (int tp_size : {1, 2}) {
    if (world % tp_size != 0) continue;
    ProcessGrid g = grid_create(MPI_COMM_WORLD, tp_size);
    TpContext tp{g.tp_size, g.tp_rank, g.tp.get()};
    for (const Case& c : {Case{"lm"}, Case{"npo_klr"}}) {
      const std::string what =
          c.name + " DP " + std::to_string(g.dp_size) + " x TP " + std::to_string(tp_size);
      LlamaForCausalLM full = full_model(torch::kBFloat16, 5);
      LlamaForCausalLM a = split_model(full, tp), b = split_model(full, tp),
                       pure = split_model(full, tp);
      LoopOptions oa = step_options(2, 3, 1e-8), ob = oa, op = oa;
      oa.train.adamw.master_weights = ob.train.adamw.master_weights = true;
      oa.train.schedule.base_lr = ob.train.schedule.base_lr = op.train.schedule.base_lr = 1e-3;
      ob.shard_optimizer = true;
      LoopResult ra = run_case(c, a, forget, retain, oa, g.dp.get());
      LoopResult rb = run_case(c, b, forget, retain, ob, g.dp.get());
      LoopResult rp = run_case(c, pure, forget, retain, op, g.dp.get());
      expect_same_run(ra, rb, a, b, what);
      bool differs = false;
      auto pa = a->parameters(), pp = pure->parameters();
      for (size_t i = 0; i < pa.size(); ++i) differs |= !torch::equal(pa[i], pp[i]);
      EXPECT_TRUE(differs) << what << ": master weights changed nothing";
    }
  }
}

// Resume with master weights and ZeRO-1: a run of 2 epochs that checkpoints
// after epoch 1, then a run of 3 epochs from that checkpoint, ends where one
// uninterrupted 3-epoch run ends — the fp32 master copies included (restoring
// them from the bf16 parameters instead would differ).
TEST(MasterWeights, ResumedRunEqualsUninterrupted) {
  ProcessGrid g = grid_create(MPI_COMM_WORLD, 1);
  const Chunks forget = random_chunks(8, 9, 1);
  // One directory per world size: ctest runs np 1, 2 and 4 side by side.
  const std::string dir =
      testing::TempDir() + "relapse_master_resume_np" + std::to_string(g.dp->size()) + "/ckpt";
  if (g.dp->rank() == 0) std::filesystem::create_directories(dir + "/..");
  g.dp->barrier();
  auto options = [&](int64_t epochs, bool checkpoint) {
    LoopOptions o = step_options(1, 0, 1e-8);
    o.train.adamw.master_weights = true;
    o.train.schedule.base_lr = 1e-3;
    o.shard_optimizer = true;
    o.batch_size = 4;
    o.epochs = epochs;
    if (checkpoint) o.checkpoint = {dir, 1, "master-resume"};
    return o;
  };
  LlamaForCausalLM x = full_model(torch::kBFloat16, 5), y1 = full_model(torch::kBFloat16, 5),
                   y2 = full_model(torch::kBFloat16, 5);
  LoopResult rx = lm_train(x, forget, options(3, false), g.dp.get());
  lm_train(y1, forget, options(2, true), g.dp.get());
  LoopResult ry = lm_train(y2, forget, options(3, true), g.dp.get());
  ASSERT_EQ(rx.steps, 6);
  ASSERT_EQ(ry.steps, 6);
  expect_same_run(rx, ry, x, y2, "resumed");
  g.dp->barrier();
  if (g.dp->rank() == 0) std::filesystem::remove_all(dir + "/..");
}
