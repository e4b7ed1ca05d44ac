// tests/quant/test_rtn.cpp — RTN against the numpy reference
// (tests/golden/make_quant_fixtures.py -> fixtures/quant/rtn_cases.safetensors):
// every scheme × bits 8/4/3/2 × group 32/64/128/−1 on random and edge-case
// matrices (all-zero, constant, negative-only groups, exact .5 ties, positive
// absmax) in fp32 and bf16; plus idempotence, error messages and dequantize;
// and rtn_quantize (kernels/'s RTN, rows split over threads) equal to
// rtn_quantize_torch (the torch formulation) bit for bit.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "relapse/core/error.h"
#include "relapse/model/safetensors.h"
#include "relapse/quant/rtn.h"
#include "test_util.h"

using relapse::test::expect_error;

namespace relapse::quant {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t a = 0;
  for (size_t b; (b = s.find(sep, a)) != std::string::npos; a = b + 1)
    out.push_back(s.substr(a, b - a));
  out.push_back(s.substr(a));
  return out;
}

// Largest distance in units in the last place between two float32 (or two
// bfloat16) tensors of the same shape, via their ordered integer bit patterns.
int64_t max_ulp(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.scalar_type(), b.scalar_type());
  EXPECT_EQ(a.sizes(), b.sizes());
  auto ordered = [](const torch::Tensor& t) {
    torch::Tensor bits = t.scalar_type() == torch::kFloat32
                             ? t.contiguous().view(torch::kInt32).to(torch::kInt64)
                             : t.contiguous().view(torch::kInt16).to(torch::kInt64);
    const int64_t sign = t.scalar_type() == torch::kFloat32 ? (int64_t(1) << 31) : (1 << 15);
    // Two's-complement bit patterns of negative floats count downwards: map so
    // the integer order is the float order (+0 and -0 both map to 0).
    return torch::where(bits.lt(0), -(bits + sign), bits);
  };
  return (ordered(a) - ordered(b)).abs().max().item<int64_t>();
}

TEST(Rtn, MatchesNumpyReference) {
  model::SafetensorsFile f(test::fixture_path("quant/rtn_cases.safetensors"));
  int cases = 0, exact_dequant = 0;
  bool saw_literal_top = false;
  for (const auto& key : f.names()) {
    auto parts = split(key, '/');
    if (parts.size() != 5 || parts[4] != "codes") continue;
    const std::string input = parts[0], prefix = key.substr(0, key.size() - 5);
    SCOPED_TRACE(prefix);
    RtnConfig c;
    c.scheme = rtn_scheme_from_name(parts[1]);
    c.bits = std::stoi(parts[2].substr(1));
    c.group_size = std::stoll(parts[3].substr(1));
    const bool bf16 = input.size() > 5 && input.substr(input.size() - 5) == "_bf16";
    torch::Tensor w = f.read("input/" + input);
    if (bf16) w = w.to(torch::kBFloat16);  // the inputs are bf16-representable: exact
    RtnResult r = rtn_quantize(w, c, input);

    torch::Tensor codes = f.read(prefix + "codes");
    ASSERT_EQ(r.codes.scalar_type(), codes.scalar_type());
    EXPECT_TRUE(torch::equal(r.codes, codes))
        << (r.codes.to(torch::kInt32) - codes.to(torch::kInt32)).abs().max();
    // Scales bit-exact: |w| max and a division by 2^(N−1) (exact), or
    // (xmax − xmin)/(2^N − 1), one correctly rounded fp32 division in both.
    torch::Tensor scales = f.read(prefix + "scales");
    EXPECT_EQ(max_ulp(r.scales, scales), 0);
    if (c.scheme == RtnScheme::kAsym) {
      ASSERT_TRUE(r.zeros.defined());
      EXPECT_TRUE(torch::equal(r.zeros, f.read(prefix + "zeros")));
    } else {
      EXPECT_FALSE(r.zeros.defined());
    }
    if (c.scheme == RtnScheme::kSym && r.codes.max().item<int64_t>() == (1 << (c.bits - 1)))
      saw_literal_top = true;

    torch::Tensor deq = f.read(prefix + "dequant");
    if (bf16) deq = deq.view(torch::kBFloat16);
    ASSERT_EQ(r.dequant.scalar_type(), w.scalar_type());
    EXPECT_FALSE(torch::isnan(r.dequant.to(torch::kFloat32)).any().item<bool>());
    // Dequantized values: one fp32 multiply Δ·q (sym) or a subtraction of two
    // small integers (exact) then one multiply (asym), each correctly rounded
    // by IEEE-754 in numpy and in ATen, so equality is expected; 1 ULP is
    // allowed in case a vectorised ATen kernel contracts or reorders the
    // multiply (FMA), which changes only the last bit. The bf16 cases add one
    // round-to-nearest-even cast on both sides.
    const int64_t ulp = max_ulp(r.dequant, deq);
    EXPECT_LE(ulp, 1);
    exact_dequant += ulp == 0;
    ++cases;
  }
  EXPECT_EQ(cases, 48 + 36 + 5);
  EXPECT_TRUE(saw_literal_top) << "the literal formula's +2^(N-1) code was never exercised";
  RecordProperty("exact_dequant_cases", exact_dequant);
  std::printf("[ info ] %d/%d cases with bit-identical dequantized weights\n", exact_dequant,
              cases);
}

