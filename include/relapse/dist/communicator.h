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

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;  // "mpi" | "nccl"

  // In place over the whole (contiguous) tensor. kAvg = sum / size.
  virtual void all_reduce(torch::Tensor& t, ReduceOp op) = 0;
  // Every rank's tensor (same shape everywhere) concatenated along dim 0, rank order.
  virtual torch::Tensor all_gather(const torch::Tensor& t) = 0;
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

// Throws relapse::Error(kRuntime) naming the MPI call and MPI's error string.
void mpi_check(int rc, const char* call, const char* file, int line);
#define RELAPSE_MPI_CHECK(call) ::relapse::mpi_check((call), #call, __FILE__, __LINE__)

}  // namespace relapse
