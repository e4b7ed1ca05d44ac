// tests/fake_device.h — a GPU stand-in for catching device bugs without a GPU
// (issue 17): libtorch's PrivateUse1 backend registered as "fakegpu", whose
// tensors live in host memory but on their own device. Every op runs the CPU
// kernel on the same bytes (at::native::cpu_fallback), so results equal the
// CPU's bit for bit, and — as on CUDA — an op that meets a fakegpu tensor and
// a CPU tensor (other than a 0-dim scalar, or CPU indices of advanced
// indexing) throws "Expected all tensors to be on the same device". A tensor
// created without the model's device therefore fails a test run on fakegpu,
// naming the op. The meta device is no substitute in C++: libtorch has no
// meta kernel for index_select (embedding), and mm/linear of a meta and a CPU
// tensor do not throw.
#pragma once
#include <torch/torch.h>

namespace relapse::testing {

// The device (registers the backend on first use).
torch::Device fake_device();

}  // namespace relapse::testing
