// src/model/tp_cross_entropy.cpp — vocab-parallel log-sum-exp, target logits,
// token log-probabilities and KL (see relapse/model/tp_cross_entropy.h).
#include "relapse/model/tp_cross_entropy.h"

#include <limits>

#include "relapse/core/error.h"

namespace relapse::model {

namespace {

// HF upcasts logits to fp32 for the loss; fp64 (tests) stays fp64.
torch::ScalarType compute_dtype(const torch::Tensor& x) {
  return x.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

void check_tp(const TpContext& tp) {
  RELAPSE_CHECK(tp.size == 1 || (tp.comm && tp.comm->size() == tp.size),
                "vocab-parallel loss at tensor-parallel size ", tp.size,
                " needs the TP group's communicator");
}

// lse over the TP-split last dim: all-reduce(max) then all-reduce(sum of
// exp); backward grad · softmax_local, no communication.
struct VocabParallelLogSumExp : public torch::autograd::Function<VocabParallelLogSumExp> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x,
                               int64_t comm_ptr) {
    auto* comm = reinterpret_cast<Communicator*>(comm_ptr);
    torch::Tensor m = x.amax(-1).contiguous();
    comm->all_reduce(m, ReduceOp::kMax);
    // A row with every entry -inf would give NaN; a real vocabulary always has
    // a finite logit on some rank, so m is finite.
    torch::Tensor se = (x - m.unsqueeze(-1)).exp().sum(-1).contiguous();
    comm->all_reduce(se, ReduceOp::kSum);
    torch::Tensor lse = m + se.log();
    ctx->save_for_backward({x, lse});
    return lse;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list g) {
    auto saved = ctx->get_saved_variables();
    torch::Tensor softmax_local = (saved[0] - saved[1].unsqueeze(-1)).exp();
    return {g[0].unsqueeze(-1) * softmax_local, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor tp_logsumexp(const torch::Tensor& local_logits, const TpContext& tp) {
  check_tp(tp);
  if (tp.size == 1) return torch::logsumexp(local_logits, -1);
  return VocabParallelLogSumExp::apply(local_logits.contiguous(),
                                       reinterpret_cast<int64_t>(tp.comm));
}

torch::Tensor tp_target_logits(const torch::Tensor& local_logits, const torch::Tensor& targets,
                               int64_t vocab_start, const TpContext& tp) {
  check_tp(tp);
  RELAPSE_CHECK(targets.sizes() == local_logits.sizes().slice(0, local_logits.dim() - 1),
                "targets ", targets.sizes(), " do not match the logits ", local_logits.sizes());
  torch::Tensor t = targets.to(torch::kInt64);
  if (tp.size == 1) {
    torch::Tensor picked = local_logits.gather(-1, t.clamp_min(0).unsqueeze(-1)).squeeze(-1);
    return picked.masked_fill(t < 0, 0.0);
  }
  const int64_t width = local_logits.size(-1);
  // Negative (ignored) targets are below every rank's range.
  torch::Tensor outside = (t < vocab_start) | (t >= vocab_start + width);
  torch::Tensor idx = (t - vocab_start).masked_fill(outside, 0);
  torch::Tensor picked = local_logits.gather(-1, idx.unsqueeze(-1)).squeeze(-1);
  return tp_reduce_from_region(picked.masked_fill(outside, 0.0), tp);
}

torch::Tensor tp_token_logprobs(const torch::Tensor& local_logits, const torch::Tensor& targets,
                                int64_t vocab_start, const TpContext& tp) {
  check_tp(tp);
  torch::Tensor x = local_logits.to(compute_dtype(local_logits));
  torch::Tensor t = targets.to(torch::kInt64);
  torch::Tensor ignored = t < 0;
  if (tp.size == 1) {
    // The unsplit computation, op for op (HF's loss: log_softmax + gather).
    torch::Tensor lp = torch::log_softmax(x, -1);
    return lp.gather(-1, t.clamp_min(0).unsqueeze(-1)).squeeze(-1).masked_fill(ignored, 0.0);
  }
  torch::Tensor lp = tp_target_logits(x, t, vocab_start, tp) - tp_logsumexp(x, tp);
  return lp.masked_fill(ignored, 0.0);
}

torch::Tensor tp_token_kl(const torch::Tensor& p_local_logits, const torch::Tensor& q_local_logits,
                          const TpContext& tp) {
  check_tp(tp);
  RELAPSE_CHECK(p_local_logits.sizes() == q_local_logits.sizes(), "KL: logits ",
                p_local_logits.sizes(), " and ", q_local_logits.sizes(), " differ");
  const auto cd = compute_dtype(q_local_logits);
  if (tp.size == 1) {
    torch::Tensor lq = torch::log_softmax(q_local_logits.to(cd), -1);
    torch::Tensor lp =
        torch::log_softmax(p_local_logits.to(compute_dtype(p_local_logits)), -1).to(cd);
    return (lp.exp() * (lp - lq)).sum(-1);
  }
  torch::Tensor q = q_local_logits.to(cd), p = p_local_logits.to(cd);
  // The (replicated) log-sum-exps enter the per-rank partial sums through f:
  // each rank's partial sum gives only part of their gradient, which f's
  // backward all-reduces before the log-sum-exp's own backward.
  torch::Tensor lq = q - tp_copy_to_region(tp_logsumexp(q, tp), tp).unsqueeze(-1);
  torch::Tensor lp = p - tp_copy_to_region(tp_logsumexp(p, tp), tp).unsqueeze(-1);
  // p_v = 0 (the -inf padding columns) contributes 0·(−inf − (−inf)) := 0; the
  // masks keep NaN out of the values and the gradients.
  torch::Tensor zero_p = (lp == -std::numeric_limits<double>::infinity()).detach();
  torch::Tensor lp_s = lp.masked_fill(zero_p, 0.0), lq_s = lq.masked_fill(zero_p, 0.0);
  torch::Tensor local = (lp_s.exp().masked_fill(zero_p, 0.0) * (lp_s - lq_s)).sum(-1);
  return tp_reduce_from_region(local, tp);
}

}  // namespace relapse::model
