// src/core/provenance.cpp — collects versions, build settings, hosts and time
// into a Provenance record, and renders it as JSON or text.
#include "relapse/core/provenance.h"

#include <mpi.h>

#include <torch/torch.h>
#include <torch/version.h>
#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "relapse/git_version.h"

#ifdef RELAPSE_HAVE_HDF5
#include <hdf5.h>
#endif
#ifdef RELAPSE_HAVE_NCCL
#include <nccl.h>
#endif

namespace relapse {

namespace {

std::string version_libtorch() {
#if defined(TORCH_VERSION)
  return TORCH_VERSION;
#elif defined(TORCH_VERSION_MAJOR)
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
#else
  return "unknown";
#endif
}

std::string version_mpi_library() {
  char buf[MPI_MAX_LIBRARY_VERSION_STRING + 1] = {0};
  int len = 0;
  if (MPI_Get_library_version(buf, &len) != MPI_SUCCESS) return "unknown";
  std::string s(buf, std::min<int>(std::max(len, 0), MPI_MAX_LIBRARY_VERSION_STRING));
  s = s.substr(0, s.find_first_of("\r\n"));
  while (!s.empty() && (s.back() == ' ' || s.back() == ',' || s.back() == '\0')) s.pop_back();
  return s.empty() ? "unknown" : s;
}

std::string version_mpi_standard() {
  int major = 0, minor = 0;
  if (MPI_Get_version(&major, &minor) != MPI_SUCCESS) return "unknown";
  return std::to_string(major) + "." + std::to_string(minor);
}

std::string version_hdf5() {
#ifdef RELAPSE_HAVE_HDF5
  unsigned major = 0, minor = 0, release = 0;
  if (H5get_libversion(&major, &minor, &release) < 0) return "unknown";
  std::string v =
      std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
#ifdef H5_HAVE_PARALLEL
  v += " (parallel)";
#endif
  return v;
#else
  return "not built";
#endif
}

std::string version_nccl() {
#ifdef RELAPSE_HAVE_NCCL
  int v = 0;
  if (ncclGetVersion(&v) != ncclSuccess) return "unknown";
  // NCCL >= 2.9 encodes X.Y.Z as X*10000 + Y*100 + Z, older as X*1000 + Y*100 + Z.
  int major = v >= 10000 ? v / 10000 : v / 1000;
  int rest = v >= 10000 ? v % 10000 : v % 1000;
  return std::to_string(major) + "." + std::to_string(rest / 100) + "." +
         std::to_string(rest % 100);
#else
  return "not built";
#endif
}

std::string build_compiler() {
#if defined(__clang__)
  return std::string("Clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("GCC ") + __VERSION__;
#elif defined(__VERSION__)
  return __VERSION__;
#else
  return "unknown";
#endif
}

std::string build_type() {
#ifdef RELAPSE_BUILD_TYPE
  return RELAPSE_BUILD_TYPE;
#else
  // Not passed by CMake: describe what the compiler saw instead.
  std::string s;
#ifdef __OPTIMIZE__
  s = "optimized";
#else
  s = "unoptimized";
#endif
#ifdef NDEBUG
  s += ", NDEBUG";
#else
  s += ", assertions on";
#endif
  return s;
#endif
}

std::string hostnames_unique_joined(const std::vector<std::string>& hostnames) {
  std::set<std::string> seen;
  std::string out;
  for (const auto& h : hostnames) {
    if (!seen.insert(h).second) continue;
    if (!out.empty()) out += ",";
    out += h;
  }
  return out.empty() ? "unknown" : out;
}

}  // namespace

std::string provenance_utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Provenance provenance_collect(int world_size, const std::vector<std::string>& hostnames,
                              const std::string& command_line) {
  Provenance p;
  auto& f = p.fields;
  f["relapse_version"] = RELAPSE_VERSION;
  f["git_sha"] = RELAPSE_GIT_SHA;
  f["libtorch_version"] = version_libtorch();
  f["mpi_library_version"] = version_mpi_library();
  f["mpi_standard"] = version_mpi_standard();
  f["hdf5_version"] = version_hdf5();
  f["nccl_version"] = version_nccl();
#ifdef RELAPSE_HAVE_CUDA
  f["cuda"] = "built";
#else
  f["cuda"] = "not built";
#endif
  f["libtorch_cuda"] = torch::cuda::is_available()
                           ? std::to_string(torch::cuda::device_count()) + " device(s)"
                           : "not available";
  f["compiler"] = build_compiler();
  f["cxx_standard"] =
      "C++" + std::to_string(__cplusplus / 100 % 100) + " (" + std::to_string(__cplusplus) + "L)";
  f["build_type"] = build_type();
  f["hostnames"] = hostnames_unique_joined(hostnames);
  f["world_size"] = std::to_string(world_size);
  f["start_time"] = provenance_utc_now();
  f["command_line"] = command_line.empty() ? "(none)" : command_line;
  return p;
}

std::string Provenance::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : fields) j[k] = v;
  // Replace invalid UTF-8 (e.g. from a command line) rather than throw.
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Provenance::to_text() const {
  size_t width = 0;
  for (const auto& kv : fields) width = std::max(width, kv.first.size());
  std::ostringstream os;
  for (const auto& [k, v] : fields)
    os << k << ":" << std::string(width - k.size() + 1, ' ') << v << "\n";
  return os.str();
}

}  // namespace relapse
