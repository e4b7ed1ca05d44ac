// tests/unlearn/test_unlearn_trainer.cpp — AdamW, LR schedules and clipping
// against PyTorch + transformers (fixtures/unlearn/optim.json), bf16 rounding
// of sub-ULP updates, the Trainer's accumulation and loss curve, and batching.
#include <cmath>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "relapse/unlearn/losses.h"
#include "relapse/unlearn/trainer.h"
#include "test_util.h"
#include "unlearn_test_util.h"

namespace ul = relapse::unlearn;
namespace ut = relapse::unlearn::testing;
using relapse::ExitCode;

namespace {

ExitCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const relapse::Error& e) {
    return e.code();
  }
  return ExitCode::kOk;
}

torch::Tensor vec(const nlohmann::json& j) {
  return torch::tensor(j.get<std::vector<double>>(), torch::kFloat64);
}

}  // namespace

// The whole update pipeline in fp64 — clip, schedule, AdamW with decoupled
// weight decay — step by step against torch.optim.AdamW (foreach=False; the
// generator asserts foreach=True agrees to 1e-12) under transformers'
// LambdaLR schedules. Same formula in the same op order in fp64: the
// tolerance 1e-9 absolute (params are O(1)) leaves room only for rounding.
TEST(UnlearnTrainer, AdamWScheduleClipMatchPyTorch) {
  auto j = nlohmann::json::parse(
      relapse::test::read_file(relapse::test::fixture_path("unlearn/optim.json")));
  for (const auto& c : j["cases"]) {
    torch::Tensor p = vec(c["init"]).set_requires_grad(true);
    ul::AdamW opt({p}, ul::AdamWOptions{c["beta1"], c["beta2"], c["eps"], c["weight_decay"]});
    ul::LrSchedule sched{ul::lr_schedule_from_name(c["schedule"]), c["lr"], c["warmup"],
                         c["total"]};
    const std::string what =
        std::string(c["schedule"]) + " wd " + std::to_string(double(c["weight_decay"]));
    for (int64_t k = 0; k < int64_t(c["total"]); ++k) {
      p.mutable_grad() = vec(c["grads"][k]);
      double norm = ul::clip_grad_norm({p}, c["max_norm"]);
      EXPECT_NEAR(norm, double(c["grad_norms"][k]), 1e-12) << what << " step " << k;
      EXPECT_NEAR(sched.lr(k), double(c["lrs"][k]), 1e-15) << what << " step " << k;
      opt.step(sched.lr(k));
      torch::Tensor want = vec(c["params"][k]);
      EXPECT_LT((p.detach() - want).abs().max().item<double>(), 1e-9) << what << " step " << k;
    }
    EXPECT_EQ(opt.steps(0), int64_t(c["total"]));
  }
  const auto& f = j["factors_warmup3_total10"];
  ul::LrSchedule cos{ul::LrScheduleKind::kCosine, 1.0, 3, 10},
      cst{ul::LrScheduleKind::kConstant, 1.0, 3, 0};
  for (int64_t k = 0; k < 12; ++k) {
    EXPECT_NEAR(cos.factor(k), double(f["cosine"][k]), 1e-15) << k;
    EXPECT_NEAR(cst.factor(k), double(f["constant"][k]), 1e-15) << k;
  }
  EXPECT_EQ(code_of([] { ul::lr_schedule_from_name("linear"); }), ExitCode::kConfig);
}

