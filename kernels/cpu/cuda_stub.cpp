// kernels/cpu/cuda_stub.cpp — the CUDA entry points of relapse_kernels.h in a
// build without CUDA (RELAPSE_WITH_CUDA=OFF): each throws a clear error, and
// kernels_cuda_available() is false. Not compiled when CUDA is on.
#include <stdexcept>
#include <string>

#include "relapse_kernels.h"

namespace relapse::kernels {

namespace {

[[noreturn]] void no_cuda(const char* fn) {
  throw std::runtime_error(std::string("relapse::kernels::") + fn +
                           ": relapse was built without CUDA (RELAPSE_WITH_CUDA=OFF); use the "
                           "_cpu kernels or rebuild with CUDA");
}

}  // namespace

bool kernels_cuda_available() {
  return false;
}

void rtn_quantize_cuda(const float*, int64_t, int64_t, int64_t, int, RtnKind, int32_t*, float*,
                       int32_t*, float*) {
  no_cuda("rtn_quantize_cuda");
}
void pack_rows_cuda(const int32_t*, int64_t, int64_t, int, int32_t*) {
  no_cuda("pack_rows_cuda");
}
void unpack_rows_cuda(const int32_t*, int64_t, int64_t, int, int32_t*) {
  no_cuda("unpack_rows_cuda");
}
void pack_cols_cuda(const int32_t*, int64_t, int64_t, int, int32_t*) {
  no_cuda("pack_cols_cuda");
}
void unpack_cols_cuda(const int32_t*, int64_t, int64_t, int, int32_t*) {
  no_cuda("unpack_cols_cuda");
}
void dequantize_cuda(const int32_t*, const float*, const int32_t*, const int32_t*, int64_t, int64_t,
                     int64_t, float*) {
  no_cuda("dequantize_cuda");
}
void dequantize_gptq_cuda(const int32_t*, const int32_t*, const float*, const int32_t*, int64_t,
                          int64_t, int64_t, int, float*) {
  no_cuda("dequantize_gptq_cuda");
}
void* cuda_alloc(size_t) {
  no_cuda("cuda_alloc");
}
void cuda_free(void* p) {
  if (p) no_cuda("cuda_free");
}
void cuda_copy_to_device(void*, const void*, size_t) {
  no_cuda("cuda_copy_to_device");
}
void cuda_copy_to_host(void*, const void*, size_t) {
  no_cuda("cuda_copy_to_host");
}

}  // namespace relapse::kernels
