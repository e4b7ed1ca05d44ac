// relapse/model/bench_gemm.h — `relapse bench gemm`: the bf16 linears, the
// fused attention and a whole training step (forward + backward) of a preset
// model on the CPU, with libtorch's native bf16 kernels and with
// model.cpu_bf16_gemm's fp32 path (relapse/model/cpu_gemm.h), timed in the
// same process; the ratio says what the fp32 path buys on this CPU.
#pragma once
#include <string>
#include <vector>

namespace relapse::model {

struct BenchGemmOptions {
  std::string preset = "tiny";  // model shape (presets.h)
  int64_t vocab = 1024;         // the embedded default's vocabulary
  int64_t batch = 8, seq_len = 128;
  int iters = 20;  // timed repetitions (best of 3 rounds of iters each)
};

struct BenchGemmRow {
  std::string op;    // "linear 128x352", "attention", "model step"
  double native_us;  // libtorch's bf16 kernels
  double fp32_us;    // the fp32 path
};

std::vector<BenchGemmRow> bench_gemm_run(const BenchGemmOptions& o);
std::string bench_gemm_format(const std::vector<BenchGemmRow>& rows, const BenchGemmOptions& o);

}  // namespace relapse::model
