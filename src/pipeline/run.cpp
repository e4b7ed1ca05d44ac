// src/pipeline/run.cpp — `relapse run`: the stages in order (data, train,
// unlearn, then quantize and evaluate every model at every precision,
// relearn, bootstrap), the archive and the report (relapse/pipeline/run.h).
#include "relapse/pipeline/run.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "relapse/core/dir_lock.h"
#include "relapse/core/log.h"
#include "relapse/core/progress.h"
#include "relapse/dist/device.h"
#include "relapse/dist/hostnames.h"
#include "relapse/eval/muse_metrics.h"
#include "relapse/model/cpu_gemm.h"
#include "relapse/model/llama_config.h"
#include "relapse/pipeline/memory_plan.h"
#include "relapse/report/report.h"
#include "relapse/results/archive.h"
#include "stages.h"

namespace relapse::pipeline {

namespace {

// One model at every precision: full, then one quantized copy per
// quantize: entry (the model itself is not modified), then the relearning
// attack when `rl` is set (with `u`'s precision and clipping); unlearned models get the bucket
// diagnostics against `target` (may be null). A precision's wall time counts its quantization and
// its evaluation. Each precision is cached under the model's `key`
// (eval_cache.cpp) and SIGTERM is acted on between two of them.
ModelResult eval_every_precision(RunContext& ctx, CorpusData& d, const QuantPlan& plan,
                                 TargetCodes& target_codes, const model::LlamaForCausalLM& m,
                                 const ModelInfo& info, const model::LlamaForCausalLM* target,
                                 const std::string& model_key, const RelearnSection* rl,
                                 const UnlearnSection* u) {
  PreemptionGuard preemption;
  const std::string key = eval_model_key(ctx, d, model_key);
  ModelResult res;
  res.info = info;
  auto finish = [&](PrecisionEval pe) {
    stage_eval_log(info.name, pe);
    res.evals.push_back(std::move(pe));
    eval_check_preemption(ctx, preemption, info.name + " @ " + res.evals.back().precision);
  };
  finish(eval_cached(ctx, info, "full", key, [&] {
    Progress timer("", 0);
    PrecisionEval pe;
    pe.precision = "full";
    model::LlamaForCausalLM mm = model_clone(m, model::dtype_from_name(ctx.model->dtype));
    pe.metrics = stage_eval(ctx, d, mm);
    pe.wall_s = timer.elapsed_s();
    ctx.add_stage_time("eval/" + info.name + "/full", pe.wall_s);
    return pe;
  }));
  for (const quant::QuantSpec& spec : plan.specs) {
    finish(eval_cached(ctx, info, spec.label, key + plan.key, [&] {
      Progress timer("", 0);
      PrecisionEval pe;
      pe.precision = spec.label;
      pe.scheme = spec.scheme;
      pe.bits = spec.bits;
      pe.group_size = spec.group_size;
      QuantizedModel q = stage_quantize(ctx, m, info, spec, plan, target, target_codes);
      pe.has_code_change = q.has_code_change;
      pe.code_change = q.code_change;
      pe.code_change_layers = std::move(q.code_change_layers);
      pe.metrics = stage_eval(ctx, d, q.model);
      pe.wall_s = timer.elapsed_s();
      ctx.add_stage_time("eval/" + info.name + "/" + pe.precision, pe.wall_s);
      return pe;
    }));
  }
  if (rl) {
    res.evals.push_back(stage_relearn(ctx, d, *rl, *u, m, info, plan, key));
    eval_check_preemption(ctx, preemption, info.name + " @ relearn");
  }
  return res;
}

// The run's runtime: ranks, the refusal of a plan that cannot fit, the
// device, the DP × TP grid, and the provenance in `result`.
void run_context_init(RunContext& ctx, const RelapseConfig& cfg, Stage last,
                      const std::string& command_line, MPI_Comm comm, RunResult& result) {
  ctx.run = &cfg.run;
  ctx.model = &cfg.model;
  ctx.parallel = &cfg.parallel;
  ctx.eval = &cfg.eval;
  ctx.origins = &cfg.origins;
  RELAPSE_MPI_CHECK(MPI_Comm_rank(comm, &ctx.rank));
  RELAPSE_MPI_CHECK(MPI_Comm_size(comm, &ctx.world));
  // The cross-section rules again, now with the world this run got.
  config_check_across_loaded(cfg, ctx.world);
  // Refuse before anything is trained when a stage that runs up to `last`
  // cannot fit (memory_plan.h): stages this run skips never refuse it.
  memory_plan_require_fit(memory_plan(cfg, ctx.world, last));
  // The node-local rank of the world, not of `comm`: cells of a sweep side by
  // side on one node get different GPUs (and the NCCL communicators agree).
  ctx.device = device_resolve(cfg.run.device, device_world_local_rank());
  ctx.grid = grid_create(comm, static_cast<int>(cfg.parallel.tp),
                         ctx.device.is_cuda() ? CommBackend::kNccl : CommBackend::kMpi);
  log_info("run: device ", device_describe(ctx.device), ", ", ctx.world, " rank(s), ",
           comm_backend_name(ctx.grid.backend), " collectives");
  ctx.result = &result;
  result.provenance = provenance_collect(ctx.world, runtime_gather_hostnames(comm), command_line);
  // Rank 0's device; every rank of a run has the same kind (run.device).
  result.provenance.fields["device"] = device_describe(ctx.device);
  // How bf16 GEMMs run on the CPU (cpu_gemm.h): process-wide, as this run set it.
  model::cpu_bf16_gemm_set(model::cpu_bf16_gemm_resolve(cfg.model.cpu_bf16_gemm));
  if (!ctx.device.is_cuda()) {
    const std::string gemm = model::cpu_bf16_gemm_describe(cfg.model.cpu_bf16_gemm);
    result.provenance.fields["cpu_bf16_gemm"] = gemm;
    log_info("run: bf16 GEMMs on the CPU: ", gemm);
  }
}

// PrivLeak: (AUC − AUC_retrain) / AUC_retrain × 100 with the retrain model's
// full-precision AUC from this run (or the configured constant). Returns
// AUC_retrain (NaN when there is none).
double run_normalise_privleak(const RelapseConfig& cfg, RunResult& result) {
  double auc_retrain = cfg.eval.privleak_auc_retrain;
  if (auc_retrain <= 0) {
    const ModelResult* r = run_find_model(result, "retrain");
    auc_retrain = r ? r->evals[0].metrics.privleak_auc : std::nan("");
  }
  for (auto& mr : result.models)
    for (auto& pe : mr.evals)
      if (pe.metrics.has_privleak && std::isfinite(auc_retrain) && auc_retrain > 0)
        pe.privleak = eval::privleak_normalise(pe.metrics.privleak_auc, auc_retrain);
  return auc_retrain;
}

// Rank 0: the archive, the report and the summary table.
void run_write_outputs(const RelapseConfig& cfg, const RunResult& result) {
  const std::string path = pipeline_archive_path(cfg);
  results::archive_write(result, path);
  report::report_write(result, cfg.run.out_dir, "relapse.h5");
  std::fprintf(stdout, "%s\n", report::summary_table_text(result).c_str());
  std::fprintf(stdout, "archive: %s\nreport:  %s/report.md\n", path.c_str(),
               cfg.run.out_dir.c_str());
  std::fflush(stdout);
}

}  // namespace

std::string pipeline_archive_path(const RelapseConfig& cfg) {
  return cfg.run.out_dir + "/relapse.h5";
}

RunResult pipeline_run(const RelapseConfig& cfg, Runtime&, Stage last,
                       const std::string& command_line, MPI_Comm comm) {
  const auto t0 = std::chrono::steady_clock::now();
  RunResult result;
  result.name = cfg.run.name;
  result.config_yaml = config_dump(cfg);
  RunContext ctx;
  run_context_init(ctx, cfg, last, command_line, comm, result);
  // One run per output directory: rank 0 (the writer) holds its lock until the
  // run ends; a second run is refused naming the holder (an error on rank 0
  // ends every rank of its job).
  DirLock out_lock;
  if (ctx.rank == 0) out_lock = DirLock(cfg.run.out_dir, command_line);

  CorpusData d = stage_data(ctx, cfg.data);
  if (last == Stage::kData) return result;
  config_check_data(cfg, ctx, d, memory_plan_shape(cfg));
  QuantPlan plan;
  if (last == Stage::kEval) plan = stage_quantize_setup(ctx, d, cfg.quantize);
  TargetCodes target_codes;
  auto evaluate = [&](const model::LlamaForCausalLM& m, const ModelInfo& info,
                      const model::LlamaForCausalLM* target, const std::string& model_key,
                      bool relearn) {
    return eval_every_precision(ctx, d, plan, target_codes, m, info, target, model_key,
                                relearn ? &cfg.relearn : nullptr, &cfg.unlearn);
  };
  TrainedModels tm = stage_train(ctx, d, cfg.data, cfg.pretrain, cfg.train);
  std::vector<UnlearnSpec> grid = unlearn_grid(cfg.unlearn);

  // Target and retrain first: the retrain model's numbers feed PrivLeak's
  // normalisation and the unlearning stop rule.
  double retrain_knowmem_f = std::nan("");
  if (last == Stage::kEval || cfg.unlearn.stop_rule) {
    if (last == Stage::kEval)
      result.models.push_back(evaluate(tm.target, tm.target_info, nullptr, tm.key, false));
    // The retrain model under the same relearning attack: how much k updates
    // teach a model that never saw the forget set (the attack's baseline).
    result.models.push_back(evaluate(tm.retrain, tm.retrain_info, nullptr, tm.retrain_key,
                                     last == Stage::kEval && cfg.relearn.steps > 0));
    retrain_knowmem_f = result.models.back().evals[0].metrics.knowmem_forget.mean;
  }
  if (last == Stage::kTrain) return result;
  for (const auto& spec : grid) {
    ModelInfo info;
    model::LlamaForCausalLM u =
        stage_unlearn(ctx, d, cfg.unlearn, tm, spec, info,
                      cfg.unlearn.stop_rule ? retrain_knowmem_f : std::nan(""));
    if (last != Stage::kEval) continue;
    if (info.diverged_step > 0) {  // recorded, not evaluated: its metrics would be NaN
      ModelResult diverged;
      diverged.info = info;
      result.models.push_back(diverged);
      continue;
    }
    result.models.push_back(evaluate(u, info, &tm.target,
                                     unlearn_model_key(ctx, cfg.unlearn, d, tm, spec),
                                     cfg.relearn.steps > 0));
  }
  if (last != Stage::kEval) return result;

  const double auc_retrain = run_normalise_privleak(cfg, result);
  stage_bootstrap(ctx, cfg.eval.bootstrap, result, auc_retrain);

  result.total_wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (ctx.rank == 0) run_write_outputs(cfg, result);
  ctx.barrier();
  return result;
}

}  // namespace relapse::pipeline
