// src/pipeline/stages.h — the pieces pipeline_run is made of (internal).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "relapse/core/config_schema.h"
#include "relapse/data/muse.h"
#include "relapse/dist/communicator.h"
#include "relapse/dist/process_grid.h"
#include "relapse/eval/muse_eval.h"
#include "relapse/model/llama.h"
#include "relapse/model/tokenizer.h"
#include "relapse/pipeline/results.h"
#include "relapse/quant/quant_spec.h"
#include "relapse/unlearn/loops.h"

namespace relapse::pipeline {

struct RunContext {
  const RelapseConfig* cfg = nullptr;
  int rank = 0, world = 1;  // in the run's communicator (MPI_COMM_WORLD or a sweep cell's)
  ProcessGrid grid;         // DP × TP over that communicator (parallel.tp)
  torch::Device device{torch::kCPU};  // run.device resolved: every model and batch lives here
  RunResult* result = nullptr;
  // The quantized precisions of every evaluation, GPTQ/AWQ's calibration
  // windows (undefined when none needs them), and the target's quantization
  // results per precision label (codes kept for the bucket diagnostics).
  std::vector<quant::QuantSpec> quant_specs;
  torch::Tensor calib_ids;
  std::map<std::string, std::vector<quant::LayerQuant>> target_quant;
  std::map<std::string, std::vector<std::pair<std::string, torch::Tensor>>> target_weights;
  // The data-parallel group (null when DP = 1): loops and evaluation shard over it.
  // Both follow the device: NCCL for CUDA tensors, MPI for CPU tensors.
  Communicator* dp() const { return grid.dp_size > 1 ? &grid.dp_for(device) : nullptr; }
  // This rank's tensor-parallel place: models are built and loaded with it.
  model::TpContext tp() const { return {grid.tp_size, grid.tp_rank, &grid.tp_for(device)}; }
  // Rank 0 of each TP group of DP replica 0 takes part in writing a model.
  bool writes_models() const { return grid.dp_rank == 0; }
  void barrier() const {
    if (world > 1) grid.world->barrier();
  }
  void add_stage_time(const std::string& stage, double s) const {
    result->stages.push_back({stage, s});
  }
};

struct CorpusData {
  std::string dir;
  std::string fingerprint;  // hash of the tokenizer and every split's text (cache keys)
  data::MuseCorpus corpus;
  std::unique_ptr<model::Tokenizer> tok;
  unlearn::Chunks world, forget, retain1, retain2, holdout;
};

// data: synthesizes OUT/data when data.corpus is empty (rank 0, reused when
// its synth.json matches), loads it and chunks every split.
CorpusData stage_data(RunContext& ctx);

// Saved model directories are cached by key (relapse_stage.json).
bool stage_cached(const std::string& dir, const std::string& key);
void stage_save(RunContext& ctx, const model::LlamaForCausalLM& m, const std::string& dir,
                const std::string& key, const std::string& tokenizer_model, const ModelInfo* info);
model::LlamaForCausalLM stage_load(RunContext& ctx, const std::string& dir,
                                   const std::string& dtype);

// train: returns (target, retrain) in their training precision.
struct TrainedModels {
  model::LlamaForCausalLM target{nullptr}, retrain{nullptr};
  ModelInfo target_info, retrain_info;
  std::string key;  // the target's key (unlearning keys derive from it)
};
TrainedModels stage_train(RunContext& ctx, CorpusData& d);

// One unlearning grid entry: name = group, plus "_s<seed>" when
// unlearn.seeds repeats it (seed = -1: ordered by run.seed). lr_regime
// "small", "large" or "sure" (saliency-masked, unlearn.sure.mode).
struct UnlearnSpec {
  std::string name, group, method, lr_regime;
  double lr = 0;
  int64_t seed = -1;
};
// small-LR runs (methods × lrs), large-LR runs, SURE runs, each × seeds.
std::vector<UnlearnSpec> unlearn_grid(const UnlearnSection& u);

// unlearn: one run from the target (cached); `retrain_knowmem_f` feeds the
// stop rule (NaN = no rule).
model::LlamaForCausalLM stage_unlearn(RunContext& ctx, CorpusData& d, const TrainedModels& tm,
                                      const UnlearnSpec& spec, ModelInfo& info,
                                      double retrain_knowmem_f);

// Fills ctx.quant_specs from cfg.quantize and, when GPTQ or AWQ is among them,
// ctx.calib_ids from the configured text (recorded in ctx.result->calibration).
void stage_quant_setup(RunContext& ctx, const CorpusData& d);

// eval: the model at full precision and every quantized precision (the model
// is not modified); `target` (may be null) gets bucket diagnostics for
// unlearned ones.
ModelResult stage_eval(RunContext& ctx, CorpusData& d, const model::LlamaForCausalLM& m,
                       const ModelInfo& info, const model::LlamaForCausalLM* target);

// The relearning attack on an unlearned model (relearn.steps > 0): fine-tunes
// a copy on the configured slice and evaluates it at full precision; the
// result is the PrecisionEval "relearn" (the model is not modified).
PrecisionEval stage_relearn(RunContext& ctx, CorpusData& d, const model::LlamaForCausalLM& m,
                            const ModelInfo& info);

// Bootstrap intervals (eval.bootstrap) of every evaluation of the run, and
// the paired quantized − full differences; after PrivLeak's normalisation.
void stage_bootstrap(RunContext& ctx, RunResult& r, double auc_retrain);

// The evaluation settings of cfg.eval (every metric on).
eval::MuseEvalOptions eval_options(const EvalSection& e);

// Shared by the stage files (stages.cpp, stage_unlearn.cpp): cache keys, the
// loops' options from a config section, resume checkpoints, warmup, and what
// stage_save stamped beside a cached model.
std::string key_hash(const std::string& text);  // FNV-1a 64 of a key text, hex
template <typename S>
std::string dump(const S& s) {
  return config_dump_as(s);
}
unlearn::LoopOptions loop_options(const RelapseConfig& cfg, const TrainStageSection& s,
                                  uint64_t seed, const std::string& stream,
                                  const std::string& label);
unlearn::LoopCheckpointOptions resume_options(const RelapseConfig& cfg, const std::string& dir,
                                              const std::string& key);
void set_warmup(unlearn::LoopOptions& o, double ratio, int64_t n_rows);
void info_from_stamp(const std::string& dir, ModelInfo& info);
void mask_from_stamp(const std::string& dir, SaliencyMaskInfo& mask);

// A deep copy of a model (same config, parameters copied) in `dtype`.
model::LlamaForCausalLM model_clone(const model::LlamaForCausalLM& m, torch::ScalarType dtype);

}  // namespace relapse::pipeline
