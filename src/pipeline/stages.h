// src/pipeline/stages.h — the stages pipeline_run is made of, one file each
// (stage_<name>.cpp), the runtime they share and the results they hand on
// (internal).
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "relapse/core/preemption.h"
#include "relapse/data/muse.h"
#include "relapse/dist/communicator.h"
#include "relapse/dist/process_grid.h"
#include "relapse/eval/muse_eval.h"
#include "relapse/model/llama.h"
#include "relapse/model/tokenizer.h"
#include "relapse/pipeline/config.h"
#include "relapse/quant/quant_spec.h"
#include "relapse/results/results.h"
#include "relapse/unlearn/loops.h"

namespace relapse::pipeline {

// What the stages produce (relapse/results/results.h).
using results::CalibrationInfo;
using results::MetricCI;
using results::model_find_eval;
using results::ModelInfo;
using results::ModelResult;
using results::PrecisionEval;
using results::run_find_model;
using results::RunResult;
using results::SaliencyMaskInfo;

struct RunContext {
  // The sections every stage reads: the run's name, places and root seed; the
  // model being built, loaded and evaluated; the parallel layout; the one
  // evaluation protocol (final evaluation, unlearning's stop rule, relearning);
  // where each key came from (refusals after loading). A stage's own section
  // (data, pretrain + train, unlearn, quantize, relearn, bootstrap) comes as
  // its argument, so a signature says what the stage depends on.
  const RunSection* run = nullptr;
  const ModelSection* model = nullptr;
  const ParallelSection* parallel = nullptr;
  const EvalSection* eval = nullptr;
  const ConfigOrigins* origins = nullptr;
  int rank = 0, world = 1;  // in the run's communicator (MPI_COMM_WORLD or a sweep cell's)
  ProcessGrid grid;         // DP × TP over that communicator (parallel.tp)
  torch::Device device{torch::kCPU};  // run.device resolved: every model and batch lives here
  RunResult* result = nullptr;        // stage wall times and the calibration record go here
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

// A removal request of data.forget_requests: its name, the hash of its text
// (unlearning cache keys) and its training windows.
struct ForgetRequest {
  std::string name, fingerprint;
  unlearn::Chunks chunks;
};

struct CorpusData {
  std::string dir;
  std::string fingerprint;  // hash of the tokenizer and every split's text (cache keys)
  data::MuseCorpus corpus;
  std::unique_ptr<model::Tokenizer> tok;
  unlearn::Chunks world, forget, retain1, retain2, holdout;
  std::vector<ForgetRequest> requests;  // data.forget_requests ([] = raw/forget alone)
};

// data (stage_data.cpp): synthesizes OUT/data when data.corpus is empty
// (rank 0, reused when its synth.json matches), loads it and chunks every split.
CorpusData stage_data(RunContext& ctx, const DataSection& data);

// The config's rules against the loaded data and the model's shape
// (config_check.cpp): training chunks and the evaluation's generations within
// the model's context, a forget set with a row for every DP rank. Run right
// after the data stage, so nothing trains on a config that cannot finish.
void config_check_data(const RelapseConfig& c, const RunContext& ctx, const CorpusData& d,
                       const model::LlamaConfig& shape);

// The stage cache (stage_cache.cpp): saved model directories keyed by the
// config text that made them (relapse_stage.json), under run.cache_dir or
// OUT/models; key_hash is FNV-1a 64 of a key text, in hex.
std::string key_hash(const std::string& text);
std::string stage_model_dir(const RunContext& ctx, const std::string& name, const std::string& key);
bool stage_cached(const std::string& dir, const std::string& key);
void stage_save(RunContext& ctx, const model::LlamaForCausalLM& m, const std::string& dir,
                const std::string& key, const std::string& tokenizer_model, const ModelInfo* info);
model::LlamaForCausalLM stage_load(RunContext& ctx, const std::string& dir,
                                   const std::string& dtype);
// What stage_save stamped beside a cached model: steps, epochs, curve; the SURE mask.
void info_from_stamp(const std::string& dir, ModelInfo& info);
void mask_from_stamp(const std::string& dir, SaliencyMaskInfo& mask);
// A file's text, "" when there is none (a cache not written yet).
std::string stage_read_text(const std::string& path);
// A deep copy of a model (same config, parameters copied) in `dtype`.
model::LlamaForCausalLM model_clone(const model::LlamaForCausalLM& m, torch::ScalarType dtype);
// A config section as cache-key text.
template <typename S>
std::string dump(const S& s) {
  return config_dump_as(s);
}
// The model: section without model.cpu_bf16_gemm, which enters a key resolved
// and only where it changes a result (compute_key).
std::string dump(const ModelSection& s);
// "cpu_bf16_gemm: fp32\n" when a stage computing in `precision` on this run's
// device takes relapse/model/cpu_gemm.h's fp32 path (a CPU, bfloat16, the
// choice fp32), else "": keys of native runs are the keys they always had.
std::string compute_key(const RunContext& ctx, const std::string& precision);

// A stage's library options from its config section (stage_options.cpp): the
// training loops' (shuffled by `stream` of `seed`), their resume checkpoints
// beside the model they make, warmup as a fraction of the loop's updates, and
// the evaluation's (every metric on).
unlearn::LoopOptions loop_options(const RunContext& ctx, const TrainStageSection& s, uint64_t seed,
                                  const std::string& stream, const std::string& label);
unlearn::LoopCheckpointOptions resume_options(const RunContext& ctx, const std::string& dir,
                                              const std::string& key);
void set_warmup(unlearn::LoopOptions& o, double ratio, int64_t n_rows);
eval::MuseEvalOptions eval_options(const EvalSection& e);

// train (stage_train.cpp): returns (target, retrain) in their training precision.
struct TrainedModels {
  model::LlamaForCausalLM target{nullptr}, retrain{nullptr};
  ModelInfo target_info, retrain_info;
  std::string key;          // the target's key (unlearning keys derive from it)
  std::string retrain_key;  // the retrain model's (its evaluations are cached by it)
};
TrainedModels stage_train(RunContext& ctx, CorpusData& d, const DataSection& data,
                          const TrainStageSection& pretrain, const FinetuneSection& train);

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

// unlearn (stage_unlearn.cpp): one run from the target (cached); `retrain_knowmem_f` feeds the
// stop rule (NaN = no rule).
model::LlamaForCausalLM stage_unlearn(RunContext& ctx, CorpusData& d, const UnlearnSection& u,
                                      const TrainedModels& tm, const UnlearnSpec& spec,
                                      ModelInfo& info, double retrain_knowmem_f);
// The cache key of the model stage_unlearn returns for `spec` (after every request).
std::string unlearn_model_key(const RunContext& ctx, const UnlearnSection& u, const CorpusData& d,
                              const TrainedModels& tm, const UnlearnSpec& spec);

// quantize (stage_quantize.cpp): the run's quantized precisions (cfg.quantize)
// and, when GPTQ or AWQ is among them, the calibration windows from the
// configured text (recorded in ctx.result->calibration; undefined otherwise).
struct QuantPlan {
  std::vector<quant::QuantSpec> specs;
  torch::Tensor calib_ids;
  bool diagnostics = false;  // quantize.diagnostics
  std::string key;           // the quantize: section as cache-key text
};
QuantPlan stage_quantize_setup(RunContext& ctx, const CorpusData& d, const QuantizeSection& q);

// The target's codes and whole unquantized weights per precision label (this
// rank's layers under TP, quant/code_change_tp.h), kept from the target's own
// quantization for the bucket diagnostics of every unlearned model.
struct TargetCodes {
  std::map<std::string, std::vector<quant::LayerQuant>> codes;
  std::map<std::string, std::vector<std::pair<std::string, torch::Tensor>>> weights;
};
// A quantized copy of a model in model.dtype, and for an unlearned model
// (with quantize.diagnostics and a target) the codes of Q(model) vs Q(target).
struct QuantizedModel {
  model::LlamaForCausalLM model{nullptr};
  bool has_code_change = false;
  quant::CodeChangeStats code_change;
  std::vector<std::pair<std::string, quant::CodeChangeStats>> code_change_layers;
};
// `m` is not modified; the target's entry of `target_codes` is filled when
// `info` is the target's (or first needed by an unlearned model).
QuantizedModel stage_quantize(RunContext& ctx, const model::LlamaForCausalLM& m,
                              const ModelInfo& info, const quant::QuantSpec& spec,
                              const QuantPlan& plan, const model::LlamaForCausalLM* target,
                              TargetCodes& target_codes);

// The evaluation cache (eval_cache.cpp): OUT/evals/<model>/<precision>.h5,
// one finished evaluation each, keyed by all it depends on. eval_model_key:
// a model's cache key with the evaluation sets and the model: and eval:
// sections; eval_cached: the cached evaluation under `key` + precision, else
// compute() saved there (rank 0). eval_check_preemption: between two
// evaluations, every rank stops (kPreempted, exit 75) when any got SIGTERM.
std::string eval_model_key(const RunContext& ctx, const CorpusData& d,
                           const std::string& model_key);
PrecisionEval eval_cached(RunContext& ctx, const ModelInfo& info, const std::string& precision,
                          const std::string& key, const std::function<PrecisionEval()>& compute);
void eval_check_preemption(RunContext& ctx, PreemptionGuard& guard, const std::string& done);

// eval (stage_eval.cpp): the MUSE metrics of `m` (set to eval mode), sharded
// over the DP group; and their log line.
eval::MuseEvalResult stage_eval(RunContext& ctx, const CorpusData& d, model::LlamaForCausalLM& m);
void stage_eval_log(const std::string& model, const PrecisionEval& pe);

// relearn (stage_relearn.cpp): the relearning attack on an unlearned model
// (relearn.steps > 0): fine-tunes a copy (of `m`, or of its relearn.from
// quantized copy from `plan`) on the configured slice and evaluates it at
// full precision; the result is the PrecisionEval "relearn" (the model is not
// modified).
// The chunks of relearn.source (forget, holdout, retain = retain1, world).
const unlearn::Chunks& relearn_source_chunks(const CorpusData& d, const std::string& source);
PrecisionEval stage_relearn(RunContext& ctx, CorpusData& d, const RelearnSection& rl,
                            const UnlearnSection& u, const model::LlamaForCausalLM& m,
                            const ModelInfo& info, const QuantPlan& plan,
                            const std::string& eval_key);

// bootstrap (stage_bootstrap.cpp): intervals (eval.bootstrap) of every
// evaluation of the run, and the paired quantized − full differences; after
// PrivLeak's normalisation.
void stage_bootstrap(RunContext& ctx, const BootstrapSection& bs, RunResult& r, double auc_retrain);

}  // namespace relapse::pipeline
