// relapse/unlearn/trainer.h — the training loop shared by `train` and
// `unlearn`: AdamW, constant/cosine LR schedules with linear warmup, global
// grad-norm clipping, gradient accumulation over micro-batches, fp32 or pure
// bf16 parameters and optimizer state, and the recorded loss curve.
//
// AdamW is relapse's own, written op for op as PyTorch's single-tensor AdamW
// (torch.optim.AdamW(foreach=False); the foreach/fused kernels compute the same
// formula): with step k (1-based), g the gradient,
//   p  ← p·(1 − lr·wd)                        (decoupled weight decay)
//   m  ← lerp(m, g, 1 − β1);   v ← v·β2 + (1 − β2)·g²
//   p  ← p − (lr / (1 − β1^k)) · m / (sqrt(v) / sqrt(1 − β2^k) + ε)
// Every op runs in the parameter's dtype and the state has the parameter's
// dtype (PyTorch: zeros_like(param)), so with bf16 parameters — the released
// MUSE/paper trainers load the model in bf16 — each in-place op rounds to
// bf16 and an update below half a bf16 ULP of the weight is rounded away
// (1.0 stays 1.0 under any step < 2^-9; its ULP is 2^-7). relapse does not use
// torch::optim::AdamW: its formula changed across libtorch releases (older
// ones scaled the weight decay by the bias-corrected step size).
//
// LR schedules are transformers' LambdaLR factors, evaluated at the number of
// updates already done (so the first update of a warmup uses factor 0):
//   constant: 1 after warmup (get_constant_schedule_with_warmup; warmup 0 =
//             get_constant_schedule, the released trainers' setting);
//   cosine:   step/warmup during warmup, then
//             max(0, ½(1 + cos(π·(step − warmup)/max(1, total − warmup))))
//             (get_cosine_schedule_with_warmup, num_cycles 0.5);
//   warmup factor: step / max(1, warmup).
//
// Update masks (SURE, saliency.h): TrainConfig::update_mask returns, after
// the DP reduction and before clipping, one bool mask per parameter
// (broadcastable to it; undefined = the whole parameter). The trainer zeroes
// the gradient outside the mask (so clipping sees only selected gradients)
// and AdamW::step leaves the entries outside it exactly as they were — the
// weight, both moments — so neither decoupled weight decay nor momentum from
// earlier steps moves them; a parameter with nothing selected is skipped
// entirely (its step count does not advance). A partly selected parameter
// advances its step count and updates only the selected entries (lazy Adam,
// as torch.optim.SparseAdam treats rows absent from a step).
//
// Master weights (AdamWOptions::master_weights, train/unlearn.master_weights):
// for a bf16/fp16 parameter the optimizer keeps an fp32 copy w (made from the
// parameter, exactly) and fp32 moments, runs the update above in fp32 on w
// with the gradient widened to fp32, and then sets the parameter to w rounded
// to its dtype — Megatron's and DeepSpeed's mixed precision, where updates
// below half a bf16 ULP accumulate in w instead of being rounded away. Under
// ZeRO-1 only the owner keeps w (the rounded parameter is what is broadcast).
//
// Clipping: torch::nn::utils::clip_grad_norm_ over every parameter that has a
// gradient (PyTorch's: scale by max_norm / (‖g‖₂ + 1e-6) when that is < 1);
// HF's Trainer clips at 1.0 by default, so the released trainers did.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace relapse::unlearn {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  // Mixed precision (see "Master weights" above): 16-bit parameters get an
  // fp32 master copy and fp32 moments; no effect on fp32 / fp64 parameters.
  bool master_weights = false;
};

class AdamW {
 public:
  // owned (optional, one flag per parameter; empty = all): the parameters
  // this optimizer updates and keeps moments for — the others are skipped,
  // with no state (ZeRO-1: each DP rank owns a share, grad_sync.h).
  AdamW(std::vector<torch::Tensor> params, AdamWOptions opts, std::vector<bool> owned = {});
  // One update at learning rate `lr`; parameters without a gradient are skipped
  // (their step count does not advance). masks (optional, one per parameter,
  // see "Update masks" above): entries outside a mask do not change.
  void step(double lr, const std::vector<torch::Tensor>* masks = nullptr);
  void zero_grad();
  const std::vector<torch::Tensor>& params() const { return params_; }
  const torch::Tensor& exp_avg(size_t i) const { return exp_avg_.at(i); }
  const torch::Tensor& exp_avg_sq(size_t i) const { return exp_avg_sq_.at(i); }
  int64_t steps(size_t i) const { return steps_.at(i); }
  // The fp32 master copy of parameter i (undefined: none, see above).
  const torch::Tensor& master(size_t i) const { return master_.at(i); }
  bool owns(size_t i) const { return owned_.empty() || owned_.at(i); }
  bool sharded() const { return !owned_.empty(); }
  const AdamWOptions& options() const { return opts_; }
  // Resuming (loop_checkpoint.h): parameter i's moments and master copy
  // (copied into the state, which keeps its dtype and device; `master` is
  // required exactly when the state has one) and step count.
  void restore(size_t i, const torch::Tensor& exp_avg, const torch::Tensor& exp_avg_sq,
               int64_t steps, const torch::Tensor& master = {});

