// tests/unlearn/test_saliency.cpp — SURE (relapse/unlearn/saliency.h): the
// percentile against numpy (fixtures/unlearn/saliency_percentile.json, made by
// tests/golden/make_saliency_fixtures.py), module and row masks against norms
// computed here with plain torch ops, masked weights bit-identical after
// training with weight decay, and the "as released" gradient
// 2·∇forget + α·∇retain.
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "relapse/core/stats.h"
#include "relapse/dist/communicator.h"
#include "relapse/unlearn/loops.h"
#include "relapse/unlearn/saliency.h"
#include "test_util.h"
#include "unlearn_test_util.h"

using namespace relapse;
using namespace relapse::unlearn;

namespace {

Chunks token_chunks(int n, int len, uint64_t seed) {
  auto eng = RngStreams(seed).std_engine("test/chunks");
  Chunks c(n, std::vector<int64_t>(len));
  for (auto& row : c) {
    row[0] = 1;
    for (int t = 1; t < len; ++t) row[t] = 3 + static_cast<int64_t>(eng() % 29);
  }
  return c;
}

// Token-mean NLL over all rows, written out with log_softmax/gather (no relapse loss code).
torch::Tensor plain_nll(model::LlamaForCausalLM& m, const Chunks& rows) {
  TokenBatch b = batch_from_chunks(rows);
  torch::Tensor logits = lm_forward(m, b).to(torch::kFloat64);
  torch::Tensor lp = torch::log_softmax(logits.slice(1, 0, -1), -1);
  torch::Tensor labels = b.input_ids.slice(1, 1);
  return -lp.gather(-1, labels.unsqueeze(-1)).squeeze(-1).mean();
}

std::vector<torch::Tensor> params_of(model::LlamaForCausalLM& m) {
  return trainable_parameters(*m);
}

std::vector<torch::Tensor> grads_of(const torch::Tensor& loss, std::vector<torch::Tensor> ps) {
  return torch::autograd::grad({loss}, ps, {}, false, false, true);
}

std::vector<torch::Tensor> snapshot(model::LlamaForCausalLM& m) {
  std::vector<torch::Tensor> out;
  for (const auto& p : params_of(m)) out.push_back(p.detach().clone());
  return out;
}

// torch::quantile's "linear" interpolation is numpy's linear method.
double torch_percentile(const std::vector<double>& v, double q) {
  return torch::quantile(torch::tensor(v, torch::kFloat64), q / 100.0).item<double>();
}

// No norm within a relative 1e-9 of the threshold: otherwise the reference
// (different summation order) could legitimately disagree on that entry.
void expect_clear_of(const std::vector<double>& norms, double gamma) {
  for (double n : norms) ASSERT_GT(std::abs(n - gamma), 1e-9 * std::abs(gamma)) << n;
}

LoopOptions sure_options(SaliencyMode mode, double percentile, int batch, int64_t steps) {
  LoopOptions o;
  o.train.schedule.base_lr = 5e-2;
  o.train.adamw.weight_decay = 0.1;
  o.train.max_grad_norm = 1.0;
  o.batch_size = batch;
  o.epochs = 100;
  o.max_steps = steps;
  o.seed = 11;
  o.saliency.mode = mode;
  o.saliency.percentile = percentile;
  return o;
}

}  // namespace

// Same operations as numpy in the same order, in IEEE double: the result is
// bit for bit numpy's (the 1e-15 relative bound only allows for the last ULP
// should a platform's libm floor differ, which it should not).
TEST(Saliency, PercentileMatchesNumpy) {
  auto j = nlohmann::json::parse(
      test::read_file(test::fixture_path("unlearn/saliency_percentile.json")));
  int checked = 0;
  for (const auto& c : j["cases"]) {
    std::vector<double> v = j["vectors"][c["name"].get<std::string>()].get<std::vector<double>>();
    const double q = c["q"].get<double>(), want = c["value"].get<double>();
    const double got = np_percentile_linear(v, q);
    EXPECT_LE(std::abs(got - want), 1e-15 * std::abs(want))
        << c["name"] << " q=" << q << " got " << got << " want " << want;
    ++checked;
  }
  EXPECT_GE(checked, 100);
  // A NaN norm (a diverged gradient) is an error naming it, not a silent
  // "select nothing".
  test::expect_error(
      [] {
        np_percentile_linear({1.0, std::nan(""), 2.0}, 50);
      },
      ExitCode::kInput, {"NaN"});
  test::expect_error([] { np_percentile_linear({}, 50); }, ExitCode::kInput, {"empty"});
  test::expect_error([] { np_percentile_linear({1.0}, 100.5); }, ExitCode::kInput, {"[0, 100]"});
}