TEST(UnlearnTrainer, ClipGradNorm) {
  torch::Tensor a = torch::zeros({2}, torch::kFloat64).set_requires_grad(true);
  torch::Tensor b = torch::zeros({1}, torch::kFloat64).set_requires_grad(true);
  torch::Tensor c = torch::zeros({3}, torch::kFloat64).set_requires_grad(true);  // no grad: skipped
  auto set = [&] {
    a.mutable_grad() = torch::tensor({3.0, 0.0}, torch::kFloat64);
    b.mutable_grad() = torch::tensor({4.0}, torch::kFloat64);
  };
  set();
  EXPECT_DOUBLE_EQ(ul::clip_grad_norm({a, b, c}, 1.0), 5.0);
  // PyTorch scales by max_norm / (norm + 1e-6).
  double s = 1.0 / (5.0 + 1e-6);
  EXPECT_NEAR(a.grad()[0].item<double>(), 3.0 * s, 1e-15);
  EXPECT_NEAR(b.grad()[0].item<double>(), 4.0 * s, 1e-15);
  for (double off : {10.0, 0.0, -1.0}) {  // above the norm, or disabled: untouched
    set();
    EXPECT_DOUBLE_EQ(ul::clip_grad_norm({a, b, c}, off), 5.0);
    EXPECT_EQ(a.grad()[0].item<double>(), 3.0);
    EXPECT_EQ(b.grad()[0].item<double>(), 4.0);
  }
}

// Pure bf16: the parameter and the AdamW state are bf16 and every op rounds to
// bf16. At step 1 Adam's update is lr·g/(|g| + ε) ≈ lr. For a weight of 1.0
// (ULP 2^-7 above, 2^-8 below) any change smaller than 2^-9 rounds back to
// 1.0; a weight of 2^-10 moves. Positive controls: the same step in fp32 moves
// 1.0, and a step of 2^-7 moves it in bf16.
TEST(UnlearnTrainer, Bf16RoundsSubUlpUpdatesAway) {
  auto run = [](torch::ScalarType dt, double lr, double wd) {
    torch::Tensor p =
        torch::tensor({1.0, -1.0, 0.0009765625}, torch::kFloat32).to(dt).set_requires_grad(true);
    ul::AdamW opt({p}, ul::AdamWOptions{0.9, 0.999, 1e-8, wd});
    for (int k = 0; k < 3; ++k) {
      p.mutable_grad() = torch::tensor({1.0, -1.0, 1.0}, torch::kFloat32).to(dt);
      opt.step(lr);
    }
    EXPECT_EQ(opt.exp_avg(0).scalar_type(), dt);
    EXPECT_EQ(opt.exp_avg_sq(0).scalar_type(), dt);
    return p.detach().to(torch::kFloat64);
  };
  const double lr = std::ldexp(1.0, -10);  // < 2^-9
  torch::Tensor bf = run(torch::kBFloat16, lr, 0.01);
  EXPECT_EQ(bf[0].item<double>(), 1.0);  // 3 updates of ~2^-10 each: each rounded away
  EXPECT_EQ(bf[1].item<double>(), -1.0);
  EXPECT_LT(bf[2].item<double>(), 0.0009765625 * 0.5);  // a small weight moves (to ~-2^-11)
  torch::Tensor f32 = run(torch::kFloat32, lr, 0.01);
  EXPECT_LT(f32[0].item<double>(), 1.0 - 2 * lr);  // fp32 accumulates the three steps
  torch::Tensor big = run(torch::kBFloat16, std::ldexp(1.0, -7), 0.0);
  EXPECT_LT(big[0].item<double>(), 1.0);
  EXPECT_GT(big[1].item<double>(), -1.0);
}