 private:
  std::vector<torch::Tensor> params_, exp_avg_, exp_avg_sq_, master_;
  std::vector<int64_t> steps_;
  AdamWOptions opts_;
  std::vector<bool> owned_;
};

enum class LrScheduleKind { kConstant, kCosine };
LrScheduleKind lr_schedule_from_name(const std::string& name);  // "constant" | "cosine"
std::string lr_schedule_name(LrScheduleKind k);
std::vector<std::string> lr_schedule_names();

struct LrSchedule {
  LrScheduleKind kind = LrScheduleKind::kConstant;
  double base_lr = 1e-5;
  int64_t warmup_steps = 0;
  int64_t total_steps = 0;  // cosine only
  // The multiplier after `step` updates (transformers' lr_lambda(step)).
  double factor(int64_t step) const;
  double lr(int64_t step) const { return base_lr * factor(step); }
};

// Clips the global 2-norm of the gradients of `params` to max_norm (no
// clipping when max_norm <= 0 or infinite) and returns the norm before clipping.
double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

struct TrainConfig {
  AdamWOptions adamw;
  LrSchedule schedule;
  double max_grad_norm = 1.0;  // <= 0: no clipping
  int64_t micro_batches = 1;   // gradient accumulation: micro-batches per update
  // Called with the parameters after all micro-batches' backward, before
  // clipping (data parallelism sums gradients over ranks here); empty = none.
  std::function<void(const std::vector<torch::Tensor>&)> grad_reduce;
  // Clips the gradients to max_norm and returns the norm before clipping
  // (tensor parallelism counts replicated parameters once, grad_sync.h);
  // empty = clip_grad_norm.
  std::function<double(const std::vector<torch::Tensor>&, double)> clip;
  // SURE: the update masks of this update (see "Update masks" above), called
  // after grad_reduce and before clipping; empty = no masks.
  std::function<std::vector<torch::Tensor>(const std::vector<torch::Tensor>&)> update_mask;
  // Called just before the update's last backward (the loss of its last
  // micro-batch): overlapped DP reduction arms its hooks (grad_reducer.h);
  // empty = nothing.
  std::function<void()> before_last_backward;
  // Data parallelism: bytes per gradient all-reduce bucket (grad_sync.h).
  int64_t grad_bucket_bytes = 25ll << 20;
  // Optimizer state sharded over DP (ZeRO-1, grad_sync.h): the parameters
  // this rank's AdamW owns (empty = all), and after each update the exchange
  // that gives every rank the parameters the others updated.
  std::vector<bool> owned;
  std::function<void(const std::vector<torch::Tensor>&)> param_sync;
};
void train_config_validate(const TrainConfig& c);

// What a loss callback returns for one micro-batch: the loss to back-propagate,
// already normalised so that the micro-batch losses of one update add up to
// the full-batch loss (see LossNormalizer in losses.h), and optional parts.
struct MicroLoss {
  torch::Tensor loss;
  double forget_term = 0.0;
  double retain_term = 0.0;
  // Optional: back-propagated before `loss` but not counted in the curve
  // (SURE "as released" counts the forget gradient twice, saliency.h).
  torch::Tensor extra = {};
};

// One point of the loss curve (sums over the micro-batches of an update).
struct StepStats {
  int64_t step = 0;  // 1-based update index
  double lr = 0.0;
  double loss = 0.0;
  double forget_term = 0.0;
  double retain_term = 0.0;
  double grad_norm = 0.0;  // before clipping
  int64_t tokens = 0;      // as reported by the caller (0 if not)
};

// loss_fn(step, micro): the loss of micro-batch `micro` of update `step` (0-based).
using MicroLossFn = std::function<MicroLoss(int64_t step, int64_t micro)>;

class Trainer {
 public:
  Trainer(std::vector<torch::Tensor> params, TrainConfig cfg);
  // One update: zero grads; for each micro-batch, loss_fn → backward; clip;
  // AdamW at schedule.lr(updates done). Appends to and returns the curve entry.
  const StepStats& step(const MicroLossFn& loss_fn, int64_t tokens = 0);
  int64_t updates() const { return static_cast<int64_t>(curve_.size()); }
  const std::vector<StepStats>& curve() const { return curve_; }
  AdamW& optimizer() { return opt_; }
  const AdamW& optimizer() const { return opt_; }
  const TrainConfig& config() const { return cfg_; }
  // Resuming: the curve of the updates already made (updates() = its size).
  void restore_curve(std::vector<StepStats> curve) { curve_ = std::move(curve); }

 private:
  TrainConfig cfg_;
  AdamW opt_;
  std::vector<StepStats> curve_;
};

// Runs `n_steps` updates; on_step (optional) sees each entry (progress, eval,
// early stop: return false to stop). Returns the number of updates run.
int64_t train_loop(Trainer& t, int64_t n_steps, const MicroLossFn& loss_fn,
                   const std::function<bool(const StepStats&)>& on_step = {});

// The trainable parameters of a module (requires_grad), in registration order.
std::vector<torch::Tensor> trainable_parameters(const torch::nn::Module& m);

}  // namespace relapse::unlearn
