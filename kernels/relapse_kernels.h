// kernels/relapse_kernels.h — the one interface of relapse's quantization
// kernels: RTN quantize, pack/unpack of integer codes into int32 words (the
// GPTQ checkpoint layout), and dequantize (from codes, or straight from the
// packed GPTQ tensors). Every kernel has a CPU reference (kernels/cpu/) and a
// CUDA version (kernels/cuda/, built with RELAPSE_WITH_CUDA) doing the same
// fp32 arithmetic in the same order, so both give the same bits.
//
// Plain C++17, no torch: usable from nvcc and from code that does not link
// torch. Arrays are dense row-major. `_cpu` functions take host pointers,
// `_cuda` functions device pointers (run on the current device's default
// stream, synchronized before returning; a CUDA error throws
// std::runtime_error naming the kernel). Without CUDA the `_cuda` functions
// exist and throw std::runtime_error saying relapse was built without CUDA.
// Bad arguments (bits, group size, shapes) throw std::invalid_argument.
#pragma once
#include <cstddef>
#include <cstdint>

namespace relapse::kernels {

// True when built with CUDA and at least one CUDA device is visible.
bool kernels_cuda_available();

enum class Device { kCpu, kCuda };

// ---- RTN quantize -----------------------------------------------------------
// Bit-for-bit relapse::quant::rtn_quantize (src/quant/rtn.cpp) on an fp32
// weight w [rows, cols], groups of `group_size` consecutive columns
// (group_size divides cols; n_groups = cols / group_size), bits 2..8:
//  - kSym: Δ = absmax / 2^(b−1); q = rint(w / Δ) (unclamped: [−2^(b−1), 2^(b−1)]);
//    all-zero group: Δ = 0, q = 0.
//  - kSymClamp: the same Δ, q clamped to [−2^(b−1), 2^(b−1) − 1].
//  - kAsym (AutoGPTQ's Quantizer): xmin = min(min w, 0), xmax = max(max w, 0),
//    both 0 -> −1, +1; scale = (xmax − xmin) / (2^b − 1); zero = rint(−xmin / scale);
//    q = clamp(rint(w / scale) + zero, 0, 2^b − 1).
// dequant = Δ·q (sym) or scale·(q − zero) (asym). rint rounds half to even.
// Outputs: codes int32 [rows, cols], scales fp32 [rows, n_groups], zeros int32
// [rows, n_groups] (kAsym only; may be null for the symmetric kinds), dequant
// fp32 [rows, cols] (may be null).
enum class RtnKind { kSym, kSymClamp, kAsym };

void rtn_quantize_cpu(const float* w, int64_t rows, int64_t cols, int64_t group_size, int bits,
                      RtnKind kind, int32_t* codes, float* scales, int32_t* zeros, float* dequant);
void rtn_quantize_cuda(const float* w, int64_t rows, int64_t cols, int64_t group_size, int bits,
                       RtnKind kind, int32_t* codes, float* scales, int32_t* zeros, float* dequant);
void rtn_quantize(Device d, const float* w, int64_t rows, int64_t cols, int64_t group_size,
                  int bits, RtnKind kind, int32_t* codes, float* scales, int32_t* zeros,
                  float* dequant);

// ---- pack / unpack ----------------------------------------------------------
// bits ∈ {2, 4, 8}: k = 32 / bits codes per int32 word, code j of a word at
// bit offset bits·j (AutoGPTQ QuantLinear.pack, auto_gptq/nn_modules/qlinear/
// qlinear_cuda_old.py). Each code is masked to its low `bits` bits before
// packing (AutoGPTQ does not mask: an out-of-range code, e.g. the −1 of a zero
// point 0 stored as zero − 1, would spill into the higher codes of its word;
// here it only affects its own field). Unpack gives unsigned codes in
// [0, 2^bits − 1].
//
// Along rows (GPTQ qweight): codes [rows, cols], rows % k == 0 ->
//   packed [rows / k, cols]; word (r, c) holds codes (r·k + j, c), j = 0..k−1.
// Along columns (GPTQ qzeros): codes [rows, cols], cols % k == 0 ->
//   packed [rows, cols / k]; word (r, w) holds codes (r, w·k + j).
void pack_rows_cpu(const int32_t* codes, int64_t rows, int64_t cols, int bits, int32_t* packed);
void unpack_rows_cpu(const int32_t* packed, int64_t rows, int64_t cols, int bits, int32_t* codes);
void pack_cols_cpu(const int32_t* codes, int64_t rows, int64_t cols, int bits, int32_t* packed);
void unpack_cols_cpu(const int32_t* packed, int64_t rows, int64_t cols, int bits, int32_t* codes);
void pack_rows_cuda(const int32_t* codes, int64_t rows, int64_t cols, int bits, int32_t* packed);
void unpack_rows_cuda(const int32_t* packed, int64_t rows, int64_t cols, int bits, int32_t* codes);
void pack_cols_cuda(const int32_t* codes, int64_t rows, int64_t cols, int bits, int32_t* packed);
void unpack_cols_cuda(const int32_t* packed, int64_t rows, int64_t cols, int bits, int32_t* codes);
// (rows, cols are always the UNPACKED shape.)

// ---- dequantize -------------------------------------------------------------
// From codes: w[o, c] = scales[o, g] · (float)(codes[o, c] − zeros[o, g]) with
// g = g_idx[c] (g_idx null: g = c / group_size), zeros null = 0. codes
// [out, in] int32, scales [out, n_groups] fp32, zeros [out, n_groups] int32,
// g_idx [in] int32 (each in [0, n_groups)), out fp32 [out, in]. Equals
// relapse::quant::rtn_dequantize (the integer difference is exact in fp32).
void dequantize_cpu(const int32_t* codes, const float* scales, const int32_t* zeros,
                    const int32_t* g_idx, int64_t out, int64_t in, int64_t group_size, float* w);
void dequantize_cuda(const int32_t* codes, const float* scales, const int32_t* zeros,
                     const int32_t* g_idx, int64_t out, int64_t in, int64_t group_size, float* w);

// From the packed GPTQ tensors (checkpoint_format "gptq", i.e. v1): qweight
// int32 [in·bits/32, out], qzeros int32 [n_groups, out·bits/32] holding
// zero − 1, scales fp32 [n_groups, out] (the checkpoint's fp16 widened),
// g_idx int32 [in]. As AutoGPTQ's torch forward (qlinear_cuda.py):
//   w[o, c] = scales[g, o] · (q(c, o) − (qz(g, o) + 1)), g = g_idx[c],
// where q and qz are the unpacked fields. The result is the nn.Linear weight
// layout fp32 [out, in]. (v1 cannot store a zero point 0: its field holds
// 2^bits − 1 after masking and reads back as 2^bits, as every v1 loader reads it.)
void dequantize_gptq_cpu(const int32_t* qweight, const int32_t* qzeros, const float* scales,
                         const int32_t* g_idx, int64_t in, int64_t out, int64_t n_groups, int bits,
                         float* w);
void dequantize_gptq_cuda(const int32_t* qweight, const int32_t* qzeros, const float* scales,
                          const int32_t* g_idx, int64_t in, int64_t out, int64_t n_groups, int bits,
                          float* w);

// ---- device memory helpers (for tests and callers without the CUDA headers) --
// Throw std::runtime_error without CUDA or on a CUDA error.
void* cuda_alloc(size_t bytes);
void cuda_free(void* p);
void cuda_copy_to_device(void* dst, const void* src, size_t bytes);
void cuda_copy_to_host(void* dst, const void* src, size_t bytes);

// ---- argument checks shared by the CPU and CUDA entry points (internal) -----
namespace detail {
// Throw std::invalid_argument naming the function and the bad value.
void check_rtn_args(const char* fn, int64_t rows, int64_t cols, int64_t group_size, int bits);
void check_pack_args(const char* fn, int64_t rows, int64_t cols, int bits, bool along_rows);
void check_dequant_args(const char* fn, int64_t out, int64_t in, int64_t group_size);
void check_gptq_args(const char* fn, int64_t in, int64_t out, int64_t n_groups, int bits);
}  // namespace detail

}  // namespace relapse::kernels
