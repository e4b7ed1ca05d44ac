// src/pipeline/stage_options.cpp — the library options a stage hands to
// its module, from the stage's config section: the training loops'
// (pretrain, train, unlearn, relearn), their resume checkpoints and warmup,
// and the evaluation's (stages.h).
#include <algorithm>
#include <cmath>

#include "stages.h"

namespace relapse::pipeline {

unlearn::LoopOptions loop_options(const RunContext& ctx, const TrainStageSection& s, uint64_t seed,
                                  const std::string& stream, const std::string& label) {
  unlearn::LoopOptions o;
  o.activation_checkpointing = ctx.parallel->activation_checkpointing;
  o.shard_optimizer = ctx.parallel->shard_optimizer;
  o.overlap_grad_reduce = ctx.parallel->overlap_grad_reduce;
  o.train.adamw = {s.beta1, s.beta2, s.eps, s.weight_decay, s.master_weights};
  o.train.schedule.kind = unlearn::lr_schedule_from_name(s.schedule);
  o.train.schedule.base_lr = s.lr;
  o.train.max_grad_norm = s.max_grad_norm;
  o.train.micro_batches = s.micro_batches;
  o.epochs = s.epochs;
  o.batch_size = s.batch_size;
  o.seed = seed;
  o.shuffle_stream = stream;
  o.label = label;
  return o;
}

// Resumable checkpoints of the loop that makes the model stage-saved in
// `dir` under `key`: DIR.resume-<run name> (run names keep concurrent sweep
// cells sharing run.cache_dir apart), removed once the model is saved.
unlearn::LoopCheckpointOptions resume_options(const RunContext& ctx, const std::string& dir,
                                              const std::string& key) {
  return {dir + ".resume-" + ctx.run->name, ctx.run->checkpoint_every, key_hash(key)};
}

void set_warmup(unlearn::LoopOptions& o, double ratio, int64_t n_rows) {
  int64_t total = o.epochs * unlearn::loop_batches_per_epoch(n_rows, o.batch_size);
  if (o.max_steps > 0) total = std::min(total, o.max_steps);
  o.train.schedule.warmup_steps = static_cast<int64_t>(std::floor(ratio * total));
}

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

}  // namespace relapse::pipeline
