// relapse/pipeline/memory_plan.h — how many bytes one rank needs for a config
// before anything is launched (`relapse plan CONFIG`, `relapse sweep plan`,
// and the refusal at the start of `relapse run`), stage by stage (issue 18):
//   training      pretraining / fine-tuning target and retrain (when they run:
//                 not for train.target / train.retrain given);
//   unlearning    weights, gradients, AdamW, the reference model, activations
//                 (per decoder layer, or only the layer inputs under
//                 parallel.activation_checkpointing) and logits;
//   quantization  one plan per precision (RTN, GPTQ, AWQ, bitsandbytes):
//                 calibration activations, Hessians, AWQ statistics;
//   evaluation    the model in model.dtype, the generation batch's KV cache,
//                 the scoring logits.
// A run is refused only for the stages it will execute: an eval-only or
// quantize-only run is never refused for unlearning's needs.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "relapse/model/llama_config.h"
#include "relapse/pipeline/config.h"
#include "relapse/pipeline/run.h"

namespace relapse::pipeline {

// One line of the plan: bytes per rank and how they were counted.
struct MemoryItem {
  std::string what;  // "weights", "gradients", "optimizer", "reference", "activations", ...
  int64_t bytes = 0;
  std::string how;  // the arithmetic, e.g. "6.74e9 params / tp 8 x 2 B (bfloat16)"
};

// One stage's peak: its items, their sum, and whether the run executes it.
struct StagePlan {
  std::string name;    // "training", "unlearning", "quantization gptq4", "evaluation"
  std::string moment;  // the moment of the peak ("unlearning step (npo_gdr, ...): ...")
  std::vector<MemoryItem> items;
  int64_t total = 0;    // sum of items: peak bytes per rank of this stage
  bool runs = true;     // false: planned for information, never refused
  std::string why_not;  // when !runs: why the run skips it
  bool fits = true;     // total <= budget (true when the budget is unknown)
};

struct MemoryPlan {
  std::string model;         // preset name or model.path
  model::LlamaConfig shape;  // the resolved shape (vocab included)
  int ranks = 1, dp = 1, tp = 1;
  int64_t params_total = 0;       // parameters of the whole model
  int64_t params_per_rank = 0;    // on one TP shard
  std::vector<StagePlan> stages;  // training, unlearning, quantization per precision, evaluation
  int peak = -1;                  // index in stages of the largest stage that runs (-1: none)
  // The peak stage's items, moment and total (what callers before issue 18 read).
  std::vector<MemoryItem> items;
  std::string stage;
  int64_t total = 0;
  int64_t budget = 0;         // bytes per rank available (parallel.memory_gib or detected)
  std::string budget_source;  // "parallel.memory_gib", "GPU ...", "RAM / ranks on node"
  bool fits = true;           // every stage that runs fits (true when budget is 0 = unknown)
};

// The model shape a config runs: model.path's config.json when set (no
// weights are read), else model.preset with the vocabulary of the tokenizer
// that will be used (model.tokenizer / the corpus's tokenizer.model when it
// exists, else the synthetic corpus's configured vocabulary size).
model::LlamaConfig memory_plan_shape(const RelapseConfig& cfg);

// The plan of `cfg` on `ranks` ranks (0 = parallel.ranks, or 1 when that is 0)
// for a run up to `last` (pipeline_run's stages; `relapse run` = kEval).
MemoryPlan memory_plan(const RelapseConfig& cfg, int ranks = 0, Stage last = Stage::kEval);

// The stage whose name starts with `name` ("unlearning", "evaluation",
// "quantization gptq4"); null when there is none.
const StagePlan* memory_plan_find(const MemoryPlan& p, const std::string& name);

// A table per stage (items with bytes in GiB/MiB and the arithmetic, the
// total against the budget) and which stage is the peak.
std::string memory_plan_text(const MemoryPlan& p);

// Throws relapse::Error(kConfig) when a stage that runs does not fit: names
// the stage, its total, the budget and where it came from, and its largest items.
void memory_plan_require_fit(const MemoryPlan& p);

}  // namespace relapse::pipeline
