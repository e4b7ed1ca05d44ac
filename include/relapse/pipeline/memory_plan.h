// relapse/pipeline/memory_plan.h — how many bytes one rank needs for a config
// before anything is launched (`relapse plan CONFIG`, `relapse sweep plan`,
// and the refusal at the start of `relapse run`): weights, gradients,
// optimizer state, the frozen reference model, and activations at the
// configured batch and sequence length, for the chosen DP × TP and precision.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "relapse/core/config_schema.h"
#include "relapse/model/llama_config.h"

namespace relapse::pipeline {

// One line of the plan: bytes per rank and how they were counted.
struct MemoryItem {
  std::string what;  // "weights", "gradients", "optimizer", "reference", "activations", ...
  int64_t bytes = 0;
  std::string how;  // the arithmetic, e.g. "6.74e9 params / tp 8 x 2 B (bfloat16)"
};

struct MemoryPlan {
  std::string model;         // preset name or model.path
  model::LlamaConfig shape;  // the resolved shape (vocab included)
  int ranks = 1, dp = 1, tp = 1;
  int64_t params_total = 0;       // parameters of the whole model
  int64_t params_per_rank = 0;    // on one TP shard
  std::vector<MemoryItem> items;  // the peak stage's contributions (the unlearning step)
  std::string stage;              // the moment the total is for ("unlearning step (npo_gdr, ...")
  int64_t total = 0;              // sum of items: peak bytes per rank
  int64_t budget = 0;             // bytes per rank available (parallel.memory_gib or detected)
  std::string budget_source;      // "parallel.memory_gib", "GPU ...", "RAM / ranks on node"
  bool fits = true;               // total <= budget (true when budget is 0 = unknown)
};

// The model shape a config runs: model.path's config.json when set (no
// weights are read), else model.preset with the vocabulary of the tokenizer
// that will be used (model.tokenizer / the corpus's tokenizer.model when it
// exists, else the synthetic corpus's configured vocabulary size).
model::LlamaConfig memory_plan_shape(const RelapseConfig& cfg);

// The plan of `cfg` on `ranks` ranks (0 = parallel.ranks, or 1 when that is 0).
MemoryPlan memory_plan(const RelapseConfig& cfg, int ranks = 0);

// A table of the plan (items with bytes in GiB/MiB and the arithmetic, the
// total against the budget).
std::string memory_plan_text(const MemoryPlan& p);

// Throws relapse::Error(kConfig) when the plan does not fit: names the total,
// the budget and where it came from, and the largest items.
void memory_plan_require_fit(const MemoryPlan& p);

}  // namespace relapse::pipeline
