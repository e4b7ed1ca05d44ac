// relapse/model/tp_layers.h — tensor-parallel building blocks in Megatron-Core's
// shape: ColumnParallelLinear (weight split along the output dim), RowParallelLinear
// (split along the input dim) and VocabParallelEmbedding, joined by the conjugate
// operators f (identity forward, all-reduce backward) and g (all-reduce forward,
// identity backward), both autograd functions. The Llama model is written only
// in these terms; with TP size 1 f and g are identities and no communicator is needed.
#pragma once
#include <torch/torch.h>

#include "relapse/dist/communicator.h"

namespace relapse::model {

// This rank's place in its tensor-parallel group. `comm` (the TP group's
// communicator, not owned) is required when size > 1.
struct TpContext {
  int size = 1;
  int rank = 0;
  Communicator* comm = nullptr;
};

// Megatron's f: enters a tensor-parallel region.
torch::Tensor tp_copy_to_region(const torch::Tensor& x, const TpContext& tp);
// Megatron's g: leaves a tensor-parallel region by summing the partial results.
torch::Tensor tp_reduce_from_region(const torch::Tensor& x, const TpContext& tp);
// Concatenates the per-rank shards of the last dimension (backward: this rank's slice).
torch::Tensor tp_gather_last_dim(const torch::Tensor& x, const TpContext& tp);
// [start, start+len) of a dimension of `full` split evenly over tp ranks.
std::pair<int64_t, int64_t> tp_shard_range(int64_t full, const TpContext& tp, const char* what);
// `n` rounded up to a multiple of tp.size (the vocabulary is padded so it splits).
int64_t tp_pad_to_multiple(int64_t n, const TpContext& tp);

// y = x W^T + b with W split by output rows; output stays split unless gather_output.
class ColumnParallelLinearImpl : public torch::nn::Module {
 public:
  ColumnParallelLinearImpl(int64_t in_features, int64_t out_features, bool bias, TpContext tp,
                           bool gather_output = false);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;  // [out/tp, in], [out/tp]
  int64_t in_features, out_features;
  TpContext tp;
  bool gather_output;
};
TORCH_MODULE(ColumnParallelLinear);

// y = x W^T + b with W split by input columns; x arrives split, partial sums
// are reduced with g, the bias is added once after the reduction.
class RowParallelLinearImpl : public torch::nn::Module {
 public:
  RowParallelLinearImpl(int64_t in_features, int64_t out_features, bool bias, TpContext tp);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;  // [out, in/tp], [out]
  int64_t in_features, out_features;
  TpContext tp;
};
TORCH_MODULE(RowParallelLinear);

// Embedding table split by vocabulary rows; ids outside this rank's range give
// zeros and g sums the rows across ranks.
class VocabParallelEmbeddingImpl : public torch::nn::Module {
 public:
  VocabParallelEmbeddingImpl(int64_t vocab_size, int64_t dim, TpContext tp);
  torch::Tensor forward(const torch::Tensor& ids);
  torch::Tensor weight;  // [vocab/tp, dim]
  int64_t vocab_size, dim, vocab_start;
  TpContext tp;
};
TORCH_MODULE(VocabParallelEmbedding);

}  // namespace relapse::model
