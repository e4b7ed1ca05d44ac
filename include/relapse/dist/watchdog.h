// relapse/dist/watchdog.h — a collective that never completes ends the job.
// NCCL collectives are enqueued on a CUDA stream and return at once; when a
// peer rank dies or hangs, the kernel spins and the host blocks in whatever
// next waits for the stream, so "one failing rank ends the job" (MPI_Abort,
// the launcher tearing the job down) does not reach a rank that is waiting on
// the GPU. torch's answer is ProcessGroupNCCL's watchdog thread; relapse calls
// NCCL directly and has this one (src/dist/comm_nccl.cpp uses it):
//
//   CollectiveWatchdog w("nccl dp", timeout_s, poll_s, async_error, on_failure);
//   w.track("all_reduce", [ev] { return cudaEventQuery(ev) == cudaSuccess; });
//
// A background thread polls every tracked op's `done` and the communicator's
// `async_error` every poll_s; an op still pending after timeout_s, or an
// asynchronous error, calls on_failure(message) once, from that thread. For
// NCCL, on_failure aborts the communicator (ncclCommAbort: the kernels stop)
// and ends the process through runtime_abort (exit 5), so the launcher ends
// the job. timeout_s <= 0 turns the timeout off (errors are still watched).
// The timeout is RELAPSE_NCCL_TIMEOUT_S (relapse/core/env.h).
#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace relapse {

class CollectiveWatchdog {
 public:
  using DoneFn = std::function<bool()>;          // true once the op completed
  using ErrorFn = std::function<std::string()>;  // the async error, "" = none
  using FailFn = std::function<void(const std::string& message)>;

  CollectiveWatchdog(std::string name, double timeout_s, double poll_s, ErrorFn async_error,
                     FailFn on_failure);
  ~CollectiveWatchdog();  // stops and joins the thread; pending ops are dropped
  CollectiveWatchdog(const CollectiveWatchdog&) = delete;
  CollectiveWatchdog& operator=(const CollectiveWatchdog&) = delete;

  // Watches one enqueued op until done() returns true (then drops it, and
  // `done` with whatever it owns).
  void track(const std::string& op, DoneFn done);
  size_t pending() const;
  bool failed() const;

 private:
  struct Op {
    std::string name;
    DoneFn done;
    double enqueued_s;
  };
  void loop();
  bool poll_once();  // false once failed

  std::string name_;
  double timeout_s_, poll_s_;
  ErrorFn async_error_;
  FailFn on_failure_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> ops_;  // in enqueue order: the front is the oldest
  bool stop_ = false, failed_ = false;
  std::thread thread_;
};

}  // namespace relapse
