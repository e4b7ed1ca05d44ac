// tests/quant/test_bnb.cpp — bitsandbytes FP4/NF4 and LLM.int8 emulation
// against the REAL bitsandbytes 0.50.2 (CPU backend) and a transcription of its
// CUDA kernels (tests/golden/make_bnb_fixtures.py -> fixtures/bnb/).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "relapse/core/error.h"
#include "relapse/model/safetensors.h"
#include "relapse/quant/bnb.h"
#include "test_util.h"

using relapse::test::expect_input_error;

namespace relapse::quant {
namespace {

model::SafetensorsFile& fixture() {
  static model::SafetensorsFile f(test::fixture_path("bnb/bnb_cases.safetensors"));
  return f;
}

TEST(Bnb, CodebooksEqualBitsandbytes) {
  auto& f = fixture();
  for (auto fmt : {Bnb4Format::kFp4, Bnb4Format::kNf4}) {
    auto ref = f.read("code/" + bnb4_format_name(fmt));
    auto mine = torch::tensor(bnb4_codebook(fmt), torch::kFloat32);
    EXPECT_TRUE(torch::equal(mine, ref)) << bnb4_format_name(fmt);  // bit-exact
  }
  EXPECT_TRUE(
      torch::equal(torch::tensor(bnb_dynamic_map(), torch::kFloat32), f.read("code/dynamic")));
  EXPECT_EQ(bnb4_format_from_name("nf4"), Bnb4Format::kNf4);
  test::expect_error([] { bnb4_format_from_name("int4"); }, ExitCode::kConfig, {"int4", "fp4"});
}

TEST(Bnb, FourBitMatchesBitsandbytes) {
  auto& f = fixture();
  int cases = 0;
  for (std::string in : {"f32", "bf16"})
    for (std::string fmt : {"fp4", "nf4"})
      for (int dq : {0, 1}) {
        const std::string p = "w4/" + in + "/" + fmt + "/dq" + std::to_string(dq);
        SCOPED_TRACE(p);
        auto w = f.read("w4/" + in);
        Bnb4Config c;
        c.format = bnb4_format_from_name(fmt);
        c.double_quant = dq == 1;
        auto r = bnb4_quantize(w, c, "w");
        ++cases;
        // Codes: exactly the CUDA decision trees (what the paper's GPUs ran).
        EXPECT_TRUE(torch::equal(r.codes, f.read(p + "/codes_cuda")));
        // Absmax: exact without double quant. With it the offset is a float32
        // mean, whose summation order may differ between libtorch versions:
        // allow 2 float32 ulps of the absmax.
        auto am = f.read(p + "/absmax");
        ASSERT_EQ(r.scales.sizes(), am.sizes());
        if (dq == 0)
          EXPECT_TRUE(torch::equal(r.scales, am));
        else
          EXPECT_TRUE(torch::allclose(r.scales, am, 2.5e-7, 0.0));
        // Dequant equals the real library wherever its CPU code dequantizes to
        // the same value as the CUDA code: they differ in code only for ±0
        // (FP4 |x| <= 0.0026) and all-zero blocks (CUDA NF4 code 0 = −1 × 0),
        // and in value only where x = w/absmax sits exactly on an FP4
        // threshold (planted ties; the CPU's bucketize takes the larger
        // magnitude for negatives, the CUDA tree the smaller).
        auto book = torch::tensor(bnb4_codebook(c.format));
        auto vb = book.index({f.read(p + "/codes_bnb").to(torch::kLong)});
        auto vc = book.index({r.codes.to(torch::kLong)});
        // (A zero block's absmax is 0 before double quant; after it, the CUDA
        // code 0 dequantizes to −absmax_dq ≠ 0 — a GPU quirk left out here.)
        auto zero_block = w.to(torch::kFloat32)
                              .view({w.size(0), -1, 64})
                              .abs()
                              .amax(-1)
                              .eq(0)
                              .repeat_interleave(64, 1);
        auto same = vb.eq(vc).logical_or(zero_block);
        const int64_t n_diff = (~same).sum().item<int64_t>();
        if (fmt == "nf4") {
          EXPECT_EQ(n_diff, 0);
        } else {
          EXPECT_GE(n_diff, 1);  // the planted −11/128 tie
          auto xn = (w.to(torch::kFloat32).view({w.size(0), -1, 64}) /
                     torch::amax(w.to(torch::kFloat32).view({w.size(0), -1, 64}).abs(), -1, true))
                        .view(w.sizes())
                        .masked_select(~same)
                        .abs();
          const std::vector<float> thr = {0.00260417f, 0.0859375f, 0.20833333f, 0.29166667f,
                                          0.4166667f,  0.583333f,  0.8333333f};
          for (int64_t i = 0; i < xn.numel(); ++i) {
            float v = xn[i].item<float>(), best = 1;
            for (float t : thr) best = std::min(best, std::fabs(v - t));
            EXPECT_LT(best, 1e-6f) << "value difference off a threshold at |x| = " << v;
          }
        }
        auto cmp = same.logical_and(zero_block.logical_not());
        const float zero_sum =
            r.dequant.to(torch::kFloat32).masked_select(zero_block).abs().sum().item<float>();
        if (dq == 0) {
          EXPECT_EQ(zero_sum, 0.0f);
        }
        auto ref = f.read(p + "/dequant");
        ASSERT_EQ(r.dequant.scalar_type(), ref.scalar_type());
        auto d = (r.dequant.to(torch::kFloat32) - ref.to(torch::kFloat32)).abs();
        if (dq == 0) {
          EXPECT_EQ(d.masked_select(cmp).max().item<float>(), 0.0f);  // bit-exact
        } else {  // the absmax ulps above, times |code| <= 1, plus a bf16 rounding flip
          EXPECT_TRUE(torch::allclose(r.dequant.to(torch::kFloat32).masked_select(cmp),
                                      ref.to(torch::kFloat32).masked_select(cmp),
                                      in == "bf16" ? 8e-3 : 5e-7, 0.0));
        }
      }
  EXPECT_EQ(cases, 8);
}

TEST(Bnb, BucketWidthFromCodebookMidpoints) {
  auto w = fixture().read("w4/f32");
  for (auto fmt : {Bnb4Format::kFp4, Bnb4Format::kNf4}) {
    Bnb4Config c;
    c.format = fmt;
    auto r = bnb4_quantize(w, c, "w");
    auto width = bnb4_bucket_width(r, c);
    // Direct: sort the code values (float64), the bucket of value v_k is
    // [mid(v_{k-1}, v_k), mid(v_k, v_{k+1})] clipped to [-1, 1]; FP4's two
    // zeros split at 0 (+0 above, -0 below).
    const auto& book = bnb4_codebook(fmt);
    std::vector<double> wid(16);
    for (int k = 0; k < 16; ++k) {
      double v = book[k];
      bool neg_zero = fmt == Bnb4Format::kFp4 && k == 8;
      double lo = -1.0, hi = 1.0;
      for (int j = 0; j < 16; ++j) {
        double u = book[j];
        if (u == v) continue;
        if (u < v) lo = std::max(lo, (u + v) / 2);
        if (u > v) hi = std::min(hi, (u + v) / 2);
      }
      if (fmt == Bnb4Format::kFp4 && v == 0.0) (neg_zero ? hi : lo) = 0.0;
      wid[k] = hi - lo;
    }
    auto expect = torch::tensor(wid).index({r.codes.to(torch::kLong)}).view({w.size(0), -1, 64}) *
                  r.scales.to(torch::kFloat64).unsqueeze(-1);
    // The kernels' threshold literals have 6-7 significant digits (0.583333f,
    // 0.00260417f): up to ~2e-6 relative off the exact midpoints of widths.
    EXPECT_TRUE(
        torch::allclose(width.to(torch::kFloat64), expect.view(width.sizes()), 1e-5, 1e-12));
    // Every weight lies inside its bucket around the code value's range.
    EXPECT_TRUE((r.dequant - w).abs().le(width + 1e-7).all().item<bool>());
  }
}

TEST(Bnb, LlmInt8WeightExact) {
  auto& f = fixture();
  for (std::string in : {"f32", "bf16", "f16"}) {
    SCOPED_TRACE(in);
    auto q = llm_int8_quantize_weight(f.read("i8/" + in + "/w"), "w");
    EXPECT_TRUE(torch::equal(q.cb, f.read("i8/" + in + "/cb")));
    EXPECT_TRUE(torch::equal(q.scb, f.read("i8/" + in + "/scb")));
  }
}

TEST(Bnb, LlmInt8LinearMatchesReference) {
  auto& f = fixture();
  for (std::string in : {"f32", "bf16", "f16"})
    for (std::string cs : {"plain", "outlier"})
      for (int t : {0, 6}) {
        const std::string p = "i8/" + in + "/" + cs;
        SCOPED_TRACE(p + "/t" + std::to_string(t));
        LlmInt8Weight w{f.read("i8/" + in + "/cb"), f.read("i8/" + in + "/scb")};
        auto x = f.read(p + "/x");
        auto y = llm_int8_linear(x, w, t, f.read(p + "/bias"));
        ASSERT_EQ(y.scalar_type(), x.scalar_type());
        auto yc = f.read(p + "/t" + std::to_string(t) + "/y_cuda").to(torch::kFloat32);
        auto yb = f.read(p + "/t" + std::to_string(t) + "/y_bnb").to(torch::kFloat32);
        auto yf = y.to(torch::kFloat32);
        // vs the CUDA-path transcription: same rounding points; allow one ulp of
        // the output dtype (float64 vs fp32 accumulation of the outlier matmul).
        const double ulp = in == "bf16" ? 1.0 / 128 : (in == "f16" ? 1.0 / 1024 : 1e-6);
        EXPECT_TRUE(torch::allclose(yf, yc, ulp, 1e-6));
        // vs the real library's CPU path, which keeps fp32 instead of the CUDA
        // kernel's fp16 intermediate (2^-11 relative) and uses 6.200124e-05
        // for 1/127^2 (1.8e-5 relative): 1e-3 relative plus one output ulp.
        EXPECT_TRUE(torch::allclose(yf, yb, 1e-3 + ulp, 1e-3));
        // The decomposition matters: with outliers, t0 and t6 differ clearly.
        if (cs == "outlier" && t == 6) {
          auto y0 = llm_int8_linear(x, w, 0.0, f.read(p + "/bias")).to(torch::kFloat32);
          EXPECT_GT((y0 - yf).abs().max().item<float>(), 0.02);
        }
      }
}

TEST(Bnb, ErrorsNameTheTensor) {
  Bnb4Config c;
  expect_input_error(
      [&] {
        bnb4_quantize(torch::zeros({4, 96}), c, "layers.0.q_proj");
      },
      "layers.0.q_proj");
  expect_input_error([&] { bnb4_quantize(torch::zeros({64}), c, "layers.1.v_proj"); },
                     "layers.1.v_proj");
  auto bad = torch::zeros({2, 64});
  bad[0][3] = std::numeric_limits<float>::infinity();
  expect_input_error([&] { bnb4_quantize(bad, c, "mlp.up"); }, "mlp.up");
  expect_input_error(
      [&] {
        llm_int8_quantize_weight(torch::zeros({2, 64}, torch::kInt32), "mlp.down");
      },
      "mlp.down");
  expect_input_error(
      [&] {
        llm_int8_quantize_weight(torch::full({2, 4}, 1e6f), "o_proj");
      },
      "o_proj");
  auto q = llm_int8_quantize_weight(torch::ones({3, 8}), "w");
  expect_input_error([&] { llm_int8_linear(torch::ones({2, 7}), q, 6.0); }, "[..., 8]");
  // An all-zero weight row quantizes to SCB 0, CB 0 (no NaN).
  auto z = llm_int8_quantize_weight(torch::zeros({2, 8}), "z");
  EXPECT_EQ(z.scb.abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(z.cb.abs().sum().item<int64_t>(), 0);
}

}  // namespace
}  // namespace relapse::quant