TEST(Saliency, NamesAndValidation) {
  for (auto m :
       {SaliencyMode::kNone, SaliencyMode::kModule, SaliencyMode::kRow, SaliencyMode::kReleased})
    EXPECT_EQ(saliency_mode_from_name(saliency_mode_name(m)), m);
  EXPECT_EQ(saliency_mode_from_name("ROW"), SaliencyMode::kRow);
  test::expect_error([] { saliency_mode_from_name("rows"); }, ExitCode::kConfig,
                     {"unlearn.sure", "rows"});
  SaliencyConfig c;
  c.percentile = 101;
  test::expect_error([&] { saliency_config_validate(c); }, ExitCode::kConfig, {"percentile"});
  c.percentile = 90;
  c.gamma = std::numeric_limits<double>::infinity();
  test::expect_error([&] { saliency_config_validate(c); }, ExitCode::kConfig, {"gamma"});
  auto m = unlearn::testing::tiny_model(torch::kFloat64, 1);
  LoopOptions o = sure_options(SaliencyMode::kRow, 90, 2, 1);
  test::expect_error([&] { lm_train(m, token_chunks(4, 6, 1), o); }, ExitCode::kConfig, {"SURE"});
}

// Module mode: the parameters selected are exactly those whose forget-term
// gradient over the whole forget set, at the original weights, has a
// Frobenius norm >= the P50 of those norms; the others are bit-identical after
// 4 updates with weight decay, the selected ones moved.
TEST(Saliency, ModuleMaskAndFrozenParameters) {
  const Chunks forget = token_chunks(6, 8, 2), retain = token_chunks(4, 8, 3);
  auto m = unlearn::testing::tiny_model(torch::kFloat64, 3);
  const auto before = snapshot(m);
  // Reference: one batch of all 6 rows (the pass runs batches of 4 and 2).
  std::vector<double> norms;
  for (const auto& g : grads_of(-plain_nll(m, forget), params_of(m)))
    norms.push_back(g.defined() ? g.norm().item<double>() : 0.0);
  const double gamma = torch_percentile(norms, 50);
  expect_clear_of(norms, gamma);

  UnlearnLossConfig lc;
  lc.objective = Objective::kGA_GDR;
  LoopResult r =
      unlearn_train(m, nullptr, forget, retain, lc, sure_options(SaliencyMode::kModule, 50, 4, 4));
  ASSERT_EQ(r.steps, 4);
  const SaliencyMask& mk = r.mask;
  EXPECT_EQ(mk.mode, SaliencyMode::kModule);
  EXPECT_EQ(mk.steps, 4);
  ASSERT_EQ(mk.names.size(), norms.size());
  ASSERT_EQ(mk.thresholds.size(), 1u);
  EXPECT_NEAR(mk.thresholds[0], gamma, 1e-12 * gamma);
  EXPECT_EQ(mk.names[0], m->named_parameters().begin()->key());
  const auto after = params_of(m);
  int selected = 0;
  for (size_t i = 0; i < norms.size(); ++i) {
    const bool want = norms[i] >= gamma;
    selected += want;
    for (int32_t s : mk.selected_steps[i]) EXPECT_EQ(s, want ? 4 : 0) << mk.names[i];
    if (want) {
      EXPECT_GT((after[i] - before[i]).abs().max().item<double>(), 1e-4) << mk.names[i];
    } else {
      EXPECT_TRUE(torch::equal(after[i], before[i])) << mk.names[i] << " moved";
    }
  }
  EXPECT_GT(selected, 0);
  EXPECT_LT(selected, (int)norms.size());
}

