// tests/fake_device.cpp — the "fakegpu" PrivateUse1 backend (see fake_device.h),
// after PyTorch's open-registration test extension: an allocator, a no-op
// device guard, the factory / copy / view kernels, and a boxed fallback that
// checks devices and runs everything else on the CPU kernels.
#include "fake_device.h"

#include <ATen/EmptyTensor.h>
#include <ATen/detail/PrivateUse1HooksInterface.h>
#include <ATen/native/CPUFallback.h>
#include <ATen/ops/_reshape_alias_native.h>
#include <ATen/ops/as_strided_native.h>
#include <ATen/ops/resize_native.h>
#include <ATen/ops/set_native.h>
#include <ATen/ops/view_native.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <c10/core/impl/alloc_cpu.h>
#include <torch/library.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <string>

namespace relapse::testing {

namespace {

constexpr c10::DeviceType kFake = c10::DeviceType::PrivateUse1;

// Host memory, tagged with the fake device.
struct FakeAllocator final : c10::Allocator {
  c10::DataPtr allocate(size_t n) override {
    void* p = c10::alloc_cpu(n);
    return {p, p, &c10::free_cpu, c10::Device(kFake, 0)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &c10::free_cpu; }
  void copy_data(void* dst, const void* src, std::size_t n) const override {
    std::memcpy(dst, src, n);
  }
};
FakeAllocator g_alloc;

// One device, one stream, synchronous: events (autograd records them on
// non-CPU devices) are complete as soon as they are recorded.
struct FakeGuardImpl final : c10::impl::NoOpDeviceGuardImpl<kFake> {
  c10::Device exchangeDevice(c10::Device) const override { return c10::Device(kFake, 0); }
  c10::Device getDevice() const override { return c10::Device(kFake, 0); }
  c10::Stream getStream(c10::Device) const noexcept override {
    return c10::Stream(c10::Stream::DEFAULT, c10::Device(kFake, 0));
  }
  c10::Stream getNewStream(c10::Device, int) const override {
    return c10::Stream(c10::Stream::DEFAULT, c10::Device(kFake, 0));
  }
  c10::Stream exchangeStream(c10::Stream) const noexcept override {
    return c10::Stream(c10::Stream::DEFAULT, c10::Device(kFake, 0));
  }
  void record(void**, const c10::Stream&, const c10::DeviceIndex,
              const c10::EventFlag) const override {}
  void block(void*, const c10::Stream&) const override {}
  bool queryEvent(void*) const override { return true; }
  void destroyEvent(void*, const c10::DeviceIndex) const noexcept override {}
  void synchronizeEvent(void*) const override {}
};
C10_REGISTER_GUARD_IMPL(PrivateUse1, FakeGuardImpl);

// What autograd and the allocator ask of a backend: one device, always ready.
struct FakeHooks final : at::PrivateUse1HooksInterface {
  bool isBuilt() const override { return true; }
  bool isAvailable() const override { return true; }
  bool hasPrimaryContext(c10::DeviceIndex) const override { return true; }
  c10::DeviceIndex deviceCount() const override { return 1; }
  at::Device getDeviceFromPtr(void*) const override { return at::Device(kFake, 0); }
  void resizePrivateUse1Bytes(const c10::Storage& storage, size_t newsize) const override {
    // Host memory: a new buffer, the old bytes copied over.
    c10::DataPtr fresh = g_alloc_ptr()->allocate(newsize);
    const size_t keep = std::min(newsize, storage.nbytes());
    if (keep > 0) std::memcpy(fresh.get(), storage.data(), keep);
    const_cast<c10::Storage&>(storage).set_data_ptr_noswap(std::move(fresh));
    const_cast<c10::Storage&>(storage).set_nbytes(newsize);
  }
  static c10::Allocator* g_alloc_ptr();
};

at::Tensor fake_empty(c10::IntArrayRef size, std::optional<at::ScalarType> dtype,
                      std::optional<at::Layout>, std::optional<at::Device>, std::optional<bool>,
                      std::optional<at::MemoryFormat> mf) {
  return at::detail::empty_generic(size, &g_alloc,
                                   c10::DispatchKeySet(c10::DispatchKey::PrivateUse1),
                                   c10::dtype_or_default(dtype), mf);
}

at::Tensor fake_empty_strided(c10::IntArrayRef size, c10::IntArrayRef stride,
                              std::optional<at::ScalarType> dtype, std::optional<at::Layout>,
                              std::optional<at::Device>, std::optional<bool>) {
  return at::detail::empty_strided_generic(size, stride, &g_alloc,
                                           c10::DispatchKeySet(c10::DispatchKey::PrivateUse1),
                                           c10::dtype_or_default(dtype));
}

// A CPU tensor over the same bytes (both devices are host memory).
at::Tensor host_alias(const at::Tensor& t) {
  if (t.is_cpu()) return t;
  return at::from_blob(t.data_ptr(), t.sizes(), t.strides(), t.options().device(at::kCPU));
}

at::Tensor fake_copy_from(const at::Tensor& self, const at::Tensor& dst, bool) {
  host_alias(dst).copy_(host_alias(self));
  return dst;
}

at::Tensor fake_copy_from_and_resize(const at::Tensor& self, const at::Tensor& dst) {
  at::native::resize_(dst, self.sizes(), std::nullopt);
  return fake_copy_from(self, dst, false);
}

const at::Tensor& fake_resize(const at::Tensor& self, c10::IntArrayRef size,
                              std::optional<at::MemoryFormat> mf) {
  return at::native::resize_(self, size, mf);
}

at::Tensor& fake_set_storage(at::Tensor& self, at::Storage source, int64_t offset,
                             c10::IntArrayRef size, c10::IntArrayRef stride) {
  return at::native::set_storage_cpu_(self, std::move(source), offset, size, stride);
}

// CUDA accepts CPU index tensors in advanced indexing; everything else must agree.
bool allows_host_indices(const std::string& op) {
  return op == "aten::index.Tensor" || op == "aten::index_put_" || op == "aten::_index_put_impl_" ||
         op == "aten::index_put";
}

void check_devices(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  const size_t n = op.schema().arguments().size();
  bool fake = false, host = false;
  auto see = [&](const at::Tensor& t) {
    if (!t.defined()) return;
    if (t.device().type() == kFake) fake = true;
    if (t.is_cpu() && t.dim() > 0) host = true;
  };
  for (auto it = stack->end() - static_cast<std::ptrdiff_t>(n); it != stack->end(); ++it) {
    if (it->isTensor()) {
      see(it->toTensor());
    } else if (it->isList()) {
      for (const auto& e : it->toListRef())
        if (e.isTensor()) see(e.toTensor());
    }
  }
  std::string name = op.operator_name().name;
  if (!op.operator_name().overload_name.empty()) name += "." + op.operator_name().overload_name;
  TORCH_CHECK(!(fake && host) || allows_host_indices(name),
              "Expected all tensors to be on the same device, but found at least two devices, "
              "fakegpu:0 and cpu! (in ",
              name, ")");
}

void fake_fallback(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  check_devices(op, stack);
  at::native::cpu_fallback(op, stack);
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("empty.memory_format", &fake_empty);
  m.impl("empty_strided", &fake_empty_strided);
  m.impl("_copy_from", &fake_copy_from);
  m.impl("_copy_from_and_resize", &fake_copy_from_and_resize);
  m.impl("resize_", &fake_resize);
  m.impl("set_.source_Storage_storage_offset", &fake_set_storage);
  m.impl("as_strided", at::native::as_strided_tensorimpl);
  m.impl("view", at::native::view);
  m.impl("_reshape_alias", at::native::_reshape_alias);
}

TORCH_LIBRARY_IMPL(_, PrivateUse1, m) {
  m.fallback(torch::CppFunction::makeFromBoxedFunction<&fake_fallback>());
}

c10::Allocator* FakeHooks::g_alloc_ptr() {
  return &g_alloc;
}

torch::Device fake_device() {
  static const bool registered = [] {
    c10::SetAllocator(kFake, &g_alloc);
    at::RegisterPrivateUse1HooksInterface(new FakeHooks());
    c10::register_privateuse1_backend("fakegpu");
    return true;
  }();
  (void)registered;
  return torch::Device(kFake, 0);
}

}  // namespace relapse::testing
