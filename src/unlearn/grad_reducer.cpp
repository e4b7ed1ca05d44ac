// src/unlearn/grad_reducer.cpp — bucketed DP gradient averaging, started from
// autograd's post-accumulate-grad hooks during the backward
// (relapse/unlearn/grad_reducer.h).
#include "relapse/unlearn/grad_reducer.h"

#include <algorithm>
#include <functional>
#include <utility>

#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include "relapse/core/error.h"
#include "relapse/unlearn/grad_sync.h"

namespace relapse::unlearn {

namespace {

struct ReadyHook : torch::autograd::PostAccumulateGradHook {
  explicit ReadyHook(std::function<void()> fn) : fn_(std::move(fn)) {}
  void operator()(const torch::autograd::Variable& /*param*/) override { fn_(); }
  std::function<void()> fn_;
};

}  // namespace

GradBucketReducer::GradBucketReducer(Communicator& dp, std::vector<torch::Tensor> params,
                                     int64_t bucket_bytes, bool overlap)
    : dp_(dp), params_(std::move(params)), buckets_(grad_buckets(params_, bucket_bytes)) {
  bucket_of_.resize(params_.size());
  for (size_t b = 0; b < buckets_.size(); ++b)
    for (size_t i : buckets_[b]) bucket_of_[i] = b;
  waiting_.assign(buckets_.size(), 0);
  ready_.assign(params_.size(), 0);
  zero_filled_.assign(params_.size(), 0);
  in_flight_.resize(buckets_.size());
  if (!overlap) return;
  for (size_t i = 0; i < params_.size(); ++i) {
    RELAPSE_CHECK(params_[i].is_leaf(), "overlapped gradient reduction: parameter ", i,
                  " is not a leaf tensor");
    torch::autograd::impl::set_post_acc_grad_hooks(
        params_[i], std::make_unique<ReadyHook>([this, i] { on_grad_ready(i); }));
  }
  hooked_ = true;
}

GradBucketReducer::~GradBucketReducer() {
  if (!hooked_) return;
  for (const auto& p : params_) torch::autograd::impl::set_post_acc_grad_hooks(p, nullptr);
}

void GradBucketReducer::arm() {
  for (size_t b = 0; b < buckets_.size(); ++b)
    waiting_[b] = static_cast<int64_t>(buckets_[b].size());
  std::fill(ready_.begin(), ready_.end(), 0);
  for (auto& f : in_flight_) f = InFlight{};
  next_ = progressed_ = 0;
  started_in_backward_ = 0;
  armed_ = hooked_;
}

// Buckets start last to first: the k-th started is bucket n-1-k.
void GradBucketReducer::on_grad_ready(size_t param) {
  if (!armed_) return;
  const size_t b = bucket_of_[param];
  if (ready_[param]) {
    // A second accumulation into a gradient whose all-reduce already started
    // would be lost on this rank only.
    RELAPSE_CHECK(!in_flight_[b].buf.defined(), "overlapped gradient reduction: parameter ", param,
                  "'s gradient was accumulated again after its bucket was sent; set "
                  "parallel.overlap_grad_reduce: false for this model");
    return;
  }
  ready_[param] = 1;
  if (--waiting_[b] == 0) {
    const size_t before = next_;
    start_ready_buckets();
    started_in_backward_ += static_cast<int>(next_ - before);
  }
  progress();
}

void GradBucketReducer::start_ready_buckets() {
  const size_t n = buckets_.size();
  while (next_ < n && waiting_[n - 1 - next_] == 0) {
    start(n - 1 - next_);
    ++next_;
  }
}

// Reduced in fp32 whatever the parameters' dtype (pure-bf16 training
// included) and rounded once when written back: NCCL would otherwise sum
// bf16 in bf16, and the MPI and NCCL backends would disagree.
void GradBucketReducer::start(size_t b) {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> flat;
  for (size_t i : buckets_[b]) {
    // No gradient on this rank: a zero one, so every rank sends the same.
    zero_filled_[i] = !params_[i].grad().defined();
    if (zero_filled_[i]) params_[i].mutable_grad() = torch::zeros_like(params_[i]);
    flat.push_back(params_[i].grad().reshape({-1}));
  }
  torch::Tensor buf = flat.size() == 1 ? flat[0] : torch::cat(flat);
  if (buf.scalar_type() == torch::kBFloat16 || buf.scalar_type() == torch::kHalf)
    buf = buf.to(torch::kFloat32);
  in_flight_[b].req = dp_.all_reduce_async(buf, ReduceOp::kAvg);
  in_flight_[b].buf = buf;
}

// One test of the oldest bucket in flight: MPI moves it along.
void GradBucketReducer::progress() {
  const size_t n = buckets_.size();
  if (progressed_ < next_ && in_flight_[n - 1 - progressed_].req->test()) ++progressed_;
}

void GradBucketReducer::finish() {
  if (!armed_) arm();  // not overlapped: every bucket starts here
  armed_ = false;
  std::fill(waiting_.begin(), waiting_.end(), 0);
  start_ready_buckets();
  torch::NoGradGuard ng;
  const size_t n = buckets_.size();
  for (size_t k = 0; k < n; ++k) {
    const size_t b = n - 1 - k;
    InFlight& f = in_flight_[b];
    f.req->wait();
    int64_t off = 0;
    for (size_t i : buckets_[b]) {
      torch::Tensor g = params_[i].grad();
      // A lone contiguous fp32 gradient was reduced in place (buf is a view of it).
      if (f.buf.data_ptr() != g.data_ptr() || buckets_[b].size() > 1)
        g.copy_(f.buf.narrow(0, off, g.numel()).view_as(g));
      off += g.numel();
      // A parameter the loss does not reach on any rank (RMU's layers after
      // the steered one) gets no gradient, as on one rank: AdamW skips it
      // (no weight decay either), as torch's does a parameter whose grad is None.
      if (zero_filled_[i] && !g.any().item<bool>()) params_[i].mutable_grad() = torch::Tensor();
    }
    f = InFlight{};
  }
}

}  // namespace relapse::unlearn
