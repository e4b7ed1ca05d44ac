// relapse/unlearn/bench_model.h — `relapse bench train|score|generate`: tokens/s
// of relapse's training step (AdamW in the model dtype: pure bf16 is the
// paper's), of scoring (per-token log-probabilities) and of batched greedy
// generation, against Hugging Face transformers (PyTorch, SDPA) running
// launch/bench/hf_reference.py on the same shape, dtype, device and threads in
// the same invocation, one after the other. Random weights: no speed depends
// on the values. On a GPU also MFU = 6·N·tokens/s (training) or 2·N·tokens/s
// (scoring) ÷ the stated bf16 dense peak of the device.
#pragma once
#include <string>
#include <vector>

#include <torch/torch.h>

#include "relapse/model/llama_config.h"

namespace relapse::unlearn {

struct BenchModelOptions {
  std::string mode = "train";     // train | score | generate
  std::string shape = "30m";      // bench_model_shape_names()
  std::string dtype = "float32";  // float32 | bfloat16
  std::string device = "cpu";     // run.device's values
  int threads = 0;                // 0 = libtorch's default (both sides)
  int64_t batch = 4;
  int64_t seq = 256;          // sequence length (train, score) or prompt length (generate)
  int64_t new_tokens = 32;    // generate
  int iters = 3, warmup = 1;  // median of iters timed runs after warmup untimed ones
  std::string python;         // interpreter with torch + transformers ("" = no reference)
  std::string reference;      // path of hf_reference.py
  std::string work_dir;       // where config.json for the reference is written
};

struct BenchModelRow {
  std::string side;                              // "relapse" | "hf"
  double time_s = 0, tokens_per_s = 0, mfu = 0;  // mfu 0 when not on a GPU
  std::string note;                              // the reference's versions / threads
};

// "30m": d 512, 8 layers, 8 heads, FFN 1376, vocab 8192 (33.7M parameters);
// "1b": Llama-3.2-1B's sizes (d 2048, 16 layers, 32 heads / 8 KV, FFN 8192,
// vocab 128256, tied embeddings).
const std::vector<std::string>& bench_model_shape_names();
model::LlamaConfig bench_model_shape(const std::string& name);

// Runs relapse's measurement, then the reference (when o.python is set) and
// returns both rows (relapse first).
std::vector<BenchModelRow> bench_model_run(const BenchModelOptions& o);
std::string bench_model_format(const std::vector<BenchModelRow>& rows, const BenchModelOptions& o);

}  // namespace relapse::unlearn
