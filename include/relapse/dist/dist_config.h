// relapse/dist/dist_config.h — the config sections the dist layer owns: the process grid and the
// memory it must fit in.
// Keys, help, choices (the layer's own name tables) and range checks are in
// src/dist/dist_config.cpp, bound through relapse/core/config.h;
// relapse/pipeline/config.h composes every layer's sections into RelapseConfig
// (configs/example.yaml shows every key).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "relapse/core/config.h"

namespace relapse {

struct ParallelSection {
  int tp = 1;     // tensor-parallel ranks (DP = world / tp)
  int ranks = 0;  // ranks the run is planned for (sweep cells, `relapse plan`); 0 = the world
  double memory_gib = 0.0;  // memory per rank the plan must fit in; 0 = detect (GPU or RAM)
  bool activation_checkpointing = false;  // recompute each decoder layer in the backward
  bool shard_optimizer = false;           // ZeRO-1: AdamW moments sharded over DP ranks
  bool overlap_grad_reduce = true;        // DP gradient buckets sent during the backward
};

void config_fields(ConfigBinder& b, ParallelSection& s);

}  // namespace relapse