// unlearn.sure.modules: only parameters whose names contain a fragment are
// candidates; the percentile is taken over their norms alone, the others are
// never selected and stay bit-identical (here: the MLP projections only).
TEST(Saliency, ModuleCandidatesRestrictTheSelection) {
  const Chunks forget = token_chunks(6, 8, 2), retain = token_chunks(4, 8, 3);
  auto m = unlearn::testing::tiny_model(torch::kFloat64, 3);
  const auto before = snapshot(m);
  std::vector<std::string> names;
  for (const auto& kv : m->named_parameters()) names.push_back(kv.key());
  std::vector<double> norms, pool;
  for (const auto& g : grads_of(-plain_nll(m, forget), params_of(m)))
    norms.push_back(g.defined() ? g.norm().item<double>() : 0.0);
  auto is_mlp = [](const std::string& n) { return n.find("mlp") != std::string::npos; };
  for (size_t i = 0; i < names.size(); ++i)
    if (is_mlp(names[i])) pool.push_back(norms[i]);
  ASSERT_GE(pool.size(), 3u);
  const double gamma = torch_percentile(pool, 45);  // between two norms
  expect_clear_of(pool, gamma);
  UnlearnLossConfig lc;
  lc.objective = Objective::kGA_GDR;
  LoopOptions o = sure_options(SaliencyMode::kModule, 45, 4, 2);
  o.saliency.modules = {"mlp"};
  LoopResult r = unlearn_train(m, nullptr, forget, retain, lc, o);
  ASSERT_EQ(r.mask.thresholds.size(), 1u);
  EXPECT_NEAR(r.mask.thresholds[0], gamma, 1e-12 * gamma);
  const auto after = params_of(m);
  int selected = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    const bool want = is_mlp(names[i]) && norms[i] >= gamma;
    selected += want;
    EXPECT_EQ(r.mask.selected_steps[i][0], want ? 2 : 0) << names[i];
    if (!want) {
      EXPECT_TRUE(torch::equal(after[i], before[i])) << names[i] << " moved";
    }
  }
  EXPECT_GT(selected, 0);
  o.saliency.modules = {"no_such_module"};
  auto m2 = unlearn::testing::tiny_model(torch::kFloat64, 3);
  test::expect_error([&] { unlearn_train(m2, nullptr, forget, retain, lc, o); }, ExitCode::kConfig,
                     {"unlearn.sure.modules"});
}

