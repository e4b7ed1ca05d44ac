// src/dist/comm_nccl.cpp — the NCCL backend of relapse::Communicator (CUDA
// tensors). One ncclComm per group: group rank 0 makes the unique id and
// broadcasts it over the group's MPI communicator. Every op is enqueued on
// libtorch's current CUDA stream and not waited for: the torch kernels that
// read the result run after it on that stream, and a host read (.to(kCPU))
// synchronises. 16-bit floats go over the wire natively (NCCL reduces bf16 /
// fp16 in their own precision, unlike the MPI backend's fp32 reduction:
// callers that need fp32 sums, such as the DP gradient buckets, reduce fp32
// buffers). kAvg = sum / size (integers truncated). barrier() waits. Host
// tensors are staged through the device (one copy each way). Every op is
// watched (relapse/dist/watchdog.h): one pending past RELAPSE_NCCL_TIMEOUT_S,
// or an asynchronous NCCL error, aborts the communicator and ends the job. Without
// RELAPSE_WITH_NCCL only the stubs at the end are built.
#include "relapse/dist/bench_comm.h"
#include "relapse/dist/communicator.h"
#include "relapse/dist/device.h"

#ifdef RELAPSE_WITH_NCCL
#include "relapse/core/env.h"
#include "relapse/dist/runtime.h"
#include "relapse/dist/watchdog.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <vector>
// RELAPSE_TORCH_CUDA: set by src/dist/CMakeLists.txt when libtorch ships
// libc10_cuda (Debian's CPU libtorch has c10/cuda headers that do not compile).
#if defined(RELAPSE_TORCH_CUDA) && __has_include(<c10/cuda/CUDAStream.h>)
#include <c10/cuda/CUDAStream.h>
#define RELAPSE_TORCH_HAS_CUDA 1
#endif

