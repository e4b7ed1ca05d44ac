// relapse/dist/runtime.h — the MPI runtime of one relapse process: MPI
// init/finalize (works as a plain process and under mpirun/srun), the Slurm
// task-count check, and the job-wide abort used when any rank fails.
#pragma once
#include <mpi.h>

#include <string>

#include "relapse/core/error.h"

namespace relapse {

class Runtime {
 public:
  // Initialises MPI (MPI_THREAD_FUNNELED), sets the log rank, checks that
  // SLURM_NTASKS (when set) equals the world size, and sets libtorch's thread
  // count from RELAPSE_NUM_THREADS. Throws relapse::Error on a mismatch.
  Runtime(int* argc, char*** argv);
  ~Runtime();  // MPI_Finalize (unless the job was aborted)
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  MPI_Comm world() const { return MPI_COMM_WORLD; }
  std::string hostname() const;

  // The process-wide runtime (null before construction).
  static Runtime* instance();

 private:
  int rank_ = 0;
  int world_size_ = 1;
  bool owns_mpi_ = false;
};

// Pure check behind the Slurm trap: under Slurm, `relapse` launched as N
// separate singletons (missing --mpi=pmix) sees world size 1 on every task.
// Returns an empty string when fine, else the error text.
std::string runtime_slurm_mismatch(const std::string& slurm_ntasks, int world_size);

// Prints "relapse: error on rank R: MESSAGE (file:line)" to stderr on the
// failing rank and ends the whole job: MPI_Abort when world > 1 (so no rank is
// left waiting in a collective), std::exit otherwise. Never returns.
[[noreturn]] void runtime_abort(const relapse::Error& err);
[[noreturn]] void runtime_abort(ExitCode code, const std::string& message);
// The same from a thread other than the main one (the NCCL watchdog, which
// fires while the main thread is blocked on the GPU): the same message, then
// MPI_Abort at any world size — never MPI_Finalize, which belongs to the main
// thread (MPI_THREAD_FUNNELED) — or std::_Exit when MPI is not up.
[[noreturn]] void runtime_abort_from_thread(ExitCode code, const std::string& message);

}  // namespace relapse