// Row mode, one update over the whole set: each row is selected iff its
// forget-gradient row norm (|g| for 1-D parameters) >= the P90 of all rows;
// unselected rows bit-identical, selected ones moved.
TEST(Saliency, RowMaskOneStep) {
  const Chunks forget = token_chunks(4, 8, 4), retain = token_chunks(4, 8, 5);
  auto m = unlearn::testing::tiny_model(torch::kFloat64, 4);
  auto ref = reference_model_copy(m);
  const auto before = snapshot(m);
  // NPO (published) forget term at θ = ref: −(2/β)·mean log σ(−β(lp − lp_ref))
  // has the gradient 2σ(0)·∇ mean_rows lp = ∇ mean_rows lp (lp: a row's summed
  // log-prob); the sign does not matter for norms.
  TokenBatch b = batch_from_chunks(forget);
  torch::Tensor lp = torch::log_softmax(lm_forward(m, b).slice(1, 0, -1), -1)
                         .gather(-1, b.input_ids.slice(1, 1).unsqueeze(-1))
                         .squeeze(-1)
                         .sum(1);
  std::vector<torch::Tensor> rn;
  std::vector<double> all;
  for (const auto& g : grads_of(-lp.mean(), params_of(m))) {
    torch::Tensor n = g.dim() == 1 ? g.abs() : (g * g).reshape({g.size(0), -1}).sum(1).sqrt();
    rn.push_back(n);
    for (int64_t k = 0; k < n.numel(); ++k) all.push_back(n[k].item<double>());
  }
  const double gamma = torch_percentile(all, 90);
  expect_clear_of(all, gamma);

  UnlearnLossConfig lc;
  lc.objective = Objective::kNPO_KLR;
  LoopResult r =
      unlearn_train(m, &ref, forget, retain, lc, sure_options(SaliencyMode::kRow, 90, 4, 1));
  ASSERT_EQ(r.mask.thresholds.size(), 1u);
  EXPECT_NEAR(r.mask.thresholds[0], gamma, 1e-12 * gamma);
  const auto after = params_of(m);
  int64_t selected = 0;
  for (size_t i = 0; i < rn.size(); ++i) {
    for (int64_t k = 0; k < rn[i].numel(); ++k) {
      const bool want = rn[i][k].item<double>() >= gamma;
      selected += want;
      EXPECT_EQ(r.mask.selected_steps[i][k], want ? 1 : 0) << r.mask.names[i] << " row " << k;
      if (want) {
        EXPECT_FALSE(torch::equal(after[i][k], before[i][k])) << r.mask.names[i] << " " << k;
      } else {
        EXPECT_TRUE(torch::equal(after[i][k], before[i][k])) << r.mask.names[i] << " " << k;
      }
    }
  }
  ASSERT_EQ(r.mask.selected_rows.size(), 1u);
  EXPECT_EQ(r.mask.selected_rows[0], selected);
  EXPECT_GT(selected, 0);
}

// Row mode over 6 updates of 2 rows (the mask changes between updates): rows
// never selected are bit-identical at the end, despite weight decay and AdamW.
TEST(Saliency, RowMaskNeverSelectedRowsFrozen) {
  const Chunks forget = token_chunks(6, 8, 6), retain = token_chunks(3, 8, 7);
  auto m = unlearn::testing::tiny_model(torch::kFloat64, 5);
  const auto before = snapshot(m);
  UnlearnLossConfig lc;
  lc.objective = Objective::kGA_GDR;
  lc.alpha = 0.5;
  LoopOptions o = sure_options(SaliencyMode::kRow, 80, 2, 6);
  o.train.micro_batches = 2;
  LoopResult r = unlearn_train(m, nullptr, forget, retain, lc, o);
  ASSERT_EQ(r.mask.steps, 6);
  ASSERT_EQ(r.mask.thresholds.size(), 6u);
  const auto after = params_of(m);
  int64_t frozen = 0, partly = 0;
  for (size_t i = 0; i < after.size(); ++i) {
    for (size_t k = 0; k < r.mask.selected_steps[i].size(); ++k) {
      const int32_t s = r.mask.selected_steps[i][k];
      if (s == 0) {
        ++frozen;
        EXPECT_TRUE(torch::equal(after[i][k], before[i][k])) << r.mask.names[i] << " " << k;
      } else {
        EXPECT_FALSE(torch::equal(after[i][k], before[i][k])) << r.mask.names[i] << " " << k;
        partly += s < 6;
      }
    }
  }
  EXPECT_GT(frozen, 0);
  EXPECT_GT(partly, 0);  // the mask did change between updates
}

