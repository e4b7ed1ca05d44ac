// relapse/model/cpu_gemm.h — how bf16 linears and attention run on the CPU.
//
// On a CPU without bf16 instructions (neither AVX512_BF16 nor AMX-BF16: e.g. an
// Intel Xeon with AVX-512F only) libtorch's bf16 GEMMs and fused attention are
// emulated: ~2.3x (linears) and ~3x (attention, forward + backward) slower
// than fp32 at relapse's small shapes (`relapse bench gemm` measures it here).
// There relapse computes a bf16 linear as the fp32 GEMM of the exactly upcast
// bf16 operands, rounded to bf16 once — the math of a bf16 GEMM with fp32
// accumulation, which is what libtorch's kernels compute, up to summation
// order — and runs the fused attention on upcast operands, its output rounded
// to bf16 once (the bf16 kernel also rounds its softmax probabilities to bf16
// before multiplying by V; here they stay fp32 inside the kernel). Weights,
// activations between modules, gradients and the optimizer's state stay bf16:
// the paper's pure-bf16 setting is kept; what differs from the native kernels
// is inside a kernel, as it differs between any two CPUs' or GPUs' kernels.
//
// The setting is model.cpu_bf16_gemm (auto | native | fp32), process-wide:
// auto = fp32 on a CPU without bf16 instructions, native elsewhere. CUDA
// tensors and non-bf16 tensors always take libtorch's own path. A run records
// the resolved choice in its provenance and cache keys.
#pragma once
#include <string>
#include <vector>

#include <torch/torch.h>

namespace relapse::model {

enum class CpuBf16Gemm { kNative, kFp32 };

// "auto", "native", "fp32": model.cpu_bf16_gemm's values.
const std::vector<std::string>& cpu_bf16_gemm_setting_names();
const char* cpu_bf16_gemm_name(CpuBf16Gemm g);

// True when this CPU has bf16 dot-product instructions (x86 CPUID leaf 7:
// AVX512_BF16, sub-leaf 1 EAX bit 5; AMX-BF16, sub-leaf 0 EDX bit 22). On
// other architectures: true (libtorch's own path is kept there).
bool cpu_has_bf16_instructions();

// The setting resolved on this CPU; throws a config error naming `key` for an
// unknown value.
CpuBf16Gemm cpu_bf16_gemm_resolve(const std::string& setting,
                                  const std::string& key = "model.cpu_bf16_gemm");

// "<resolved> (model.cpu_bf16_gemm <setting>; this CPU has [no] bf16
// instructions)": the provenance's and `relapse config --version`'s line.
std::string cpu_bf16_gemm_describe(const std::string& setting);

// The process-wide choice (initially auto's resolution on this CPU).
void cpu_bf16_gemm_set(CpuBf16Gemm g);
CpuBf16Gemm cpu_bf16_gemm_get();

// Sets the process-wide choice for its lifetime and restores the one before
// (benchmarks and tests that compare both paths in one process).
class CpuBf16GemmScope {
 public:
  explicit CpuBf16GemmScope(CpuBf16Gemm g) : before_(cpu_bf16_gemm_get()) { cpu_bf16_gemm_set(g); }
  ~CpuBf16GemmScope() { cpu_bf16_gemm_set(before_); }
  CpuBf16GemmScope(const CpuBf16GemmScope&) = delete;
  CpuBf16GemmScope& operator=(const CpuBf16GemmScope&) = delete;

 private:
  CpuBf16Gemm before_;
};

// True when `x` is a CPU bf16 tensor and the process-wide choice is kFp32.
bool cpu_bf16_gemm_applies(const torch::Tensor& x);

// y = x W^T + b as torch::nn::functional::linear, through the fp32 GEMM when
// cpu_bf16_gemm_applies(x) and W is bf16. Differentiable
// (the upcasts' backward rounds the gradients to bf16).
torch::Tensor linear_forward(const torch::Tensor& x, const torch::Tensor& w,
                             const torch::Tensor& b = {});

// at::scaled_dot_product_attention (no dropout), on the upcast operands with
// the output rounded to bf16 when cpu_bf16_gemm_applies(q).
torch::Tensor sdpa_forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                           const torch::Tensor& mask, bool is_causal, double scaling,
                           bool enable_gqa);

}  // namespace relapse::model
