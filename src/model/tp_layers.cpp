// src/model/tp_layers.cpp — Column/Row-parallel linear layers, vocab-parallel
// embedding and the f/g operators (see relapse/model/tp_layers.h).
#include "relapse/model/tp_layers.h"

#include "relapse/core/error.h"
#include "relapse/model/cpu_gemm.h"
#include "relapse/model/llama.h"

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

void ParamModule::param(const std::string& name, torch::Tensor& member, torch::Tensor init) {
  member = register_parameter(name, std::move(init));
  members_.emplace_back(name, &member);
}

void ParamModule::move_params(const torch::Device& device, std::optional<torch::ScalarType> dtype) {
  torch::NoGradGuard ng;
  for (auto& [name, member] : members_) {
    torch::Tensor t = member->detach().to(device, dtype.value_or(member->scalar_type()));
    t.set_requires_grad(member->requires_grad());
    parameters_[name] = t;
    *member = t;
  }
}

ColumnParallelLinearImpl::ColumnParallelLinearImpl(int64_t in, int64_t out, bool has_bias,
                                                   TpContext tp_, bool gather, int64_t reps)
    : in_features(in), out_features(out), tp(tp_), gather_output(gather), replicas(reps) {
  tp_require_comm(tp);
  RELAPSE_CHECK(replicas >= 1 && tp.size % replicas == 0 && (replicas == 1 || !gather_output),
                "column-parallel replicas ", replicas, " must divide the TP size ", tp.size,
                " (and cannot gather the output)");
  // The rows are cut into tp/replicas slices; rank r holds slice r / replicas.
  TpContext shards{static_cast<int>(tp.size / replicas), static_cast<int>(tp.rank / replicas),
                   nullptr};
  int64_t local = tp_shard_range(out, shards, "output features").second;
  param("weight", weight, torch::empty({local, in}));
  if (has_bias) param("bias", bias, torch::zeros({local}));
}

torch::Tensor ColumnParallelLinearImpl::forward(const torch::Tensor& x) {
  if (input_hook) input_hook(x);
  torch::Tensor y;
  if (matmul_override) {
    y = matmul_override(tp_copy_to_region(x, tp));
    if (bias.defined()) y = y + bias;
  } else {
    y = linear_forward(tp_copy_to_region(x, tp), weight, bias);
  }
  return gather_output ? tp_gather_last_dim(y, tp) : y;
}

RowParallelLinearImpl::RowParallelLinearImpl(int64_t in, int64_t out, bool has_bias, TpContext tp_)
    : in_features(in), out_features(out), tp(tp_) {
  tp_require_comm(tp);
  int64_t local = tp_shard_range(in, tp, "input features").second;
  param("weight", weight, torch::empty({out, local}));
  if (has_bias) param("bias", bias, torch::zeros({out}));
}

torch::Tensor RowParallelLinearImpl::forward(const torch::Tensor& x) {
  if (input_hook) input_hook(x);
  torch::Tensor local = matmul_override ? matmul_override(x) : linear_forward(x, weight);
  torch::Tensor y = tp_reduce_from_region(local, tp);
  return bias.defined() ? y + bias : y;
}

