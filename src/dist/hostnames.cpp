// src/dist/hostnames.cpp — gathers every rank's host name over a communicator.
#include "relapse/dist/hostnames.h"

#include <mpi.h>
#include <unistd.h>

#include <cstring>

#include "relapse/core/error.h"

namespace relapse {

namespace {
constexpr int kHostnameBytes = 256;  // fixed slot per rank, NUL-terminated
}

std::vector<std::string> runtime_gather_hostnames(MPI_Comm comm) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  RELAPSE_CHECK_CODE(
      ExitCode::kRuntime, initialized && !finalized,
      "runtime_gather_hostnames: MPI is not initialised (construct relapse::Runtime first)");
  int world = 0;
  RELAPSE_CHECK_CODE(ExitCode::kRuntime, MPI_Comm_size(comm, &world) == MPI_SUCCESS,
                     "runtime_gather_hostnames: MPI_Comm_size failed");

  std::vector<char> mine(kHostnameBytes, '\0');
  if (gethostname(mine.data(), kHostnameBytes - 1) != 0) std::strcpy(mine.data(), "unknown");
  mine[kHostnameBytes - 1] = '\0';

  std::vector<char> all(static_cast<size_t>(world) * kHostnameBytes, '\0');
  int rc = MPI_Allgather(mine.data(), kHostnameBytes, MPI_CHAR, all.data(), kHostnameBytes,
                         MPI_CHAR, comm);
  RELAPSE_CHECK_CODE(ExitCode::kRuntime, rc == MPI_SUCCESS,
                     "runtime_gather_hostnames: MPI_Allgather failed (code ", rc, ")");

  std::vector<std::string> out;
  out.reserve(world);
  for (int r = 0; r < world; ++r) {
    const char* slot = all.data() + static_cast<size_t>(r) * kHostnameBytes;
    out.emplace_back(slot, strnlen(slot, kHostnameBytes));
  }
  return out;
}

}  // namespace relapse