#define RELAPSE_CUDA_CHECK(call)                                              \
  do {                                                                        \
    cudaError_t relapse_e_ = (call);                                          \
    if (relapse_e_ != cudaSuccess)                                            \
      ::relapse::detail::error_throw(                                         \
          ::relapse::ExitCode::kRuntime, __FILE__, __LINE__,                  \
          std::string(#call) + " failed: " + cudaGetErrorString(relapse_e_)); \
  } while (0)
#define RELAPSE_NCCL_CHECK(call)                                              \
  do {                                                                        \
    ncclResult_t relapse_r_ = (call);                                         \
    if (relapse_r_ != ncclSuccess)                                            \
      ::relapse::detail::error_throw(                                         \
          ::relapse::ExitCode::kRuntime, __FILE__, __LINE__,                  \
          std::string(#call) + " failed: " + ncclGetErrorString(relapse_r_)); \
  } while (0)

namespace relapse {

bool comm_nccl_built() {
  return true;
}

int comm_cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device / no driver" error
    return 0;
  }
  return n;
}

namespace {

ncclDataType_t nccl_type(torch::ScalarType t, const char* op) {
  switch (t) {
    case torch::kFloat32:
      return ncclFloat32;
    case torch::kFloat64:
      return ncclFloat64;
    case torch::kFloat16:
      return ncclFloat16;
    case torch::kBFloat16:
      return ncclBfloat16;
    case torch::kInt32:
      return ncclInt32;
    case torch::kInt64:
      return ncclInt64;
    case torch::kUInt8:
      return ncclUint8;
    default:
      break;
  }
  RELAPSE_THROW(ExitCode::kInternal, "NCCL communicator ", op, ": unsupported dtype ",
                c10::toString(t));
}

ncclRedOp_t nccl_op(ReduceOp op) {
  return op == ReduceOp::kMax ? ncclMax : ncclSum;
}

#ifdef RELAPSE_TORCH_HAS_CUDA
// One ncclAllReduce in flight on the communicator's side stream: test()
// queries its completion event, wait() orders the caller's current stream
// after it (no host wait) and then averages there for kAvg.
class NcclAllReduceRequest : public CommRequest {
 public:
  NcclAllReduceRequest(torch::Tensor t, ReduceOp op, int size, int dev, cudaEvent_t done)
      : t_(std::move(t)), op_(op), size_(size), dev_(dev), done_(done) {}
  ~NcclAllReduceRequest() override { cudaEventDestroy(done_); }
  bool test() override {
    if (waited_) return true;
    cudaError_t e = cudaEventQuery(done_);
    if (e == cudaErrorNotReady) return false;
    RELAPSE_CUDA_CHECK(e);
    return true;
  }
  void wait() override {
    if (waited_) return;
    RELAPSE_CUDA_CHECK(cudaSetDevice(dev_));
    cudaStream_t cur =
        c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(dev_)).stream();
    RELAPSE_CUDA_CHECK(cudaStreamWaitEvent(cur, done_, 0));
    waited_ = true;
    if (op_ == ReduceOp::kAvg) comm_finish_avg(t_, size_);
  }

 private:
  torch::Tensor t_;
  ReduceOp op_;
  int size_, dev_;
  cudaEvent_t done_;
  bool waited_ = false;
};
#endif

class NcclCommunicator : public Communicator {
 public:
  explicit NcclCommunicator(MPI_Comm comm) {
    MPI_Comm_rank(comm, &rank_);
    MPI_Comm_size(comm, &size_);
    // The device run.device=auto picks: node-local rank (of the world, so every
    // communicator of a process agrees) modulo the visible devices.
    int local = device_world_local_rank();
    int ndev = 0;
    cudaError_t e = cudaGetDeviceCount(&ndev);
    if (e != cudaSuccess || ndev == 0) {
      if (e != cudaSuccess) cudaGetLastError();
      RELAPSE_THROW(ExitCode::kEnvironment, "NCCL communicator: no CUDA device visible to rank ",
                    rank_, " (",
                    e != cudaSuccess ? cudaGetErrorString(e) : "cudaGetDeviceCount returned 0",
                    "); use the mpi backend on CPU-only machines");
    }
    dev_ = local % ndev;
    RELAPSE_CUDA_CHECK(cudaSetDevice(dev_));
    ncclUniqueId id;
    if (rank_ == 0) RELAPSE_NCCL_CHECK(ncclGetUniqueId(&id));
    RELAPSE_MPI_CHECK(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, comm));
    RELAPSE_NCCL_CHECK(ncclCommInitRank(&comm_, size_, id, rank_));
    RELAPSE_CUDA_CHECK(cudaMalloc(&scratch_, sizeof(float)));
    watchdog_ = std::make_unique<CollectiveWatchdog>(
        "NCCL communicator (rank " + std::to_string(rank_) + " of " + std::to_string(size_) +
            ", cuda:" + std::to_string(dev_) + ")",
        env_knobs().nccl_timeout_s, 1.0, [this] { return async_error(); },
        [this](const std::string& message) {
          ncclCommAbort(comm_);  // the spinning kernels stop; the process ends next
          runtime_abort_from_thread(ExitCode::kRuntime, message);
        });
  }
  ~NcclCommunicator() override {
    watchdog_.reset();  // before the communicator it polls
    if (side_) cudaStreamDestroy(side_);
    if (scratch_) cudaFree(scratch_);
    if (comm_) ncclCommDestroy(comm_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "nccl"; }
  int device() const { return dev_; }
  ncclComm_t raw() const { return comm_; }

  // libtorch's current stream on our device (legacy default stream without
  // CUDA headers in libtorch).
  cudaStream_t stream() const {
#ifdef RELAPSE_TORCH_HAS_CUDA
    return c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(dev_)).stream();
#else
    return cudaStreamLegacy;
#endif
  }
  void sync(cudaStream_t s) const {
    RELAPSE_CUDA_CHECK(cudaStreamSynchronize(s));
  }

  void require_cuda(const torch::Tensor& t, const char* op) const {
    RELAPSE_CHECK(t.defined(), op, ": undefined tensor");
    RELAPSE_CHECK(t.device().is_cuda(), op,
                  ": the NCCL backend takes CUDA tensors, got a tensor on ", t.device().str());
    RELAPSE_CHECK(t.device().index() == dev_, op, ": tensor on ", t.device().str(),
                  " but this rank's NCCL communicator uses cuda:", dev_);
    RELAPSE_CHECK(t.is_contiguous(), op, ": tensor on ", t.device().str(), " must be contiguous");
    RELAPSE_CUDA_CHECK(cudaSetDevice(dev_));
  }

  // Host tensors (bookkeeping: counts, loss curves, gathered per-sample
  // results) are staged through this rank's device and copied back, so every
  // caller can hand the group's communicator whatever it holds.
  bool staged(const torch::Tensor& t) const {
    return t.defined() && t.is_cpu();
  }
  torch::Tensor to_device(const torch::Tensor& t) const {
    return t.to(torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(dev_))).contiguous();
  }

  void all_reduce(torch::Tensor& t, ReduceOp op) override {
    if (staged(t)) {
      torch::Tensor d = to_device(t);
      all_reduce(d, op);
      t.copy_(d);  // waits for the device
      return;
    }
    require_cuda(t, "all_reduce");
    RELAPSE_NCCL_CHECK(ncclAllReduce(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel()),
                                     nccl_type(t.scalar_type(), "all_reduce"), nccl_op(op), comm_,
                                     stream()));
    watch("all_reduce", stream());
    if (op == ReduceOp::kAvg) comm_finish_avg(t, size_);
  }

  // On the side stream (DDP's scheme): it waits for what the current stream
  // has queued (the gradients), the backward goes on meanwhile. Host tensors
  // and libtorch builds without CUDA streams take the blocking path.
  std::unique_ptr<CommRequest> all_reduce_async(torch::Tensor& t, ReduceOp op) override {
#ifdef RELAPSE_TORCH_HAS_CUDA
    if (!staged(t)) {
      require_cuda(t, "all_reduce_async");
      if (!side_) RELAPSE_CUDA_CHECK(cudaStreamCreateWithFlags(&side_, cudaStreamNonBlocking));
      cudaEvent_t queued = nullptr, done = nullptr;
      RELAPSE_CUDA_CHECK(cudaEventCreateWithFlags(&queued, cudaEventDisableTiming));
      RELAPSE_CUDA_CHECK(cudaEventRecord(queued, stream()));
      RELAPSE_CUDA_CHECK(cudaStreamWaitEvent(side_, queued, 0));
      cudaEventDestroy(queued);  // released once recorded work completes
      RELAPSE_NCCL_CHECK(ncclAllReduce(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel()),
                                       nccl_type(t.scalar_type(), "all_reduce_async"), nccl_op(op),
                                       comm_, side_));
      watch("all_reduce_async", side_);
      RELAPSE_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
      RELAPSE_CUDA_CHECK(cudaEventRecord(done, side_));
      return std::make_unique<NcclAllReduceRequest>(t, op, size_, dev_, done);
    }
#endif
    return Communicator::all_reduce_async(t, op);
  }

  torch::Tensor all_gather(const torch::Tensor& t) override {
    if (staged(t)) return all_gather(to_device(t)).to(torch::kCPU);
    require_cuda(t, "all_gather");
    std::vector<int64_t> shape(t.sizes().begin(), t.sizes().end());
    if (shape.empty()) shape.push_back(1);
    shape[0] *= size_;
    torch::Tensor out = torch::empty(shape, t.options());
    RELAPSE_NCCL_CHECK(ncclAllGather(t.data_ptr(), out.data_ptr(), static_cast<size_t>(t.numel()),
                                     nccl_type(t.scalar_type(), "all_gather"), comm_, stream()));
    watch("all_gather", stream());
    return out;
  }

  torch::Tensor reduce_scatter(const torch::Tensor& t, ReduceOp op) override {
    if (staged(t)) return reduce_scatter(to_device(t), op).to(torch::kCPU);
    require_cuda(t, "reduce_scatter");
    RELAPSE_CHECK(t.dim() >= 1 && t.size(0) % size_ == 0, "reduce_scatter: dim 0 (",
                  t.dim() ? t.size(0) : 0, ") not divisible by the group size ", size_);
    std::vector<int64_t> shape(t.sizes().begin(), t.sizes().end());
    shape[0] /= size_;
    torch::Tensor out = torch::empty(shape, t.options());
    RELAPSE_NCCL_CHECK(ncclReduceScatter(
        t.data_ptr(), out.data_ptr(), static_cast<size_t>(out.numel()),
        nccl_type(t.scalar_type(), "reduce_scatter"), nccl_op(op), comm_, stream()));
    watch("reduce_scatter", stream());
    if (op == ReduceOp::kAvg) comm_finish_avg(out, size_);
    return out;
  }

  void broadcast(torch::Tensor& t, int root) override {
    if (staged(t)) {
      torch::Tensor d = to_device(t);
      broadcast(d, root);
      t.copy_(d);
      return;
    }
    require_cuda(t, "broadcast");
    RELAPSE_CHECK(root >= 0 && root < size_, "broadcast: root ", root, " outside the group of ",
                  size_);
    RELAPSE_NCCL_CHECK(ncclBroadcast(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel()),
                                     nccl_type(t.scalar_type(), "broadcast"), root, comm_,
                                     stream()));
    watch("broadcast", stream());
  }

  // A one-element all-reduce on a private device buffer, then a stream sync.
  void barrier() override {
    RELAPSE_CUDA_CHECK(cudaSetDevice(dev_));
    cudaStream_t s = stream();
    RELAPSE_NCCL_CHECK(ncclAllReduce(scratch_, scratch_, 1, ncclFloat32, ncclSum, comm_, s));
    watch("barrier", s);
    sync(s);
  }

 private:
  // Hands the op just enqueued on `s` to the watchdog: an event recorded
  // after it, queried from the watchdog's thread, destroyed once it is done.
  void watch(const char* op, cudaStream_t s) {
    cudaEvent_t ev = nullptr;
    RELAPSE_CUDA_CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
    RELAPSE_CUDA_CHECK(cudaEventRecord(ev, s));
    std::shared_ptr<CUevent_st> owned(ev, [](cudaEvent_t e) { cudaEventDestroy(e); });
    watchdog_->track(op, [owned] {
      // Not ready = pending; any other error is the main thread's to report.
      return cudaEventQuery(owned.get()) != cudaErrorNotReady;
    });
  }
  // ncclCommGetAsyncError: "" while healthy or still in progress.
  std::string async_error() const {
    if (!comm_) return "";
    ncclResult_t r = ncclSuccess;
    if (ncclCommGetAsyncError(comm_, &r) != ncclSuccess) return "";
    return r == ncclSuccess || r == ncclInProgress ? "" : ncclGetErrorString(r);
  }

  ncclComm_t comm_ = nullptr;
  cudaStream_t side_ = nullptr;  // all_reduce_async's stream, made on first use
  void* scratch_ = nullptr;
  int rank_ = 0, size_ = 1, dev_ = 0;
  std::unique_ptr<CollectiveWatchdog> watchdog_;
};

}  // namespace

