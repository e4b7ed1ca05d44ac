// tests/model/test_tp_cross_entropy.cpp — the vocab-parallel log-sum-exp,
// token log-probs and KL (np 1, 2, 4 through tests/mpi_tests.cmake; TP = world
// size) against the unsplit log_softmax computation: values and gradients with
// respect to the full logits (the ranks' slices gathered), in fp64 and fp32,
// with a padded vocabulary (-inf columns) and ignored (-100) targets; then once
// through a real tensor-parallel model loaded with hf_load.
#include <gtest/gtest.h>

#include <filesystem>
#include <limits>

#include "relapse/core/rng.h"
#include "relapse/dist/process_grid.h"
#include "relapse/dist/runtime.h"
#include "relapse/model/hf_checkpoint.h"
#include "relapse/model/tp_cross_entropy.h"
#include "test_util.h"

using namespace relapse;
using namespace relapse::model;

namespace {

constexpr int64_t kB = 3, kT = 5, kV = 37;  // 37: padded at TP 2 (38) and 4 (40)

struct Split {
  ProcessGrid grid;
  TpContext tp;
};

Split tp_world() {
  Split s{grid_create(MPI_COMM_WORLD, Runtime::instance()->world_size()), {}};
  s.tp = TpContext{s.grid.tp_size, s.grid.tp_rank, s.grid.tp.get()};
  return s;
}

// Every rank draws the same full logits [B,T,V] (seeded), with a spread
// (std 3) that makes the softmax far from uniform.
torch::Tensor full_logits(torch::ScalarType dtype, uint64_t seed) {
  at::Generator gen = RngStreams(seed).torch_generator("test/logits");
  return (torch::randn({kB, kT, kV}, gen, torch::TensorOptions().dtype(torch::kFloat64)) * 3)
      .to(dtype);
}

// This rank's slice of the vocabulary padded to a multiple of TP (padding -inf).
torch::Tensor slice_of(const torch::Tensor& full, const TpContext& tp, int64_t* start) {
  int64_t vpad = tp_pad_to_multiple(kV, tp), width = vpad / tp.size;
  torch::Tensor padded =
      torch::full({kB, kT, vpad}, -std::numeric_limits<double>::infinity(), full.options());
  padded.narrow(-1, 0, kV).copy_(full);
  *start = tp.rank * width;
  return padded.narrow(-1, *start, width).contiguous();
}

// The full-vocabulary gradient from every rank's slice (padding cut off).
torch::Tensor gathered(const torch::Tensor& local, const TpContext& tp) {
  return tp_gather_last_dim(local, tp).narrow(-1, 0, kV);
}

torch::Tensor targets_with_ignored() {
  at::Generator gen = RngStreams(5).torch_generator("test/targets");
  torch::Tensor t = torch::randint(0, kV, {kB, kT}, gen, torch::kInt64);
  t[0][1] = -100;
  t[2][4] = -100;
  t[1][0] = kV - 1;  // the last real id (next to the padding)
  t[1][1] = 0;
  return t;
}

// Relative bound: the split sums differ from the unsplit ones only in the
// order of summation over the vocabulary (per-rank partial sums, then an
// all-reduce), a few ulps of the result: 1e-12 in fp64 (well inside the 1e-6
// asked for), 1e-5 in fp32 (ulp 6e-8, sums of 37 terms).
double tol(torch::ScalarType dt) {
  return dt == torch::kFloat64 ? 1e-12 : 1e-5;
}

void expect_close(const torch::Tensor& got, const torch::Tensor& want, double rtol,
                  const std::string& what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  torch::Tensor g = got.to(torch::kFloat64), w = want.to(torch::kFloat64);
  double scale = std::max(1.0, w.abs().max().item<double>());
  double err = (g - w).abs().max().item<double>();
  EXPECT_LE(err, rtol * scale) << what << ": max |diff| " << err << " scale " << scale;
  EXPECT_FALSE(g.isnan().any().item<bool>()) << what;
}

class TpCrossEntropy : public ::testing::TestWithParam<torch::ScalarType> {};

TEST_P(TpCrossEntropy, LogprobsAndGradientsEqualUnsplit) {
  const auto dt = GetParam();
  Split s = tp_world();
  torch::Tensor full = full_logits(dt, 1), targets = targets_with_ignored();
  at::Generator gen = RngStreams(9).torch_generator("test/weights");
  torch::Tensor w = torch::randn({kB, kT}, gen, torch::TensorOptions().dtype(torch::kFloat64));

  // Reference: the unsplit log_softmax + gather in fp64, 0 at ignored targets.
  torch::Tensor ref_in = full.to(torch::kFloat64).detach().requires_grad_();
  torch::Tensor ignored = targets < 0;
  torch::Tensor ref_lp = torch::log_softmax(ref_in, -1)
                             .gather(-1, targets.clamp_min(0).unsqueeze(-1))
                             .squeeze(-1)
                             .masked_fill(ignored, 0.0);
  (ref_lp * w).sum().backward();
  torch::Tensor ref_lse_in = full.to(torch::kFloat64).detach().requires_grad_();
  torch::Tensor ref_lse = torch::logsumexp(ref_lse_in, -1);
  (ref_lse * w).sum().backward();

  int64_t start = 0;
  torch::Tensor local = slice_of(full, s.tp, &start).requires_grad_();
  torch::Tensor lp = tp_token_logprobs(local, targets, start, s.tp);
  EXPECT_EQ(lp.scalar_type(), dt == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32);
  expect_close(lp, ref_lp, tol(dt), "log-probs");
  EXPECT_TRUE(torch::equal(lp.masked_select(ignored), torch::zeros({2}, lp.options())));
  (lp * w.to(lp.scalar_type())).sum().backward();
  expect_close(gathered(local.grad(), s.tp), ref_in.grad(), tol(dt), "log-prob gradient");
  // Padding columns get no gradient.
  if (start + local.size(-1) > kV) {
    int64_t real = kV - start;
    EXPECT_EQ(local.grad().narrow(-1, real, local.size(-1) - real).abs().max().item<double>(), 0.0);
  }

  torch::Tensor local2 = slice_of(full, s.tp, &start).requires_grad_();
  torch::Tensor lse = tp_logsumexp(local2, s.tp);
  expect_close(lse, ref_lse, tol(dt), "logsumexp");
  (lse * w.to(lse.scalar_type())).sum().backward();
  expect_close(gathered(local2.grad(), s.tp), ref_lse_in.grad(), tol(dt), "logsumexp gradient");

  // The target logits themselves, summed over ranks.
  torch::Tensor tl = tp_target_logits(slice_of(full, s.tp, &start), targets, start, s.tp);
  torch::Tensor ref_tl = full.gather(-1, targets.clamp_min(0).unsqueeze(-1)).squeeze(-1);
  expect_close(tl, ref_tl.masked_fill(ignored, 0.0), 0.0, "target logits");
}

TEST_P(TpCrossEntropy, KlAndGradientsEqualUnsplit) {
  const auto dt = GetParam();
  Split s = tp_world();
  torch::Tensor p_full = full_logits(dt, 2), q_full = full_logits(dt, 3);
  at::Generator gen = RngStreams(10).torch_generator("test/weights");
  torch::Tensor w = torch::randn({kB, kT}, gen, torch::TensorOptions().dtype(torch::kFloat64));

  torch::Tensor rp = p_full.to(torch::kFloat64).detach().requires_grad_();
  torch::Tensor rq = q_full.to(torch::kFloat64).detach().requires_grad_();
  torch::Tensor lp = torch::log_softmax(rp, -1), lq = torch::log_softmax(rq, -1);
  torch::Tensor ref_kl = (lp.exp() * (lp - lq)).sum(-1);
  (ref_kl * w).sum().backward();

  int64_t start = 0;
  torch::Tensor p = slice_of(p_full, s.tp, &start).requires_grad_();
  torch::Tensor q = slice_of(q_full, s.tp, &start).requires_grad_();
  torch::Tensor kl = tp_token_kl(p, q, s.tp);
  expect_close(kl, ref_kl, tol(dt), "KL");
  EXPECT_GT(kl.min().item<double>(), 0.0);
  (kl * w.to(kl.scalar_type())).sum().backward();
  expect_close(gathered(p.grad(), s.tp), rp.grad(), tol(dt), "KL gradient wrt p");
  expect_close(gathered(q.grad(), s.tp), rq.grad(), tol(dt), "KL gradient wrt q");
  // KL(p ‖ p) = 0.
  torch::Tensor p2 = slice_of(p_full, s.tp, &start);
  EXPECT_LT(tp_token_kl(p2, p2, s.tp).abs().max().item<double>(), tol(dt));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, TpCrossEntropy,
                         ::testing::Values(torch::kFloat64, torch::kFloat32));

// At TP 1 the functions are the plain computation, bit for bit.
TEST(TpCrossEntropySingle, ExactlyLogSoftmaxGather) {
  torch::Tensor x = full_logits(torch::kFloat32, 4), t = targets_with_ignored();
  TpContext one;
  torch::Tensor want = torch::log_softmax(x, -1)
                           .gather(-1, t.clamp_min(0).unsqueeze(-1))
                           .squeeze(-1)
                           .masked_fill(t < 0, 0.0);
  EXPECT_TRUE(torch::equal(tp_token_logprobs(x, t, 0, one), want));
  torch::Tensor y = full_logits(torch::kFloat32, 6);
  torch::Tensor lp = torch::log_softmax(x, -1), lq = torch::log_softmax(y, -1);
  EXPECT_TRUE(torch::equal(tp_token_kl(x, y, one), (lp.exp() * (lp - lq)).sum(-1)));
  EXPECT_TRUE(torch::equal(tp_logsumexp(x, one), torch::logsumexp(x, -1)));
  // bf16 logits are upcast to fp32 (HF's loss does the same).
  EXPECT_EQ(tp_token_logprobs(x.to(torch::kBFloat16), t, 0, one).scalar_type(), torch::kFloat32);
}

// Through a real model: a tiny random Llama saved by rank 0 and loaded split
// over TP = world; the vocab-parallel log-probs of its local logits equal the
// unsplit model's log_softmax, and the gradient of the summed log-prob
// reaches a replicated parameter (the final norm) identically.
TEST(TpCrossEntropyModel, SplitModelLogprobsEqualUnsplit) {
  Split s = tp_world();
  const int world = s.tp.size;
  LlamaConfig c;
  c.vocab_size = kV;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 4;
  c.max_position_embeddings = 64;
  LlamaForCausalLM full(c);
  llama_init_random(full, 0.3, RngStreams(11).torch_generator("test/init"));
  std::string dir = "/tmp/relapse-tp-ce-test-" + std::to_string(world);
  if (Runtime::instance()->rank() == 0) hf_save(full, dir);
  MPI_Barrier(MPI_COMM_WORLD);
  HfLoadOptions lo;
  lo.tp = s.tp;
  auto split = hf_load(dir, lo);
  MPI_Barrier(MPI_COMM_WORLD);
  if (Runtime::instance()->rank() == 0) std::filesystem::remove_all(dir);

  torch::Tensor ids = torch::tensor({{1, 5, 36, 2, 17, 9}, {1, 30, 31, 4, 4, 8}}, torch::kInt64);
  torch::Tensor targets = ids.narrow(1, 1, 5).contiguous();
  torch::Tensor logits = full->forward(ids).narrow(1, 0, 5);
  torch::Tensor want = torch::log_softmax(logits, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
  want.sum().backward();

  torch::Tensor local = split->logits_local(split->forward_hidden(ids)).narrow(1, 0, 5);
  torch::Tensor got = tp_token_logprobs(local, targets, split->vocab_start(), s.tp);
  // fp32 model: TP also reorders the row-parallel sums; 1e-5 as the model's TP test.
  expect_close(got, want, 1e-5, "model log-probs");
  got.sum().backward();
  expect_close(split->model->norm->weight.grad(), full->model->norm->weight.grad(), 1e-5,
               "final norm gradient");
}

}  // namespace
