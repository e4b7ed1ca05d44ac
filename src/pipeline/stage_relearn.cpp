// src/pipeline/stage_relearn.cpp — the relearn stage: the relearning attack
// on an unlearned model (stages.h).
//
// Relearning (relearn.*): the attacker fine-tunes the released model for k
// updates on text it can get — a slice of the forget set (the strongest
// case: part of the very data that was unlearned), the holdout text
// (related, never trained on), the retain set (the facts the unlearning kept:
// the fine-tuning attack without any forget text, as Deeb & Roger 2024's
// "accessible facts") or the world text (unrelated) — and the result is
// evaluated like a quantized copy, as precision "relearn", so the attacks sit
// in one table. The released model is the full-precision one or, with
// relearn.from = a quantize: label, that quantized model (its dequantized
// weights: an attacker who downloaded the int4 release). Every unlearned
// model sees the same rows in the same order (named streams "relearn/rows"
// and "relearn/shuffle" of run.seed).
#include <algorithm>
#include <cmath>

#include "relapse/core/error.h"
#include "relapse/core/log.h"
#include "relapse/core/progress.h"
#include "relapse/core/rng.h"
#include "relapse/model/llama_config.h"
#include "stages.h"

namespace relapse::pipeline {

namespace {

// k updates of fine-tuning of a copy of `m` on `slice`, then the evaluation.
PrecisionEval relearn_attack(RunContext& ctx, CorpusData& d, const RelearnSection& rl,
                             const UnlearnSection& u, const model::LlamaForCausalLM& m,
                             const ModelInfo& info, const unlearn::Chunks& slice) {
  const uint64_t seed = static_cast<uint64_t>(ctx.run->seed);
  const int64_t take = static_cast<int64_t>(slice.size());
  Progress timer("", 0);
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
  o.activation_checkpointing = ctx.parallel->activation_checkpointing;
  o.shard_optimizer = ctx.parallel->shard_optimizer;
  o.overlap_grad_reduce = ctx.parallel->overlap_grad_reduce;
  o.train.adamw.master_weights = u.master_weights;
  unlearn::lm_train(a, slice, o, ctx.dp());

  PrecisionEval pe;
  pe.precision = "relearn";
  pe.scheme = "relearn";
  model::LlamaForCausalLM e = model_clone(a, model::dtype_from_name(ctx.model->dtype));
  e->eval();
  pe.metrics = eval::muse_evaluate(e, *d.tok, d.corpus, eval_options(*ctx.eval), ctx.dp());
  pe.wall_s = timer.elapsed_s();
  ctx.add_stage_time("relearn/" + info.name, pe.wall_s);
  log_info("relearn ", info.name, rl.from == "full" ? "" : " @ " + rl.from, " (", rl.steps,
           " updates on ", take, " ", rl.source, " chunks): VerbMem ", pe.metrics.verbmem_forget,
           "  KnowMem_f ", pe.metrics.knowmem_forget.mean, "  KnowMem_r ",
           pe.metrics.knowmem_retain.mean);
  return pe;
}

// The model the attacker starts from: `m`, or its relearn.from quantized copy.
model::LlamaForCausalLM relearn_start(RunContext& ctx, const RelearnSection& rl,
                                      const model::LlamaForCausalLM& m, const ModelInfo& info,
                                      const QuantPlan& plan) {
  if (rl.from == "full") return m;
  for (const quant::QuantSpec& spec : plan.specs)
    if (spec.label == rl.from) {
      TargetCodes none;  // no bucket diagnostics for the attacked copy
      return stage_quantize(ctx, m, info, spec, plan, nullptr, none).model;
    }
  RELAPSE_THROW(ExitCode::kConfig, "relearn.from: '", rl.from,
                "' is not a precision of quantize: (full or one of its labels)");
}

}  // namespace

const unlearn::Chunks& relearn_source_chunks(const CorpusData& d, const std::string& source) {
  if (source == "holdout") return d.holdout;
  if (source == "retain") return d.retain1;
  if (source == "world") return d.world;
  return d.forget;
}

PrecisionEval stage_relearn(RunContext& ctx, CorpusData& d, const RelearnSection& rl,
                            const UnlearnSection& u, const model::LlamaForCausalLM& m,
                            const ModelInfo& info, const QuantPlan& plan,
                            const std::string& eval_key) {
  const unlearn::Chunks& source = relearn_source_chunks(d, rl.source);
  RELAPSE_CHECK_INPUT(!source.empty(), "relearn: the ", rl.source, " split of ", d.dir,
                      " has no text to fine-tune on");
  const uint64_t seed = static_cast<uint64_t>(ctx.run->seed);
  const auto n = static_cast<int64_t>(source.size());
  const int64_t take = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(rl.fraction * n)));
  auto gen = RngStreams(seed).torch_generator("relearn/rows");
  torch::Tensor perm = torch::randperm(n, gen, torch::kLong);
  std::vector<int64_t> rows(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + take);
  std::sort(rows.begin(), rows.end());
  unlearn::Chunks slice;
  for (int64_t r : rows) slice.push_back(source[r]);
  ctx.result->relearn = {rl.steps, rl.lr, rl.source, take, rl.from};
  // A quantized start depends on the quantize: section as well.
  const std::string key = eval_key + dump(rl) + dump(u) + (rl.from == "full" ? "" : plan.key) +
                          compute_key(ctx, u.precision);
  return eval_cached(ctx, info, "relearn", key, [&] {
    return relearn_attack(ctx, d, rl, u, relearn_start(ctx, rl, m, info, plan), info, slice);
  });
}

}  // namespace relapse::pipeline
