// src/pipeline/memory_plan_internal.h — the helpers the memory plan's files
// share (memory_plan.cpp: shape, training and unlearning steps, the overall
// plan; memory_plan_stages.cpp: quantization and evaluation;
// memory_plan_budget.cpp: the budget). Not a public header.
#pragma once
#include <cstdint>
#include <string>

#include "relapse/pipeline/memory_plan.h"
#include "relapse/quant/quant_spec.h"

namespace relapse::pipeline::plan_detail {

int64_t dtype_bytes(const std::string& name);
int64_t ceil_div(int64_t a, int64_t b);
std::string gib(int64_t bytes);

// Parameters of the whole model (unpadded vocabulary) and of one TP shard
// (vocabulary padded to a multiple of TP, KV heads replicated when fewer than
// TP; norms and row-parallel biases replicated), as tp_layers.cpp builds them.
struct ParamCount {
  int64_t total = 0, per_rank = 0;
  int64_t largest = 0;      // elements of the largest tensor on this rank
  int64_t linears = 0;      // elements of the decoder's q/k/v/o/gate/up/down on this rank
  int64_t linear_full = 0;  // elements of the largest whole (gathered) decoder linear
};
ParamCount param_count(const model::LlamaConfig& c, int64_t tp);

// Local (per TP rank) widths: query heads × D, KV heads × D (replicas
// included), FFN, vocabulary (padded).
struct LocalDims {
  int64_t q = 0, kv = 0, f = 0, v = 0;
};
LocalDims local_dims(const model::LlamaConfig& c, int64_t tp);

// Everything the stage planners need besides the config.
struct PlanCtx {
  const RelapseConfig* cfg = nullptr;
  model::LlamaConfig shape;
  int64_t tp = 1, dp = 1;
  ParamCount pc;
  bool trains = false, unlearns = false;  // which earlier stages leave models behind
  // bf16 steps on the CPU take model.cpu_bf16_gemm's fp32 path (model/cpu_gemm.h)
  bool cpu_fp32_gemm = false;
};

// One item added to a stage (bytes, arithmetic).
void stage_add(StagePlan& s, const std::string& what, int64_t bytes, const std::string& how);

// The models the pipeline keeps resident while quantizing / evaluating.
void add_resident_eval_models(const PlanCtx& x, StagePlan& s);

// quantization of one QuantSpec (memory_plan_stages.cpp).
StagePlan plan_quant_stage(const PlanCtx& x, const quant::QuantSpec& spec);

// evaluation (memory_plan_stages.cpp).
StagePlan plan_eval_stage(const PlanCtx& x);

// The budget per rank (memory_plan_budget.cpp): parallel.memory_gib, else
// the GPU's free memory when run.device resolves to CUDA, else the node's
// RAM shared by its ranks.
void plan_budget(const RelapseConfig& cfg, int ranks, int64_t& budget, std::string& source);

}  // namespace relapse::pipeline::plan_detail
