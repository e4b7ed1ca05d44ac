// src/unlearn/loops.cpp — epoch loops of the train and unlearn stages
// (relapse/unlearn/loops.h).
#include "relapse/unlearn/loops.h"

#include <algorithm>

#include <cmath>
#include <memory>
#include <optional>

#include "relapse/core/error.h"
#include "relapse/core/host_read.h"
#include "relapse/core/log.h"
#include "relapse/core/preemption.h"
#include "relapse/core/progress.h"
#include "relapse/core/rng.h"
#include "relapse/dist/communicator.h"
#include "relapse/unlearn/batch.h"
#include "relapse/unlearn/grad_reducer.h"
#include "relapse/unlearn/grad_sync.h"

namespace relapse::unlearn {

namespace {

int dp_size(Communicator* dp) {
  return dp ? dp->size() : 1;
}
int dp_rank(Communicator* dp) {
  return dp ? dp->rank() : 0;
}

// This rank's contiguous share [begin, end) of n rows.
std::pair<int64_t, int64_t> rank_share(int64_t n, int rank, int size) {
  const int64_t base = n / size, extra = n % size;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

TrainConfig resolved_train_config(const LoopOptions& o, int64_t total_steps,
                                  model::LlamaForCausalLM& m, Communicator* dp) {
  TrainConfig tc = o.train;
  if (tc.schedule.total_steps <= 0) tc.schedule.total_steps = total_steps;
  const model::TpContext tp = m->tp();
  const bool shared_kv = tp.size > m->config().num_key_value_heads;
  const int64_t bucket = tc.grad_bucket_bytes;
  if (dp_size(dp) > 1 || shared_kv) {
    // KV heads shared by several TP ranks: each copy holds only its ranks'
    // share of the head's gradient; sum them first (model/tp_layers.h) — so
    // their DP average cannot start during the backward: no overlap then.
    std::shared_ptr<GradBucketReducer> reducer;
    const bool overlap = o.overlap_grad_reduce && !shared_kv;
    if (dp_size(dp) > 1)
      reducer = std::make_shared<GradBucketReducer>(*dp, trainable_parameters(*m), bucket, overlap);
    tc.grad_reduce = [reducer, shared_kv, m, tp](const auto&) {
      if (shared_kv) model::tp_sync_replicated_grads(m, tp);
      if (reducer) reducer->finish();
    };
    if (reducer && overlap) tc.before_last_backward = [reducer] { reducer->arm(); };
  }
  if (o.shard_optimizer && dp_size(dp) > 1) {
    const std::vector<int> owners = zero_owner_ranks(trainable_parameters(*m), dp_size(dp));
    for (int r : owners) tc.owned.push_back(r == dp_rank(dp));
    tc.param_sync = [dp, owners](const auto& params) {
      zero_broadcast_params(*dp, params, owners);
    };
  }
  if (tp.size > 1) {
    std::vector<bool> owned = tp_norm_owner_flags(m);
    tc.clip = [tp, owned](const std::vector<torch::Tensor>& params, double max_norm) {
      return tp_clip_grad_norm(params, owned, tp, max_norm);
    };
  }
  return tc;
}

int64_t planned_steps(int64_t n, const LoopOptions& o) {
  RELAPSE_CHECK_CONFIG(o.epochs >= 1, "epochs must be >= 1, got ", o.epochs);
  RELAPSE_CHECK_CONFIG(o.batch_size >= 1, "batch_size must be >= 1, got ", o.batch_size);
  int64_t steps = o.epochs * loop_batches_per_epoch(n, o.batch_size);
  return o.max_steps > 0 ? std::min(steps, o.max_steps) : steps;
}

// The generic loop: for each epoch, for each global batch of row indices,
// one update whose micro-batch losses come from `micro_loss(rows, norm_rows)`
// (this rank's rows of the micro-batch, the global batch's rows).
using RowsLoss = std::function<MicroLoss(const std::vector<int64_t>& rows,
                                         const std::vector<int64_t>& global_rows)>;

using UpdateMaskFn = std::function<std::vector<torch::Tensor>(const std::vector<torch::Tensor>&)>;

void check_loop_shape(int64_t n, const LoopOptions& o, Communicator* dp) {
  RELAPSE_CHECK_CONFIG(std::min(o.batch_size, n) >= dp_size(dp), "the global batch (",
                       std::min(o.batch_size, n), " rows) must have at least one row per ",
                       "data-parallel rank (", dp_size(dp), ")");
}

// Each rank's loss is D × its rows' share of the global-batch loss; the
// curve keeps the global-batch loss, their average over the DP group.
void curve_dp_average(std::vector<StepStats>& curve, Communicator* dp) {
  if (dp_size(dp) <= 1) return;
  torch::Tensor t = torch::empty({(int64_t)curve.size(), 3}, torch::kFloat64);
  for (size_t i = 0; i < curve.size(); ++i) {
    t[i][0] = curve[i].loss;
    t[i][1] = curve[i].forget_term;
    t[i][2] = curve[i].retain_term;
  }
  dp->all_reduce(t, ReduceOp::kAvg);
  for (size_t i = 0; i < curve.size(); ++i) {
    curve[i].loss = t[i][0].item<double>();
    curve[i].forget_term = t[i][1].item<double>();
    curve[i].retain_term = t[i][2].item<double>();
  }
}

// One host read for the whole model (a device sync per parameter otherwise).
bool params_finite(model::LlamaForCausalLM& m) {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> flags;
  for (const auto& p : m->parameters()) flags.push_back(torch::isfinite(p).all());
  return flags.empty() || host_scalar<bool>(torch::stack(flags).all());
}

LoopResult run_loop(model::LlamaForCausalLM& m, int64_t n, int64_t tokens_per_row,
                    const LoopOptions& o, Communicator* dp, const RowsLoss& micro_loss,
                    const EpochHook& on_epoch_end, const UpdateMaskFn& update_mask = {}) {
  const int64_t total = planned_steps(n, o);
  check_loop_shape(n, o, dp);
  TrainConfig tc = resolved_train_config(o, total, m, dp);
  tc.update_mask = update_mask;
  Trainer trainer(trainable_parameters(*m), tc);
  at::Generator gen = RngStreams(o.seed).torch_generator(o.shuffle_stream);
  const LoopCheckpointOptions& ck = o.checkpoint;
  const bool checkpoints = !ck.dir.empty();
  std::optional<PreemptionGuard> preemption;
  if (checkpoints) preemption.emplace();
  LoopPosition start;
  if (checkpoints && loop_checkpoint_load(ck, trainer, m, dp, &start))
    log_info(o.label, ": resumed from ", ck.dir, " after update ", start.steps, " of ", total);
  m->train();
  m->set_activation_checkpointing(o.activation_checkpointing);
  const int D = dp_size(dp);
  LoopResult r;
  r.steps = start.steps;
  Progress progress(o.label, total);
  for (int64_t epoch = 1; r.steps < total; ++epoch) {
    // Drawn for every epoch, resumed or not: the data order of epoch e
    // depends only on the seed and e.
    const auto batches = epoch_batches(n, o.batch_size, &gen);
    if (epoch < start.epoch) continue;
    r.epochs_run = epoch;
    for (size_t bi = 0; bi < batches.size(); ++bi) {
      if (epoch == start.epoch && static_cast<int64_t>(bi) < start.batch) continue;
      if (r.steps >= total) break;
      const auto& rows = batches[bi];
      auto [b, e] = rank_share(static_cast<int64_t>(rows.size()), dp_rank(dp), dp_size(dp));
      std::vector<int64_t> mine(rows.begin() + b, rows.begin() + e);
      const int64_t n_micro = std::min<int64_t>(o.train.micro_batches, (int64_t)mine.size());
      auto loss_fn = [&](int64_t, int64_t micro) -> MicroLoss {
        if (micro >= n_micro) return {torch::zeros({}, torch::kFloat32).requires_grad_()};
        auto [mb, me] = rank_share(static_cast<int64_t>(mine.size()), (int)micro, (int)n_micro);
        MicroLoss ml = micro_loss({mine.begin() + mb, mine.begin() + me}, rows);
        if (D > 1) {  // gradients are averaged over DP: see loops.h
          ml.loss = ml.loss * static_cast<double>(D);
          if (ml.extra.defined()) ml.extra = ml.extra * static_cast<double>(D);
          ml.forget_term *= D;
          ml.retain_term *= D;
        }
        return ml;
      };
      const StepStats& s = trainer.step(loss_fn, tokens_per_row * (int64_t)rows.size());
      ++r.steps;
      progress.update(r.steps, s.loss, s.tokens);
      // The gradient norm is taken after the DP reduction (and over TP), so
      // every rank sees the same value and stops at the same update.
      if (!std::isfinite(s.grad_norm)) {
        r.diverged_step = r.steps;
        log_warn(o.label, ": diverged at update ", r.steps, " of ", total, " (gradient norm ",
                 s.grad_norm, ", loss ", s.loss, "); stopped");
        break;
      }
      if (checkpoints && loop_grid_any(m, dp, preemption->requested())) {
        loop_checkpoint_save(ck, {r.steps, epoch, static_cast<int64_t>(bi) + 1}, trainer, m, dp);
        preemption->consume();
        RELAPSE_THROW(ExitCode::kPreempted, o.label, ": stopped by SIGTERM after update ", r.steps,
                      " of ", total, "; checkpoint saved in ", ck.dir,
                      " — rerun the same command to resume");
      }
    }
    if (r.steps >= total || r.diverged_step > 0) break;
    if (on_epoch_end && !on_epoch_end(epoch)) {
      r.stopped_early = true;
      break;
    }
    if (checkpoints && ck.every_epochs > 0 && epoch % ck.every_epochs == 0)
      loop_checkpoint_save(ck, {r.steps, epoch + 1, 0}, trainer, m, dp);
  }
  progress.finish();
  m->set_activation_checkpointing(false);
  // Finite gradients can still carry the weights past the dtype's range (a huge
  // learning rate): such a model is as diverged as one with a NaN gradient.
  if (r.diverged_step == 0 && loop_grid_any(m, dp, !params_finite(m))) {
    r.diverged_step = std::max<int64_t>(r.steps, 1);
    log_warn(o.label, ": weights not finite after update ", r.steps, "; marked diverged");
  }
  r.curve = trainer.curve();
  curve_dp_average(r.curve, dp);
  return r;
}

// SURE module mode: the forget-term gradient over the whole forget set at the
// current (original) weights — batches of batch_size rows in sorted order,
// each rank its contiguous share split into micro-batches, every loss
// normalised over the whole set, then summed over DP.
std::vector<torch::Tensor> module_forget_grads(model::LlamaForCausalLM& m,
                                               model::LlamaForCausalLM* ref_model,
                                               const Chunks& forget, const UnlearnLossConfig& loss,
                                               const LoopOptions& o, Communicator* dp,
                                               const std::vector<torch::Tensor>& params,
                                               const SaliencyTracker& tracker) {
  const int64_t n = static_cast<int64_t>(forget.size());
  std::vector<int64_t> all(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) all[static_cast<size_t>(i)] = i;
  const LossNormalizer norm =
      loss_normalizer(batch_from_rows(forget, all, "forget"), TokenBatch{}, m->config().vocab_size);
  std::vector<torch::Tensor> acc(params.size());
  for (int64_t start = 0; start < n; start += o.batch_size) {
    const int64_t len = std::min(o.batch_size, n - start);
    auto [b, e] = rank_share(len, dp_rank(dp), dp_size(dp));
    const int64_t n_micro = std::min<int64_t>(o.train.micro_batches, e - b);
    for (int64_t micro = 0; micro < n_micro; ++micro) {
      auto [mb, me] = rank_share(e - b, (int)micro, (int)n_micro);
      std::vector<int64_t> rows(all.begin() + start + b + mb, all.begin() + start + b + me);
      std::vector<torch::Tensor> g = saliency_forget_grads(
          m, ref_model, batch_from_rows(forget, rows, "forget"), loss, norm, params);
      torch::NoGradGuard ng;
      for (size_t i = 0; i < g.size(); ++i) {
        if (!g[i].defined()) continue;
        acc[i] = acc[i].defined() ? acc[i].add_(g[i]) : g[i];
      }
    }
  }
  tracker.dp_sum(acc);
  return acc;
}

}  // namespace

int64_t loop_batches_per_epoch(int64_t n, int64_t batch_size) {
  return (n + batch_size - 1) / batch_size;
}

LoopResult lm_train(model::LlamaForCausalLM& m, const Chunks& chunks, const LoopOptions& o,
                    Communicator* dp) {
  RELAPSE_CHECK_INPUT(!chunks.empty(), o.label, ": no training chunks");
  RELAPSE_CHECK_CONFIG(o.saliency.mode == SaliencyMode::kNone, o.label,
                       ": SURE applies to unlearning only");
  const int64_t T = static_cast<int64_t>(chunks[0].size());
  auto micro = [&](const std::vector<int64_t>& rows, const std::vector<int64_t>& global) {
    TokenBatch b = batch_from_rows(chunks, rows, o.label);
    // All chunks have the same length (MUSE's chunking), so the global
    // batch's label count is rows × (T − 1).
    const double n_labels = static_cast<double>(global.size()) * static_cast<double>(T - 1);
    torch::Tensor loss = causal_lm_loss(lm_forward_local(m, b), b, n_labels);
    return MicroLoss{loss, 0.0, 0.0};
  };
  LoopResult r = run_loop(m, static_cast<int64_t>(chunks.size()), T, o, dp, micro, {});
  RELAPSE_CHECK_CONFIG(r.diverged_step == 0, o.label, ": diverged at update ", r.diverged_step,
                       " (non-finite gradient norm); lower its learning rate");
  return r;
}

LoopResult unlearn_train(model::LlamaForCausalLM& m, model::LlamaForCausalLM* ref_model,
                         const Chunks& forget, const Chunks& retain, const UnlearnLossConfig& loss,
                         const LoopOptions& o, Communicator* dp, const EpochHook& on_epoch_end) {
  RELAPSE_CHECK_INPUT(!forget.empty(), o.label, ": the forget set has no chunks");
  const bool uses_retain = objective_uses_retain(loss.objective);
  RELAPSE_CHECK_INPUT(!uses_retain || !retain.empty(), o.label, ": method ",
                      objective_name(loss.objective), " needs retain chunks, got none");
  const int64_t n_retain = static_cast<int64_t>(retain.size());
  const int64_t vocab = m->config().vocab_size;
  const SaliencyMode sure = o.saliency.mode;
  saliency_config_validate(o.saliency);
  RELAPSE_CHECK_CONFIG(
      m->tp().size <= 1 || sure == SaliencyMode::kNone || sure == SaliencyMode::kReleased,
      "SURE (unlearn.sure) does not support parallel.tp > 1 yet");
  const std::vector<torch::Tensor> params = trainable_parameters(*m);
  SaliencyTracker tracker(m, params, o.saliency, dp);
  UpdateMaskFn update_mask;
  if (sure == SaliencyMode::kModule || sure == SaliencyMode::kRow) {
    update_mask = [&tracker](const std::vector<torch::Tensor>&) { return tracker.update_masks(); };
  }
  if (sure == SaliencyMode::kModule) {
    check_loop_shape(static_cast<int64_t>(forget.size()), o, dp);
    tracker.set_module_masks(
        module_forget_grads(m, ref_model, forget, loss, o, dp, params, tracker));
  }
  auto micro = [&](const std::vector<int64_t>& rows, const std::vector<int64_t>& global) {
    TokenBatch gf = batch_from_rows(forget, global, "forget");
    TokenBatch gr = uses_retain
                        ? batch_from_rows(retain, retain_rows_for(global, n_retain), "retain")
                        : TokenBatch{};
    const LossNormalizer norm = loss_normalizer(gf, gr, vocab);
    TokenBatch f = batch_from_rows(forget, rows, "forget");
    TokenBatch r = uses_retain ? batch_from_rows(retain, retain_rows_for(rows, n_retain), "retain")
                               : TokenBatch{};
    // SURE row mode: this micro-batch's share of the update's forget-term
    // gradient, before the objective's own forward (saliency.h).
    if (sure == SaliencyMode::kRow) {
      tracker.add(saliency_forget_grads(m, ref_model, f, loss, norm, params));
    }
    LossParts p = unlearn_loss(m, ref_model, f, r, loss, &norm);
    MicroLoss ml{p.total, p.forget_term, p.retain_term};
    if (sure == SaliencyMode::kReleased) {
      // The released SURE back-propagates the forget loss on its own and then
      // the total: 2·∇forget + α·∇retain (saliency.h).
      ml.extra =
          unlearn_loss(m, ref_model, f, TokenBatch{}, saliency_forget_config(loss), &norm).total;
    }
    return ml;
  };
  const int64_t T = static_cast<int64_t>(forget[0].size());
  LoopOptions run = o;
  if (update_mask && !run.checkpoint.dir.empty()) {
    // The saliency masks and selection counts are not in the checkpoint (loops.h).
    log_info(o.label, ": SURE ", saliency_mode_name(sure), " mode runs without checkpoints");
    run.checkpoint = {};
  }
  LoopResult res = run_loop(m, static_cast<int64_t>(forget.size()), T * (uses_retain ? 2 : 1), run,
                            dp, micro, on_epoch_end, update_mask);
  res.mask = tracker.result();
  if (sure == SaliencyMode::kReleased) res.mask.steps = res.steps;
  return res;
}

}  // namespace relapse::unlearn
