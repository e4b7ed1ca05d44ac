// relapse/unlearn/loops.h — the epoch loops of the train and unlearn stages:
// causal-LM training on token chunks (pretraining, fine-tuning the target and
// the retrain model) and unlearning over forget/retain chunk pairs, both with
// seeded shuffling, data parallelism, progress lines and the loss curve.
//
// Batching: each epoch is a permutation of the examples drawn from the torch
// generator of RNG stream `shuffle_stream` (one generator for the whole run,
// so epoch e's order depends only on the seed and e), cut into global batches
// of `batch_size` rows (the last may be smaller, HF's drop_last=false).
// Unlearning batches forget rows and pairs each forget row i with retain row
// i mod |retain| (MUSE's ForgetRetainDataset).
//
// Data parallel (dp non-null, size D > 1): each rank runs the contiguous
// share of every global batch's rows (sizes differ by at most one), split
// into `train.micro_batches` micro-batches. Gradients are AVERAGED over the DP
// ranks (bucketed all-reduce, grad_sync.h) before clipping and the update. For
// that average to be the gradient of the global-batch loss, each rank's loss is
// its rows' sum of per-token / per-row / per-entry terms divided by the GLOBAL
// batch's normaliser (LossNormalizer) and multiplied by D: the average over
// ranks of D·S_r/N is Σ_r S_r/N, the single-rank loss. (×D and the average's
// ÷D are exact in floating point when D is a power of two; otherwise they add
// one rounding, ~1e-7 relative in fp32.) So the update equals the single-rank
// one up to the order in which the ranks' partial sums are added. The loss
// curve records the average of the ranks' losses = the global-batch loss.
// Every rank needs at least one row: the global batch must have >= D rows
// (kConfig error otherwise).
//
// Tensor parallel (the model built with a TpContext of size > 1; `dp` is then
// the DP group of the grid, ProcessGrid::dp): the losses run on the model's
// vocabulary slices (lm_forward_local, never the full logits), every TP rank
// of a DP rank takes the same rows, and clipping uses the TP grad-norm that
// counts replicated parameters once (tp_clip_grad_norm). The frozen reference
// model must be split the same way (reference_model_copy of the split model,
// or hf_load with the same TpContext).
//
// SURE (LoopOptions::saliency, saliency.h; unlearn_train only): module mode
// first runs one pass over the whole forget set (sorted order, batches of
// batch_size rows, DP-sharded like the updates) for the fixed mask; row mode
// adds, per micro-batch, a forward/backward of the forget term alone for the
// saliency gradient; released mode adds the forget term once more to the
// back-propagated loss (the curve's loss stays forget + α·retain). Module and
// row modes reject tensor parallelism (kConfig); released mode runs under it.
//
// Resume (LoopOptions::checkpoint with a dir, loop_checkpoint.h): the loop
// starts from the checkpoint in that dir when it holds one of the same key;
// it saves one after every `every_epochs`-th epoch (after the epoch hook, when
// the loop goes on) and, while it runs, SIGTERM (core/preemption.h) makes it
// finish the update in flight, save, and throw kPreempted — every rank of the
// grid agrees after each update whether one of them was signalled, so all
// stop after the same update. SURE's module and row modes keep saliency state
// the checkpoint does not hold: they run without checkpoints.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "relapse/model/llama.h"
#include "relapse/unlearn/loop_checkpoint.h"
#include "relapse/unlearn/losses.h"
#include "relapse/unlearn/saliency.h"
#include "relapse/unlearn/trainer.h"

namespace relapse {
class Communicator;
}

namespace relapse::unlearn {

using Chunks = std::vector<std::vector<int64_t>>;

struct LoopOptions {
  TrainConfig train;  // AdamW, schedule (cosine total_steps 0 = the loop's step count)
  int64_t epochs = 1;
  int64_t batch_size = 8;  // global rows per update
  int64_t max_steps = 0;   // stop after this many updates (0 = epochs × batches)
  uint64_t seed = 0;       // root seed of the RNG streams
  std::string shuffle_stream = "train/shuffle";
  std::string label = "train";            // progress line label
  SaliencyConfig saliency;                // SURE (unlearn_train only; lm_train needs mode none)
  bool activation_checkpointing = false;  // recompute decoder layers in the backward (llama.h)
  bool shard_optimizer = false;           // ZeRO-1 over the DP group (grad_sync.h)
  bool overlap_grad_reduce = true;        // DP buckets sent during the backward (grad_reducer.h)
  LoopCheckpointOptions checkpoint;       // resumable checkpoints (see "Resume" above)
};

struct LoopResult {
  std::vector<StepStats> curve;
  int64_t steps = 0;
  int64_t epochs_run = 0;      // epochs started (the last may be partial with max_steps)
  bool stopped_early = false;  // on_epoch_end returned false
  // The update whose gradient norm was not finite (0 = none): the loop stops
  // there, with no checkpoint after it. lm_train throws instead (a diverged
  // target or retrain model leaves nothing to study); unlearn_train returns it
  // so one diverged run of a grid does not end the others.
  int64_t diverged_step = 0;
  SaliencyMask mask;  // SURE's selections (mode none: empty, steps 0)
};

// Updates per epoch for n examples.
int64_t loop_batches_per_epoch(int64_t n, int64_t batch_size);

// Causal-LM training (HF's token-mean NLL) on `chunks` (all the same length).
LoopResult lm_train(model::LlamaForCausalLM& m, const Chunks& chunks, const LoopOptions& o,
                    Communicator* dp = nullptr);

// on_epoch_end(epoch) after each full epoch (1-based); false = stop (MUSE's
// stopping rule lives in the caller).
using EpochHook = std::function<bool(int64_t epoch)>;

// Unlearning with `loss` on forget chunks paired with retain chunks (retain
// may be empty for GA / NPO). ref_model: the frozen reference (needed by NPO*
// and *_KLR; may be null otherwise).
LoopResult unlearn_train(model::LlamaForCausalLM& m, model::LlamaForCausalLM* ref_model,
                         const Chunks& forget, const Chunks& retain, const UnlearnLossConfig& loss,
                         const LoopOptions& o, Communicator* dp = nullptr,
                         const EpochHook& on_epoch_end = {});

}  // namespace relapse::unlearn
