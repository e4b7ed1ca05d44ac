// relapse/unlearn/grad_sync.h — gradient synchronisation for data × tensor
// parallel training: the data-parallel all-reduce in fixed-size buckets, and
// the global grad-norm under tensor parallelism (replicated parameters counted
// once).
//
// Buckets (DDP's scheme, without overlap): the parameters, in their fixed
// order, are cut into runs of consecutive parameters of one dtype and device
// whose gradients add up to at most `bucket_bytes` (a gradient larger than a
// bucket gets one of its own); each run is flattened into one buffer, averaged
// over the DP group with one all-reduce, and copied back. Every DP rank holds
// the same parameters in the same order, so the buckets and the collectives
// match on every rank.
//
// TP grad-norm: ‖g‖² = all-reduce over TP of Σ ‖g_p,local‖² over the slices
// this rank owns (a replicated parameter — RMSNorm weights, the Row-parallel
// o/down biases, a KV head shared by several ranks — has the same gradient on
// every rank holding it, so it is counted once, not once per copy). Then every gradient is scaled
// by max_norm / (‖g‖ + 1e-6) when that is < 1, as torch's clip_grad_norm_ does.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "relapse/model/llama.h"

namespace relapse::unlearn {

constexpr int64_t kDefaultGradBucketBytes = 25ll << 20;  // 25 MiB, DDP's default

// The buckets (lists of indices into params) for gradients of params' shapes
// and dtypes. bucket_bytes <= 0 = one bucket per parameter.
std::vector<std::vector<size_t>> grad_buckets(const std::vector<torch::Tensor>& params,
                                              int64_t bucket_bytes);

// Averages the gradients of `params` over `dp` (in place), bucket by bucket in
// the fixed order. A parameter without a gradient on this rank gets a zero one
// first, so every rank makes the same collectives.
void dp_average_grads(Communicator& dp, const std::vector<torch::Tensor>& params,
                      int64_t bucket_bytes = kDefaultGradBucketBytes);

// For each trainable parameter of `m` (named_parameters order): whether this
// TP rank counts it in the grad-norm — the owner of each distinct slice
// (model::tp_param_layout: sharded slices on every rank; replicated norms and
// row-parallel biases, and KV heads shared by several ranks, on the lowest
// rank of the ranks holding the copy).
std::vector<bool> tp_norm_owner_flags(const model::LlamaForCausalLM& m);

// The global 2-norm of the gradients under TP (see above) and the clipping
// (none when max_norm <= 0 or infinite); returns the norm before clipping.
// Collective over tp.comm when tp.size > 1; at TP 1 it is clip_grad_norm.
double tp_clip_grad_norm(const std::vector<torch::Tensor>& params, const std::vector<bool>& owned,
                         const model::TpContext& tp, double max_norm);

}  // namespace relapse::unlearn
