// tests/unlearn/test_unlearn_losses.cpp — the loss primitives against values
// computed by PyTorch/transformers (fixtures/unlearn/losses.json), SimNPO /
// WGA / SatImp against OpenUnlearning's expressions (fixtures/unlearn/methods.json),
// the objectives' parts and weights on a tiny fp64 Llama, and the exact identities NPO(θ = ref) =
// (2/β)·log 2 and KL(p‖p) = 0.
#include <cmath>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "relapse/unlearn/losses.h"
#include "test_util.h"
#include "unlearn_test_util.h"

namespace ul = relapse::unlearn;
namespace ut = relapse::unlearn::testing;
using relapse::ExitCode;

namespace {

nlohmann::json load_fixture(const std::string& name) {
  return nlohmann::json::parse(
      relapse::test::read_file(relapse::test::fixture_path("unlearn/" + name)));
}

torch::Tensor tensor_of(const nlohmann::json& j, std::vector<int64_t> shape, torch::ScalarType t) {
  std::vector<double> v = j.get<std::vector<double>>();
  return torch::tensor(v, torch::kFloat64).reshape(shape).to(t);
}

ExitCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const relapse::Error& e) {
    return e.code();
  }
  return ExitCode::kOk;
}

}  // namespace

TEST(UnlearnLosses, PrimitivesMatchPyTorch) {
  auto j = load_fixture("losses.json");
  int64_t B = j["B"], T = j["T"], V = j["V"];
  double beta = j["beta"];
  torch::Tensor logits = tensor_of(j["logits"], {B, T, V}, torch::kFloat64);
  torch::Tensor ref = tensor_of(j["ref_logits"], {B, T, V}, torch::kFloat64);
  ul::TokenBatch b{tensor_of(j["input_ids"], {B, T}, torch::kInt64),
                   tensor_of(j["attention_mask"], {B, T}, torch::kInt64)};
  // HF's ForCausalLMLoss upcasts to fp32 (logits.float()), the reference is
  // fp32-rounded: relative 1e-6 (a few fp32 ULPs of a sum of 12 terms).
  double hf = j["hf_causal_lm_loss"];
  EXPECT_NEAR(ul::causal_lm_loss(logits, b).item<double>(), hf, 1e-6 * hf);
  // Everything else is fp64 on both sides: 1e-12 relative.
  auto near = [](double got, double want) {
    EXPECT_NEAR(got, want, 1e-12 * std::max(1.0, std::abs(want)));
  };
  torch::Tensor lp = ul::sequence_logprob(logits, b);
  for (int64_t i = 0; i < B; ++i) near(lp[i].item<double>(), j["sequence_logprob"][i]);
  torch::Tensor ref_lp = ul::sequence_logprob(ref, b);
  near(ul::npo_loss(lp, ref_lp, beta).item<double>(), j["npo_published"]);
  near(ul::kl_loss(logits, ref, b).item<double>(), j["kl_published"]);
  near(ul::npo_raw_logits_loss(logits, ref, beta).item<double>(), j["npo_raw_logits"]);
  near(ul::kl_raw_logits_loss(logits, ref).item<double>(), j["kl_raw_logits"]);
  EXPECT_EQ(ul::label_count(b), 5 + 3 + 4);
}

