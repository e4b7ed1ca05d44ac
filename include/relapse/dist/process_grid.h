// relapse/dist/process_grid.h — the DP × TP process grid of DESIGN.md: world =
// DP × TP with TP innermost (ranks 0..TP-1 form the first tensor-parallel group,
// so they share a node), groups made with MPI_Comm_split. The MPI communicators
// always exist (CPU tensors, host-side bookkeeping); with the NCCL backend each
// group also gets an NCCL communicator over the same ranks (CUDA tensors).
#pragma once
#include <memory>
#include <string>

#include "relapse/dist/communicator.h"

namespace relapse {

enum class CommBackend { kMpi, kNccl };

// "mpi" | "nccl"; anything else throws kConfig naming the value.
CommBackend comm_backend_parse(const std::string& name);
const char* comm_backend_name(CommBackend b);

struct ProcessGrid {
  int world_rank = 0, world_size = 1;
  int tp_size = 1, tp_rank = 0;  // rank % tp
  int dp_size = 1, dp_rank = 0;  // rank / tp
  CommBackend backend = CommBackend::kMpi;
  std::unique_ptr<Communicator> world, tp, dp;                 // MPI, always
  std::unique_ptr<Communicator> nccl_world, nccl_tp, nccl_dp;  // NCCL backend only, else null

  // The group's communicator for tensors on `device`: MPI for CPU tensors,
  // NCCL for CUDA tensors (kConfig when the grid has no NCCL communicators).
  Communicator& world_for(const torch::Device& device) const;
  Communicator& tp_for(const torch::Device& device) const;
  Communicator& dp_for(const torch::Device& device) const;
};

// Throws kConfig when world size is not divisible by tp (naming both). With
// kNccl also creates the NCCL communicators (collective over `world`; throws
// kEnvironment without NCCL support or a CUDA device).
ProcessGrid grid_create(MPI_Comm world, int tp, CommBackend backend = CommBackend::kMpi);

}  // namespace relapse
