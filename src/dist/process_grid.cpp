// src/dist/process_grid.cpp — DP × TP groups from MPI_Comm_split.
#include "relapse/dist/process_grid.h"

namespace relapse {

ProcessGrid grid_create(MPI_Comm world, int tp) {
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
  MPI_Comm tp_comm, dp_comm;
  RELAPSE_MPI_CHECK(MPI_Comm_split(world, /*color=*/g.dp_rank, /*key=*/g.tp_rank, &tp_comm));
  RELAPSE_MPI_CHECK(MPI_Comm_split(world, /*color=*/g.tp_rank, /*key=*/g.dp_rank, &dp_comm));
  g.world = comm_mpi_create(world);
  g.tp = comm_mpi_create(tp_comm);
  g.dp = comm_mpi_create(dp_comm);
  MPI_Comm_free(&tp_comm);  // the communicators hold their own duplicates
  MPI_Comm_free(&dp_comm);
  return g;
}

}  // namespace relapse
