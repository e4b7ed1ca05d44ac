// relapse/unlearn/grad_sync.h — gradient synchronisation for data × tensor
// parallel training: the data-parallel all-reduce in fixed-size buckets, and
// the global grad-norm under tensor parallelism (replicated parameters counted
// once).
//
// Buckets (DDP's scheme): the parameters, in their fixed order, are cut into
// runs of consecutive parameters of one dtype and device whose gradients add
// up to at most `bucket_bytes` (a gradient larger than a bucket gets one of
// its own); each run is flattened into one buffer, averaged over the DP group
// with one all-reduce, and copied back. Every DP rank holds the same
// parameters in the same order, so the buckets and the collectives match on
// every rank. The reduction itself, overlapped with the backward or not, is
// grad_reducer.h's.
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
// the fixed order, after the backward (GradBucketReducer without overlap). A
// parameter without a gradient on this rank gets a zero one first, so every
// rank makes the same collectives.
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

// ZeRO-1 (parallel.shard_optimizer): each DP rank keeps AdamW moments only
// for the parameters it owns and updates only those; the gradients are
// averaged as above (so every rank computes the same clipping norm), and after
// the update every parameter is broadcast from its owner. The result equals
// replicated AdamW bit for bit (the same gradients, the same element-wise
// update on one rank, copied exactly). This is PyTorch's
// ZeroRedundancyOptimizer's scheme — whole parameters assigned greedily,
// largest first, to the least-loaded rank — rather than DeepSpeed's flat
// reduce-scatter / all-gather partition: the moments shrink by the same 1/D,
// the traffic is an all-reduce plus one broadcast of the parameters instead
// of a reduce-scatter plus an all-gather (1.5× the bytes), and update masks,
// the TP grad-norm and per-parameter step counts stay as they are.
// The owner (DP rank) of every parameter, from their sizes alone (the same
// on every rank).
std::vector<int> zero_owner_ranks(const std::vector<torch::Tensor>& params, int dp_size);

// Every parameter from its owner to the whole DP group (in place): one
// broadcast per owner of its parameters flattened together (raw bytes, so any
// dtype goes over any backend).
void zero_broadcast_params(Communicator& dp, const std::vector<torch::Tensor>& params,
                           const std::vector<int>& owners);

}  // namespace relapse::unlearn
