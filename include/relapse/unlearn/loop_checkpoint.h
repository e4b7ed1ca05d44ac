// relapse/unlearn/loop_checkpoint.h — resumable checkpoints of the training
// and unlearning loops (loops.h): everything an interrupted loop needs to
// continue exactly where it stopped — every rank's parameters (its TP shard),
// AdamW's moments and step counts, the loss curve so far, and the position in
// the data order (epoch, batches of it done). The data order itself is not
// stored: epoch e's permutation depends only on the seed and e (loops.h), so a
// resumed loop replays the shuffle stream up to the saved epoch and skips the
// batches already done. A resumed run is the uninterrupted run, bit for bit.
//
// Layout of DIR (written as DIR.tmp and renamed, so DIR is always complete):
//   state.json                 key, position, DP and TP sizes, parameter count
//   rank-dp<d>-tp<t>.safetensors  per rank: "curve" [n, 6] fp64 (step, lr,
//                              loss, forget, retain, grad norm), "tokens" [n],
//                              "adam_steps" [params]; DP rank 0 of every TP
//                              rank also "param.<name>" (the other DP ranks
//                              hold the same values); "exp_avg.<name>" and
//                              "exp_avg_sq.<name>" (and "master.<name>" with
//                              master weights, trainer.h) from DP rank 0, or
//                              under ZeRO-1 (grad_sync.h) from each owner
// The curve is per rank because each DP rank records its own share of the
// loss until the loop averages them at its end (loops.h).
#pragma once
#include <cstdint>
#include <string>

#include "relapse/model/llama.h"
#include "relapse/unlearn/trainer.h"

namespace relapse {
class Communicator;
}

namespace relapse::unlearn {

struct LoopCheckpointOptions {
  std::string dir;           // "" = no checkpoints (SIGTERM keeps its default action)
  int64_t every_epochs = 1;  // save after every N-th epoch; 0 = only when preempted
  std::string key;           // the run's identity: a checkpoint of another key is ignored
};

// Where the loop stands: updates done, the epoch the next update belongs to
// (1-based) and how many of that epoch's batches are done.
struct LoopPosition {
  int64_t steps = 0;
  int64_t epoch = 1;
  int64_t batch = 0;
};

// Writes the checkpoint (collective over the DP and TP groups of `m`).
void loop_checkpoint_save(const LoopCheckpointOptions& o, const LoopPosition& pos, const Trainer& t,
                          model::LlamaForCausalLM& m, Communicator* dp);

// Whether any rank of the DP × TP grid says yes (one tiny all-reduce per
// group; dp then tp): the loops ask it after each update whether a rank was
// signalled to stop, the checkpoint writer whether a rank failed.
bool loop_grid_any(model::LlamaForCausalLM& m, Communicator* dp, bool mine);

// Restores parameters, moments, step counts and curve from o.dir when it holds
// a checkpoint of o.key (collective); returns false (and changes nothing) when
// there is none or it belongs to another key. A checkpoint of this key written
// by another DP × TP layout, or a damaged one, is a kInput error naming the
// file and what to do.
bool loop_checkpoint_load(const LoopCheckpointOptions& o, Trainer& t, model::LlamaForCausalLM& m,
                          Communicator* dp, LoopPosition* pos);

// Removes o.dir (rank 0 of the world), after the loop's result is saved.
void loop_checkpoint_remove(const LoopCheckpointOptions& o, model::LlamaForCausalLM& m,
                            Communicator* dp);

}  // namespace relapse::unlearn