TEST(Rtn, HalfToEvenTiesAndZeroGroup) {
  // Δ = 8/8 = 1 at 4 bits: w/Δ = ±0.5, ±1.5, ±2.5 round to even.
  torch::Tensor w = torch::tensor({{-8.f, 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 7.f},
                                   {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f}});
  RtnConfig c;
  c.bits = 4;
  c.group_size = -1;
  RtnResult r = rtn_quantize(w, c, "w");
  EXPECT_TRUE(torch::equal(r.codes[0], torch::tensor({-8, 0, 2, 2, 0, -2, -2, 7}, torch::kInt16)));
  EXPECT_EQ(r.scales[1][0].item<float>(), 0.f);  // all-zero row: Δ = 0, no NaN
  EXPECT_TRUE(torch::equal(r.codes[1], torch::zeros({8}, torch::kInt16)));
  EXPECT_TRUE(torch::equal(r.dequant[1], torch::zeros({8})));
  // AutoGPTQ's all-zero rule for asym: xmin = -1, xmax = 1 -> scale 2/15, all codes = zero.
  c.scheme = RtnScheme::kAsym;
  r = rtn_quantize(w, c, "w");
  EXPECT_EQ(r.scales[1][0].item<float>(), 2.f / 15.f);
  EXPECT_TRUE(
      torch::equal(r.codes[1].to(torch::kInt32), r.zeros[1][0].to(torch::kInt32).expand({8})));
  EXPECT_TRUE(torch::equal(r.dequant[1], torch::zeros({8})));
}

TEST(Rtn, LiteralVersusClampedRange) {
  // Positive absmax: the literal formula gives +2^(N-1), the clamped variant 2^(N-1)-1.
  torch::Tensor w = torch::tensor({{1.0f, -0.5f, 0.25f, 0.f}});
  RtnConfig c;
  c.bits = 4;
  c.group_size = -1;
  RtnResult lit = rtn_quantize(w, c);
  EXPECT_EQ(lit.codes.scalar_type(), torch::kInt16);
  EXPECT_TRUE(torch::equal(lit.codes, torch::tensor({{8, -4, 2, 0}}, torch::kInt16)));
  EXPECT_TRUE(torch::equal(lit.dequant, w));
  c.scheme = RtnScheme::kSymClamp;
  RtnResult cl = rtn_quantize(w, c);
  EXPECT_EQ(cl.codes.scalar_type(), torch::kInt8);
  EXPECT_TRUE(torch::equal(cl.codes, torch::tensor({{7, -4, 2, 0}}, torch::kInt8)));
  EXPECT_FLOAT_EQ(cl.dequant[0][0].item<float>(), 0.875f);
}