// Master weights: a bf16 parameter's fp32 master copy follows exactly the
// fp32 AdamW run on an fp32 copy of the parameter fed the same (widened)
// gradients — with weight decay and an update mask — and the parameter is
// that copy rounded to bf16 after every step; the moments are fp32. The
// sub-ULP steps that pure bf16 rounds away (above) accumulate: 1.0 moves.
TEST(UnlearnTrainer, MasterWeightsAreFp32AdamWRounded) {
  const ul::AdamWOptions o{0.9, 0.999, 1e-8, 0.01, /*master_weights=*/true};
  torch::Tensor init = torch::tensor({1.0, -1.0, 0.0009765625, 0.3, -2.5}, torch::kFloat32);
  torch::Tensor p = init.to(torch::kBFloat16).set_requires_grad(true);
  torch::Tensor ref = init.to(torch::kBFloat16).to(torch::kFloat32).set_requires_grad(true);
  ul::AdamW mixed({p}, o);
  ul::AdamWOptions plain = o;
  plain.master_weights = false;
  ul::AdamW fp32({ref}, plain);
  const std::vector<torch::Tensor> mask{torch::tensor({true, true, true, false, true})};
  const double lr = std::ldexp(1.0, -10);  // < 2^-9: rounded away in pure bf16
  for (int k = 0; k < 6; ++k) {
    torch::Tensor g = torch::tensor({1.0, -1.0, 1.0, 0.5, -0.25 * k}).to(torch::kBFloat16);
    p.mutable_grad() = g;
    ref.mutable_grad() = g.to(torch::kFloat32);
    mixed.step(lr, k % 2 ? &mask : nullptr);
    fp32.step(lr, k % 2 ? &mask : nullptr);
    EXPECT_TRUE(torch::equal(mixed.master(0), ref.detach())) << "step " << k;
    EXPECT_TRUE(torch::equal(p.detach(), ref.detach().to(torch::kBFloat16))) << "step " << k;
  }
  EXPECT_EQ(mixed.exp_avg(0).scalar_type(), torch::kFloat32);
  EXPECT_EQ(mixed.exp_avg_sq(0).scalar_type(), torch::kFloat32);
  EXPECT_LT(mixed.master(0)[0].item<double>(), 1.0 - 5 * lr);  // the steps accumulated
  // fp32 parameters are their own master: no copy is made.
  torch::Tensor q = torch::zeros({2}).set_requires_grad(true);
  EXPECT_FALSE(ul::AdamW({q}, o).master(0).defined());
}

// A Trainer with 2 micro-batches (the full batch's normalisers) makes the same
// update as one with the full batch. fp64 model: the gradients agree to ~1e-12
// (see test_unlearn_gradients); Adam's first step is ≈ lr·sign(g) except where
// |g| ≲ ε, so the parameters agree to ~lr·1e-6 at worst. Also: the loss curve.
TEST(UnlearnTrainer, AccumulationStepAndCurve) {
  auto F = ut::forget_batch(), R = ut::retain_batch();
  ul::UnlearnLossConfig cfg{ul::Objective::kNPO_GDR, ul::LossVariant::kPublished, 0.5, 0.1, {}};
  auto make = [&](int64_t micro) {
    auto model = ut::tiny_model(torch::kFloat64, 41);
    auto ref = ul::reference_model_copy(model);
    ul::TrainConfig tc;
    tc.schedule = ul::LrSchedule{ul::LrScheduleKind::kCosine, 1e-3, 1, 4};
    tc.micro_batches = micro;
    tc.max_grad_norm = 1.0;
    ul::Trainer t(ul::trainable_parameters(*model), tc);
    auto norm = ul::loss_normalizer(F, R, model->config().vocab_size);
    auto fs = ul::batch_split(F, micro), rs = ul::batch_split(R, micro);
    auto fn = [&, fs, rs, norm](int64_t, int64_t m) {
      auto p = ul::unlearn_loss(model, &ref, fs[m], rs[m], cfg, &norm);
      return ul::MicroLoss{p.total, p.forget_term, p.retain_term};
    };
    int64_t seen = 0;
    int64_t ran = ul::train_loop(t, 4, fn, [&](const ul::StepStats& s) {
      EXPECT_EQ(s.step, ++seen);
      return true;
    });
    EXPECT_EQ(ran, 4);
    return std::make_pair(model, t.curve());
  };
  auto [m1, c1] = make(1);
  auto [m2, c2] = make(2);
  ASSERT_EQ(c1.size(), 4u);
  ASSERT_EQ(c2.size(), 4u);
  EXPECT_EQ(c1[0].lr, 0.0);  // warmup: the first update runs at factor 0
  EXPECT_NEAR(c1[0].loss, 20 * std::log(2.0) + 0.5 * c1[0].retain_term, 1e-9);
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_NEAR(c2[k].loss, c1[k].loss, 1e-9 * std::abs(c1[k].loss)) << k;
    EXPECT_NEAR(c2[k].grad_norm, c1[k].grad_norm, 1e-9 * c1[k].grad_norm) << k;
    EXPECT_NEAR(c2[k].forget_term + 0.5 * c2[k].retain_term, c2[k].loss, 1e-9);
    EXPECT_DOUBLE_EQ(c2[k].lr, c1[k].lr);
  }
  EXPECT_LT(c1[3].forget_term, c1[0].forget_term);  // NPO descends
  auto p1 = m1->parameters(), p2 = m2->parameters();
  for (size_t i = 0; i < p1.size(); ++i) {
    EXPECT_LT((p1[i] - p2[i]).abs().max().item<double>(), 1e-8) << i;
  }
  // An early stop from the callback.
  auto model = ut::tiny_model(torch::kFloat32, 42);
  ul::Trainer t(ul::trainable_parameters(*model), ul::TrainConfig{});
  auto fn = [&](int64_t, int64_t) {
    return ul::MicroLoss{ul::causal_lm_loss(ul::lm_forward(model, R), R)};
  };
  EXPECT_EQ(ul::train_loop(t, 10, fn, [](const ul::StepStats& s) { return s.step < 3; }), 3);
  EXPECT_EQ(t.updates(), 3);
}

