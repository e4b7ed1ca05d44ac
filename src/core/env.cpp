// src/core/env.cpp — reads the environment knobs of relapse/core/env.h.
#include "relapse/core/env.h"

#include <cstdlib>

namespace relapse {

static std::string env_str(const char* name, const char* fallback = "") {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string(fallback);
}

const EnvKnobs& env_knobs() {
  static const EnvKnobs knobs = [] {
    EnvKnobs k;
    k.log_level = env_str("RELAPSE_LOG_LEVEL", "info");
    k.log_all_ranks = env_str("RELAPSE_LOG_ALL_RANKS") == "1";
    k.num_threads = std::atoi(env_str("RELAPSE_NUM_THREADS", "0").c_str());
    k.slurm_ntasks = env_str("SLURM_NTASKS");
    k.slurm_job_id = env_str("SLURM_JOB_ID");
    k.progress_interval_s = std::atof(env_str("RELAPSE_PROGRESS_INTERVAL", "30").c_str());
    k.nccl_timeout_s = std::atof(env_str("RELAPSE_NCCL_TIMEOUT_S", "1800").c_str());
    return k;
  }();
  return knobs;
}

}  // namespace relapse
