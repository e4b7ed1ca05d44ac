// relapse/unlearn/saliency.h — SURE, saliency-based unlearning (Zhang et al.,
// ICLR 2025, "Catastrophic Failure of LLM Unlearning via Quantization"): only
// the parameters (or output rows) on which the forget loss's gradient is large
// are updated, so a large learning rate moves few weights far, and the change
// survives quantization.
//
// Modes (`unlearn.sure`):
//   none      plain unlearning.
//   module    the paper: saliency of a parameter = the Frobenius norm of the
//             gradient of the forget term (the objective's forget part, GA's
//             −NLL or NPO, no retain term) over the WHOLE forget set at the
//             ORIGINAL weights (one pass before the first update, batches of
//             batch_size rows, loss normalised over the whole set); one mask
//             bit per parameter (named_parameters entry), fixed for the run.
//   row       the released code's intent: saliency of each output row of each
//             weight (dim 0; the L2 norm over the other dims; a 1-D parameter
//             such as an RMSNorm weight has one row per element, its |g|),
//             recomputed at EVERY update from that update's forget-term
//             gradient over the global batch, at the current weights.
//   released  what the published code computes (below): no mask, and the
//             gradient is 2·∇forget + α·∇retain.
// Threshold: γ = np.percentile(all norms, percentile) with numpy's default
// "linear" method (module: the per-parameter norms; row: all rows of all
// parameters in one vector), or the absolute `gamma` when gamma >= 0.
// Selected = norm >= γ — the released code's comparison (`norm >= gamma`), so
// at P100 the largest norm (and its ties) is still selected, and an all-zero
// gradient selects everything (the trainer then moves nothing but weight decay).
//
// Masked (non-selected) parameters/rows do not move at all: their gradients
// are zeroed after the DP average and before clipping (so the clip norm counts
// only selected gradients), and AdamW leaves them, their moments and — for a
// fully masked parameter — its step count untouched (no decoupled weight
// decay, no momentum carried from earlier steps; trainer.h, "update masks").
// Norms are taken in fp32 for bf16/fp16 gradients (as the released code casts
// to float32) and in the gradient's dtype for fp32/fp64.
//
// Data parallel: the forget-term gradients are summed over the DP ranks (each
// rank's micro-batch losses are its rows' share of the global-batch loss, so
// the sum is the global-batch gradient) before any norm is taken, so every
// rank selects the same mask. The module pass is DP-sharded the same way (each
// rank its contiguous share of each batch of the forget set, then the sum).
// Tensor parallel > 1 is rejected (kConfig): a row of a row-parallel weight is
// split over ranks and its norm would need a TP reduction.
//
// The published code (github.com/zzwjames/FailureLLMUnlearning,
// baselines/baselines/iterative.py, the 4 stored versions read for this file;
// the SURE trainer, and in one older version the same code under the name
// IterativeUnlearner with the threshold hard-wired to 90, plus a commented-out
// "layer-level" variant that summed parameter norms per module name prefix):
//   * compute_loss builds the forget loss (GA: −HF loss; NPO: NPO on raw
//     logits, as LossVariant kPaperReleased), calls optimizer.zero_grad() and
//     loss_f.backward(retain_graph=True); from those gradients it takes, per
//     named parameter, the fp32 L2 norm of each index of dim 0 over the other
//     dims (|g| for 1-D parameters), γ = np.percentile(all those norms,
//     threshold) (threshold: unlearn()'s default 90, the class default 99 is
//     overridden), and a dict mask m_S[name.idx] = 1 if norm >= γ else 0.
//     It then adds α·(retain loss) (GDR: HF loss; KLR: a true KL,
//     kl_div(log_softmax(logits), softmax(ref_logits), "batchmean") = Σ over
//     positions and vocabulary / B — no LossVariant here computes that form)
//     and returns loss_f + α·loss_r.
//   * HF Trainer's training_step then back-propagates that returned loss into
//     the gradients already holding ∇loss_f: the update uses
//     2·∇forget + α·∇retain (forget counted twice).
//   * The mask is applied in a method named optimizer_step, which
//     transformers' Trainer (the 4.x releases of the paper's time) neither
//     defines nor calls — its training loop calls optimizer.step() directly
//     (optimizer_step is a PyTorch Lightning hook) — so m_S is computed every
//     step and never used. Clipping (max_grad_norm 1.0) and AdamW see the
//     full, doubled gradient. (Not verified against a transformers checkout
//     here: no stored copy was searched line by line.)
//   So "released" = no mask + forget gradient doubled; "row" = what the code
//   evidently meant to do. relapse's released mode uses the LossVariant the
//   config chooses for the terms (kPaperReleased matches GA/NPO/GDR exactly).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "relapse/model/llama.h"
#include "relapse/unlearn/losses.h"

namespace relapse {
class Communicator;
}

