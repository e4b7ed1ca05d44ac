// relapse/core/env.h — every environment knob relapse reads, in one place
// (NCCL style). Read once, on first use.
#pragma once
#include <string>

namespace relapse {

struct EnvKnobs {
  std::string log_level;  // RELAPSE_LOG_LEVEL: error|warn|info|debug (default info)
  bool log_all_ranks;     // RELAPSE_LOG_ALL_RANKS=1: every rank logs, not only rank 0
  int num_threads;  // RELAPSE_NUM_THREADS: intra-op threads per rank (0 = cores / ranks on the
                    // node)
  std::string slurm_ntasks;    // SLURM_NTASKS (set by Slurm), checked against the MPI world size
  std::string slurm_job_id;    // SLURM_JOB_ID
  double progress_interval_s;  // RELAPSE_PROGRESS_INTERVAL: seconds between progress lines
                               // when stderr is not a terminal (default 30)
  double nccl_timeout_s;  // RELAPSE_NCCL_TIMEOUT_S: an NCCL collective pending this long ends the
                          // job (relapse/dist/watchdog.h; default 1800, 0 = no timeout)
};

const EnvKnobs& env_knobs();

}  // namespace relapse
