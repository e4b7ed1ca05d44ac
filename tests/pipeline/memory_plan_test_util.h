// tests/pipeline/memory_plan_test_util.h — what the memory-plan tests share:
// the allocator-report counter that measures peaks, random token rows, small
// configs and the tiny evaluated model, and a stage's planned bytes without
// the models the full pipeline keeps resident.
//
// Measuring: libtorch's CPU allocator reports every allocation and free to the
// c10::MemoryReportingInfoBase in the thread-local debug info
// (PROFILER_STATE) when its memoryProfilingEnabled() is true; MemCounter sums
// the sizes (negative on free) and keeps the maximum.
#pragma once
#include <c10/core/Allocator.h>
#include <c10/util/ThreadLocalDebugInfo.h>

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "relapse/core/rng.h"
#include "relapse/model/inference.h"
#include "relapse/model/presets.h"
#include "relapse/pipeline/memory_plan.h"
#include "relapse/unlearn/loops.h"

namespace relapse::pipeline::plan_test {

struct MemCounter : public c10::MemoryReportingInfoBase {
  int64_t current = 0, peak = 0;
  void reportMemoryUsage(void*, int64_t alloc_size, size_t, size_t, c10::Device d) override {
    if (d.type() != c10::DeviceType::CPU) return;
    current += alloc_size;
    peak = std::max(peak, current);
  }
  bool memoryProfilingEnabled() const override { return true; }
};

inline unlearn::Chunks random_chunks(int n, int len, int64_t vocab, uint64_t seed) {
  auto eng = RngStreams(seed).std_engine("test/chunks");
  unlearn::Chunks c(n, std::vector<int64_t>(len));
  for (auto& row : c) {
    row[0] = 1;
    for (int t = 1; t < len; ++t) row[t] = 3 + static_cast<int64_t>(eng() % (vocab - 3));
  }
  return c;
}

inline RelapseConfig small_config(const std::string& preset, const std::string& precision,
                                  const std::string& method, int batch, int micro, int len) {
  RelapseConfig cfg;
  cfg.model.preset = preset;
  cfg.data.synth_size = "small";
  cfg.data.synth_vocab_size = 1024;
  cfg.data.max_len = len;
  cfg.unlearn.methods = {method};
  cfg.unlearn.precision = precision;
  cfg.unlearn.batch_size = batch;
  cfg.unlearn.micro_batches = micro;
  cfg.parallel.memory_gib = 1000;
  return cfg;
}

// A stage's items without the models the full pipeline keeps resident
// (target, retrain, the unlearned model), which these tests do not build.
inline int64_t plan_stage_bytes(const MemoryPlan& p, const std::string& stage) {
  const StagePlan* s = memory_plan_find(p, stage);
  EXPECT_NE(s, nullptr) << stage;
  if (!s) return 0;
  int64_t b = 0;
  for (const auto& it : s->items)
    if (it.what != "resident models") b += it.bytes;
  return b;
}

// Random token rows of exactly `len` tokens (BOS first).
inline std::vector<model::TokenSeq> random_seqs(int n, int len, int64_t vocab, uint64_t seed) {
  std::vector<model::TokenSeq> out;
  for (const auto& row : random_chunks(n, len, vocab, seed)) out.push_back(row);
  return out;
}

// A tiny model built in model.dtype inside the counter's scope.
inline model::LlamaForCausalLM tiny_model(const RelapseConfig& cfg) {
  model::LlamaForCausalLM m(model::model_preset(cfg.model.preset, cfg.data.synth_vocab_size));
  model::llama_init_random(m, 0.02, RngStreams(3).torch_generator("test/init"));
  m->to(model::dtype_from_name(cfg.model.dtype));
  m->eval();
  return m;
}

inline RelapseConfig eval_config(const std::string& dtype) {
  RelapseConfig cfg = small_config("tiny", "float32", "ga", 8, 1, 128);
  cfg.unlearn.methods.clear();  // the evaluation of given models: no unlearned model resident
  cfg.model.dtype = dtype;
  cfg.eval.batch_size = 8;
  cfg.eval.verbmem_max_new_tokens = 16;
  cfg.eval.knowmem_max_new_tokens = 8;
  cfg.quantize.bits.clear();
  return cfg;
}

}  // namespace relapse::pipeline::plan_test
