// src/unlearn/grad_sync.cpp — bucketed data-parallel gradient averaging and
// the TP-aware grad-norm clipping (see relapse/unlearn/grad_sync.h).
#include "relapse/unlearn/grad_sync.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "relapse/core/error.h"
#include "relapse/unlearn/grad_reducer.h"
#include "relapse/unlearn/trainer.h"

namespace relapse::unlearn {

namespace {

int64_t grad_bytes(const torch::Tensor& p) {
  return p.numel() * static_cast<int64_t>(p.element_size());
}

}  // namespace

std::vector<std::vector<size_t>> grad_buckets(const std::vector<torch::Tensor>& params,
                                              int64_t bucket_bytes) {
  std::vector<std::vector<size_t>> out;
  int64_t filled = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    const torch::Tensor& p = params[i];
    bool fits = !out.empty() && bucket_bytes > 0 &&
                params[out.back().front()].scalar_type() == p.scalar_type() &&
                params[out.back().front()].device() == p.device() &&
                filled + grad_bytes(p) <= bucket_bytes;
    if (!fits) {
      out.emplace_back();
      filled = 0;
    }
    out.back().push_back(i);
    filled += grad_bytes(p);
  }
  return out;
}

void dp_average_grads(Communicator& dp, const std::vector<torch::Tensor>& params,
                      int64_t bucket_bytes) {
  GradBucketReducer(dp, params, bucket_bytes, /*overlap=*/false).finish();
}

std::vector<bool> tp_norm_owner_flags(const model::LlamaForCausalLM& m) {
  // tp_param_layout lists named_parameters() in order; keep the trainable ones.
  std::vector<bool> out;
  for (const auto& p : model::tp_param_layout(m)) {
    if (p.tensor.requires_grad()) out.push_back(p.owner);
  }
  return out;
}

double tp_clip_grad_norm(const std::vector<torch::Tensor>& params, const std::vector<bool>& owned,
                         const model::TpContext& tp, double max_norm) {
  if (tp.size == 1) return clip_grad_norm(params, max_norm);
  RELAPSE_CHECK(tp.comm && params.size() == owned.size(), "TP grad-norm: ", params.size(),
                " parameters but ", owned.size(), " owner flags");
  torch::NoGradGuard ng;
  // Σ over the slices this rank owns of ‖g‖², in fp64, summed over TP; every
  // TP rank must make the all-reduce even when it has no gradient at all.
  // The norms stay on the device; one host read after the all-reduce.
  std::vector<torch::Tensor> norms;
  for (size_t i = 0; i < params.size(); ++i) {
    const torch::Tensor& g = params[i].grad();
    if (!g.defined() || !owned[i]) continue;
    norms.push_back(g.to(torch::kFloat64).norm());
  }
  auto f64 = torch::TensorOptions()
                 .dtype(torch::kFloat64)
                 .device(params.empty() ? torch::Device(torch::kCPU) : params[0].device());
  torch::Tensor s =
      norms.empty() ? torch::zeros({1}, f64) : torch::stack(norms).square().sum().reshape({1});
  tp.comm->all_reduce(s, ReduceOp::kSum);
  const double total = std::sqrt(s.cpu().item<double>());
  const double limit = (max_norm > 0 && std::isfinite(max_norm))
                           ? max_norm
                           : std::numeric_limits<double>::infinity();
  const double coef = limit / (total + 1e-6);
  if (coef < 1.0) {
    for (const auto& p : params) {
      if (p.grad().defined()) p.grad().mul_(coef);
    }
  }
  return total;
}

std::vector<int> zero_owner_ranks(const std::vector<torch::Tensor>& params, int dp_size) {
  RELAPSE_CHECK(dp_size >= 1, "zero_owner_ranks: dp size ", dp_size);
  std::vector<size_t> order(params.size());
  std::iota(order.begin(), order.end(), size_t{0});
  // Largest first (ties: model order), each to the least-loaded rank (ties: lowest).
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return params[a].numel() > params[b].numel(); });
  std::vector<int64_t> load(static_cast<size_t>(dp_size), 0);
  std::vector<int> owner(params.size(), 0);
  for (size_t i : order) {
    const int r = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    owner[i] = r;
    load[static_cast<size_t>(r)] += grad_bytes(params[i]);
  }
  return owner;
}

void zero_broadcast_params(Communicator& dp, const std::vector<torch::Tensor>& params,
                           const std::vector<int>& owners) {
  RELAPSE_CHECK(owners.size() == params.size(), "zero_broadcast_params: ", owners.size(),
                " owners for ", params.size(), " parameters");
  torch::NoGradGuard ng;
  for (int r = 0; r < dp.size(); ++r) {
    std::vector<size_t> mine;
    int64_t bytes = 0;
    for (size_t i = 0; i < params.size(); ++i)
      if (owners[i] == r) {
        mine.push_back(i);
        bytes += grad_bytes(params[i]);
      }
    if (mine.empty()) continue;
    torch::Tensor buf = torch::empty(
        {bytes}, torch::TensorOptions().dtype(torch::kUInt8).device(params[mine[0]].device()));
    int64_t off = 0;
    auto bytes_of = [](const torch::Tensor& p) {
      return p.detach().contiguous().reshape({-1}).view(torch::kUInt8);
    };
    if (dp.rank() == r)
      for (size_t i : mine) {
        const int64_t n = grad_bytes(params[i]);
        buf.narrow(0, off, n).copy_(bytes_of(params[i]));
        off += n;
      }
    dp.broadcast(buf, r);
    if (dp.rank() == r) continue;
    off = 0;
    for (size_t i : mine) {
      const int64_t n = grad_bytes(params[i]);
      torch::Tensor p = params[i];
      p.detach().view({-1}).view(torch::kUInt8).copy_(buf.narrow(0, off, n));
      off += n;
    }
  }
}

}  // namespace relapse::unlearn
