// relapse/unlearn/grad_reducer.h — the data-parallel gradient average in
// buckets, overlapped with the backward pass (parallel.overlap_grad_reduce;
// DDP's scheme).
//
// The buckets are grad_sync.h's (consecutive parameters of one dtype up to
// bucket_bytes, in parameter order), so their contents — and the sums — are
// the same whether overlapped or not. A hook after each parameter's gradient
// accumulation (autograd's post-accumulate-grad hook) marks the parameter
// ready during the update's last backward (arm()); a bucket whose parameters
// are all ready is flattened (fp32 for 16-bit gradients) and its all-reduce
// started, while the backward goes on. Buckets start in one fixed order on
// every rank — the reverse of parameter order, the order the backward
// produces them (the head first, the embedding last) — a bucket waiting for
// the ones before it, so the collectives match on every rank whatever order
// the hooks fire in. finish() (after the backward) starts the rest in that
// order (parameters the last backward did not reach: a zero gradient if they
// have none, as before), waits for each, and writes the averages back.
// Without overlap, finish() alone does the same work after the backward:
// the same buckets, the same all-reduce, so the results are bit for bit the
// same with overlap on or off, on any backend.
//
// On the CPU the MPI backend progresses a started all-reduce only inside an
// MPI call (Open MPI has no progress thread by default): each hook also
// tests the oldest bucket in flight, so the transfer moves while the
// backward computes. On a GPU (NCCL) the all-reduce runs on the
// communicator's side stream.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "relapse/dist/communicator.h"

namespace relapse::unlearn {

class GradBucketReducer {
 public:
  // overlap = install the hooks on `params` (removed by the destructor).
  GradBucketReducer(Communicator& dp, std::vector<torch::Tensor> params, int64_t bucket_bytes,
                    bool overlap);
  ~GradBucketReducer();
  GradBucketReducer(const GradBucketReducer&) = delete;
  GradBucketReducer& operator=(const GradBucketReducer&) = delete;

  // The next backward is the update's last: start buckets as they complete.
  void arm();
  // After the last backward: start what is left, wait, write the averages
  // into the gradients. Disarms.
  void finish();
  // Buckets the last update started from hooks, during the backward (for the
  // tests and the log: 0 = nothing overlapped).
  int started_in_backward() const { return started_in_backward_; }

 private:
  struct InFlight {
    torch::Tensor buf;
    std::unique_ptr<CommRequest> req;
  };
  void on_grad_ready(size_t param);
  void start_ready_buckets();
  void start(size_t bucket);
  void progress();

  Communicator& dp_;
  std::vector<torch::Tensor> params_;
  std::vector<std::vector<size_t>> buckets_;
  std::vector<size_t> bucket_of_;    // parameter -> bucket
  std::vector<int64_t> waiting_;     // per bucket: parameters not yet ready
  std::vector<char> ready_;          // per parameter
  std::vector<char> zero_filled_;    // per parameter: no gradient here before the reduction
  std::vector<InFlight> in_flight_;  // per bucket (buf undefined = not started)
  size_t next_ = 0;                  // buckets started so far, in start order
  size_t progressed_ = 0;            // in start order: the oldest maybe unfinished
  bool armed_ = false, hooked_ = false;
  int started_in_backward_ = 0;
};

}  // namespace relapse::unlearn
