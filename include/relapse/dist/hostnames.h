// relapse/dist/hostnames.h — the host name of every rank, for provenance and
// for grouping ranks by node.
#pragma once
#include <string>
#include <vector>

namespace relapse {

// Collective over MPI_COMM_WORLD (MPI_Allgather of fixed-size buffers): returns
// world_size entries, entry r the host name of rank r (truncated to 255 bytes).
// Throws relapse::Error(kRuntime) when MPI is not initialised or the gather fails.
std::vector<std::string> runtime_gather_hostnames();

}  // namespace relapse
