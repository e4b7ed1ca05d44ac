// src/dist/process_grid.cpp — DP × TP groups from MPI_Comm_split, optionally
// mirrored by NCCL communicators over the same groups.
#include "relapse/dist/process_grid.h"

namespace relapse {

CommBackend comm_backend_parse(const std::string& name) {
  if (name == "mpi") return CommBackend::kMpi;
  if (name == "nccl") return CommBackend::kNccl;
  RELAPSE_THROW(ExitCode::kConfig, "unknown communicator backend '", name,
                "' (expected mpi or nccl)");
}

const char* comm_backend_name(CommBackend b) {
  return b == CommBackend::kNccl ? "nccl" : "mpi";
}

namespace {
Communicator& grid_pick(const std::unique_ptr<Communicator>& mpi,
                        const std::unique_ptr<Communicator>& nccl, const torch::Device& d,
                        const char* group) {
  if (!d.is_cuda()) return *mpi;
  RELAPSE_CHECK_CONFIG(nccl != nullptr, "a CUDA tensor needs the ", group,
                       " group's NCCL communicator, but the process grid was created with the "
                       "mpi backend");
  return *nccl;
}
}  // namespace

Communicator& ProcessGrid::world_for(const torch::Device& d) const {
  return grid_pick(world, nccl_world, d, "world");
}
Communicator& ProcessGrid::tp_for(const torch::Device& d) const {
  return grid_pick(tp, nccl_tp, d, "tp");
}
Communicator& ProcessGrid::dp_for(const torch::Device& d) const {
  return grid_pick(dp, nccl_dp, d, "dp");
}

ProcessGrid grid_create(MPI_Comm world, int tp, CommBackend backend) {
  ProcessGrid g;
  MPI_Comm_rank(world, &g.world_rank);
  MPI_Comm_size(world, &g.world_size);
  RELAPSE_CHECK_CONFIG(tp >= 1, "parallel.tp must be >= 1, got ", tp);
  RELAPSE_CHECK_CONFIG(g.world_size % tp == 0, "parallel.tp=", tp,
                       " does not divide the world size ", g.world_size,
                       " (data parallel = world / tp)");
  g.tp_size = tp;
  g.dp_size = g.world_size / tp;
  g.tp_rank = g.world_rank % tp;
  g.dp_rank = g.world_rank / tp;
  g.backend = backend;
  MPI_Comm tp_comm, dp_comm;
  RELAPSE_MPI_CHECK(MPI_Comm_split(world, /*color=*/g.dp_rank, /*key=*/g.tp_rank, &tp_comm));
  RELAPSE_MPI_CHECK(MPI_Comm_split(world, /*color=*/g.tp_rank, /*key=*/g.dp_rank, &dp_comm));
  try {
    g.world = comm_mpi_create(world);
    g.tp = comm_mpi_create(tp_comm);
    g.dp = comm_mpi_create(dp_comm);
    if (backend == CommBackend::kNccl) {
      // Same groups, same rank order: NCCL rank r of a group is MPI rank r.
      g.nccl_world = comm_nccl_create(world);
      g.nccl_tp = comm_nccl_create(tp_comm);
      g.nccl_dp = comm_nccl_create(dp_comm);
    }
  } catch (...) {
    MPI_Comm_free(&tp_comm);
    MPI_Comm_free(&dp_comm);
    throw;
  }
  MPI_Comm_free(&tp_comm);  // the communicators hold their own duplicates
  MPI_Comm_free(&dp_comm);
  return g;
}

}  // namespace relapse