// The trainer with masks that change every step, weight decay and momentum:
// at each step the masked rows (including rows selected at an earlier step,
// whose moments are non-zero) do not change bit for bit; a full mask is the
// unmasked update bit for bit; at step 1 the selected rows get exactly the
// unmasked AdamW update.
TEST(Saliency, TrainerMaskedRowsDoNotMove) {
  auto make = [] {
    auto w = torch::linspace(-1, 1, 12, torch::kFloat64).reshape({4, 3}).requires_grad_();
    auto v = torch::linspace(0.5, 2, 4, torch::kFloat64).requires_grad_();
    return std::vector<torch::Tensor>{w, v};
  };
  TrainConfig tc;
  tc.schedule.base_lr = 0.1;
  tc.adamw.weight_decay = 0.2;
  tc.max_grad_norm = 0;
  auto loss = [](const std::vector<torch::Tensor>& ps) {
    return [ps](int64_t step, int64_t) {
      const double s = 1.0 + 0.3 * static_cast<double>(step);
      return MicroLoss{(ps[0] * ps[0] * s).sum() + (ps[1].pow(3) * s).sum() + ps[0].sum() * 0.1};
    };
  };
  // Row masks per step: w rows {0,1}, {1,2}, {3}, {}, {0,3}; v elements alternate.
  const std::vector<std::vector<bool>> w_rows = {
      {1, 1, 0, 0}, {0, 1, 1, 0}, {0, 0, 0, 1}, {0, 0, 0, 0}, {1, 0, 0, 1}};
  const std::vector<std::vector<bool>> v_rows = {
      {1, 0, 1, 0}, {0, 1, 0, 1}, {1, 1, 1, 1}, {0, 0, 0, 1}, {0, 0, 0, 0}};
  auto to_mask = [](const std::vector<bool>& r, std::vector<int64_t> shape) {
    std::vector<int64_t> bits(r.begin(), r.end());
    return torch::tensor(bits).to(torch::kBool).reshape(shape);
  };
  auto ps = make();
  int64_t step = 0;
  TrainConfig masked = tc;
  masked.update_mask = [&](const std::vector<torch::Tensor>&) {
    return std::vector<torch::Tensor>{to_mask(w_rows[step], {4, 1}), to_mask(v_rows[step], {4})};
  };
  Trainer t(ps, masked);
  auto plain_ps = make();
  Trainer plain(plain_ps, tc);
  for (step = 0; step < 5; ++step) {
    auto w0 = ps[0].detach().clone(), v0 = ps[1].detach().clone();
    auto mw0 = t.optimizer().exp_avg(0).clone(), sw0 = t.optimizer().exp_avg_sq(0).clone();
    t.step(loss(ps));
    // The moments of masked rows are frozen too (not decayed with a zero gradient).
    for (int64_t k = 0; k < 4; ++k) {
      if (w_rows[step][k]) continue;
      EXPECT_TRUE(torch::equal(t.optimizer().exp_avg(0)[k], mw0[k])) << "step " << step;
      EXPECT_TRUE(torch::equal(t.optimizer().exp_avg_sq(0)[k], sw0[k])) << "step " << step;
    }
    if (step == 0) plain.step(loss(plain_ps));
    for (int64_t k = 0; k < 4; ++k) {
      EXPECT_EQ(torch::equal(ps[0][k], w0[k]), !w_rows[step][k]) << "step " << step << " w " << k;
      EXPECT_EQ(torch::equal(ps[1][k], v0[k]), !v_rows[step][k]) << "step " << step << " v " << k;
      if (step == 0 && w_rows[0][k]) {
        EXPECT_TRUE(torch::equal(ps[0][k], plain_ps[0][k])) << "w " << k;
      }
      if (step == 0 && v_rows[0][k]) {
        EXPECT_TRUE(torch::equal(ps[1][k], plain_ps[1][k])) << "v " << k;
      }
    }
  }
  // Step counts: v had something selected at steps 0-3, w at 0-2 and 4.
  EXPECT_EQ(t.optimizer().steps(0), 4);
  EXPECT_EQ(t.optimizer().steps(1), 4);

  // All-true masks change nothing.
  auto a = make(), b = make();
  TrainConfig full = tc;
  full.update_mask = [](const std::vector<torch::Tensor>&) {
    return std::vector<torch::Tensor>{torch::ones({4, 1}, torch::kBool),
                                      torch::ones({4}, torch::kBool)};
  };
  Trainer ta(a, full), tb(b, tc);
  for (int i = 0; i < 3; ++i) {
    ta.step(loss(a));
    tb.step(loss(b));
  }
  EXPECT_TRUE(torch::equal(a[0], b[0]));
  EXPECT_TRUE(torch::equal(a[1], b[1]));
}