std::unique_ptr<Communicator> comm_nccl_create(MPI_Comm comm) {
  return std::make_unique<NcclCommunicator>(comm);
}

int bench_nccl_device(Communicator& c) {
  auto* n = dynamic_cast<NcclCommunicator*>(&c);
  RELAPSE_CHECK(n != nullptr, "bench_nccl_device: not an NCCL communicator");
  return n->device();
}

// One raw ncclAllReduce / ncclAllGather on `buf` (into `out` for the gather)
// through the communicator's own ncclComm, synchronised: the baseline that
// `relapse bench comm --backend nccl` compares to.
std::function<void()> bench_nccl_raw_op(Communicator& c, torch::Tensor& buf, torch::Tensor& out,
                                        const std::string& op) {
  auto* n = dynamic_cast<NcclCommunicator*>(&c);
  RELAPSE_CHECK(n != nullptr, "bench_nccl_raw_op: not an NCCL communicator");
  n->require_cuda(buf, "bench raw");
  const bool gather = op == "all_gather";
  if (gather) n->require_cuda(out, "bench raw");
  ncclDataType_t ty = nccl_type(buf.scalar_type(), "bench raw");
  size_t count = static_cast<size_t>(buf.numel());
  void* in = buf.data_ptr();
  void* dst = gather ? out.data_ptr() : in;
  return [n, ty, count, in, dst, gather] {
    cudaStream_t s = n->stream();
    if (gather) {
      RELAPSE_NCCL_CHECK(ncclAllGather(in, dst, count, ty, n->raw(), s));
    } else {
      RELAPSE_NCCL_CHECK(ncclAllReduce(in, dst, count, ty, ncclSum, n->raw(), s));
    }
    n->sync(s);
  };
}

}  // namespace relapse

#else  // !RELAPSE_WITH_NCCL

namespace relapse {

bool comm_nccl_built() {
  return false;
}
int comm_cuda_device_count() {
  return 0;
}
std::unique_ptr<Communicator> comm_nccl_create(MPI_Comm) {
  RELAPSE_THROW(ExitCode::kEnvironment,
                "NCCL communicator: relapse was built without NCCL (RELAPSE_WITH_NCCL=OFF); "
                "use the mpi backend");
}
int bench_nccl_device(Communicator&) {
  RELAPSE_THROW(ExitCode::kEnvironment, "relapse was built without NCCL (RELAPSE_WITH_NCCL=OFF)");
}
std::function<void()> bench_nccl_raw_op(Communicator&, torch::Tensor&, torch::Tensor&,
                                        const std::string&) {
  RELAPSE_THROW(ExitCode::kEnvironment, "relapse was built without NCCL (RELAPSE_WITH_NCCL=OFF)");
}

}  // namespace relapse

#endif
