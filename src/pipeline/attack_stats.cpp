// src/pipeline/attack_stats.cpp — the relearning attack on an unlearned model
// and the bootstrap intervals of a run's evaluations (src/pipeline/stages.h).
//
// Relearning (relearn.*): the attacker fine-tunes the released model for k
// updates on text it can get — a slice of the forget set (the strongest
// case: part of the very data that was unlearned) or the holdout text
// (related, never trained on) — and the result is evaluated like a quantized
// copy, as precision "relearn", so the two attacks sit in one table. Every
// unlearned model sees the same rows in the same order (named streams
// "relearn/rows" and "relearn/shuffle" of run.seed).
//
// Bootstrap (eval.bootstrap): for every model × precision and metric, the
// percentile interval of the metric over resampled evaluation samples
// (eval/bootstrap.h), and for every quantized precision the paired
// difference quantized − full over the same resampled samples. Each interval
// draws from its own named stream "bootstrap/<model>/<precision>/<metric>",
// so adding a model or a precision does not change the others' intervals.
#include <algorithm>
#include <cmath>

#include "relapse/core/error.h"
#include "relapse/core/log.h"
#include "relapse/core/progress.h"
#include "relapse/core/rng.h"
#include "relapse/eval/bootstrap.h"
#include "relapse/model/llama_config.h"
#include "stages.h"

namespace relapse::pipeline {

PrecisionEval stage_relearn(RunContext& ctx, CorpusData& d, const model::LlamaForCausalLM& m,
                            const ModelInfo& info) {
  const RelapseConfig& cfg = *ctx.cfg;
  const RelearnSection& rl = cfg.relearn;
  Progress timer("", 0);
  const unlearn::Chunks& source = rl.source == "holdout" ? d.holdout : d.forget;
  RELAPSE_CHECK_INPUT(!source.empty(), "relearn: the ", rl.source, " split of ", d.dir,
                      " has no text to fine-tune on (raw/", rl.source, ".txt)");
  const uint64_t seed = static_cast<uint64_t>(cfg.run.seed);
  const auto n = static_cast<int64_t>(source.size());
  const int64_t take = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(rl.fraction * n)));
  auto gen = RngStreams(seed).torch_generator("relearn/rows");
  torch::Tensor perm = torch::randperm(n, gen, torch::kLong);
  std::vector<int64_t> rows(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + take);
  std::sort(rows.begin(), rows.end());
  unlearn::Chunks slice;
  for (int64_t r : rows) slice.push_back(source[r]);

  const UnlearnSection& u = cfg.unlearn;
  model::LlamaForCausalLM a = model_clone(m, model::dtype_from_name(u.precision));
  unlearn::LoopOptions o;
  o.train.schedule.kind = unlearn::lr_schedule_from_name("constant");
  o.train.schedule.base_lr = rl.lr;
  o.train.max_grad_norm = u.max_grad_norm;
  o.batch_size = rl.batch_size;
  const int64_t per_epoch = unlearn::loop_batches_per_epoch(take, rl.batch_size);
  o.epochs = (rl.steps + per_epoch - 1) / per_epoch;
  o.max_steps = rl.steps;
  o.seed = seed;
  o.shuffle_stream = "relearn/shuffle";
  o.label = "relearn " + info.name;
  o.activation_checkpointing = cfg.parallel.activation_checkpointing;
  o.shard_optimizer = cfg.parallel.shard_optimizer;
  o.overlap_grad_reduce = cfg.parallel.overlap_grad_reduce;
  o.train.adamw.master_weights = u.master_weights;
  unlearn::lm_train(a, slice, o, ctx.dp());

  PrecisionEval pe;
  pe.precision = "relearn";
  pe.scheme = "relearn";
  model::LlamaForCausalLM e = model_clone(a, model::dtype_from_name(cfg.model.dtype));
  e->eval();
  pe.metrics = eval::muse_evaluate(e, *d.tok, d.corpus, eval_options(cfg.eval), ctx.dp());
  pe.wall_s = timer.elapsed_s();
  ctx.add_stage_time("relearn/" + info.name, pe.wall_s);
  ctx.result->relearn = {rl.steps, rl.lr, rl.source, take};
  log_info("relearn ", info.name, " (", rl.steps, " updates on ", take, " ", rl.source,
           " chunks): VerbMem ", pe.metrics.verbmem_forget, "  KnowMem_f ",
           pe.metrics.knowmem_forget.mean, "  KnowMem_r ", pe.metrics.knowmem_retain.mean);
  return pe;
}

