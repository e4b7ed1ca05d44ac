// relapse/dist/hostnames.h — the host name of every rank, for provenance and
// for grouping ranks by node.
#pragma once
#include <mpi.h>

#include <string>
#include <vector>

namespace relapse {

// Collective over `comm` (MPI_Allgather of fixed-size buffers): returns one
// entry per rank of comm, entry r the host name of rank r (truncated to 255
// bytes). Throws relapse::Error(kRuntime) when MPI is not initialised or the
// gather fails.
std::vector<std::string> runtime_gather_hostnames(MPI_Comm comm = MPI_COMM_WORLD);

}  // namespace relapse
