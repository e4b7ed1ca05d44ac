// relapse/core/host_read.h — the one way a device result reaches the host: a
// copy to the CPU (one transfer per call, which waits for the device). Hot
// paths read whole result tensors this way, never element by element.
// Meta tensors (the device-placement test, tests/unlearn/test_device_placement.cpp)
// carry no data: they read as zeros, so that test can run the whole control
// flow of training, generation and quantization on the meta device.
#pragma once
#include <torch/torch.h>

namespace relapse {

torch::Tensor host_copy(const torch::Tensor& t);

template <typename T>
T host_scalar(const torch::Tensor& t) {
  return host_copy(t).item<T>();
}

}  // namespace relapse
