// relapse/quant/bench_quant.h — `relapse bench quant`: wall time to quantize
// whole models with RTN, GPTQ and AWQ (random weights: the time of these
// algorithms does not depend on the values), and RTN's throughput in GB/s of
// weights against a plain copy of the same weights measured in the same run.
#pragma once
#include <string>
#include <vector>

#include "relapse/dist/communicator.h"

namespace relapse::quant {

struct BenchQuantOptions {
  // Preset names (model_preset_names()) or "llama-134m" (d 768, 12 layers,
  // 12 heads, FFN 2048, vocab 32000: 85M decoder-linear + 49M embedding
  // parameters).
  std::vector<std::string> models = {"tiny", "llama-134m"};
  // rtn (what relapse runs: torch ops), rtn_kernel (kernels/'s CPU reference
  // of the same RTN, per-row groups only), gptq, awq, fp4, nf4, llm_int8.
  std::vector<std::string> methods = {"rtn", "rtn_kernel", "gptq", "awq"};
  std::string dtype = "bfloat16";
  int bits = 4;
  int64_t group_size = -1;  // per row: the tiny preset's FFN (352) has no 128-column groups
  int64_t n_samples = 8, seq_len = 128;  // GPTQ / AWQ calibration
  int repeats = 3;                       // RTN and copy: best of
};

struct BenchQuantRow {
  std::string model, method;
  int64_t linear_params = 0;  // weights quantized
  double bytes = 0;           // their size in the model dtype
  double time_s = 0;          // quantize (best of `repeats` for rtn)
  double gbps = 0;            // bytes / time_s / 1e9
  double copy_gbps = 0;       // bytes / (copy of the same weights) / 1e9
  double ratio = 0;           // time_s / copy time (rtn); 0 elsewhere
};

std::vector<BenchQuantRow> bench_quant_run(const BenchQuantOptions& o, Communicator* comm);
std::string bench_quant_format(const std::vector<BenchQuantRow>& rows, const BenchQuantOptions& o,
                               int ranks);

}  // namespace relapse::quant
