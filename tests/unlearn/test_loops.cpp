// tests/unlearn/test_loops.cpp — the train / unlearn epoch loops: data
// parallelism gives the single-rank update (run under mpirun -np 2 by
// tests/mpi_tests.cmake; at np 1 the same checks run trivially), the seeded
// shuffle is reproducible, max_steps and the epoch hook stop the loop.
#include <cmath>

#include "relapse/core/rng.h"
#include "relapse/dist/communicator.h"
#include "relapse/dist/runtime.h"
#include "relapse/model/presets.h"
#include "relapse/unlearn/loops.h"
#include "test_util.h"

using namespace relapse;
using namespace relapse::unlearn;

namespace {

model::LlamaForCausalLM nano_model(uint64_t seed) {
  model::LlamaForCausalLM m(model::model_preset("nano", 97));
  model::llama_init_random(m, 0.05, RngStreams(seed).torch_generator("test/init"));
  return m;
}

Chunks random_chunks(int n, int len, uint64_t seed) {
  auto eng = RngStreams(seed).std_engine("test/chunks");
  Chunks c(n, std::vector<int64_t>(len));
  for (auto& row : c) {
    row[0] = 1;
    for (int t = 1; t < len; ++t) row[t] = 3 + static_cast<int64_t>(eng() % 90);
  }
  return c;
}

LoopOptions options(int batch, int micro) {
  LoopOptions o;
  o.train.schedule.base_lr = 1e-3;
  o.train.micro_batches = micro;
  o.epochs = 2;
  o.batch_size = batch;
  o.seed = 7;
  return o;
}

double max_param_diff(const model::LlamaForCausalLM& a, const model::LlamaForCausalLM& b) {
  double d = 0;
  auto pb = b->named_parameters();
  for (const auto& kv : a->named_parameters())
    d = std::max(d, (kv.value() - *pb.find(kv.key())).abs().max().item<double>());
  return d;
}

std::unique_ptr<Communicator> world_comm() {
  return comm_mpi_create(MPI_COMM_WORLD);
}

}  // namespace

// fp32: the sharded update differs from the full-batch one only by the order
// of summation of the gradients (ranks' partial sums added by MPI), ~1e-7
// relative; after 6 AdamW steps at lr 1e-3 parameters agree to 1e-6.
TEST(Loops, LmTrainDataParallelEqualsSingleRank) {
  const Chunks chunks = random_chunks(10, 12, 3);
  auto single = nano_model(1);
  LoopResult r1 = lm_train(single, chunks, options(4, 1));
  auto comm = world_comm();
  auto dp = nano_model(1);
  LoopResult r2 = lm_train(dp, chunks, options(4, 2), comm.get());
  EXPECT_EQ(r1.steps, 6);  // 2 epochs × ceil(10 / 4)
  EXPECT_EQ(r2.steps, r1.steps);
  EXPECT_LT(max_param_diff(single, dp), 1e-6);
  ASSERT_EQ(r1.curve.size(), r2.curve.size());
  for (size_t i = 0; i < r1.curve.size(); ++i)
    EXPECT_NEAR(r1.curve[i].loss, r2.curve[i].loss, 1e-5 * std::abs(r1.curve[i].loss)) << i;
  EXPECT_GT(r1.curve.front().loss, r1.curve.back().loss);  // it learns
}

TEST(Loops, UnlearnDataParallelEqualsSingleRank) {
  const Chunks forget = random_chunks(6, 10, 4), retain = random_chunks(4, 10, 5);
  UnlearnLossConfig lc;
  lc.objective = Objective::kNPO_GDR;
  auto single = nano_model(2);
  auto ref1 = reference_model_copy(single);
  LoopResult r1 = unlearn_train(single, &ref1, forget, retain, lc, options(4, 1));
  auto comm = world_comm();
  auto dp = nano_model(2);
  auto ref2 = reference_model_copy(dp);
  LoopResult r2 = unlearn_train(dp, &ref2, forget, retain, lc, options(4, 1), comm.get());
  EXPECT_EQ(r1.steps, 4);
  EXPECT_LT(max_param_diff(single, dp), 1e-6);
  EXPECT_EQ(max_param_diff(ref1, ref2), 0.0);  // the reference never moves
}

TEST(Loops, MaxStepsAndEpochHookStop) {
  const Chunks chunks = random_chunks(8, 8, 6);
  auto m = nano_model(3);
  LoopOptions o = options(2, 1);
  o.epochs = 5;
  o.max_steps = 3;
  EXPECT_EQ(lm_train(m, chunks, o).steps, 3);
  UnlearnLossConfig lc;
  lc.objective = Objective::kGA;
  int calls = 0;
  LoopResult r =
      unlearn_train(m, nullptr, chunks, {}, lc, options(4, 1), nullptr, [&](int64_t epoch) {
        ++calls;
        return epoch < 1;
      });
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(r.stopped_early);
  EXPECT_EQ(r.steps, 2);  // one epoch of 8 rows at batch 4
}

TEST(Loops, SameSeedSameTrajectory) {
  const Chunks chunks = random_chunks(9, 8, 8);
  auto a = nano_model(4), b = nano_model(4);
  lm_train(a, chunks, options(3, 1));
  lm_train(b, chunks, options(3, 1));
  EXPECT_EQ(max_param_diff(a, b), 0.0);
}

TEST(Loops, BatchSmallerThanRanksIsAConfigError) {
  Runtime& rt = *Runtime::instance();
  if (rt.world_size() < 2) GTEST_SKIP() << "needs >= 2 ranks";
  auto m = nano_model(5);
  auto comm = world_comm();
  test::expect_error([&] { lm_train(m, random_chunks(4, 8, 1), options(1, 1), comm.get()); },
                     ExitCode::kConfig, {"data-parallel"});
}
