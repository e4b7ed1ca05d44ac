// relapse/core/provenance.h — what produced a result: relapse version and git
// SHA, library versions (libtorch, MPI, HDF5, NCCL), compiler and build, the
// hosts and world size, start time and command line. Written to every archive
// (/provenance attributes) and printed by `relapse --version`-like commands.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace relapse {

struct Provenance {
  std::map<std::string, std::string> fields;  // key -> value, all strings

  // A JSON object of the fields (keys sorted).
  std::string to_json() const;
  // One "key: value" line per field, keys sorted and aligned.
  std::string to_text() const;
};

// Collects the provenance of this process. hostnames is one entry per rank in
// rank order (runtime_gather_hostnames() in relapse/dist/hostnames.h); the
// field "hostnames" lists the unique names, comma-joined, in first-rank order.
// Keys: relapse_version, git_sha, libtorch_version, mpi_library_version,
// mpi_standard, hdf5_version, nccl_version, cuda, libtorch_cuda, compiler,
// cxx_standard, build_type, hostnames, world_size, start_time, command_line.
// Not collective; safe to call before MPI_Init.
Provenance provenance_collect(int world_size, const std::vector<std::string>& hostnames,
                              const std::string& command_line);

// The current UTC time as ISO-8601, e.g. "2025-03-01T12:34:56Z".
std::string provenance_utc_now();

}  // namespace relapse
