// kernels/cpu/rtn_cpu.cpp — CPU reference of RTN quantize: the fp32
// operations of relapse::quant::rtn_quantize (src/quant/rtn.cpp, which is
// AutoGPTQ's Quantizer for the asymmetric kind) in the same order, element by
// element, so the results are the same bits. std::nearbyint under the default
// rounding mode is round-half-to-even, as torch.round. Compiled without
// -ffast-math and in ISO C++ mode (GCC then uses -ffp-contract=off), so every
// operation is one correctly rounded IEEE fp32 operation.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "relapse_kernels.h"

namespace relapse::kernels {

namespace {
// Round half to even, = std::nearbyint under the default rounding mode, without
// the libm call: for |v| < 2^22 adding and subtracting 1.5·2^23 leaves v
// rounded to an integer by the fp32 addition itself (ties to even), and the
// loop vectorizes. The sign is put back so that −0.3 gives −0.0 as nearbyint
// does (dequantized values keep their sign bit). |v| >= 2^22 is an integer already.
inline float round_even(float v) {
  const float a = std::fabs(v);
  return a < 4194304.0f ? std::copysign((a + 12582912.0f) - 12582912.0f, v) : v;
}
}  // namespace

void rtn_quantize_cpu(const float* w, int64_t rows, int64_t cols, int64_t group_size, int bits,
                      RtnKind kind, int32_t* codes, float* scales, int32_t* zeros, float* dequant) {
  detail::check_rtn_args("rtn_quantize_cpu", rows, cols, group_size, bits);
  if (kind == RtnKind::kAsym && zeros == nullptr)
    throw std::invalid_argument("relapse::kernels::rtn_quantize_cpu: kAsym needs zeros");
  const int64_t ng = cols / group_size;
  const float maxq = static_cast<float>((1 << bits) - 1);
  const float half = static_cast<float>(1 << (bits - 1));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t g = 0; g < ng; ++g) {
      const float* x = w + r * cols + g * group_size;
      int32_t* q_out = codes + r * cols + g * group_size;
      float* d_out = dequant ? dequant + r * cols + g * group_size : nullptr;
      if (kind == RtnKind::kAsym) {
        float xmin = x[0], xmax = x[0];
        for (int64_t i = 1; i < group_size; ++i) {
          xmin = std::min(xmin, x[i]);
          xmax = std::max(xmax, x[i]);
        }
        xmin = std::min(xmin, 0.0f);
        xmax = std::max(xmax, 0.0f);
        if (xmin == 0.0f && xmax == 0.0f) {
          xmin = -1.0f;
          xmax = 1.0f;
        }
        const float scale = (xmax - xmin) / maxq;
        const float zero = round_even(-xmin / scale);
        for (int64_t i = 0; i < group_size; ++i) {
          float q = round_even(x[i] / scale) + zero;
          q = std::min(std::max(q, 0.0f), maxq);
          q_out[i] = static_cast<int32_t>(q);
          if (d_out) d_out[i] = scale * (q - zero);
        }
        scales[r * ng + g] = scale;
        zeros[r * ng + g] = static_cast<int32_t>(zero);
      } else {
        float amax = 0.0f;
        for (int64_t i = 0; i < group_size; ++i) amax = std::max(amax, std::fabs(x[i]));
        const float delta = amax / half;  // a power of two: exact
        const float safe = delta == 0.0f ? 1.0f : delta;
        for (int64_t i = 0; i < group_size; ++i) {
          float q = round_even(x[i] / safe);
          if (kind == RtnKind::kSymClamp) q = std::min(std::max(q, -half), half - 1.0f);
          q_out[i] = static_cast<int32_t>(q);
          if (d_out) d_out[i] = delta * q;
        }
        scales[r * ng + g] = delta;
        if (zeros) zeros[r * ng + g] = 0;
      }
    }
  }
}

}  // namespace relapse::kernels