TEST(Rtn, IdempotentOnDequantizedWeights) {
  auto gen = at::detail::createCPUGenerator(1234);
  torch::Tensor w32 = at::normal(0.0, 0.02, {16, 256}, gen);
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    torch::Tensor w = w32.to(dtype);
    for (auto scheme : {RtnScheme::kSym, RtnScheme::kAsym}) {
      for (int bits : {8, 4, 3, 2}) {
        for (int64_t g : {32, 64, 128, -1}) {
          RtnConfig c;
          c.scheme = scheme;
          c.bits = bits;
          c.group_size = g;
          SCOPED_TRACE(rtn_scheme_name(scheme) + " b" + std::to_string(bits) + " g" +
                       std::to_string(g) + " " + std::string(c10::toString(dtype)));
          RtnResult a = rtn_quantize(w, c);
          RtnResult b = rtn_quantize(a.dequant, c);
          if (scheme == RtnScheme::kSym) {
            // The absmax maps to exactly ±2^(N−1), so Δ' = Δ·2^(N−1)/2^(N−1) = Δ
            // exactly and every w'/Δ is an integer: same codes, scales, weights.
            EXPECT_TRUE(torch::equal(a.codes, b.codes));
            EXPECT_TRUE(torch::equal(a.scales, b.scales));
            EXPECT_TRUE(torch::equal(a.dequant, b.dequant));
            continue;
          }
          // Asym: the dequantized range is [−s·z, s·(maxq − z)] when the codes
          // reach both ends (min(q, z) == 0 and max(q, z) == maxq); then s' = s up
          // to rounding and codes repeat. When rounding leaves an end unused
          // (e.g. −xmin/s = 3.4999998 -> z = 3 and the max rounds to 6 of 7), the
          // range shrinks and the codes legitimately change: such groups are
          // excluded here, and must stay rare.
          const int64_t ng = a.scales.size(1), maxq = (1 << bits) - 1;
          torch::Tensor qa = a.codes.to(torch::kInt64).view({16, ng, -1});
          torch::Tensor z = a.zeros.to(torch::kInt64).view({16, ng, 1});
          torch::Tensor lo = torch::minimum(std::get<0>(qa.min(-1, true)), z);
          torch::Tensor hi = torch::maximum(std::get<0>(qa.max(-1, true)), z);
          torch::Tensor full = (lo.eq(0) & hi.eq(maxq)).expand_as(qa);
          torch::Tensor qb = b.codes.to(torch::kInt64).view({16, ng, -1});
          // bf16 keeps 8 significand bits: s·(q − z) with |q − z| up to 255 is
          // rounded by up to s/2, so 8-bit asym codes cannot survive a bf16
          // round trip (sym 8-bit can: Δ = bf16 absmax / 128 and |q| ≤ 128).
          if (dtype == torch::kBFloat16 && bits == 8) continue;
          EXPECT_TRUE(torch::equal(qa.masked_select(full), qb.masked_select(full)));
          EXPECT_GE(full.to(torch::kFloat64).mean().item<double>(), 0.75);
        }
      }
    }
  }
  // The clamped variant is not idempotent when a group's absmax is positive
  // (documented): max 1.0 -> 7/8, so Δ shrinks on the second pass.
  RtnConfig c;
  c.scheme = RtnScheme::kSymClamp;
  c.group_size = -1;
  torch::Tensor w = torch::tensor({{1.0f, -0.5f, 0.3f, 0.1f}});
  RtnResult a = rtn_quantize(w, c), b = rtn_quantize(a.dequant, c);
  EXPECT_FALSE(torch::equal(a.scales, b.scales));
}

