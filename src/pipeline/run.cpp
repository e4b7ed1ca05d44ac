// src/pipeline/run.cpp — `relapse run`: the stages in order, the evaluation of
// every model at every precision, the archive and the report
// (relapse/pipeline/run.h).
#include "relapse/pipeline/run.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "relapse/core/log.h"
#include "relapse/core/progress.h"
#include "relapse/dist/device.h"
#include "relapse/dist/hostnames.h"
#include "relapse/eval/muse_metrics.h"
#include "relapse/model/llama_config.h"
#include "relapse/pipeline/archive.h"
#include "relapse/pipeline/memory_plan.h"
#include "relapse/pipeline/report.h"
#include "relapse/quant/code_change_tp.h"
#include "relapse/quant/quantize_model.h"
#include "stages.h"

namespace relapse::pipeline {

namespace {

void log_eval(const std::string& model, const PrecisionEval& pe) {
  const auto& m = pe.metrics;
  log_info(
      "eval ", model, " @ ", pe.precision, ": VerbMem ", m.verbmem_forget, "  KnowMem_f ",
      m.knowmem_forget.mean, "  KnowMem_r ", m.knowmem_retain.mean, "  AUC ", m.privleak_auc,
      pe.has_code_change
          ? "  codes changed " + std::to_string(100.0 * pe.code_change.frac_codes_changed()) + "%"
          : std::string());
}

}  // namespace

eval::MuseEvalOptions eval_options(const EvalSection& e) {
  eval::MuseEvalOptions o;
  o.verbmem_max_new_tokens = e.verbmem_max_new_tokens;
  o.knowmem_max_new_tokens = e.knowmem_max_new_tokens;
  o.batch_size = e.batch_size;
  o.min_k = e.min_k;
  o.rouge = e.rouge;
  o.clean_up_tokenization = e.clean_up_tokenization;
  o.max_samples = e.max_samples;
  return o;
}

ModelResult stage_eval(RunContext& ctx, CorpusData& d, const model::LlamaForCausalLM& m,
                       const ModelInfo& info, const model::LlamaForCausalLM* target) {
  const RelapseConfig& cfg = *ctx.cfg;
  const torch::ScalarType dt = model::dtype_from_name(cfg.model.dtype);
  const eval::MuseEvalOptions eo = eval_options(cfg.eval);
  ModelResult res;
  res.info = info;
  auto run_one = [&](model::LlamaForCausalLM& mm, PrecisionEval& pe) {
    mm->eval();
    pe.metrics = eval::muse_evaluate(mm, *d.tok, d.corpus, eo, ctx.dp());
  };
  {
    Progress timer("", 0);
    PrecisionEval pe;
    pe.precision = "full";
    model::LlamaForCausalLM mm = model_clone(m, dt);
    run_one(mm, pe);
    pe.wall_s = timer.elapsed_s();
    ctx.add_stage_time("eval/" + info.name + "/full", pe.wall_s);
    log_eval(info.name, pe);
    res.evals.push_back(std::move(pe));
  }
  for (const quant::QuantSpec& spec : ctx.quant_specs) {
    Progress timer("", 0);
    PrecisionEval pe;
    pe.precision = spec.label;
    pe.scheme = spec.scheme;
    pe.bits = spec.bits;
    pe.group_size = spec.group_size;
    model::LlamaForCausalLM mm = model_clone(m, dt);
    const bool diag =
        cfg.quantize.diagnostics && (info.kind == "target" || (target && info.kind == "unlearned"));
    if (spec.method == quant::QuantMethod::kRtn) {
      // RTN's own path: under tensor parallelism it compares whole weights.
      if (diag && info.kind == "unlearned") {
        model::LlamaForCausalLM t = model_clone(*target, dt);
        pe.code_change = quant::code_change_stats_model(t, mm, spec.rtn, &pe.code_change_layers);
        pe.has_code_change = true;
      }
      quant::quant_apply(mm, spec, ctx.calib_ids, ctx.dp(), /*keep_codes=*/false);
    } else {
      // The unquantized weights whole (gathered under TP, each KV head once),
      // like the codes the passes return (quant/tp_layer.h); under TP each
      // rank keeps only its layers' (quant/code_change_tp.h).
      const model::TpContext tp = mm->tp();
      auto whole_weights = [&](model::LlamaForCausalLM& x) {
        std::vector<std::pair<std::string, torch::Tensor>> out;
        for (auto& [name, w] : quant::rtn_model_weights(x, spec.rtn)) {
          torch::Tensor whole = quant::rtn_full_weight(x, name, w.detach(), true);
          if (quant::code_change_tp_keeps(name, tp)) out.emplace_back(name, whole.clone());
        }
        return out;
      };
      std::vector<std::pair<std::string, torch::Tensor>> w_orig;
      if (diag) w_orig = whole_weights(mm);
      std::vector<quant::LayerQuant> q =
          quant::quant_apply(mm, spec, ctx.calib_ids, ctx.dp(), /*keep_codes=*/diag);
      std::vector<std::string> names;
      for (const auto& l : q) names.push_back(l.name);
      if (diag) quant::code_change_tp_filter(q, tp);
      if (diag && info.kind == "target") {
        ctx.target_quant[spec.label] = std::move(q);
        ctx.target_weights[spec.label] = std::move(w_orig);
      } else if (diag) {
        if (!ctx.target_quant.count(spec.label)) {  // the target was not evaluated in this run
          model::LlamaForCausalLM t = model_clone(*target, dt);
          ctx.target_weights[spec.label] = whole_weights(t);
          ctx.target_quant[spec.label] = quant::quant_apply(t, spec, ctx.calib_ids, ctx.dp());
          quant::code_change_tp_filter(ctx.target_quant[spec.label], tp);
        }
        std::vector<std::pair<std::string, quant::CodeChangeStats>> mine;
        quant::quant_code_change(ctx.target_weights[spec.label], w_orig,
                                 ctx.target_quant[spec.label], q, &mine);
        pe.code_change = quant::code_change_tp_gather(names, mine, tp, &pe.code_change_layers);
        pe.has_code_change = true;
      }
    }
    run_one(mm, pe);
    pe.wall_s = timer.elapsed_s();
    ctx.add_stage_time("eval/" + info.name + "/" + pe.precision, pe.wall_s);
    log_eval(info.name, pe);
    res.evals.push_back(std::move(pe));
  }
  return res;
}

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
  ctx.cfg = &cfg;
  RELAPSE_MPI_CHECK(MPI_Comm_rank(comm, &ctx.rank));
  RELAPSE_MPI_CHECK(MPI_Comm_size(comm, &ctx.world));
  RELAPSE_CHECK_CONFIG(ctx.world % cfg.parallel.tp == 0, "parallel.tp = ", cfg.parallel.tp,
                       " does not divide the ", ctx.world, " ranks of this run (world = DP x TP)");
  RELAPSE_CHECK_CONFIG(cfg.parallel.ranks == 0 || cfg.parallel.ranks == ctx.world,
                       "parallel.ranks = ", cfg.parallel.ranks, " but this run has ", ctx.world,
                       " ranks (launch it with that many, or set parallel.ranks = 0)");
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