namespace relapse::unlearn {

enum class SaliencyMode { kNone, kModule, kRow, kReleased };
// "none" | "module" | "row" | "released" (case-insensitive); kConfig otherwise.
SaliencyMode saliency_mode_from_name(const std::string& name);
std::string saliency_mode_name(SaliencyMode m);
std::vector<std::string> saliency_mode_names();  // "none" first

struct SaliencyConfig {
  SaliencyMode mode = SaliencyMode::kNone;
  double percentile = 90.0;  // threshold = np.percentile(norms, percentile) ...
  double gamma = -1.0;       // ... unless gamma >= 0: absolute threshold
  // Candidate parameters: those whose name contains one of these fragments
  // ("q_proj", "mlp", ...); the others are never selected and their norms
  // are not part of the percentile. [] = every parameter (the released code).
  std::vector<std::string> modules;
  // Per parameter (params order): candidate or not; filled by SaliencyTracker
  // from `modules` and the parameter names ([] = all candidates).
  std::vector<bool> candidate;
};
// percentile in [0, 100] and finite, gamma finite (kConfig naming the field).
void saliency_config_validate(const SaliencyConfig& c);

// The record of a run: per trainable parameter (named_parameters order, HF
// names), how many updates selected each row (dim 0; 1 row for a 0-D
// parameter). Module mode: every row of a selected parameter counts every
// update. Released / none: no entries (names empty), steps = updates.
struct SaliencyMask {
  SaliencyMode mode = SaliencyMode::kNone;
  int64_t steps = 0;
  std::vector<std::string> names;
  std::vector<std::vector<int32_t>> selected_steps;
  std::vector<double> thresholds;      // γ: one (module) or one per update (row)
  std::vector<int64_t> selected_rows;  // rows selected per update, summed over parameters
};

// Rows of a parameter: size(0), or 1 for a 0-D tensor.
int64_t saliency_rows(const torch::Tensor& p);
// Per-row L2 norms of a gradient [rows], fp64 on the CPU (computed in fp32 for
// bf16/fp16, else in the gradient's dtype).
torch::Tensor saliency_row_norms(const torch::Tensor& grad);
// Frobenius norm of a whole gradient (same dtype rule).
double saliency_module_norm(const torch::Tensor& grad);
// γ from the config for these norms.
double saliency_threshold(const SaliencyConfig& c, const std::vector<double>& norms);

// Update masks from forget-term gradients (one per parameter; an undefined
// gradient counts as zero). Each mask is a bool tensor on the parameter's
// device shaped [rows, 1, ...] (the parameter's dim, broadcastable to it; [] for
// 0-D). *threshold receives γ when non-null. Parameters with
// c.candidate[i] == false (when c.candidate is non-empty) are masked and left
// out of the norms the percentile is taken over.
std::vector<torch::Tensor> saliency_module_masks(const std::vector<torch::Tensor>& params,
                                                 const std::vector<torch::Tensor>& grads,
                                                 const SaliencyConfig& c, double* threshold);
std::vector<torch::Tensor> saliency_row_masks(const std::vector<torch::Tensor>& params,
                                              const std::vector<torch::Tensor>& grads,
                                              const SaliencyConfig& c, double* threshold);

// The objective's forget part alone: GA_* → GA, NPO_* → NPO, SimNPO_* → SimNPO, ...
// (objective_forget_only; same variant and settings, forget weight 1).
UnlearnLossConfig saliency_forget_config(const UnlearnLossConfig& loss);

// ∇ of the forget term on (forget, norm) wrt params, without touching their
// .grad (torch::autograd::grad); undefined entries where the loss does not
// reach a parameter.
std::vector<torch::Tensor> saliency_forget_grads(model::LlamaForCausalLM& m,
                                                 model::LlamaForCausalLM* ref_model,
                                                 const TokenBatch& forget,
                                                 const UnlearnLossConfig& loss,
                                                 const LossNormalizer& norm,
                                                 const std::vector<torch::Tensor>& params);

// Accumulates forget-term gradients over micro-batches and DP ranks, turns
// them into masks at each update and records the selections.
class SaliencyTracker {
 public:
  SaliencyTracker(const model::LlamaForCausalLM& m, std::vector<torch::Tensor> params,
                  SaliencyConfig c, Communicator* dp);
  // Adds one micro-batch's forget-term gradients (row mode).
  void add(const std::vector<torch::Tensor>& grads);
  // Module mode: the fixed masks from the whole-forget-set gradient (already
  // summed over DP).
  void set_module_masks(const std::vector<torch::Tensor>& grads);
  // The masks of the update now being made (row: from the accumulated
  // gradient, summed over DP, which is then cleared); records them.
  std::vector<torch::Tensor> update_masks();
  // Sums `grads` over the DP group in place (fixed order, one all-reduce per
  // parameter); undefined entries become zeros first.
  void dp_sum(std::vector<torch::Tensor>& grads) const;
  SaliencyMask result() const { return record_; }

 private:
  void record(const std::vector<torch::Tensor>& masks, double threshold);
  std::vector<torch::Tensor> params_, acc_, fixed_;
  SaliencyConfig cfg_;
  Communicator* dp_;
  SaliencyMask record_;
};

}  // namespace relapse::unlearn
