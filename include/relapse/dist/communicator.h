// relapse/dist/communicator.h — the collective operations relapse needs, behind
// one interface with an MPI backend (CPU tensors; here) and an NCCL backend (CUDA
// tensors; built with RELAPSE_WITH_NCCL). Every op is collective over the
// communicator's group: all ranks must call it in the same order.
#pragma once
#include <mpi.h>

#include <memory>
#include <string>

#include <torch/torch.h>

#include "relapse/core/error.h"

namespace relapse {

enum class ReduceOp { kSum, kAvg, kMax };
// Finishes kAvg on a sum over `size` ranks, in place: floating point divided,
// integers truncated toward zero. Every backend ends kAvg with it.
void comm_finish_avg(torch::Tensor& t, int size);

// A collective in flight (Communicator::all_reduce_async). test() lets the
// backend progress it and says whether it is done; wait() blocks until the
// result is in the tensor (on a GPU: until the caller's current stream is
// ordered after it). Either may be called more than once.
class CommRequest {
 public:
  virtual ~CommRequest() = default;
  virtual bool test() = 0;
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;  // "mpi" | "nccl"

  // In place over the whole (contiguous) tensor. kAvg = sum / size.
  virtual void all_reduce(torch::Tensor& t, ReduceOp op) = 0;
  // all_reduce started without waiting: the caller keeps `t` alive and
  // untouched until the request's wait() returns. Started in the same order
  // on every rank, like any collective. MPI: MPI_Iallreduce (its sum order
  // is the MPI library's; Open MPI 4.1 on one node sums as MPI_Allreduce
  // does, measured bit for bit at np 2-4). NCCL: on the communicator's own
  // stream, after the work queued so far on the current one. The default
  // runs all_reduce and returns a finished request.
  virtual std::unique_ptr<CommRequest> all_reduce_async(torch::Tensor& t, ReduceOp op);
  // Every rank's tensor (same shape everywhere) concatenated along dim 0, rank order.
  virtual torch::Tensor all_gather(const torch::Tensor& t) = 0;
  // The same into a caller-owned `out` ([size * t.size(0), ...], t's dtype and
  // device, contiguous), so a loop that gathers repeatedly allocates nothing:
  // a fresh output costs its page faults on every call (bench comm measured
  // 3-4x MPI_Allgather's time at 16 MB+ through all_gather). The default
  // implementation copies all_gather's result.
  virtual void all_gather_into(const torch::Tensor& t, torch::Tensor& out) {
    out.copy_(all_gather(t));
  }
  // t's dim 0 (divisible by size) is cut into size blocks; rank r gets the
  // reduction over ranks of block r.
  virtual torch::Tensor reduce_scatter(const torch::Tensor& t, ReduceOp op) = 0;
  virtual void broadcast(torch::Tensor& t, int root) = 0;
  virtual void barrier() = 0;
};

// An MPI communicator over a duplicate of `comm` (relapse's traffic never mixes
// with the caller's). Supports float32, float64, bfloat16, float16, int32,
// int64, uint8. 16-bit floats are reduced in float32 and rounded once at the
// end, so the result does not depend on the reduction tree's rounding steps.
std::unique_ptr<Communicator> comm_mpi_create(MPI_Comm comm);

// An NCCL communicator over the group of `comm` (CUDA tensors, same semantics
// as the MPI backend; each op is synchronised before it returns). Collective
// over `comm`: group rank 0 makes the NCCL unique id and broadcasts it over
// `comm`. Device = node-local rank modulo the visible CUDA device count.
// Throws relapse::Error(kEnvironment) when relapse was built without NCCL
// (RELAPSE_WITH_NCCL=OFF) or no CUDA device is visible.
std::unique_ptr<Communicator> comm_nccl_create(MPI_Comm comm);

// True when the NCCL backend was compiled in (RELAPSE_WITH_NCCL=ON).
bool comm_nccl_built();
// Visible CUDA devices (0 without CUDA support, a driver or a device).
int comm_cuda_device_count();

// Throws relapse::Error(kRuntime) naming the MPI call and MPI's error string.
void mpi_check(int rc, const char* call, const char* file, int line);
#define RELAPSE_MPI_CHECK(call) ::relapse::mpi_check((call), #call, __FILE__, __LINE__)

}  // namespace relapse