// "As released": with no clipping and lr 0, the gradient left on the
// parameters after one update equals 2·∇forget + α·∇retain computed here
// separately (plain NLLs). fp64; the only differences are the order in which
// the parts are added (1e-12 relative to the largest entry is ~1e4 ULPs of
// headroom).
TEST(Saliency, ReleasedGradientCountsForgetTwice) {
  const Chunks forget = token_chunks(4, 8, 8), retain = token_chunks(4, 8, 9);
  for (int micro : {1, 2}) {
    auto m = unlearn::testing::tiny_model(torch::kFloat64, 6);
    UnlearnLossConfig lc;
    lc.objective = Objective::kGA_GDR;
    lc.alpha = 0.7;
    LoopOptions o = sure_options(SaliencyMode::kReleased, 90, 4, 1);
    o.train.schedule.base_lr = 0;
    o.train.max_grad_norm = 0;
    o.train.micro_batches = micro;
    LoopResult r = unlearn_train(m, nullptr, forget, retain, lc, o);
    EXPECT_EQ(r.mask.mode, SaliencyMode::kReleased);
    EXPECT_EQ(r.mask.steps, 1);
    EXPECT_TRUE(r.mask.names.empty());
    // The curve keeps the objective itself: forget + α·retain.
    EXPECT_NEAR(r.curve[0].loss, r.curve[0].forget_term + 0.7 * r.curve[0].retain_term, 1e-12);
    const auto ps = params_of(m);
    const auto gf = grads_of(-plain_nll(m, forget), ps);
    // ∇ of the weighted term α·NLL(retain), not α·∇NLL(retain): libtorch's
    // backward of tensor·double differs from scaling the gradient afterwards by
    // ~1e-7 relative in fp64 (measured 2e-8 absolute here), far above the
    // 1e-12 bound; the objective is defined as the weighted term.
    const auto gr = grads_of(plain_nll(m, retain) * 0.7, ps);
    for (size_t i = 0; i < ps.size(); ++i) {
      torch::Tensor want = 2 * gf[i] + gr[i];
      ASSERT_TRUE(ps[i].grad().defined());
      const double scale = want.abs().max().item<double>();
      EXPECT_LE((ps[i].grad() - want).abs().max().item<double>(), 1e-12 * scale)
          << "micro " << micro << " param " << i;
      // and it is not the plain objective's gradient
      EXPECT_GT((ps[i].grad() - (gf[i] + gr[i])).abs().max().item<double>(), 1e-6 * scale);
    }
  }
}

// Data parallel (meaningful under mpiexec -n 2; at one rank it runs
// trivially): the forget gradients are summed over the ranks before the
// norms, so module and row masks equal the single-rank ones and so do the
// weights (fp64: only the order of the ranks' partial sums differs).
TEST(Saliency, DataParallelSameMasks) {
  const Chunks forget = token_chunks(6, 8, 12), retain = token_chunks(4, 8, 13);
  auto comm = comm_mpi_create(MPI_COMM_WORLD);
  for (SaliencyMode mode : {SaliencyMode::kModule, SaliencyMode::kRow, SaliencyMode::kReleased}) {
    UnlearnLossConfig lc;
    lc.objective = Objective::kNPO_GDR;
    LoopOptions o = sure_options(mode, 75, 4, 3);
    auto a = unlearn::testing::tiny_model(torch::kFloat64, 9);
    auto ra = reference_model_copy(a);
    LoopResult r1 = unlearn_train(a, &ra, forget, retain, lc, o);
    auto b = unlearn::testing::tiny_model(torch::kFloat64, 9);
    auto rb = reference_model_copy(b);
    LoopResult r2 = unlearn_train(b, &rb, forget, retain, lc, o, comm.get());
    EXPECT_EQ(r1.mask.selected_steps, r2.mask.selected_steps) << saliency_mode_name(mode);
    EXPECT_EQ(r1.mask.steps, r2.mask.steps);
    const auto pa = params_of(a), pb = params_of(b);
    for (size_t i = 0; i < pa.size(); ++i)
      EXPECT_LT((pa[i] - pb[i]).abs().max().item<double>(), 1e-10) << saliency_mode_name(mode);
  }
}