// Plain LM training (the `train` stage's loss) lowers the NLL of a batch.
TEST(UnlearnTrainer, FitsABatch) {
  auto model = ut::tiny_model(torch::kFloat32, 43);
  auto R = ut::retain_batch();
  ul::TrainConfig tc;
  tc.schedule.base_lr = 1e-2;
  ul::Trainer t(ul::trainable_parameters(*model), tc);
  ul::train_loop(t, 30, [&](int64_t, int64_t) {
    return ul::MicroLoss{ul::causal_lm_loss(ul::lm_forward(model, R), R)};
  });
  EXPECT_LT(t.curve().back().loss, 0.5 * t.curve().front().loss);
}

TEST(UnlearnBatch, ChunksSplitsAndPairing) {
  std::vector<std::vector<int64_t>> chunks{{1, 2, 3}, {1, 4, 5}, {1, 6, 7}};
  auto b = ul::batch_from_rows(chunks, {2, 0});
  EXPECT_EQ(b.input_ids[0][1].item<int64_t>(), 6);
  EXPECT_EQ(b.attention_mask.sum().item<int64_t>(), 6);
  EXPECT_EQ(code_of([] {
              ul::batch_from_chunks({{1, 2, 3}, {1, 2}}, std::string("forget.txt chunks"));
            }),
            ExitCode::kInput);
  EXPECT_EQ(code_of([] { ul::batch_from_chunks({}, std::string("forget.txt chunks")); }),
            ExitCode::kInput);
  EXPECT_EQ(code_of([&] { ul::batch_from_rows(chunks, {3}); }), ExitCode::kInput);
  auto s = ul::batch_from_sequences({{1, 2}, {1, 2, 3, 4}}, 0);
  EXPECT_EQ(s.attention_mask.sum().item<int64_t>(), 6);
  EXPECT_EQ(ul::label_count(s), 1 + 3);
  auto parts = ul::batch_split(ul::batch_from_chunks({{1, 2}, {1, 2}, {1, 2}, {1, 2}, {1, 2}}), 2);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].size(), 3);
  EXPECT_EQ(parts[1].size(), 2);
  auto seq = ul::epoch_batches(5, 2);
  ASSERT_EQ(seq.size(), 3u);
  EXPECT_EQ(seq[2], std::vector<int64_t>{4});
  at::Generator gen = relapse::RngStreams(7).torch_generator("shuffle");
  auto sh = ul::epoch_batches(10, 4, &gen);
  std::vector<int64_t> all;
  for (auto& v : sh) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(all[i], i);
  EXPECT_EQ(ul::retain_rows_for({0, 5, 7, 2}, 3), (std::vector<int64_t>{0, 2, 1, 2}));
  EXPECT_EQ(code_of([] { ul::retain_rows_for({0}, 0); }), ExitCode::kInput);
}