// SimNPO, WGA, SatImp and UNDIAL against OpenUnlearning's expressions evaluated by
// PyTorch on the same logits (fixtures/unlearn/methods.json): fp64 on both
// sides, 1e-12 relative.
TEST(UnlearnLosses, MethodsMatchOpenUnlearning) {
  auto j = load_fixture("losses.json");
  auto m = load_fixture("methods.json");
  int64_t B = j["B"], T = j["T"], V = j["V"];
  torch::Tensor logits = tensor_of(j["logits"], {B, T, V}, torch::kFloat64);
  ul::TokenBatch b{tensor_of(j["input_ids"], {B, T}, torch::kInt64),
                   tensor_of(j["attention_mask"], {B, T}, torch::kInt64)};
  torch::Tensor ref = tensor_of(j["ref_logits"], {B, T, V}, torch::kFloat64);
  torch::Tensor nll = ul::token_nll(logits, b), valid = ul::label_mask(b);
  ASSERT_EQ(m["cases"].size(), 15u);
  for (const auto& c : m["cases"]) {
    const std::string method = c["method"];
    double got = 0;
    if (method == "undial") {
      // row >= 0: OpenUnlearning's function on that unpadded row; -1: the
      // padded batch over its valid labels (relapse's stated departure).
      const int64_t row = c["row"];
      if (row >= 0) {
        ul::TokenBatch one{b.input_ids.narrow(0, row, 1), b.attention_mask.narrow(0, row, 1)};
        ASSERT_EQ(ul::label_count(one), T - 1);
        got = ul::undial_loss(logits.narrow(0, row, 1), ref.narrow(0, row, 1), one, c["beta"])
                  .item<double>();
      } else {
        got = ul::undial_loss(logits, ref, b, c["beta"]).item<double>();
      }
    } else if (method == "simnpo")
      got = ul::simnpo_loss(nll.sum(1), valid.sum(1), c["beta"], c["delta"]).item<double>();
    else if (method == "wga")
      got = ul::wga_loss(nll, valid, c["beta"]).item<double>();
    else
      got = ul::satimp_loss(nll, valid, c["beta1"], c["beta2"]).item<double>();
    const double want = c["value"];
    EXPECT_NEAR(got, want, 1e-12 * std::max(1.0, std::abs(want))) << c.dump();
  }
}

// RMU's activation loss against OpenUnlearning's compute_activation_loss on
// fixed fp64 activations (fixtures/unlearn/methods.json), pairwise (the retain
// term) and against a broadcast vector (the forget term): without pads its
// own function, with pads the per-row mean it means (its code averages over
// row pairs there; losses.h): 1e-12 relative.
TEST(UnlearnLosses, RmuActivationLossMatchesOpenUnlearning) {
  auto m = load_fixture("methods.json");
  ASSERT_EQ(m["activation_cases"].size(), 4u);
  for (const auto& c : m["activation_cases"]) {
    const std::vector<int64_t> shape = c["shape"];
    torch::Tensor x = tensor_of(c["x"], shape, torch::kFloat64);
    torch::Tensor y = tensor_of(c["y"], shape, torch::kFloat64);
    torch::Tensor mask = tensor_of(c["mask"], {shape[0], shape[1]}, torch::kInt64);
    // The control case passes the vector itself, broadcast as rmu_loss does.
    if (c["name"] == "control") y = y[0][0];
    const double got = ul::activation_loss(x, y, mask).item<double>(), want = c["value"];
    EXPECT_NEAR(got, want, 1e-12 * std::max(1.0, std::abs(want))) << c["name"];
  }
}

// The control vector: norm s, entries >= 0 (u ~ U[0,1)), the same for the
// same seed and another for another seed.
TEST(UnlearnLosses, RmuControlVector) {
  torch::Tensor a = ul::rmu_control_vector(11, 64, 6.5), b = ul::rmu_control_vector(11, 64, 6.5);
  EXPECT_NEAR(a.norm().item<double>(), 6.5, 1e-5);
  EXPECT_GE(a.min().item<double>(), 0.0);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, ul::rmu_control_vector(12, 64, 6.5)));
}

