// relapse/dist/process_grid.h — the DP × TP process grid of DESIGN.md: world =
// DP × TP with TP innermost (ranks 0..TP-1 form the first tensor-parallel group,
// so they share a node), groups made with MPI_Comm_split.
#pragma once
#include <memory>

#include "relapse/dist/communicator.h"

namespace relapse {

struct ProcessGrid {
  int world_rank = 0, world_size = 1;
  int tp_size = 1, tp_rank = 0;  // rank % tp
  int dp_size = 1, dp_rank = 0;  // rank / tp
  std::unique_ptr<Communicator> world, tp, dp;
};

// Throws kConfig when world size is not divisible by tp (naming both).
ProcessGrid grid_create(MPI_Comm world, int tp);

}  // namespace relapse
