// src/model/tp_layers.cpp — Column/Row-parallel linear layers, vocab-parallel
// embedding and the f/g operators (see relapse/model/tp_layers.h).
#include "relapse/model/tp_layers.h"

#include "relapse/core/error.h"

namespace relapse::model {

namespace {

void tp_require_comm(const TpContext& tp) {
  RELAPSE_CHECK(tp.size >= 1 && tp.rank >= 0 && tp.rank < tp.size, "bad TP context ", tp.rank, "/",
                tp.size);
  RELAPSE_CHECK(
      tp.size == 1 || (tp.comm && tp.comm->size() == tp.size && tp.comm->rank() == tp.rank),
      "tensor parallel size ", tp.size, " needs the TP group's communicator");
}

torch::Tensor all_reduce_sum(const torch::Tensor& x, Communicator* comm) {
  torch::Tensor y = x.contiguous().clone();
  comm->all_reduce(y, ReduceOp::kSum);
  return y;
}

// f: identity forward, all-reduce of the gradient backward.
struct CopyToRegion : public torch::autograd::Function<CopyToRegion> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x,
                               int64_t comm_ptr) {
    ctx->saved_data["comm"] = comm_ptr;
    return x.view_as(x);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list g) {
    auto* comm = reinterpret_cast<Communicator*>(ctx->saved_data["comm"].toInt());
    return {all_reduce_sum(g[0], comm), torch::Tensor()};
  }
};

// g: all-reduce forward, identity backward.
struct ReduceFromRegion : public torch::autograd::Function<ReduceFromRegion> {
  static torch::Tensor forward(torch::autograd::AutogradContext*, torch::Tensor x,
                               int64_t comm_ptr) {
    return all_reduce_sum(x, reinterpret_cast<Communicator*>(comm_ptr));
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext*,
                                                 torch::autograd::variable_list g) {
    return {g[0], torch::Tensor()};
  }
};

// All-gather along the last dim; backward keeps this rank's slice of the gradient.
struct GatherLastDim : public torch::autograd::Function<GatherLastDim> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x,
                               int64_t comm_ptr) {
    auto* comm = reinterpret_cast<Communicator*>(comm_ptr);
    ctx->saved_data["rank"] = static_cast<int64_t>(comm->rank());
    ctx->saved_data["local"] = x.size(-1);
    // Move the last dim first so the gather concatenates along it.
    torch::Tensor moved = x.movedim(-1, 0).contiguous();
    torch::Tensor all = comm->all_gather(moved);  // [tp*local, ...]
    return all.movedim(0, -1).contiguous();
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list g) {
    int64_t rank = ctx->saved_data["rank"].toInt(), local = ctx->saved_data["local"].toInt();
    return {g[0].narrow(-1, rank * local, local).contiguous(), torch::Tensor()};
  }
};

int64_t comm_handle(const TpContext& tp) {
  return reinterpret_cast<int64_t>(tp.comm);
}

}  // namespace

torch::Tensor tp_copy_to_region(const torch::Tensor& x, const TpContext& tp) {
  if (tp.size == 1) return x;
  return CopyToRegion::apply(x, comm_handle(tp));
}

torch::Tensor tp_reduce_from_region(const torch::Tensor& x, const TpContext& tp) {
  if (tp.size == 1) return x;
  return ReduceFromRegion::apply(x, comm_handle(tp));
}

torch::Tensor tp_gather_last_dim(const torch::Tensor& x, const TpContext& tp) {
  if (tp.size == 1) return x;
  return GatherLastDim::apply(x, comm_handle(tp));
}

std::pair<int64_t, int64_t> tp_shard_range(int64_t full, const TpContext& tp, const char* what) {
  RELAPSE_CHECK_CODE(ExitCode::kConfig, full % tp.size == 0, what, " (", full,
                     ") is not divisible by the tensor-parallel size ", tp.size);
  int64_t len = full / tp.size;
  return {len * tp.rank, len};
}

int64_t tp_pad_to_multiple(int64_t n, const TpContext& tp) {
  return (n + tp.size - 1) / tp.size * tp.size;
}

ColumnParallelLinearImpl::ColumnParallelLinearImpl(int64_t in, int64_t out, bool has_bias,
                                                   TpContext tp_, bool gather)
    : in_features(in), out_features(out), tp(tp_), gather_output(gather) {
  tp_require_comm(tp);
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
  tp_require_comm(tp);
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
  tp_require_comm(tp);
  auto range = tp_shard_range(vocab, tp, "vocab size");
  vocab_start = range.first;
  weight = register_parameter("weight", torch::empty({range.second, d}));
}

torch::Tensor VocabParallelEmbeddingImpl::forward(const torch::Tensor& ids) {
  if (tp.size == 1) return torch::embedding(weight, ids);
  // Ids of other ranks' rows look up row 0 and are zeroed; g sums the ranks.
  int64_t local = weight.size(0);
  torch::Tensor outside = (ids < vocab_start) | (ids >= vocab_start + local);
  torch::Tensor local_ids = (ids - vocab_start).masked_fill(outside, 0);
  torch::Tensor e = torch::embedding(weight, local_ids).masked_fill(outside.unsqueeze(-1), 0);
  return tp_reduce_from_region(e, tp);
}

}  // namespace relapse::model
