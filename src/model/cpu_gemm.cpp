// src/model/cpu_gemm.cpp — the CPU bf16 linear's path (see relapse/model/cpu_gemm.h).
#include "relapse/model/cpu_gemm.h"

#include <atomic>
#include <optional>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "relapse/core/error.h"

namespace relapse::model {

namespace {

std::atomic<CpuBf16Gemm>& choice() {
  static std::atomic<CpuBf16Gemm> g{cpu_bf16_gemm_resolve("auto")};
  return g;
}

}  // namespace

const std::vector<std::string>& cpu_bf16_gemm_setting_names() {
  static const std::vector<std::string> names{"auto", "native", "fp32"};
  return names;
}

const char* cpu_bf16_gemm_name(CpuBf16Gemm g) {
  return g == CpuBf16Gemm::kFp32 ? "fp32" : "native";
}

bool cpu_has_bf16_instructions() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const unsigned max_subleaf = a;
  const bool amx_bf16 = (d >> 22) & 1u;
  bool avx512_bf16 = false;
  if (max_subleaf >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) avx512_bf16 = (a >> 5) & 1u;
  return amx_bf16 || avx512_bf16;
#else
  return true;
#endif
}

CpuBf16Gemm cpu_bf16_gemm_resolve(const std::string& setting, const std::string& key) {
  if (setting == "native") return CpuBf16Gemm::kNative;
  if (setting == "fp32") return CpuBf16Gemm::kFp32;
  RELAPSE_CHECK_CONFIG(setting == "auto", key, ": unknown value '", setting,
                       "' (expected auto, native or fp32)");
  return cpu_has_bf16_instructions() ? CpuBf16Gemm::kNative : CpuBf16Gemm::kFp32;
}

std::string cpu_bf16_gemm_describe(const std::string& setting) {
  return std::string(cpu_bf16_gemm_name(cpu_bf16_gemm_resolve(setting))) +
         " (model.cpu_bf16_gemm " + setting + "; this CPU has " +
         (cpu_has_bf16_instructions() ? "" : "no ") + "AVX512_BF16 / AMX-BF16 instructions)";
}

void cpu_bf16_gemm_set(CpuBf16Gemm g) {
  choice().store(g);
}

CpuBf16Gemm cpu_bf16_gemm_get() {
  return choice().load();
}

bool cpu_bf16_gemm_applies(const torch::Tensor& x) {
  return x.scalar_type() == torch::kBFloat16 && x.device().is_cpu() &&
         cpu_bf16_gemm_get() == CpuBf16Gemm::kFp32;
}

torch::Tensor linear_forward(const torch::Tensor& x, const torch::Tensor& w,
                             const torch::Tensor& b) {
  namespace F = torch::nn::functional;
  if (!cpu_bf16_gemm_applies(x) || w.scalar_type() != torch::kBFloat16) return F::linear(x, w, b);
  // bf16 -> fp32 is exact; one rounding of the fp32-accumulated result.
  const torch::Tensor b32 = b.defined() ? b.to(torch::kFloat32) : b;
  return F::linear(x.to(torch::kFloat32), w.to(torch::kFloat32), b32).to(torch::kBFloat16);
}

torch::Tensor sdpa_forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                           const torch::Tensor& mask, bool is_causal, double scaling,
                           bool enable_gqa) {
  const bool up = cpu_bf16_gemm_applies(q);
  auto in = [up](const torch::Tensor& t) { return up ? t.to(torch::kFloat32) : t; };
  std::optional<torch::Tensor> m;
  if (mask.defined()) m = in(mask);
  torch::Tensor out = at::scaled_dot_product_attention(in(q), in(k), in(v), m, /*dropout_p=*/0.0,
                                                       is_causal, scaling, enable_gqa);
  return up ? out.to(torch::kBFloat16) : out;
}

}  // namespace relapse::model
