// kernels/cpu/pack_cpu.cpp — CPU reference of packing integer codes into int32
// words and back, and of dequantize (from codes, and from the packed GPTQ
// tensors). Layout as AutoGPTQ's QuantLinear.pack (auto_gptq/nn_modules/
// qlinear/qlinear_cuda_old.py): 32/bits codes per word, code j at bit offset
// bits·j; qweight packs along the input dim (rows of codes^T), qzeros along
// the output dim. Dequantize from packed follows AutoGPTQ's torch forward
// (qlinear_cuda.py): scales[g_idx] · (q − (qzeros field + 1)).
#include <stdexcept>
#include <string>

#include "relapse_kernels.h"

namespace relapse::kernels {

namespace {

inline uint32_t field(uint32_t word, int bits, int j) {
  return (word >> (bits * j)) & ((1u << bits) - 1u);
}

}  // namespace

void pack_rows_cpu(const int32_t* codes, int64_t rows, int64_t cols, int bits, int32_t* packed) {
  detail::check_pack_args("pack_rows_cpu", rows, cols, bits, true);
  const int k = 32 / bits;
  const uint32_t mask = (1u << bits) - 1u;
  for (int64_t pr = 0; pr < rows / k; ++pr)
    for (int64_t c = 0; c < cols; ++c) {
      uint32_t word = 0;
      for (int j = 0; j < k; ++j)
        word |= (static_cast<uint32_t>(codes[(pr * k + j) * cols + c]) & mask) << (bits * j);
      packed[pr * cols + c] = static_cast<int32_t>(word);
    }
}

void unpack_rows_cpu(const int32_t* packed, int64_t rows, int64_t cols, int bits, int32_t* codes) {
  detail::check_pack_args("unpack_rows_cpu", rows, cols, bits, true);
  const int k = 32 / bits;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      codes[r * cols + c] = static_cast<int32_t>(
          field(static_cast<uint32_t>(packed[(r / k) * cols + c]), bits, static_cast<int>(r % k)));
}

void pack_cols_cpu(const int32_t* codes, int64_t rows, int64_t cols, int bits, int32_t* packed) {
  detail::check_pack_args("pack_cols_cpu", rows, cols, bits, false);
  const int k = 32 / bits;
  const uint32_t mask = (1u << bits) - 1u;
  const int64_t pc = cols / k;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t w = 0; w < pc; ++w) {
      uint32_t word = 0;
      for (int j = 0; j < k; ++j)
        word |= (static_cast<uint32_t>(codes[r * cols + w * k + j]) & mask) << (bits * j);
      packed[r * pc + w] = static_cast<int32_t>(word);
    }
}

void unpack_cols_cpu(const int32_t* packed, int64_t rows, int64_t cols, int bits, int32_t* codes) {
  detail::check_pack_args("unpack_cols_cpu", rows, cols, bits, false);
  const int k = 32 / bits;
  const int64_t pc = cols / k;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      codes[r * cols + c] = static_cast<int32_t>(
          field(static_cast<uint32_t>(packed[r * pc + c / k]), bits, static_cast<int>(c % k)));
}

void dequantize_cpu(const int32_t* codes, const float* scales, const int32_t* zeros,
                    const int32_t* g_idx, int64_t out, int64_t in, int64_t group_size, float* w) {
  detail::check_dequant_args("dequantize_cpu", out, in, group_size);
  const int64_t ng = in / group_size;
  for (int64_t c = 0; c < in; ++c) {
    const int64_t g = g_idx ? g_idx[c] : c / group_size;
    if (g < 0 || g >= ng)
      throw std::invalid_argument("relapse::kernels::dequantize_cpu: g_idx[" + std::to_string(c) +
                                  "] = " + std::to_string(g) + " is outside [0, " +
                                  std::to_string(ng) + ")");
  }
  for (int64_t o = 0; o < out; ++o)
    for (int64_t c = 0; c < in; ++c) {
      const int64_t g = g_idx ? g_idx[c] : c / group_size;
      const int32_t z = zeros ? zeros[o * ng + g] : 0;
      w[o * in + c] = scales[o * ng + g] * static_cast<float>(codes[o * in + c] - z);
    }
}

void dequantize_gptq_cpu(const int32_t* qweight, const int32_t* qzeros, const float* scales,
                         const int32_t* g_idx, int64_t in, int64_t out, int64_t n_groups, int bits,
                         float* w) {
  detail::check_gptq_args("dequantize_gptq_cpu", in, out, n_groups, bits);
  const int k = 32 / bits;
  const int64_t zc = out / k;
  for (int64_t c = 0; c < in; ++c)
    if (g_idx[c] < 0 || g_idx[c] >= n_groups)
      throw std::invalid_argument("relapse::kernels::dequantize_gptq_cpu: g_idx[" +
                                  std::to_string(c) + "] = " + std::to_string(g_idx[c]) +
                                  " is outside [0, " + std::to_string(n_groups) + ")");
  for (int64_t o = 0; o < out; ++o)
    for (int64_t c = 0; c < in; ++c) {
      const int64_t g = g_idx[c];
      const int32_t q = static_cast<int32_t>(
          field(static_cast<uint32_t>(qweight[(c / k) * out + o]), bits, static_cast<int>(c % k)));
      const int32_t z = static_cast<int32_t>(field(static_cast<uint32_t>(qzeros[g * zc + o / k]),
                                                   bits, static_cast<int>(o % k))) +
                        1;
      w[o * in + c] = scales[g * out + o] * static_cast<float>(q - z);
    }
}

}  // namespace relapse::kernels
