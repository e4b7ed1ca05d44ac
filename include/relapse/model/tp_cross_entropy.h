// relapse/model/tp_cross_entropy.h — Megatron's vocab-parallel cross-entropy:
// log-probabilities and KL divergences computed from this TP rank's slice of
// the logits [..., V_pad/tp] (vocabulary ids [vocab_start, vocab_start + width),
// padding columns at -inf) with all-reduces of the leading dims only — the full
// [..., V] logits are never gathered.
//
//   lse(x)      = m + log Σ_ranks Σ_local exp(x − m),  m = max over ranks of the local max
//                 (an all-reduce of max, then one of sum); backward: grad · softmax_local
//                 (no communication: ∂lse/∂x_v = softmax_v, local for local v).
//   target(x,t) = g(x[t − vocab_start] on the rank that holds t, 0 elsewhere)
//                 (g = tp_reduce_from_region: all-reduce forward, identity backward).
//   log p(t)    = target − lse, in fp32 (fp64 stays fp64), as HF upcasts the
//                 logits for its loss.
//   KL(p ‖ q)   = g(Σ_local p_v (log p_v − log q_v)) with log p_v = x_v − f(lse(x))
//                 (f = tp_copy_to_region: the replicated lse enters the per-rank
//                 partial sums, so its gradient is all-reduced in backward);
//                 columns with p_v = 0 (log p_v = −inf: the padding) contribute 0.
// With tp.size == 1 every function is the plain log_softmax / gather computation
// (same ops, bit-identical to it) and needs no communicator.
#pragma once
#include <torch/torch.h>

#include "relapse/model/tp_layers.h"

namespace relapse::model {

// Global log-sum-exp over the last dim of the TP-split `local_logits` [..., w]
// -> [...] (in local_logits' dtype; differentiable).
torch::Tensor tp_logsumexp(const torch::Tensor& local_logits, const TpContext& tp);

// The logit of `targets` [...] (int64 global vocabulary ids) -> [...], summed
// over the TP group; 0 where the target is negative (ignore index, e.g. -100).
torch::Tensor tp_target_logits(const torch::Tensor& local_logits, const torch::Tensor& targets,
                               int64_t vocab_start, const TpContext& tp);

// log softmax(logits)[target] -> [...] in fp32 (fp64 when the logits are
// fp64); exactly 0 (and no gradient) where the target is negative.
torch::Tensor tp_token_logprobs(const torch::Tensor& local_logits, const torch::Tensor& targets,
                                int64_t vocab_start, const TpContext& tp);

// KL(p ‖ q) over the vocabulary per position [...] for p = softmax(p_local_logits),
// q = softmax(q_local_logits) (same TP split), computed in q's compute dtype
// (fp32, or fp64 for fp64 logits). Differentiable in both arguments.
torch::Tensor tp_token_kl(const torch::Tensor& p_local_logits, const torch::Tensor& q_local_logits,
                          const TpContext& tp);

}  // namespace relapse::model
