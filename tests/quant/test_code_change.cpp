// tests/quant/test_code_change.cpp — code-change diagnostics on constructed
// weights whose codes, moves and |Δw|/Δ ratios are worked out by hand, and
// over a whole model (fixture llama_mha_fp32) with one weight perturbed.
#include <gtest/gtest.h>

#include <cmath>

#include "relapse/model/hf_checkpoint.h"
#include "relapse/quant/code_change.h"
#include "relapse/quant/quantize_model.h"
#include "test_util.h"

namespace relapse::quant {
namespace {

RtnConfig cfg(RtnScheme s, int bits, int64_t g) {
  RtnConfig c;
  c.scheme = s;
  c.bits = bits;
  c.group_size = g;
  return c;
}

TEST(CodeChange, HandWorkedSymmetricCase) {
  // Row 0: Δ = 8/2^3 = 1 in both (the -8 does not move). Moves 0.3, 0.6, -0.2, 1.5:
  // codes 1 -> round(1.6) = 2 and 4 -> round(5.5) = 6 (half to even) change;
  // 0 -> round(0.3) = 0 and 2 -> round(1.8) = 2 do not.
  // Row 1: target all zero (Δ = 0); one weight moves to 0.01 -> its code becomes 8,
  // its ratio is +inf (last bin, excluded from mean/max), the row's scale changes.
  torch::Tensor wt = torch::tensor(
      {{-8.f, 0.f, 1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f}});
  torch::Tensor d = torch::tensor(
      {{0.f, 0.3f, 0.6f, -0.2f, 0.f, 1.5f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.01f, 0.f, 0.f, 0.f, 0.f}});
  torch::Tensor wu = wt + d;
  CodeChangeStats s = code_change_stats(wt, wu, cfg(RtnScheme::kSym, 4, -1), "w");
  EXPECT_EQ(s.n_weights, 16);
  EXPECT_EQ(s.n_codes_changed, 3);
  EXPECT_EQ(s.n_moved, 5);
  EXPECT_EQ(s.n_groups, 2);
  EXPECT_EQ(s.n_groups_params_changed, 1);
  EXPECT_EQ(s.n_zero_delta_moved, 1);
  EXPECT_EQ(s.n_finite, 15);
  // edges {0, .001, .01, .05, .1, .25, .5, 1, 2}: 0.2 -> [.1,.25), 0.3 -> [.25,.5),
  // 0.6 -> [.5,1), 1.5 -> [1,2), inf -> [2,inf]; 11 unmoved -> [0,.001).
  EXPECT_EQ(s.hist, (std::vector<int64_t>{11, 0, 0, 0, 1, 1, 1, 1, 1}));
  // Ratios are fp32 differences (0.3f etc.) divided by Δ = 1: within 1e-6 of the decimals.
  EXPECT_NEAR(s.mean_ratio(), 2.6 / 15, 1e-6);
  EXPECT_NEAR(s.max_ratio, 1.5, 1e-6);
  EXPECT_DOUBLE_EQ(s.frac_codes_changed(), 3.0 / 16);
}

TEST(CodeChange, HandWorkedAsymmetricCase) {
  // 0..15 at 4-bit asym: xmin 0, xmax 15 -> scale 1, zero 0, codes = w.
  torch::Tensor wt = torch::arange(16, torch::kFloat32).view({1, 16});
  torch::Tensor wu = wt.clone();
  wu[0][3] = 3.6f;   // code 3 -> 4, ratio 0.6
  wu[0][9] = 9.25f;  // code stays 9, ratio 0.25
  CodeChangeStats s = code_change_stats(wt, wu, cfg(RtnScheme::kAsym, 4, -1));
  EXPECT_EQ(s.n_codes_changed, 1);
  EXPECT_EQ(s.n_moved, 2);
  EXPECT_EQ(s.n_groups_params_changed, 0);
  EXPECT_EQ(s.hist, (std::vector<int64_t>{14, 0, 0, 0, 0, 1, 1, 0, 0}));
  EXPECT_NEAR(s.max_ratio, 0.6, 1e-6);
}

TEST(CodeChange, IdenticalWeightsAndMerge) {
  auto gen = at::detail::createCPUGenerator(5);
  torch::Tensor w = at::normal(0.0, 0.02, {8, 64}, gen);
  CodeChangeStats s = code_change_stats(w, w.clone(), cfg(RtnScheme::kSym, 4, 32));
  EXPECT_EQ(s.n_codes_changed, 0);
  EXPECT_EQ(s.n_moved, 0);
  EXPECT_EQ(s.hist[0], 512);
  EXPECT_EQ(s.max_ratio, 0.0);
  CodeChangeStats t = s;
  code_change_merge(t, s);
  EXPECT_EQ(t.n_weights, 1024);
  EXPECT_EQ(t.hist[0], 1024);
  EXPECT_EQ(t.n_groups, 32);
}

TEST(CodeChange, WholeModelOnePerturbedWeight) {
  auto target = model::hf_load(test::fixture_path("llama_mha_fp32"));
  auto unl = model::hf_load(test::fixture_path("llama_mha_fp32"));
  RtnConfig c = cfg(RtnScheme::kSym, 4, 32);
  const std::string name = "model.layers.1.mlp.up_proj.weight";
  {
    torch::NoGradGuard ng;
    auto w = unl->model->layers[1]->as<model::LlamaDecoderLayerImpl>()->mlp->up_proj->weight;
    RtnResult r = rtn_quantize(w, c, name);
    const float delta = r.scales[0][0].item<float>();
    // A weight of row 0, group 0 well below the group's absmax (8Δ at 4 bits),
    // moved toward zero by exactly 3Δ: Δ stays, its code moves by 3.
    int64_t j = 0;
    while (j < 32 && std::abs(w[0][j].item<float>()) >= 4 * delta) ++j;
    ASSERT_LT(j, 32);
    w[0][j] += 3.0f * delta * (w[0][j].item<float>() < 0 ? 1.f : -1.f);
  }
  std::vector<std::pair<std::string, CodeChangeStats>> per;
  CodeChangeStats s = code_change_stats_model(target, unl, c, &per);
  ASSERT_EQ(per.size(), 14u);
  EXPECT_EQ(s.n_moved, 1);
  for (const auto& [n, st] : per) EXPECT_EQ(st.n_moved, n == name ? 1 : 0) << n;
  EXPECT_EQ(s.n_codes_changed, 1);
  EXPECT_EQ(s.hist.back(), 1);  // ratio 3 -> [2, inf]
  // Neither model was modified.
  auto orig = model::hf_load(test::fixture_path("llama_mha_fp32"));
  for (const auto& [n, t] : model::hf_state_dict(target))
    for (const auto& [n2, t2] : model::hf_state_dict(orig))
      if (n == n2) {
        EXPECT_TRUE(torch::equal(t, t2)) << n;
      }
}

}  // namespace
}  // namespace relapse::quant
