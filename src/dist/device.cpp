// src/dist/device.cpp — run.device resolution (see relapse/dist/device.h).
#include "relapse/dist/device.h"

#ifdef RELAPSE_DEVICE_CUDART
#include <cuda_runtime.h>
#endif

#include <cstdio>

#include "relapse/core/error.h"
#include "relapse/dist/communicator.h"

namespace relapse {

const std::vector<std::string>& device_setting_names() {
  static const std::vector<std::string> names{"auto", "cpu", "cuda"};
  return names;
}

int device_cuda_count() {
  return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
}

torch::Device device_resolve(const std::string& setting, int local_rank, const std::string& key) {
  if (setting == "cpu") return torch::Device(torch::kCPU);
  RELAPSE_CHECK_CONFIG(setting == "auto" || setting == "cuda", key, ": unknown device '", setting,
                       "' (expected auto, cpu or cuda)");
  const int n = device_cuda_count();
  if (n == 0) {
    RELAPSE_CHECK_CONFIG(
        setting == "auto", key, "=cuda but no CUDA device is visible to this process (libtorch ",
        TORCH_VERSION, "; CUDA_VISIBLE_DEVICES='",
        std::getenv("CUDA_VISIBLE_DEVICES") ? std::getenv("CUDA_VISIBLE_DEVICES") : "",
        "'); use run.device=cpu or auto");
    return torch::Device(torch::kCPU);
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank % n));
}

int device_node_local_rank(MPI_Comm comm) {
  MPI_Comm node;
  RELAPSE_MPI_CHECK(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  int r = 0;
  MPI_Comm_rank(node, &r);
  MPI_Comm_free(&node);
  return r;
}

int device_world_local_rank() {
  static const int local = device_node_local_rank(MPI_COMM_WORLD);
  return local;
}

std::string device_describe(const torch::Device& d) {
  const int n = device_cuda_count();
  if (!d.is_cuda()) {
    return n == 0 ? std::string("cpu (no CUDA device visible)")
                  : "cpu (" + std::to_string(n) + " CUDA device(s) visible, not used)";
  }
  std::string out = d.str();
#ifdef RELAPSE_DEVICE_CUDART
  cudaDeviceProp p;
  if (cudaGetDeviceProperties(&p, d.index()) == cudaSuccess) {
    char buf[384];
    std::snprintf(buf, sizeof(buf), " (%s, sm_%d%d, %.1f GiB)", p.name, p.major, p.minor,
                  static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
    out += buf;
  }
#endif
  return out + " of " + std::to_string(n);
}

void device_synchronize(const torch::Device& d) {
  if (d.is_cuda()) torch::zeros({1}, torch::TensorOptions().device(d)).cpu();
}

}  // namespace relapse