TEST(UnlearnLosses, Names) {
  for (const auto& name : ul::objective_names()) {
    const ul::Objective o = ul::objective_from_name(name);
    EXPECT_EQ(ul::objective_name(o), name);
    if (o == ul::Objective::kRMU) {  // its retain term is its own, and it has no forget-only form
      EXPECT_TRUE(ul::objective_uses_retain(o) && ul::objective_uses_ref(o));
      EXPECT_THROW(ul::objective_forget_only(o), relapse::Error);
      continue;
    }
    // The forget-only form keeps the forget term and drops the retain term.
    const ul::Objective f = ul::objective_forget_only(o);
    EXPECT_EQ(ul::objective_forget_term(f), ul::objective_forget_term(o)) << name;
    EXPECT_EQ(ul::objective_retain_term(f), ul::RetainTerm::kNone) << name;
    EXPECT_EQ(ul::objective_uses_retain(o), name.find('_') != std::string::npos) << name;
  }
  EXPECT_EQ(ul::objective_names().size(), 19u);
  EXPECT_TRUE(ul::objective_uses_ref(ul::Objective::kUNDIAL));  // the adjusted reference
  EXPECT_EQ(ul::objective_from_name("NPO_GDR"), ul::Objective::kNPO_GDR);
  EXPECT_EQ(ul::objective_from_name("SimNPO_GDR"), ul::Objective::kSimNPO_GDR);
  EXPECT_FALSE(ul::objective_uses_ref(ul::Objective::kSimNPO_GDR));  // reference-free
  EXPECT_TRUE(ul::objective_uses_ref(ul::Objective::kWGA_KLR));      // the KL's reference
  for (auto v : {ul::LossVariant::kPublished, ul::LossVariant::kMuseReleased,
                 ul::LossVariant::kPaperReleased}) {
    EXPECT_EQ(ul::loss_variant_from_name(ul::loss_variant_name(v)), v);
  }
  EXPECT_EQ(code_of([] { ul::objective_from_name("gd"); }), ExitCode::kConfig);
  EXPECT_EQ(code_of([] { ul::loss_variant_from_name("released"); }), ExitCode::kConfig);
  ul::UnlearnLossConfig c;
  c.variant = ul::LossVariant::kMuseReleased;
  c.alpha = 2.0;
  EXPECT_EQ(code_of([&] { ul::unlearn_loss_config_validate(c); }), ExitCode::kConfig);
  c.objective = ul::Objective::kNPO;  // no retain term: alpha unused
  EXPECT_EQ(code_of([&] { ul::unlearn_loss_config_validate(c); }), ExitCode::kOk);
  c.beta = 0;
  EXPECT_EQ(code_of([&] { ul::unlearn_loss_config_validate(c); }), ExitCode::kConfig);
  // The released code has no forget weight.
  ul::UnlearnLossConfig g;
  g.params.forget_weight = 0.5;
  EXPECT_EQ(code_of([&] { ul::unlearn_loss_config_validate(g); }), ExitCode::kOk);
  g.variant = ul::LossVariant::kPaperReleased;
  EXPECT_EQ(code_of([&] { ul::unlearn_loss_config_validate(g); }), ExitCode::kConfig);
  ul::UnlearnLossConfig s;
  s.params.simnpo_beta = 0;
  EXPECT_EQ(code_of([&] { ul::unlearn_loss_config_validate(s); }), ExitCode::kConfig);
}

// At step 0 the reference is the model: log p_θ = log p_ref exactly (same
// weights, same deterministic forward), so NPO = −(2/β)·log σ(0) = (2/β)·log 2
// in both variants, and KL(p‖p) = 0 exactly in both (each term is
// p·(log p − log p) = 0).
TEST(UnlearnLosses, IdentitiesAtStepZero) {
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    auto model = ut::tiny_model(dtype, 11);
    auto ref = ul::reference_model_copy(model);
    for (auto p : ref->parameters()) EXPECT_FALSE(p.requires_grad());
    for (auto variant : {ul::LossVariant::kPublished, ul::LossVariant::kPaperReleased}) {
      for (double beta : {0.1, 0.5}) {
        ul::UnlearnLossConfig c{ul::Objective::kNPO_KLR, variant, 0.5, beta, {}};
        auto parts = ul::unlearn_loss(model, &ref, ut::forget_batch(), ut::retain_batch(), c);
        // The loss is computed in fp32 from identical logits: 1 ULP-level.
        EXPECT_NEAR(parts.forget_term, 2.0 / beta * std::log(2.0), 1e-6 * 2.0 / beta)
            << ul::loss_variant_name(variant) << " beta " << beta;
        EXPECT_EQ(parts.retain_term, 0.0) << ul::loss_variant_name(variant);
        EXPECT_NEAR(parts.total.item<double>(), parts.forget_term, 1e-6 * parts.forget_term);
      }
    }
  }
  torch::Tensor l = torch::randn({2, 5, 7}, torch::kFloat64);
  ul::TokenBatch b = ul::batch_from_chunks({{1, 2, 3, 4, 5}, {5, 4, 3, 2, 1}});
  EXPECT_EQ(ul::kl_loss(l, l, b).item<double>(), 0.0);
  EXPECT_EQ(ul::kl_raw_logits_loss(l, l).item<double>(), 0.0);
}

