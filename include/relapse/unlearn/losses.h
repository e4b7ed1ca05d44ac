// relapse/unlearn/losses.h — language-model losses and the six unlearning
// objectives of MUSE (GA, GA_GDR, GA_KLR, NPO, NPO_GDR, NPO_KLR), in the
// published definitions and in the variants the released code computes.
//
// Notation: a batch of B rows, T tokens, vocabulary V. Labels are the inputs
// shifted by one (logits at t predict token t+1); a label whose token is a pad
// (attention_mask 0) is ignored, as HF's collators set it to -100. All losses
// are computed from logits cast to fp32 (fp64 logits stay fp64), as HF's
// ForCausalLMLoss does.
//
//   NLL(x)      token-mean negative log-likelihood over the valid labels of the
//               batch (HF's CausalLM loss, reduction "mean").
//   log p(x)    per-sequence summed log-probability of the valid labels.
//
// Variant kPublished (the default; the papers' equations):
//   GA       = −NLL(forget)
//   NPO      = −(2/β)·mean_rows log σ(−β·(log p_θ(x) − log p_ref(x)))   (Zhang et al. 2024,
//              sequence level); equals (2/β)·log 2 when θ = ref.
//   KL_r     = token-mean over the valid label positions of the retain batch of
//              KL(p_ref(·|x<t) ‖ p_θ(·|x<t)) = Σ_v p_ref (log p_ref − log p_θ).
//   *_GDR    = forget term + α·NLL(retain);  *_KLR = forget term + α·KL_r.
//
// Variant kMuseReleased — MUSE's baselines/baselines/iterative.py
// (IterativeUnlearner.compute_loss, github.com/swj0419/muse_bench; identical
// in jaechan-repo/muse_bench), models loaded in bf16:
//   GA       = −outputs_f.loss (HF token-mean NLL; same as published).
//   NPO      = −(2/β)·mean over all B·T·V entries of logsigmoid(β·(ref_logits − logits)):
//              "NPO on raw logits" — the log-ratio is taken between raw logits,
//              elementwise over every vocabulary entry and every position (the
//              last position and pads included), not between sequence
//              log-probabilities. At θ = ref it is also (2/β)·log 2.
//   GDR      = + outputs_r.loss (HF NLL) with NO retain weight (α must be 1).
//   KLR      = + F.kl_div(logits_r, ref_logits_r, reduction="batchmean",
//              log_target=True) = Σ_{b,t,v} exp(ref_logit)·(ref_logit − logit) / B:
//              "KL on raw logits" — raw logits stand in for log-probabilities,
//              so it is not a divergence (not ≥ 0, its gradient wrt a logit is
//              −exp(ref_logit)/B whatever θ), summed over positions and vocabulary,
//              divided by the batch size. 0 when θ = ref.
//   (forget NPO is chosen by `'npo' in loss_type`, GA by `'ga' in loss_type`.)
// Variant kPaperReleased — the ICLR 2025 paper's release
// (github.com/zzwjames/FailureLLMUnlearning, baselines/baselines/iterative.py,
// IterativeUnlearner): the same formulas as kMuseReleased, with the retain
// term weighted by α (its --alpha flag): loss_r·α and kl_r·α.
// (Its SURE trainer, not reproduced here, uses a true per-token KL
// kl_div(log_softmax(logits), softmax(ref), "batchmean"), summed over positions / B.)
//
// Reference-free forget terms beyond the paper (OpenUnlearning's definitions,
// github.com/locuslab/open-unlearning, src/trainer/unlearn/*.py and
// src/trainer/utils.py; their published defaults in configs/trainer/*.yaml), each
// with the same three retain terms (none, _gdr: NLL, _klr: KL) and variants:
//   SimNPO   (Fan et al. 2025, "Simplicity Prevails: Rethinking Negative Preference
//            Optimization for LLM Unlearning", NeurIPS, arXiv 2410.07163: NPO with
//            the reference replaced by length normalisation and a margin δ):
//            −(2/β_s)·mean_rows log σ(β_s·(NLL_sum(x)/|x| − δ)),
//            |x| = the row's valid labels; OpenUnlearning: β_s 4.5, δ 0, γ 0.125.
//   WGA      (Wang et al. 2025, "Rethinking LLM Unlearning Objectives: A Gradient
//            Perspective and Go Beyond", ICLR: weighted gradient ascent): −token-mean over valid
//            labels of w_t·NLL_t with w_t = p_t^β_w, p_t = exp(−NLL_t) held constant (no gradient);
//            β_w 1.
//   SatImp   (Yang et al. 2025, "Exploring Criteria of Loss Reweighting to Enhance
//            LLM Unlearning", ICML): as WGA with
//            w_t = p_t^β1·(1 − p_t)^β2 (no gradient); β1 5, β2 1, γ 0.1.
// A forget term with a reference (OpenUnlearning's src/trainer/utils.py
// compute_undial_loss, configs/trainer/UNDIAL.yaml):
//   UNDIAL   (Dong et al. 2025, "UNDIAL: Self-Distillation with Adjusted Logits for
//            Robust Unlearning in Large Language Models", NAACL, arXiv 2402.10052):
//            token-mean over the valid labels of the cross-entropy −Σ_v p̃_v log p_θ(v|x<t)
//            against p̃ = softmax(z_ref − β_u·e_y), the frozen reference's (the target's)
//            logits with the label's logit lowered by β_u (no gradient); β_u 10, and
//            OpenUnlearning's α 0 is relapse's `undial` (no retain term). Departure:
//            OpenUnlearning averages over every shifted position, pads included (a −100
//            label lowers vocabulary entry V−100 by Python's negative indexing); relapse
//            counts the valid labels only, as every other term does: equal on rows
//            without pads. Under TP: lse(z_θ) − Σ_v p̃_v z_θ,v with vocab-parallel sums.
// A forget term on a layer's activations, with its own retain term
// (OpenUnlearning's src/trainer/unlearn/rmu.py, configs/trainer/RMU.yaml, from
// the WMDP release's rmu/unlearn.py):
//   RMU      (Li et al. 2024, "The WMDP Benchmark: Measuring and Reducing Malicious Use
//            with Unlearning", ICML, arXiv 2403.03218: Representation Misdirection for
//            Unlearning): h = the output of decoder layer `rmu_layer` (HF's
//            hidden_states[l+1]), c = s·u/‖u‖ with u ~ U[0,1)^d drawn once per run
//            (the named stream "unlearn/<run>/rmu", UnlearnLossConfig::rmu_control_seed;
//            OpenUnlearning draws it from the global RNG) and s = `rmu_steering`;
//            A(x, y) = mean over rows of Σ_t m_t·mean_k (x − y)²_tk / Σ_t m_t over the
//            row's real tokens m (OpenUnlearning's compute_activation_loss; its mask is
//            labels ≠ −100 before the shift, i.e. every real token). Departure: its code
//            divides the [B] row sums by [B,1] token counts, so it averages s_i / n_j
//            over every pair of rows — equal to the per-row mean when the rows have as
//            many real tokens (fixed-length chunks), not with pads;
//            RMU = γ·A(h_θ(forget), c) + α·A(h_θ(retain), h_ref(retain)) (its EMBED_DIFF
//            retain term; the reference is the frozen target). Defaults: OpenUnlearning's
//            RMU.yaml (layer 7, steering 2, α 1), every parameter trained (its
//            trainable_params_regex ".*"; the WMDP release trains only layers 5–7's
//            mlp.down_proj — not offered here). A row without real tokens adds 0
//            (OpenUnlearning: NaN). No forget-only form (SURE's saliency refuses it).
// (The papers' equation numbers were not checked here: no copy of the papers
// was reachable; the formulas are the ones OpenUnlearning computes and reports.)
// Every objective's total is γ·forget + α·retain; γ (unlearn.forget_weight,
// OpenUnlearning's `gamma`) is 1 for the paper's six, and must be 1 with the
// released variants (their code has no forget weight).
//
// Both released trainers run HF's Trainer with optim=adamw_torch (β 0.9/0.999,
// ε 1e-8, weight decay 0), lr_scheduler_type=constant, no warmup, its default
// max_grad_norm = 1.0, bf16=True on a model loaded with torch_dtype=bfloat16:
// parameters and AdamW state are bf16 ("pure bf16"; see trainer.h).
//
// Gradient accumulation: every term is a sum divided by a normaliser (valid
// labels, rows, or B·T·V entries). A LossNormalizer computed on the full batch
// and passed to each micro-batch's loss makes the micro-batch losses add up to
// the full-batch loss exactly (as HF's num_items_in_batch does for the NLL).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "relapse/model/llama.h"
#include "relapse/unlearn/batch.h"
#include "relapse/unlearn/unlearn_config.h"