  CorpusData d = stage_data(ctx);
  if (last == Stage::kData) return result;
  if (last == Stage::kEval) stage_quant_setup(ctx, d);
  TrainedModels tm = stage_train(ctx, d);
  std::vector<UnlearnSpec> grid = unlearn_grid(cfg.unlearn);

  // Target and retrain first: the retrain model's numbers feed PrivLeak's
  // normalisation and the unlearning stop rule.
  double retrain_knowmem_f = std::nan("");
  if (last == Stage::kEval || cfg.unlearn.stop_rule) {
    if (last == Stage::kEval)
      result.models.push_back(stage_eval(ctx, d, tm.target, tm.target_info, nullptr));
    result.models.push_back(stage_eval(ctx, d, tm.retrain, tm.retrain_info, nullptr));
    retrain_knowmem_f = result.models.back().evals[0].metrics.knowmem_forget.mean;
    // The retrain model under the same relearning attack: how much k updates
    // teach a model that never saw the forget set (the attack's baseline).
    if (last == Stage::kEval && cfg.relearn.steps > 0)
      result.models.back().evals.push_back(stage_relearn(ctx, d, tm.retrain, tm.retrain_info));
  }
  if (last == Stage::kTrain) return result;
  for (const auto& spec : grid) {
    ModelInfo info;
    model::LlamaForCausalLM u = stage_unlearn(
        ctx, d, tm, spec, info, cfg.unlearn.stop_rule ? retrain_knowmem_f : std::nan(""));
    if (last != Stage::kEval) continue;
    result.models.push_back(stage_eval(ctx, d, u, info, &tm.target));
    if (cfg.relearn.steps > 0) result.models.back().evals.push_back(stage_relearn(ctx, d, u, info));
  }
  if (last != Stage::kEval) return result;

  // PrivLeak: (AUC − AUC_retrain) / AUC_retrain × 100 with the retrain model's
  // full-precision AUC from this run (or the configured constant).
  double auc_retrain = cfg.eval.privleak_auc_retrain;
  if (auc_retrain <= 0) {
    const ModelResult* r = run_find_model(result, "retrain");
    auc_retrain = r ? r->evals[0].metrics.privleak_auc : std::nan("");
  }
  for (auto& mr : result.models)
    for (auto& pe : mr.evals)
      if (pe.metrics.has_privleak && std::isfinite(auc_retrain) && auc_retrain > 0)
        pe.privleak = eval::privleak_normalise(pe.metrics.privleak_auc, auc_retrain);
  stage_bootstrap(ctx, result, auc_retrain);

  result.total_wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (ctx.rank == 0) {
    const std::string path = pipeline_archive_path(cfg);
    archive_write(result, path);
    report_write(result, cfg.run.out_dir, "relapse.h5");
    std::fprintf(stdout, "%s\n", summary_table_text(result).c_str());
    std::fprintf(stdout, "archive: %s\nreport:  %s/report.md\n", path.c_str(),
                 cfg.run.out_dir.c_str());
    std::fflush(stdout);
  }
  ctx.barrier();
  return result;
}

}  // namespace relapse::pipeline