TEST(UnlearnLosses, PartsAndWeights) {
  auto model = ut::tiny_model(torch::kFloat64, 3);
  auto ref = ul::reference_model_copy(model);
  ut::perturb(ref, 0.05, 4);
  auto F = ut::forget_batch(), R = ut::retain_batch();
  torch::NoGradGuard ng;
  torch::Tensor lf = ul::lm_forward(model, F), lr = ul::lm_forward(model, R);
  torch::Tensor rf = ul::lm_forward(ref, F), rr = ul::lm_forward(ref, R);
  const double a = 0.7, beta = 0.2;
  auto run = [&](ul::Objective o, ul::LossVariant v) {
    return ul::unlearn_loss(model, &ref, F, R, ul::UnlearnLossConfig{o, v, a, beta, {}});
  };
  auto check = [](const ul::LossParts& p, double f, double r, double total) {
    EXPECT_NEAR(p.forget_term, f, 1e-12 * std::abs(f));
    EXPECT_NEAR(p.retain_term, r, 1e-12 * std::max(1.0, std::abs(r)));
    EXPECT_NEAR(p.total.item<double>(), total, 1e-12 * std::max(1.0, std::abs(total)));
  };
  double nll_f = ul::causal_lm_loss(lf, F).item<double>(),
         nll_r = ul::causal_lm_loss(lr, R).item<double>();
  double npo =
      ul::npo_loss(ul::sequence_logprob(lf, F), ul::sequence_logprob(rf, F), beta).item<double>();
  double kl = ul::kl_loss(lr, rr, R).item<double>();
  double npo_raw = ul::npo_raw_logits_loss(lf, rf, beta).item<double>();
  double kl_raw = ul::kl_raw_logits_loss(lr, rr).item<double>();
  EXPECT_GT(kl, 0.0);
  using O = ul::Objective;
  using V = ul::LossVariant;
  check(run(O::kGA, V::kPublished), -nll_f, 0, -nll_f);
  check(run(O::kGA_GDR, V::kPublished), -nll_f, nll_r, -nll_f + a * nll_r);
  check(run(O::kGA_KLR, V::kPublished), -nll_f, kl, -nll_f + a * kl);
  check(run(O::kNPO, V::kPublished), npo, 0, npo);
  check(run(O::kNPO_GDR, V::kPublished), npo, nll_r, npo + a * nll_r);
  check(run(O::kNPO_KLR, V::kPublished), npo, kl, npo + a * kl);
  check(run(O::kGA_KLR, V::kPaperReleased), -nll_f, kl_raw, -nll_f + a * kl_raw);
  check(run(O::kNPO_GDR, V::kPaperReleased), npo_raw, nll_r, npo_raw + a * nll_r);
  check(run(O::kNPO_KLR, V::kPaperReleased), npo_raw, kl_raw, npo_raw + a * kl_raw);
  // The reference-free methods: the primitives on the model's logits, the
  // forget weight γ on the forget term only.
  ul::UnlearnLossConfig sc{O::kSimNPO_GDR, V::kPublished, a, beta, {}};
  sc.params.forget_weight = 0.25;
  torch::Tensor nll_tok = ul::token_nll(lf, F), valid = ul::label_mask(F);
  double sim =
      ul::simnpo_loss(nll_tok.sum(1), valid.sum(1), sc.params.simnpo_beta, 0.0).item<double>();
  check(ul::unlearn_loss(model, nullptr, F, R, sc), sim, nll_r, 0.25 * sim + a * nll_r);
  sc.objective = O::kWGA_KLR;
  double wga = ul::wga_loss(nll_tok, valid, 1.0).item<double>();
  check(ul::unlearn_loss(model, &ref, F, R, sc), wga, kl, 0.25 * wga + a * kl);
  sc.objective = O::kSatImp;
  double sat = ul::satimp_loss(nll_tok, valid, 5.0, 1.0).item<double>();
  check(ul::unlearn_loss(model, nullptr, F, R, sc), sat, 0, 0.25 * sat);
  auto muse = ul::unlearn_loss(model, &ref, F, R,
                               ul::UnlearnLossConfig{O::kNPO_KLR, V::kMuseReleased, 1.0, beta, {}});
  check(muse, npo_raw, kl_raw, npo_raw + kl_raw);
  // Missing pieces are reported.
  EXPECT_EQ(code_of([&] {
              ul::unlearn_loss(model, nullptr, F, R,
                               ul::UnlearnLossConfig{O::kNPO, V::kPublished, 1, 0.1, {}});
            }),
            ExitCode::kInternal);
  EXPECT_EQ(code_of([&] {
              ul::unlearn_loss(model, &ref, F, {},
                               ul::UnlearnLossConfig{O::kGA_GDR, V::kPublished, 1, 0.1, {}});
            }),
            ExitCode::kInternal);
}