namespace {

MetricCI to_ci(const eval::Interval& iv, double scale) {
  return {iv.value * scale, iv.lo * scale, iv.hi * scale};
}

}  // namespace

void stage_bootstrap(RunContext& ctx, RunResult& r, double auc_retrain) {
  const BootstrapSection& bs = ctx.cfg->eval.bootstrap;
  if (bs.resamples <= 0) return;
  Progress timer("", 0);
  const RngStreams streams(static_cast<uint64_t>(ctx.cfg->run.seed));
  r.bootstrap = {bs.resamples, bs.level, streams.seed()};
  auto opts = [&](const std::string& stream) {
    eval::BootstrapOptions o;
    o.resamples = bs.resamples;
    o.level = bs.level;
    o.seed = streams.seed_of(stream);
    return o;
  };
  // PrivLeak's intervals resample the retrain model's scores on the same
  // texts; with a configured constant retrain AUC there are none to resample.
  const ModelResult* retrain = run_find_model(r, "retrain");
  const PrecisionEval* rt = retrain ? model_find_eval(*retrain, "full") : nullptr;
  const bool privleak_ci = ctx.cfg->eval.privleak_auc_retrain <= 0 && rt &&
                           rt->metrics.has_privleak && std::isfinite(auc_retrain);
  for (ModelResult& mr : r.models) {
    const PrecisionEval* full = model_find_eval(mr, "full");
    for (PrecisionEval& pe : mr.evals) {
      const std::string base = "bootstrap/" + mr.info.name + "/" + pe.precision + "/";
      const eval::MuseEvalResult& m = pe.metrics;
      const eval::MuseEvalResult* f = full && &pe != full ? &full->metrics : nullptr;
      pe.ci.clear();
      pe.vs_full.clear();
      auto mean_metric = [&](const std::string& name, const std::vector<double>& x,
                             const std::vector<double>* fx) {
        if (x.empty()) return;
        pe.ci.emplace_back(name, to_ci(eval::bootstrap_mean(x, opts(base + name)), 100.0));
        if (fx && fx->size() == x.size()) {
          eval::Interval d = eval::bootstrap_paired_diff(*fx, x, opts(base + name + "/vs_full"));
          pe.vs_full.push_back(
              {name, 100.0 * d.value, 100.0 * d.lo, 100.0 * d.hi, static_cast<int64_t>(x.size())});
        }
      };
      if (m.has_verbmem)
        mean_metric("verbmem_f", m.verbmem_scores, f ? &f->verbmem_scores : nullptr);
      if (m.has_knowmem) {
        mean_metric("knowmem_f", m.knowmem_forget.scores, f ? &f->knowmem_forget.scores : nullptr);
        mean_metric("knowmem_r", m.knowmem_retain.scores, f ? &f->knowmem_retain.scores : nullptr);
      }
      if (m.has_privleak && privleak_ci) {
        const auto& rm = rt->metrics;
        pe.ci.emplace_back("privleak", to_ci(eval::bootstrap_privleak(
                                                 m.mink_forget, m.mink_holdout, rm.mink_forget,
                                                 rm.mink_holdout, opts(base + "privleak")),
                                             100.0));  // the ratio × 100, as privleak_normalise
        if (f && f->has_privleak) {
          eval::Interval d = eval::bootstrap_privleak_diff(
              f->mink_forget, f->mink_holdout, m.mink_forget, m.mink_holdout, rm.mink_forget,
              rm.mink_holdout, opts(base + "privleak/vs_full"));
          pe.vs_full.push_back(
              {"privleak", 100.0 * d.value, 100.0 * d.lo, 100.0 * d.hi,
               static_cast<int64_t>(m.mink_forget.size() + m.mink_holdout.size())});
        }
      }
    }
  }
  ctx.add_stage_time("bootstrap", timer.elapsed_s());
}

}  // namespace relapse::pipeline
