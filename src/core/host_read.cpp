// src/core/host_read.cpp — device-to-host reads (see relapse/core/host_read.h).
#include "relapse/core/host_read.h"

namespace relapse {

torch::Tensor host_copy(const torch::Tensor& t) {
  if (t.is_meta()) return torch::zeros(t.sizes(), t.options().device(torch::kCPU));
  return t.is_cpu() ? t.contiguous() : t.to(torch::kCPU).contiguous();
}

}  // namespace relapse
