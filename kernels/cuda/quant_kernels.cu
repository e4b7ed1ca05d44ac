// kernels/cuda/quant_kernels.cu — CUDA versions of the quantization kernels of
// relapse_kernels.h. Each does the arithmetic of its CPU reference
// (kernels/cpu/) in the same order with explicitly rounded intrinsics
// (__fdiv_rn, __fmul_rn, __fadd_rn, __fsub_rn: IEEE round-to-nearest, never
// contracted into an FMA nor replaced by an approximate division, whatever
// --use_fast_math / --fmad say) and rintf (round half to even, as
// std::nearbyint). Min/max reductions are exact in any order. So every output
// equals the CPU reference bit for bit; pack/unpack are pure integer code.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "relapse_kernels.h"

namespace relapse::kernels {

namespace {

void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    throw std::runtime_error(std::string("relapse::kernels::") + what +
                             ": CUDA error: " + cudaGetErrorString(e));
}

// Launch check + synchronize (the kernels are short; callers get finished results).
void launch_check(const char* what) {
  cuda_check(cudaGetLastError(), what);
  cuda_check(cudaDeviceSynchronize(), what);
}

unsigned grid_for(int64_t n, int threads) {
  int64_t b = (n + threads - 1) / threads;
  if (b > 65535LL * 16) b = 65535LL * 16;  // grid-stride loops cover the rest
  return static_cast<unsigned>(b < 1 ? 1 : b);
}

// One warp per (row, group): lanes stride over the group's elements.
__global__ void rtn_kernel(const float* __restrict__ w, int64_t rows, int64_t cols, int64_t gs,
                           int bits, int kind, int32_t* __restrict__ codes,
                           float* __restrict__ scales, int32_t* __restrict__ zeros,
                           float* __restrict__ dequant) {
  const int lane = threadIdx.x & 31;
  const int64_t ng = cols / gs;
  const int64_t n_warps_total = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  const float maxq = static_cast<float>((1 << bits) - 1);
  const float half = static_cast<float>(1 << (bits - 1));
  for (int64_t id = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
       id < rows * ng; id += n_warps_total) {
    const int64_t r = id / ng, g = id % ng;
    const float* x = w + r * cols + g * gs;
    int32_t* q_out = codes + r * cols + g * gs;
    float* d_out = dequant ? dequant + r * cols + g * gs : nullptr;
    if (kind == static_cast<int>(RtnKind::kAsym)) {
      float xmin = x[0], xmax = x[0];
      for (int64_t i = lane; i < gs; i += 32) {
        xmin = fminf(xmin, x[i]);
        xmax = fmaxf(xmax, x[i]);
      }
      for (int off = 16; off > 0; off >>= 1) {
        xmin = fminf(xmin, __shfl_xor_sync(0xffffffffu, xmin, off));
        xmax = fmaxf(xmax, __shfl_xor_sync(0xffffffffu, xmax, off));
      }
      xmin = fminf(xmin, 0.0f);
      xmax = fmaxf(xmax, 0.0f);
      if (xmin == 0.0f && xmax == 0.0f) {
        xmin = -1.0f;
        xmax = 1.0f;
      }
      const float scale = __fdiv_rn(__fsub_rn(xmax, xmin), maxq);
      const float zero = rintf(__fdiv_rn(-xmin, scale));
      for (int64_t i = lane; i < gs; i += 32) {
        float q = __fadd_rn(rintf(__fdiv_rn(x[i], scale)), zero);
        q = fminf(fmaxf(q, 0.0f), maxq);
        q_out[i] = static_cast<int32_t>(q);
        if (d_out) d_out[i] = __fmul_rn(scale, __fsub_rn(q, zero));
      }
      if (lane == 0) {
        scales[r * ng + g] = scale;
        zeros[r * ng + g] = static_cast<int32_t>(zero);
      }
    } else {
      float amax = 0.0f;
      for (int64_t i = lane; i < gs; i += 32) amax = fmaxf(amax, fabsf(x[i]));
      for (int off = 16; off > 0; off >>= 1)
        amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
      const float delta = __fdiv_rn(amax, half);
      const float safe = delta == 0.0f ? 1.0f : delta;
      for (int64_t i = lane; i < gs; i += 32) {
        float q = rintf(__fdiv_rn(x[i], safe));
        if (kind == static_cast<int>(RtnKind::kSymClamp))
          q = fminf(fmaxf(q, -half), __fsub_rn(half, 1.0f));
        q_out[i] = static_cast<int32_t>(q);
        if (d_out) d_out[i] = __fmul_rn(delta, q);
      }
      if (lane == 0) {
        scales[r * ng + g] = delta;
        if (zeros) zeros[r * ng + g] = 0;
      }
    }
  }
}

__device__ __forceinline__ uint32_t field(uint32_t word, int bits, int j) {
  return (word >> (bits * j)) & ((1u << bits) - 1u);
}

// One thread per packed word. along_rows: word (pr, c) <- codes (pr*k + j, c);
// else word (r, w) <- codes (r, w*k + j).
__global__ void pack_kernel(const int32_t* __restrict__ codes, int64_t rows, int64_t cols, int bits,
                            bool along_rows, int32_t* __restrict__ packed) {
  const int k = 32 / bits;
  const uint32_t mask = (1u << bits) - 1u;
  const int64_t n = rows * cols / k;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    uint32_t word = 0;
    if (along_rows) {
      const int64_t pr = i / cols, c = i % cols;
      for (int j = 0; j < k; ++j)
        word |= (static_cast<uint32_t>(codes[(pr * k + j) * cols + c]) & mask) << (bits * j);
    } else {
      const int64_t pc = cols / k, r = i / pc, w = i % pc;
      for (int j = 0; j < k; ++j)
        word |= (static_cast<uint32_t>(codes[r * cols + w * k + j]) & mask) << (bits * j);
    }
    packed[i] = static_cast<int32_t>(word);
  }
}

