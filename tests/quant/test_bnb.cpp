// tests/quant/test_bnb.cpp — bitsandbytes FP4/NF4 and LLM.int8 emulation
// against the REAL bitsandbytes 0.50.2 (CPU backend) and a transcription of its
// CUDA kernels (tests/golden/make_bnb_fixtures.py -> fixtures/bnb/), including
// weights whose width is not a multiple of the block size (blocks over the
// flattened tensor span rows, partial last block).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "relapse/core/error.h"
#include "relapse/model/safetensors.h"
#include "relapse/quant/bnb.h"
#include "relapse/quant/quant_h5.h"
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

// The 4-bit weights in the fixture: [12, 256] (blocks inside rows) and shapes
// whose width is not a multiple of 64 (blocks over the flattened tensor span
// rows; 5x72 = 360 elements ends in a partial block of 40).
const std::vector<std::string> kW4 = {"f32",        "bf16",        "f32_48x80", "bf16_48x80",
                                      "f32_16x352", "bf16_16x352", "f32_5x72",  "bf16_5x72"};

// F.quantize_4bit's packed codes (high nibble = even flattened element).
torch::Tensor unpack4(const torch::Tensor& packed, at::IntArrayRef shape) {
  auto p = packed.reshape({-1});
  auto out = torch::stack({p.bitwise_right_shift(4), p.bitwise_and(15)}, 1).reshape({-1});
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return out.slice(0, 0, n).reshape(shape).contiguous();
}

// Per element, the scale of its block: scales (either layout) in flattened
// block order, element i in block i / 64.
torch::Tensor per_element(const torch::Tensor& scales, at::IntArrayRef shape) {
  const int64_t n = shape[0] * shape[1];
  auto b = torch::arange(n, torch::kInt64).div(64, "floor");
  return scales.to(torch::kFloat32).reshape({-1}).index_select(0, b).reshape(shape);
}

// Block absmax of w per element, blocks of 64 over the flattened tensor.
torch::Tensor block_absmax(const torch::Tensor& w) {
  const int64_t n = w.numel(), nb = (n + 63) / 64;
  auto x = torch::zeros({nb * 64});
  x.slice(0, 0, n).copy_(w.to(torch::kFloat32).reshape({-1}).abs());
  return per_element(x.view({nb, 64}).amax(-1), w.sizes());
}

TEST(Bnb, FourBitMatchesBitsandbytes) {
  auto& f = fixture();
  int cases = 0;
  for (const std::string& in : kW4)
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
        ASSERT_EQ(r.codes.sizes(), w.sizes());
        EXPECT_EQ(r.group_size, 64);
        // Codes: exactly the CUDA decision trees (what the paper's GPUs ran).
        EXPECT_TRUE(torch::equal(
            r.codes, unpack4(f.read("w4/" + in + "/" + fmt + "/codes_cuda"), w.sizes())));
        // Absmax (stored in relapse's layout: [out, in/64], or [1, n_blocks]
        // when blocks span rows): exact without double quant. With it the
        // offset is a float32 mean, whose summation order may differ between
        // libtorch versions: allow 2 float32 ulps of the absmax.
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
        auto codes_bnb = unpack4(f.read("w4/" + in + "/" + fmt + "/codes_bnb"), w.sizes());
        auto vb = book.index({codes_bnb.to(torch::kLong)});
        auto vc = book.index({r.codes.to(torch::kLong)});
        // (A zero block's absmax is 0 before double quant; after it, the CUDA
        // code 0 dequantizes to −absmax_dq ≠ 0 — a GPU quirk left out here.)
        auto bam = block_absmax(w);
        auto zero_block = bam.eq(0);
        auto same = vb.eq(vc).logical_or(zero_block);
        const int64_t n_diff = (~same).sum().item<int64_t>();
        if (fmt == "nf4") {
          EXPECT_EQ(n_diff, 0);
        } else {
          // The planted −11/128 ties (in a block spanning rows for bf16_*).
          if (in == "f32" || in.rfind("bf16", 0) == 0) {
            EXPECT_GE(n_diff, 1);
          }
          auto xn = (w.to(torch::kFloat32) / bam).masked_select(~same).abs();
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
        // The library's dequant: the generator asserts F.dequantize_4bit (its
        // flattened form where in % 64 != 0) == (code[codes_bnb] * absmax)
        // in w's dtype bit for bit, so it is rebuilt here exactly.
        auto ref = (vb * per_element(am, w.sizes())).to(w.scalar_type());
        ASSERT_EQ(r.dequant.scalar_type(), ref.scalar_type());
        auto d = (r.dequant.to(torch::kFloat32) - ref.to(torch::kFloat32)).abs();
        if (dq == 0) {
          EXPECT_EQ(d.masked_select(cmp).max().item<float>(), 0.0f);  // bit-exact
        } else {  // the absmax ulps above, times |code| <= 1, plus a bf16 rounding flip
          EXPECT_TRUE(torch::allclose(r.dequant.to(torch::kFloat32).masked_select(cmp),
                                      ref.to(torch::kFloat32).masked_select(cmp),
                                      in.rfind("bf16", 0) == 0 ? 8e-3 : 5e-7, 0.0));
        }
      }
  EXPECT_EQ(cases, 32);
}