VocabParallelEmbeddingImpl::VocabParallelEmbeddingImpl(int64_t vocab, int64_t d, TpContext tp_)
    : vocab_size(vocab), dim(d), tp(tp_) {
  tp_require_comm(tp);
  auto range = tp_shard_range(vocab, tp, "vocab size");
  vocab_start = range.first;
  param("weight", weight, torch::empty({range.second, d}));
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

const char* tp_param_kind_name(TpParamKind k) {
  switch (k) {
    case TpParamKind::kSharded:
      return "sharded";
    case TpParamKind::kReplicated:
      return "replicated";
    case TpParamKind::kPartiallyReplicated:
      return "partially replicated";
  }
  return "?";
}

namespace {

TpParamInfo tp_info_split(const std::string& name, const torch::Tensor& t, int dim, int group,
                          std::vector<int64_t> full, const TpContext& tp) {
  TpParamInfo p;
  p.name = name;
  p.tensor = t;
  p.kind = group > 1 ? TpParamKind::kPartiallyReplicated : TpParamKind::kSharded;
  p.dim = dim;
  p.group_size = group;
  p.full_shape = std::move(full);
  p.start = (tp.rank / group) * t.size(dim);
  p.owner = tp.rank % group == 0;
  return p;
}

TpParamInfo tp_info_replicated(const std::string& name, const torch::Tensor& t,
                               const TpContext& tp) {
  TpParamInfo p;
  p.name = name;
  p.tensor = t;
  p.kind = TpParamKind::kReplicated;
  p.group_size = tp.size;
  p.full_shape.assign(t.sizes().begin(), t.sizes().end());
  p.owner = tp.rank == 0;
  return p;
}

}  // namespace

std::vector<TpParamInfo> tp_param_layout(const LlamaForCausalLM& m) {
  const TpContext& tp = m->tp();
  const int64_t vocab = m->config().vocab_size;
  std::vector<TpParamInfo> out;
  for (const auto& item : m->named_modules()) {
    const std::string prefix = item.key().empty() ? "" : item.key() + ".";
    const std::shared_ptr<torch::nn::Module>& mod = item.value();
    auto own = mod->named_parameters(/*recurse=*/false);
    if (own.is_empty()) continue;
    const size_t before = out.size();
    if (auto* c = mod->as<ColumnParallelLinearImpl>()) {
      // lm_head is the only column-parallel layer over the (padded) vocabulary.
      int64_t rows = m->lm_head && c == m->lm_head.get() ? vocab : c->out_features;
      int group = static_cast<int>(c->replicas);
      out.push_back(
          tp_info_split(prefix + "weight", c->weight, 0, group, {rows, c->in_features}, tp));
      if (c->bias.defined())
        out.push_back(tp_info_split(prefix + "bias", c->bias, 0, group, {rows}, tp));
    } else if (auto* r = mod->as<RowParallelLinearImpl>()) {
      out.push_back(
          tp_info_split(prefix + "weight", r->weight, 1, 1, {r->out_features, r->in_features}, tp));
      if (r->bias.defined()) out.push_back(tp_info_replicated(prefix + "bias", r->bias, tp));
    } else if (auto* e = mod->as<VocabParallelEmbeddingImpl>()) {
      out.push_back(tp_info_split(prefix + "weight", e->weight, 0, 1, {vocab, e->dim}, tp));
    } else if (auto* n = mod->as<RMSNormImpl>()) {
      out.push_back(tp_info_replicated(prefix + "weight", n->weight, tp));
    } else {
      RELAPSE_THROW(ExitCode::kInternal, "tp_param_layout: module '", item.key(),
                    "' has parameters of unknown split");
    }
    RELAPSE_CHECK(out.size() - before == own.size(), "tp_param_layout: module '", item.key(),
                  "' has parameters of unknown split");
  }
  return out;
}

torch::Tensor tp_param_gather(const TpParamInfo& p, const torch::Tensor& local,
                              const TpContext& tp) {
  if (p.kind == TpParamKind::kReplicated || tp.size == 1) {
    if (p.dim >= 0 && local.size(p.dim) != p.full_shape[p.dim])
      return local.narrow(p.dim, 0, p.full_shape[p.dim]);
    return local;
  }
  tp_require_comm(tp);
  // Gather along dim 0 (the communicator's), keep one copy per group, cut the padding.
  torch::Tensor moved = local.detach().transpose(0, p.dim).contiguous();
  torch::Tensor all = tp.comm->all_gather(moved);  // [tp * len, ...]
  if (p.group_size > 1) {
    std::vector<int64_t> v{tp.size / p.group_size, p.group_size, moved.size(0)};
    v.insert(v.end(), moved.sizes().begin() + 1, moved.sizes().end());
    all = all.view(v).select(1, 0).flatten(0, 1);
  }
  return all.narrow(0, 0, p.full_shape[p.dim]).transpose(0, p.dim).contiguous();
}

void tp_sync_replicated_grads(const LlamaForCausalLM& m, const TpContext& tp) {
  if (tp.size == 1) return;
  std::vector<TpParamInfo> reps;
  for (auto& p : tp_param_layout(m))
    if (p.kind == TpParamKind::kPartiallyReplicated) reps.push_back(std::move(p));
  if (reps.empty()) return;
  tp_require_comm(tp);
  // One buffer of every such gradient, gathered once: [tp, n]; in fp32, or
  // fp64 when the gradients are (the sum must not round fp64 training).
  torch::ScalarType acc = torch::kFloat32;
  for (auto& p : reps)
    if (p.tensor.scalar_type() == torch::kFloat64) acc = torch::kFloat64;
  std::vector<torch::Tensor> flat;
  for (auto& p : reps) {
    torch::Tensor g = p.tensor.grad();
    flat.push_back(g.defined() ? g.detach().to(acc).reshape(-1)
                               : torch::zeros({p.tensor.numel()}, p.tensor.options().dtype(acc)));
  }
  torch::Tensor all = tp.comm->all_gather(torch::cat(flat)).view({tp.size, -1});
  int64_t off = 0;
  for (auto& p : reps) {
    int64_t n = p.tensor.numel(), group = p.group_size;
    int64_t first = tp.rank / group * group;  // the group's ranks: first .. first+group-1
    torch::Tensor sum = all.narrow(0, first, group).narrow(1, off, n).sum(0);
    off += n;
    torch::Tensor g = sum.view(p.tensor.sizes()).to(p.tensor.scalar_type());
    torch::Tensor& grad = p.tensor.mutable_grad();
    if (grad.defined())
      grad.copy_(g);
    else
      grad = g;
  }
}

}  // namespace relapse::model