// One thread per code.
__global__ void unpack_kernel(const int32_t* __restrict__ packed, int64_t rows, int64_t cols,
                              int bits, bool along_rows, int32_t* __restrict__ codes) {
  const int k = 32 / bits;
  const int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / cols, c = i % cols;
    const uint32_t word = along_rows ? static_cast<uint32_t>(packed[(r / k) * cols + c])
                                     : static_cast<uint32_t>(packed[r * (cols / k) + c / k]);
    codes[i] =
        static_cast<int32_t>(field(word, bits, static_cast<int>(along_rows ? r % k : c % k)));
  }
}

// One thread per weight element, w [out, in]. A g_idx outside [0, n_groups)
// gives NaN (the CPU reference throws instead).
__global__ void dequant_kernel(const int32_t* __restrict__ codes, const float* __restrict__ scales,
                               const int32_t* __restrict__ zeros, const int32_t* __restrict__ g_idx,
                               int64_t out, int64_t in, int64_t gs, float* __restrict__ w) {
  const int64_t ng = in / gs;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < out * in;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t o = i / in, c = i % in;
    const int64_t g = g_idx ? g_idx[c] : c / gs;
    if (g < 0 || g >= ng) {
      w[i] = __int_as_float(0x7fc00000);
      continue;
    }
    const int32_t z = zeros ? zeros[o * ng + g] : 0;
    w[i] = __fmul_rn(scales[o * ng + g], static_cast<float>(codes[i] - z));
  }
}

__global__ void dequant_gptq_kernel(const int32_t* __restrict__ qweight,
                                    const int32_t* __restrict__ qzeros,
                                    const float* __restrict__ scales,
                                    const int32_t* __restrict__ g_idx, int64_t in, int64_t out,
                                    int64_t n_groups, int bits, float* __restrict__ w) {
  const int k = 32 / bits;
  const int64_t zc = out / k;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < out * in;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t o = i / in, c = i % in;
    const int64_t g = g_idx[c];
    if (g < 0 || g >= n_groups) {
      w[i] = __int_as_float(0x7fc00000);
      continue;
    }
    const int32_t q = static_cast<int32_t>(
        field(static_cast<uint32_t>(qweight[(c / k) * out + o]), bits, static_cast<int>(c % k)));
    const int32_t z = static_cast<int32_t>(field(static_cast<uint32_t>(qzeros[g * zc + o / k]),
                                                 bits, static_cast<int>(o % k))) +
                      1;
    w[i] = __fmul_rn(scales[g * out + o], static_cast<float>(q - z));
  }
}

constexpr int kThreads = 256;

}  // namespace

bool kernels_cuda_available() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return false;
  }
  return n > 0;
}

