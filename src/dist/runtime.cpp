// src/dist/runtime.cpp — MPI init/finalize, the Slurm check and the job abort.
#include "relapse/dist/runtime.h"

#include "relapse/dist/device.h"

#include <algorithm>
#include <thread>

#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <torch/torch.h>

#include "relapse/core/env.h"
#include "relapse/core/log.h"

namespace relapse {

namespace {
Runtime* g_runtime = nullptr;
}

std::string runtime_slurm_mismatch(const std::string& slurm_ntasks, int world_size) {
  if (slurm_ntasks.empty()) return "";
  char* end = nullptr;
  long n = std::strtol(slurm_ntasks.c_str(), &end, 10);
  if (end == slurm_ntasks.c_str() || *end != '\0' || n <= 0) {
    return "SLURM_NTASKS='" + slurm_ntasks + "' is not a positive integer";
  }
  if (n != world_size) {
    return "SLURM_NTASKS=" + std::to_string(n) + " but the MPI world size is " +
           std::to_string(world_size) +
           ": the tasks were started as independent singletons. Launch with "
           "`srun --mpi=pmix relapse ...` (see launch/slurm/relapse.sbatch) or run outside Slurm.";
  }
  return "";
}

Runtime::Runtime(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    owns_mpi_ = true;
  }
  // Errors in MPI calls return codes instead of aborting silently; relapse
  // turns them into relapse::Error with the call site.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size_);
  g_runtime = this;
  log_set_rank(rank_, world_size_);
  // Every rank is here: the one world collective behind run.device=auto's GPU
  // choice, cached for code that later runs on sub-communicators.
  device_world_local_rank();
  // Intra-op threads: RELAPSE_NUM_THREADS, else the cores of this node shared
  // evenly by the ranks on it (libtorch's own default left a 2-core machine
  // running one thread: 7.9k vs 11.8k tokens/s unlearning the quickstart model).
  int threads = env_knobs().num_threads;
  if (threads <= 0) {
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
    int local = 1;
    MPI_Comm_size(node, &local);
    MPI_Comm_free(&node);
    cpu_set_t set;
    int cores = sched_getaffinity(0, sizeof set, &set) == 0
                    ? CPU_COUNT(&set)
                    : static_cast<int>(std::thread::hardware_concurrency());
    threads = std::max(1, cores / std::max(1, local));
  }
  torch::set_num_threads(threads);
  std::string mismatch = runtime_slurm_mismatch(env_knobs().slurm_ntasks, world_size_);
  if (!mismatch.empty()) runtime_abort(ExitCode::kEnvironment, mismatch);
}

Runtime::~Runtime() {
  if (g_runtime == this) g_runtime = nullptr;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (owns_mpi_ && !finalized) MPI_Finalize();
}

Runtime* Runtime::instance() {
  return g_runtime;
}

std::string Runtime::hostname() const {
  char buf[256] = {0};
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}

namespace {
// "relapse: error on rank R of N: MESSAGE (where)" on stderr; returns whether
// MPI is up (initialized, not finalized) and the world size.
bool abort_report(const relapse::Error& err, int* world_out) {
  int rank = g_runtime ? g_runtime->rank() : 0;
  int world = g_runtime ? g_runtime->world_size() : 1;
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!g_runtime && initialized && !finalized) {  // MPI up without a Runtime: ask MPI
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world);
  }
  std::string where = err.where().empty() ? "" : " (" + err.where() + ")";
  std::fprintf(stderr, "relapse: error on rank %d of %d: %s%s\n", rank, world, err.what(),
               where.c_str());
  std::fflush(stderr);
  std::fflush(stdout);
  *world_out = world;
  return initialized && !finalized;
}
}  // namespace

[[noreturn]] void runtime_abort(const relapse::Error& err) {
  int world = 1;
  const bool mpi_up = abort_report(err, &world);
  int code = static_cast<int>(err.code());
  if (mpi_up) {
    // With other ranks, only MPI_Abort is sure to end them (they may be in a
    // collective). Alone, finalize first so mpiexec does not report a process
    // that "exited without calling finalize" on top of the real error.
    if (world > 1) MPI_Abort(MPI_COMM_WORLD, code);
    MPI_Finalize();
  }
  std::_Exit(code);
}

[[noreturn]] void runtime_abort(ExitCode code, const std::string& message) {
  runtime_abort(Error(code, message));
}

[[noreturn]] void runtime_abort_from_thread(ExitCode code, const std::string& message) {
  int world = 1;
  if (abort_report(Error(code, message), &world)) MPI_Abort(MPI_COMM_WORLD, static_cast<int>(code));
  std::_Exit(static_cast<int>(code));
}

}  // namespace relapse