namespace relapse::unlearn {

// Every objective is a forget term plus a retain term (kNone: forget only);
// src/unlearn/objectives.cpp holds the one table of objectives: name, forget term,
// retain term. A new method is a new forget term there (and its loss below).
enum class Objective {
  kGA,
  kGA_GDR,
  kGA_KLR,
  kNPO,
  kNPO_GDR,
  kNPO_KLR,
  kSimNPO,
  kSimNPO_GDR,
  kSimNPO_KLR,
  kWGA,
  kWGA_GDR,
  kWGA_KLR,
  kSatImp,
  kSatImp_GDR,
  kSatImp_KLR,
  kUNDIAL,
  kUNDIAL_GDR,
  kUNDIAL_KLR,
  kRMU,
};
enum class ForgetTerm { kGA, kNPO, kSimNPO, kWGA, kSatImp, kUNDIAL, kRMU };
// none, _gdr, _klr, and RMU's own (its layer's activations against the reference's)
enum class RetainTerm { kNone, kNLL, kKL, kEmbedDiff };
enum class LossVariant { kPublished, kMuseReleased, kPaperReleased };

// "ga", "ga_gdr", ..., "simnpo_klr", "wga", ..., "undial_klr", "rmu" (case-insensitive);
// kConfig error naming the value otherwise.
Objective objective_from_name(const std::string& name);
std::string objective_name(Objective o);     // lower case, as above
std::vector<std::string> objective_names();  // every objective, in enum order
ForgetTerm objective_forget_term(Objective o);
RetainTerm objective_retain_term(Objective o);
// The objective with this forget term and no retain term (SURE's saliency);
// kConfig for RMU, which has none.
Objective objective_forget_only(Objective o);
// "published", "muse_released", "paper_released".
LossVariant loss_variant_from_name(const std::string& name);
std::string loss_variant_name(LossVariant v);
std::vector<std::string> loss_variant_names();
bool forget_term_uses_ref(ForgetTerm f);  // NPO, UNDIAL
bool objective_uses_ref(Objective o);     // NPO*, UNDIAL*, *_KLR and RMU
bool objective_uses_retain(Objective o);  // *_GDR and *_KLR

struct UnlearnLossConfig {
  Objective objective = Objective::kNPO_GDR;
  LossVariant variant = LossVariant::kPublished;
  double alpha = 1.0;      // retain weight
  double beta = 0.1;       // NPO inverse temperature
  ObjectiveParams params;  // γ and the other methods' settings (unlearn_config.h)
  // RMU: the seed of its control vector (rmu_control_vector), one per run.
  uint64_t rmu_control_seed = 0;
};
// Checks α ≥ 0, β > 0, α = 1 for kMuseReleased with a retain term, the
// methods' settings, and γ = 1 with a released variant (kConfig).
void unlearn_loss_config_validate(const UnlearnLossConfig& cfg);

// Normalisers of one (full) batch; 0 = take them from the batch at hand.
struct LossNormalizer {
  double forget_labels = 0, forget_rows = 0, forget_entries = 0;  // entries = B·T·V
  double retain_labels = 0, retain_rows = 0, retain_entries = 0;
};
// The normalisers of a full forget/retain batch (retain may be undefined);
// `vocab` is the logits' last dimension.
LossNormalizer loss_normalizer(const TokenBatch& forget, const TokenBatch& retain, int64_t vocab);

// ---- logits under tensor parallelism ----------------------------------------
// A model's output as the losses consume it: this TP rank's vocabulary slice
// of the logits (model::LlamaForCausalLM::logits_local), never gathered. The
// losses reduce over the vocabulary with relapse/model/tp_cross_entropy.h
// (all-reduces of B×T values over the TP group). At TP size 1 `local` is the
// full [B,T,V] logits and every loss is computed op for op as before TP existed.
struct LmLogits {
  torch::Tensor local;      // [B,T,width]: ids [vocab_start, vocab_start + width)
  int64_t vocab_start = 0;  // first vocabulary id of this rank's slice
  int64_t vocab_size = 0;   // the real vocabulary V; ids >= V are padding (-inf logits)
  model::TpContext tp;      // the TP group the vocabulary is split over
};
// Full logits [B,T,V] (one rank, no split).
LmLogits lm_logits_full(const torch::Tensor& logits);

// ---- primitives on logits [B,T,V] (or their TP slices) ---------------------
// labels [B,T-1]: input_ids[:,1:] with -100 where the token is a pad.
torch::Tensor shifted_labels(const TokenBatch& b);
// Number of valid labels.
int64_t label_count(const TokenBatch& b);
// Per-position NLL [B,T-1] (0 at ignored labels).
torch::Tensor token_nll(const torch::Tensor& logits, const TokenBatch& b);
// HF's CausalLM loss: Σ NLL / n_labels (n_labels = label_count(b) when 0).
torch::Tensor causal_lm_loss(const torch::Tensor& logits, const TokenBatch& b, double n_labels = 0);
// Per-sequence summed log-probability of the valid labels [B].
torch::Tensor sequence_logprob(const torch::Tensor& logits, const TokenBatch& b);
// Published NPO from per-sequence log-probs: −(2/β)·Σ log σ(−β(lp − lp_ref)) / n_rows.
torch::Tensor npo_loss(const torch::Tensor& logp, const torch::Tensor& ref_logp, double beta,
                       double n_rows = 0);
// Per-position KL(p_ref ‖ p_θ) [B,T-1] at the label positions (0 where ignored).
torch::Tensor token_kl(const torch::Tensor& logits, const torch::Tensor& ref_logits,
                       const TokenBatch& b);
// Published retain KL: Σ token_kl / n_labels.
torch::Tensor kl_loss(const torch::Tensor& logits, const torch::Tensor& ref_logits,
                      const TokenBatch& b, double n_labels = 0);
// Released "NPO on raw logits": −(2/β)·Σ logsigmoid(β(ref − logits)) / n_entries (B·T·V).
torch::Tensor npo_raw_logits_loss(const torch::Tensor& logits, const torch::Tensor& ref_logits,
                                  double beta, double n_entries = 0);
// Released "KL on raw logits": Σ exp(ref)·(ref − logits) / n_rows (B).
torch::Tensor kl_raw_logits_loss(const torch::Tensor& logits, const torch::Tensor& ref_logits,
                                 double n_rows = 0);
// SimNPO from per-row summed NLL [B] and valid-label counts [B]:
// −(2/β)·Σ log σ(β·(nll/len − δ)) / n_rows.
torch::Tensor simnpo_loss(const torch::Tensor& nll_sum, const torch::Tensor& lengths, double beta,
                          double delta, double n_rows = 0);
// WGA / SatImp from per-position NLL [B,T-1] and the valid-label mask:
// −Σ w·NLL / n_labels with w = p^β (WGA) or p^β1·(1−p)^β2 (SatImp), p = exp(−NLL)
// detached.
torch::Tensor wga_loss(const torch::Tensor& nll, const torch::Tensor& valid, double beta,
                       double n_labels = 0);
torch::Tensor satimp_loss(const torch::Tensor& nll, const torch::Tensor& valid, double beta1,
                          double beta2, double n_labels = 0);
// UNDIAL: Σ over the valid labels of −Σ_v p̃_v log p_θ(v), p̃ = softmax(ref − β·e_label)
// (held constant), / n_labels.
torch::Tensor undial_loss(const torch::Tensor& logits, const torch::Tensor& ref_logits,
                          const TokenBatch& b, double beta, double n_labels = 0);
// RMU's activation loss: Σ over rows of (Σ_t m_t·mean_k (x − y)²) / max(1, Σ_t m_t),
// / n_rows (the rows of x when 0); x [B,T,H], y [B,T,H] or [H], mask [B,T] (1 = real token).
torch::Tensor activation_loss(const torch::Tensor& x, const torch::Tensor& y,
                              const torch::Tensor& mask, double n_rows = 0);
// RMU's control vector: s·u/‖u‖, u ~ U[0,1)^dim from `seed`, fp32 on the CPU.
torch::Tensor rmu_control_vector(uint64_t seed, int64_t dim, double steering);
// Valid-label mask [B,T-1] (labels that are not pads).
torch::Tensor label_mask(const TokenBatch& b);

// The same losses on TP-split logits (identical results at TP size 1; under
// TP every rank of the group gets the same value and its slice's gradient).
// The raw-logit losses skip the padding columns and sum over the real B·T·V entries.
torch::Tensor token_nll(const LmLogits& logits, const TokenBatch& b);
torch::Tensor causal_lm_loss(const LmLogits& logits, const TokenBatch& b, double n_labels = 0);
torch::Tensor sequence_logprob(const LmLogits& logits, const TokenBatch& b);
torch::Tensor token_kl(const LmLogits& logits, const LmLogits& ref_logits, const TokenBatch& b);
torch::Tensor kl_loss(const LmLogits& logits, const LmLogits& ref_logits, const TokenBatch& b,
                      double n_labels = 0);
torch::Tensor npo_raw_logits_loss(const LmLogits& logits, const LmLogits& ref_logits, double beta,
                                  double n_entries = 0);
torch::Tensor kl_raw_logits_loss(const LmLogits& logits, const LmLogits& ref_logits,
                                 double n_rows = 0);
// Per-position UNDIAL cross-entropy [B,T-1] (0 where ignored).
torch::Tensor token_undial(const LmLogits& logits, const LmLogits& ref_logits, const TokenBatch& b,
                           double beta);
torch::Tensor undial_loss(const LmLogits& logits, const LmLogits& ref_logits, const TokenBatch& b,
                          double beta, double n_labels = 0);

// ---- objectives on a model -------------------------------------------------
// A frozen copy of `m` (same config and TP context, parameters copied, no grad):
// the reference model of NPO and KL.
model::LlamaForCausalLM reference_model_copy(const model::LlamaForCausalLM& m);
// Forward with HF's training semantics: positions arange(T) (HF's
// cache_position when no position_ids are given), the batch's mask.
torch::Tensor lm_forward(model::LlamaForCausalLM& m, const TokenBatch& b);
// The same forward ending in this TP rank's vocabulary slice
// (forward_hidden + logits_local): what the training losses use, so the full
// [B,T,V] logits are never gathered. At TP 1, local == lm_forward(m, b).
LmLogits lm_forward_local(model::LlamaForCausalLM& m, const TokenBatch& b);

struct LossParts {
  torch::Tensor total;       // scalar with grad
  double forget_term = 0.0;  // the forget part (GA: −NLL; NPO: NPO loss)
  double retain_term = 0.0;  // the retain part before α (NLL or KL); 0 without one
};

// The objective `cfg` on a forget batch and its paired retain batch.
// ref_model: a frozen copy of the target (used without grad; may be null when
// the objective does not need it); retain may be undefined for GA / NPO.
// `norm`: the full batch's normalisers for micro-batching (null = this batch's).
// Under TP (the model's TpContext) the losses run on the vocabulary slices and
// every rank of the TP group returns the same values.
LossParts unlearn_loss(model::LlamaForCausalLM& model, model::LlamaForCausalLM* ref_model,
                       const TokenBatch& forget, const TokenBatch& retain,
                       const UnlearnLossConfig& cfg, const LossNormalizer* norm = nullptr);

}  // namespace relapse::unlearn
