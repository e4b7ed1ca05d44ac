// tests/dist/fail_one_rank.cpp — a standalone MPI program (not GoogleTest) that
// checks "one failing rank ends the whole job". Usage: fail_one_rank [RANK]
// Rank RANK throws a relapse::Error (kInput) that is caught at top level and
// passed to runtime_abort, while every other rank waits in MPI_Barrier — they
// would wait forever unless the abort takes the job down. Without RANK (or
// with a rank outside the world) every rank passes the barrier and exits 0.
// tests/dist/check_exit.cmake runs it and checks exit status, time and stderr.
#include <mpi.h>

#include <cstdio>
#include <cstdlib>

#include "relapse/core/error.h"
#include "relapse/dist/runtime.h"

int main(int argc, char** argv) {
  // Constructed outside the try block on purpose: an exception leaving the
  // block must not run ~Runtime (MPI_Finalize) before runtime_abort.
  relapse::Runtime runtime(&argc, &argv);
  try {
    int fail_rank = -1;
    if (argc > 1) {
      char* end = nullptr;
      long v = std::strtol(argv[1], &end, 10);
      RELAPSE_CHECK_INPUT(end != argv[1] && *end == '\0', "fail_one_rank: bad rank argument '",
                          argv[1], "'");
      fail_rank = static_cast<int>(v);
    }
    RELAPSE_CHECK_INPUT(runtime.rank() != fail_rank, "deliberate failure on rank ", runtime.rank());
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    RELAPSE_CHECK_CODE(relapse::ExitCode::kRuntime, rc == MPI_SUCCESS, "MPI_Barrier failed (code ",
                       rc, ")");
    if (runtime.rank() == 0)
      std::printf("fail_one_rank: all %d ranks passed the barrier\n", runtime.world_size());
  } catch (const relapse::Error& e) {
    relapse::runtime_abort(e);
  }
  return 0;
}
