// tests/model/test_cpu_gemm.cpp — model.cpu_bf16_gemm's fp32 path for bf16
// linears and attention on the CPU (relapse/model/cpu_gemm.h) against the exact
// result: the fp64 product of the same bf16 operands, rounded to bf16 once.
// An fp32-accumulated sum of these short dot products is within ~1e-6
// relative of the fp64 one, far below half a bf16 ULP (2^-9 relative), so the
// path must give the correctly rounded value almost everywhere (>= 99% of
// entries; a sum that lands next to a rounding boundary may go either way) and
// never be more than one ULP away. The native bf16 kernels (whatever this CPU
// runs) are held to two ULPs without a bias: they may round an intermediate
// too; with one, libtorch 2.11's CPU kernel rounds x W^T to bf16 before adding
// the bias (measured: 63 ULPs off where the two nearly cancel), which the fp32
// path does not (one rounding, as a fused-bias GEMM epilogue). The
// detection of bf16 instructions is checked against /proc/cpuinfo's flags.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "relapse/core/error.h"
#include "relapse/core/rng.h"
#include "relapse/model/cpu_gemm.h"

namespace relapse::model {
namespace {

torch::Tensor bf16_randn(std::vector<int64_t> shape, double scale, const std::string& stream) {
  auto gen = RngStreams(3).torch_generator(stream);
  return (torch::randn(shape, gen) * scale).to(torch::kBFloat16);
}

// |a - ref| in units of ref's bf16 ULP (2^(exponent - 7); ref's own rounding).
struct UlpStats {
  double max_ulps = 0, exact_fraction = 0;
};
UlpStats ulps(const torch::Tensor& a, const torch::Tensor& exact) {
  torch::Tensor ref = exact.to(torch::kBFloat16).to(torch::kFloat64);
  torch::Tensor mag = ref.abs().clamp_min(std::ldexp(1.0, -126));
  torch::Tensor ulp = torch::exp2(torch::floor(torch::log2(mag)) - 7);
  torch::Tensor d = (a.to(torch::kFloat64) - ref).abs() / ulp;
  return {d.max().item<double>(), (d == 0).to(torch::kFloat64).mean().item<double>()};
}

struct LinearRun {
  torch::Tensor y, gx, gw, gb;
};
LinearRun run_linear(const torch::Tensor& x0, const torch::Tensor& w0, const torch::Tensor& b0,
                     const torch::Tensor& g) {
  torch::Tensor x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true),
                b = b0.clone().requires_grad_(true);
  torch::Tensor y = linear_forward(x, w, b);
  y.backward(g);
  return {y.detach(), x.grad(), w.grad(), b.grad()};
}

TEST(CpuGemm, LinearFp32PathIsTheRoundedExactProduct) {
  torch::Tensor x = bf16_randn({4, 7, 96}, 1.0, "x"), w = bf16_randn({80, 96}, 0.1, "w"),
                b = bf16_randn({80}, 0.1, "b"), g = bf16_randn({4, 7, 80}, 1.0, "g");
  auto f64 = [](const torch::Tensor& t) { return t.to(torch::kFloat64); };
  torch::Tensor y = torch::matmul(f64(x), f64(w).t()) + f64(b);
  torch::Tensor gx = torch::matmul(f64(g), f64(w));
  torch::Tensor gw = torch::matmul(f64(g).reshape({-1, 80}).t(), f64(x).reshape({-1, 96}));
  torch::Tensor gb = f64(g).reshape({-1, 80}).sum(0);
  for (CpuBf16Gemm mode : {CpuBf16Gemm::kFp32, CpuBf16Gemm::kNative}) {
    CpuBf16GemmScope c(mode);
    const bool fp32 = mode == CpuBf16Gemm::kFp32;
    const double max_ulps = fp32 ? 1 : 2;
    LinearRun r = run_linear(x, w, b, g);
    torch::Tensor y_no_bias = linear_forward(x, w), exact_no_bias = y - f64(b);
    for (auto [name, got, exact] :
         {std::tuple{"y", fp32 ? r.y : y_no_bias, fp32 ? y : exact_no_bias},
          std::tuple{"dx", r.gx, gx}, std::tuple{"dw", r.gw, gw}, std::tuple{"db", r.gb, gb}}) {
      ASSERT_EQ(got.scalar_type(), torch::kBFloat16) << name;
      UlpStats s = ulps(got, exact);
      EXPECT_LE(s.max_ulps, max_ulps) << cpu_bf16_gemm_name(mode) << " " << name;
      if (fp32) EXPECT_GE(s.exact_fraction, 0.99) << name;
    }
  }
}

TEST(CpuGemm, AttentionFp32PathIsTheRoundedExactAttention) {
  const int64_t B = 2, H = 3, T = 9, D = 16;
  torch::Tensor q = bf16_randn({B, H, T, D}, 1.0, "q"), k = bf16_randn({B, H, T, D}, 1.0, "k"),
                v = bf16_randn({B, H, T, D}, 1.0, "v");
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  torch::Tensor s = torch::matmul(q.to(torch::kFloat64), k.to(torch::kFloat64).transpose(2, 3));
  torch::Tensor causal = torch::ones({T, T}, torch::kBool).triu(1);
  torch::Tensor p = torch::softmax((s * scale).masked_fill(causal, -INFINITY), -1);
  torch::Tensor exact = torch::matmul(p, v.to(torch::kFloat64));
  CpuBf16GemmScope c(CpuBf16Gemm::kFp32);
  torch::Tensor got = sdpa_forward(q, k, v, {}, true, scale, false);
  ASSERT_EQ(got.scalar_type(), torch::kBFloat16);
  UlpStats st = ulps(got, exact);
  EXPECT_LE(st.max_ulps, 1);
  EXPECT_GE(st.exact_fraction, 0.99);
}

TEST(CpuGemm, OtherDtypesTakeLibtorchsPath) {
  torch::Tensor x = torch::randn({5, 12}), w = torch::randn({6, 12});
  CpuBf16GemmScope c(CpuBf16Gemm::kFp32);
  EXPECT_TRUE(torch::equal(linear_forward(x, w), torch::nn::functional::linear(x, w)));
  EXPECT_FALSE(cpu_bf16_gemm_applies(x));
  EXPECT_TRUE(cpu_bf16_gemm_applies(x.to(torch::kBFloat16)));
  cpu_bf16_gemm_set(CpuBf16Gemm::kNative);
  EXPECT_FALSE(cpu_bf16_gemm_applies(x.to(torch::kBFloat16)));
}

// /proc/cpuinfo's flags name the kernel's view of the same CPUID bits.
TEST(CpuGemm, DetectionAgreesWithProcCpuinfo) {
  std::ifstream f("/proc/cpuinfo");
  std::string line, flags;
  while (std::getline(f, line))
    if (line.rfind("flags", 0) == 0) {
      flags = " " + line.substr(line.find(':') + 1) + " ";
      break;
    }
#if defined(__x86_64__)
  if (flags.empty()) GTEST_SKIP() << "no /proc/cpuinfo flags line";
  const bool has = flags.find(" avx512_bf16 ") != std::string::npos ||
                   flags.find(" amx_bf16 ") != std::string::npos;
  EXPECT_EQ(cpu_has_bf16_instructions(), has) << flags;
  EXPECT_EQ(cpu_bf16_gemm_resolve("auto"), has ? CpuBf16Gemm::kNative : CpuBf16Gemm::kFp32);
#endif
  EXPECT_EQ(cpu_bf16_gemm_resolve("native"), CpuBf16Gemm::kNative);
  EXPECT_EQ(cpu_bf16_gemm_resolve("fp32"), CpuBf16Gemm::kFp32);
  try {
    cpu_bf16_gemm_resolve("bf16");
    FAIL() << "an unknown value was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.cpu_bf16_gemm"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace relapse::model
