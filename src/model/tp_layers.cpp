// src/model/tp_layers.cpp — Column/Row-parallel linear layers, vocab-parallel
// embedding and the f/g operators (see relapse/model/tp_layers.h).
#include "relapse/model/tp_layers.h"

#include "relapse/core/error.h"

namespace relapse::model {

namespace {
void tp_require_single(const TpContext& tp) {
  // The communicator layer (MPI/NCCL all-reduce inside autograd functions) is
  // what makes size > 1 work; until it exists, refuse rather than compute a
  // silently wrong partial result.
  RELAPSE_CHECK_CODE(ExitCode::kConfig, tp.size == 1, "tensor parallel size ", tp.size,
                     " requested, but this build supports only tp=1");
}
}  // namespace

torch::Tensor tp_copy_to_region(const torch::Tensor& x, const TpContext& tp) {
  tp_require_single(tp);
  return x;
}

torch::Tensor tp_reduce_from_region(const torch::Tensor& x, const TpContext& tp) {
  tp_require_single(tp);
  return x;
}

torch::Tensor tp_gather_last_dim(const torch::Tensor& x, const TpContext& tp) {
  tp_require_single(tp);
  return x;
}

std::pair<int64_t, int64_t> tp_shard_range(int64_t full, const TpContext& tp, const char* what) {
  RELAPSE_CHECK_CODE(ExitCode::kConfig, full % tp.size == 0, what, " (", full,
                     ") is not divisible by the tensor-parallel size ", tp.size);
  int64_t len = full / tp.size;
  return {len * tp.rank, len};
}

ColumnParallelLinearImpl::ColumnParallelLinearImpl(int64_t in, int64_t out, bool has_bias,
                                                   TpContext tp_, bool gather)
    : in_features(in), out_features(out), tp(tp_), gather_output(gather) {
  tp_require_single(tp);
  int64_t local = tp_shard_range(out, tp, "output features").second;
  weight = register_parameter("weight", torch::empty({local, in}));
  if (has_bias) bias = register_parameter("bias", torch::zeros({local}));
}

torch::Tensor ColumnParallelLinearImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = torch::nn::functional::linear(tp_copy_to_region(x, tp), weight, bias);
  return gather_output ? tp_gather_last_dim(y, tp) : y;
}

RowParallelLinearImpl::RowParallelLinearImpl(int64_t in, int64_t out, bool has_bias, TpContext tp_)
    : in_features(in), out_features(out), tp(tp_) {
  tp_require_single(tp);
  int64_t local = tp_shard_range(in, tp, "input features").second;
  weight = register_parameter("weight", torch::empty({out, local}));
  if (has_bias) bias = register_parameter("bias", torch::zeros({out}));
}

torch::Tensor RowParallelLinearImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = tp_reduce_from_region(torch::nn::functional::linear(x, weight), tp);
  return bias.defined() ? y + bias : y;
}

VocabParallelEmbeddingImpl::VocabParallelEmbeddingImpl(int64_t vocab, int64_t d, TpContext tp_)
    : vocab_size(vocab), dim(d), tp(tp_) {
  tp_require_single(tp);
  int64_t local = tp_shard_range(vocab, tp, "vocab size").second;
  weight = register_parameter("weight", torch::empty({local, d}));
}

torch::Tensor VocabParallelEmbeddingImpl::forward(const torch::Tensor& ids) {
  return tp_reduce_from_region(torch::embedding(weight, ids), tp);
}

}  // namespace relapse::model