TEST(Bnb, BlocksSpanRowsWhenWidthIsNotAMultiple) {
  // [3, 40] = 120 elements, blocksize 32: 4 blocks [0,32) [32,64) [64,96)
  // [96,120) (partial); block 1 spans rows 0 and 1.
  auto w = torch::arange(1, 121, torch::kFloat32).reshape({3, 40}) / 128.0;
  Bnb4Config c;
  c.blocksize = 32;
  auto r = bnb4_quantize(w, c, "w");
  ASSERT_EQ(r.scales.sizes(), (std::vector<int64_t>{1, 4}));
  EXPECT_TRUE(torch::equal(r.scales.view({-1}), torch::tensor({32.f, 64.f, 96.f, 120.f}) / 128.0));
  EXPECT_EQ(r.group_size, 32);
  // Double quant over the 4 absmax values keeps the layout.
  c.double_quant = true;
  EXPECT_EQ(bnb4_quantize(w, c, "w").scales.sizes(), r.scales.sizes());
  // The width divides: per-row layout.
  c.double_quant = false;
  EXPECT_EQ(bnb4_quantize(torch::ones({3, 64}), c, "w").scales.sizes(),
            (std::vector<int64_t>{3, 2}));
  // All-zero blocks spanning rows dequantize to zero.
  auto z = bnb4_quantize(torch::zeros({4, 96}), Bnb4Config{}, "z");
  EXPECT_EQ(z.scales.sizes(), (std::vector<int64_t>{1, 6}));
  EXPECT_EQ(z.dequant.abs().sum().item<float>(), 0.0f);
  // bnb4_bucket_width refuses scales that fit neither layout.
  RtnResult bad = r;
  bad.scales = torch::ones({1, 3});
  expect_input_error([&] { bnb4_bucket_width(bad, c); }, "do not match");
}

TEST(Bnb, FlatScalesRoundTripThroughH5) {
  Bnb4Config c;
  c.format = Bnb4Format::kNf4;
  LayerQuant lq;
  lq.name = "model.layers.0.mlp.down_proj";
  lq.format = "nf4";
  lq.result = bnb4_quantize(fixture().read("w4/f32_16x352"), c, lq.name);
  ASSERT_EQ(lq.result.scales.sizes(), (std::vector<int64_t>{1, 88}));
  const std::string path = test::scratch_dir("bnb_h5") + "/codes.h5";
  {
    auto f = archive::H5File::create(path);
    quant_write_codes(f.root().group("nf4"), {lq}, "nf4", 4, 64, {"down_proj"});
    f.commit();
  }
  auto f = archive::H5File::open_read(path);
  auto back = quant_read_codes(f.root().open_group("nf4"));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_TRUE(torch::equal(back[0].result.scales, lq.result.scales));
  EXPECT_TRUE(torch::equal(back[0].result.codes, lq.result.codes));
  EXPECT_EQ(back[0].result.group_size, 64);
  EXPECT_TRUE(torch::equal(bnb4_bucket_width(back[0].result, c), bnb4_bucket_width(lq.result, c)));
}

TEST(Bnb, BucketWidthFromCodebookMidpoints) {
  for (const std::string in : {"f32", "f32_48x80", "f32_5x72"}) {
    SCOPED_TRACE(in);
    auto w = fixture().read("w4/" + in);
    for (auto fmt : {Bnb4Format::kFp4, Bnb4Format::kNf4}) {
      Bnb4Config c;
      c.format = fmt;
      auto r = bnb4_quantize(w, c, "w");
      auto width = bnb4_bucket_width(r, c);
      ASSERT_EQ(width.sizes(), w.sizes());
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
      // The block absmax of each element straight from w (flattened blocks).
      auto expect = torch::tensor(wid).index({r.codes.to(torch::kLong)}) *
                    block_absmax(w).to(torch::kFloat64);
      // The kernels' threshold literals have 6-7 significant digits (0.583333f,
      // 0.00260417f): up to ~2e-6 relative off the exact midpoints of widths.
      EXPECT_TRUE(torch::allclose(width.to(torch::kFloat64), expect, 1e-5, 1e-12));
      // Every weight lies inside its bucket around the code value's range.
      EXPECT_TRUE((r.dequant - w).abs().le(width + 1e-7).all().item<bool>());
    }
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