// The same bits from kernels/ (what rtn_quantize runs) and from the torch
// formulation, with enough rows that at::parallel_for splits them (blocks of
// 16 rows); dequantized values compared as bit patterns (−0.0 ≠ +0.0).
TEST(Rtn, KernelPathEqualsTorchFormulationBitForBit) {
  auto gen = at::detail::createCPUGenerator(7);
  torch::Tensor base = at::normal(0.0, 0.05, {301, 256}, gen);
  base.index_put_({0}, 0.0);  // an all-zero row: Δ = 0 (sym), the ±1 range (asym)
  auto bits_of = [](const torch::Tensor& t) {
    return t.scalar_type() == torch::kFloat32 ? t.view(torch::kInt32) : t.view(torch::kInt16);
  };
  for (auto dt : {torch::kFloat32, torch::kBFloat16})
    for (auto scheme : {RtnScheme::kSym, RtnScheme::kSymClamp, RtnScheme::kAsym})
      for (int bits : {8, 4, 3, 2})
        for (int64_t gs : {int64_t(32), int64_t(-1)}) {
          SCOPED_TRACE(rtn_scheme_name(scheme) + " bits " + std::to_string(bits) + " group " +
                       std::to_string(gs) + (dt == torch::kFloat32 ? " fp32" : " bf16"));
          RtnConfig c;
          c.scheme = scheme;
          c.bits = bits;
          c.group_size = gs;
          const torch::Tensor w = base.to(dt);
          const RtnResult k = rtn_quantize(w, c), t = rtn_quantize_torch(w, c);
          EXPECT_EQ(k.group_size, t.group_size);
          EXPECT_EQ(k.codes.scalar_type(), t.codes.scalar_type());
          EXPECT_TRUE(torch::equal(k.codes, t.codes));
          EXPECT_TRUE(torch::equal(bits_of(k.scales), bits_of(t.scales)));
          EXPECT_EQ(k.zeros.defined(), t.zeros.defined());
          if (k.zeros.defined()) {
            EXPECT_TRUE(torch::equal(k.zeros, t.zeros));
          }
          EXPECT_EQ(k.dequant.scalar_type(), dt);
          EXPECT_TRUE(torch::equal(bits_of(k.dequant), bits_of(t.dequant)));
        }
}

TEST(Rtn, DequantizeReconstructs) {
  auto gen = at::detail::createCPUGenerator(99);
  torch::Tensor w = at::normal(0.0, 1.0, {8, 96}, gen);
  for (auto scheme : {RtnScheme::kSym, RtnScheme::kSymClamp, RtnScheme::kAsym}) {
    RtnConfig c;
    c.scheme = scheme;
    c.bits = 3;
    c.group_size = 32;
    RtnResult r = rtn_quantize(w, c);
    EXPECT_TRUE(torch::equal(rtn_dequantize(r.codes, r.scales, r.zeros, r.group_size), r.dequant))
        << rtn_scheme_name(scheme);
  }
}

TEST(Rtn, Errors) {
  RtnConfig c;
  c.group_size = 128;
  expect_error(
      [&] {
        rtn_quantize(torch::zeros({4, 96}), c, "model.layers.0.mlp.up_proj.weight");
      },
      ExitCode::kInput, {"model.layers.0.mlp.up_proj.weight", "128", "96"});
  expect_error([&] { rtn_quantize(torch::zeros({96}), c, "model.norm.weight"); }, ExitCode::kInput,
               {"model.norm.weight", "2-D"});
  expect_error(
      [&] {
        rtn_quantize(torch::zeros({2, 128}, torch::kInt32), c, "ids");
      },
      ExitCode::kInput, {"ids", "floating"});
  torch::Tensor nan = torch::zeros({2, 128});
  nan[1][3] = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { rtn_quantize(nan, c, "bad"); }, ExitCode::kInput, {"bad", "NaN"});
  c.bits = 5;
  expect_error(
      [&] {
        rtn_quantize(torch::zeros({2, 128}), c, "x");
      },
      ExitCode::kConfig, {"bits", "5"});
  c.bits = 4;
  c.group_size = 0;
  expect_error([&] { rtn_config_validate(c); }, ExitCode::kConfig, {"group_size"});
  c.group_size = -1;
  c.modules = {"q_proj", "input_layernorm"};
  expect_error([&] { rtn_config_validate(c); }, ExitCode::kConfig, {"input_layernorm"});
  expect_error([] { rtn_scheme_from_name("gptq"); }, ExitCode::kConfig, {"gptq", "rtn_sym"});
  for (auto s : {RtnScheme::kSym, RtnScheme::kSymClamp, RtnScheme::kAsym})
    EXPECT_EQ(rtn_scheme_from_name(rtn_scheme_name(s)), s);
}

}  // namespace
}  // namespace relapse::quant
