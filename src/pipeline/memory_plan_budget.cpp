// src/pipeline/memory_plan_budget.cpp — the memory plan's budget per rank
// (memory_plan_internal.h): parallel.memory_gib when set; else, when
// run.device resolves to a CUDA device, that GPU's free memory
// (cudaMemGetInfo: libtorch has no C++ call for it that builds without the
// CUDA headers, so like device.cpp this file uses the CUDA runtime when the
// toolkit is there, RELAPSE_PLAN_CUDART); else this node's RAM
// (/proc/meminfo MemTotal) shared by the ranks on the node.
#include <cstdlib>
#include <fstream>

#ifdef RELAPSE_PLAN_CUDART
#include <cuda_runtime.h>
#endif

#include "memory_plan_internal.h"
#include "relapse/dist/device.h"

namespace relapse::pipeline::plan_detail {

namespace {

int64_t node_ram_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemTotal:") return kb * 1024;
  return 0;
}

// Ranks sharing this node: the launcher's local size, else all the plan's ranks.
int ranks_on_node(int ranks) {
  for (const char* k : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"}) {
    const char* v = std::getenv(k);
    if (v && std::atoi(v) > 0) return std::atoi(v);
  }
  return std::max(1, ranks);
}

// Free bytes of the CUDA device run.device resolves to on this rank (0 when
// it resolves to the CPU, or the free memory cannot be read).
int64_t gpu_free_bytes(const RelapseConfig& cfg, std::string& name) {
#ifdef RELAPSE_PLAN_CUDART
  if (cfg.run.device == "cpu" || device_cuda_count() == 0) return 0;
  // `relapse plan` on a login node with run.device = cuda but no GPU plans
  // against RAM instead of failing (device_resolve throws there).
  const torch::Device d = device_resolve(cfg.run.device, device_world_local_rank());
  if (!d.is_cuda()) return 0;
  int before = 0;
  if (cudaGetDevice(&before) != cudaSuccess) return 0;
  size_t free = 0, total = 0;
  const bool ok =
      cudaSetDevice(d.index()) == cudaSuccess && cudaMemGetInfo(&free, &total) == cudaSuccess;
  cudaSetDevice(before);
  if (!ok) return 0;
  name = "free memory of " + device_describe(d) + " (cudaMemGetInfo)";
  return static_cast<int64_t>(free);
#else
  (void)cfg;
  (void)name;
  return 0;
#endif
}

}  // namespace

void plan_budget(const RelapseConfig& cfg, int ranks, int64_t& budget, std::string& source) {
  budget = 0;
  if (cfg.parallel.memory_gib > 0) {
    budget = static_cast<int64_t>(cfg.parallel.memory_gib * 1024.0 * 1024.0 * 1024.0);
    source = "parallel.memory_gib";
  } else if (int64_t g = gpu_free_bytes(cfg, source); g > 0) {
    budget = g;
  } else if (int64_t ram = node_ram_bytes(); ram > 0) {
    const int local = ranks_on_node(ranks);
    budget = ram / local;
    source =
        "RAM " + gib(ram) + " (/proc/meminfo) / " + std::to_string(local) + " ranks on the node";
  } else {
    source = "unknown (set parallel.memory_gib)";
  }
}

}  // namespace relapse::pipeline::plan_detail