void rtn_quantize_cuda(const float* w, int64_t rows, int64_t cols, int64_t group_size, int bits,
                       RtnKind kind, int32_t* codes, float* scales, int32_t* zeros,
                       float* dequant) {
  detail::check_rtn_args("rtn_quantize_cuda", rows, cols, group_size, bits);
  if (kind == RtnKind::kAsym && zeros == nullptr)
    throw std::invalid_argument("relapse::kernels::rtn_quantize_cuda: kAsym needs zeros");
  const int64_t n_groups = rows * (cols / group_size);
  if (n_groups == 0) return;
  rtn_kernel<<<grid_for(n_groups * 32, kThreads), kThreads>>>(
      w, rows, cols, group_size, bits, static_cast<int>(kind), codes, scales, zeros, dequant);
  launch_check("rtn_quantize_cuda");
}

void pack_rows_cuda(const int32_t* codes, int64_t rows, int64_t cols, int bits, int32_t* packed) {
  detail::check_pack_args("pack_rows_cuda", rows, cols, bits, true);
  const int64_t n = rows * cols / (32 / bits);
  if (n == 0) return;
  pack_kernel<<<grid_for(n, kThreads), kThreads>>>(codes, rows, cols, bits, true, packed);
  launch_check("pack_rows_cuda");
}

void unpack_rows_cuda(const int32_t* packed, int64_t rows, int64_t cols, int bits, int32_t* codes) {
  detail::check_pack_args("unpack_rows_cuda", rows, cols, bits, true);
  if (rows * cols == 0) return;
  unpack_kernel<<<grid_for(rows * cols, kThreads), kThreads>>>(packed, rows, cols, bits, true,
                                                               codes);
  launch_check("unpack_rows_cuda");
}

void pack_cols_cuda(const int32_t* codes, int64_t rows, int64_t cols, int bits, int32_t* packed) {
  detail::check_pack_args("pack_cols_cuda", rows, cols, bits, false);
  const int64_t n = rows * cols / (32 / bits);
  if (n == 0) return;
  pack_kernel<<<grid_for(n, kThreads), kThreads>>>(codes, rows, cols, bits, false, packed);
  launch_check("pack_cols_cuda");
}

void unpack_cols_cuda(const int32_t* packed, int64_t rows, int64_t cols, int bits, int32_t* codes) {
  detail::check_pack_args("unpack_cols_cuda", rows, cols, bits, false);
  if (rows * cols == 0) return;
  unpack_kernel<<<grid_for(rows * cols, kThreads), kThreads>>>(packed, rows, cols, bits, false,
                                                               codes);
  launch_check("unpack_cols_cuda");
}

void dequantize_cuda(const int32_t* codes, const float* scales, const int32_t* zeros,
                     const int32_t* g_idx, int64_t out, int64_t in, int64_t group_size, float* w) {
  detail::check_dequant_args("dequantize_cuda", out, in, group_size);
  if (out == 0) return;
  dequant_kernel<<<grid_for(out * in, kThreads), kThreads>>>(codes, scales, zeros, g_idx, out, in,
                                                             group_size, w);
  launch_check("dequantize_cuda");
}

void dequantize_gptq_cuda(const int32_t* qweight, const int32_t* qzeros, const float* scales,
                          const int32_t* g_idx, int64_t in, int64_t out, int64_t n_groups, int bits,
                          float* w) {
  detail::check_gptq_args("dequantize_gptq_cuda", in, out, n_groups, bits);
  if (out == 0) return;
  dequant_gptq_kernel<<<grid_for(out * in, kThreads), kThreads>>>(qweight, qzeros, scales, g_idx,
                                                                  in, out, n_groups, bits, w);
  launch_check("dequantize_gptq_cuda");
}

void* cuda_alloc(size_t bytes) {
  void* p = nullptr;
  cuda_check(cudaMalloc(&p, bytes), "cuda_alloc");
  return p;
}

void cuda_free(void* p) {
  if (p) cuda_check(cudaFree(p), "cuda_free");
}

void cuda_copy_to_device(void* dst, const void* src, size_t bytes) {
  cuda_check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "cuda_copy_to_device");
}

void cuda_copy_to_host(void* dst, const void* src, size_t bytes) {
  cuda_check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "cuda_copy_to_host");
}

}  // namespace relapse::kernels
