// kernels/cpu/checks.cpp — argument checks shared by the CPU and CUDA entry
// points of relapse_kernels.h, and the Device dispatch.
#include <stdexcept>
#include <string>

#include "relapse_kernels.h"

namespace relapse::kernels::detail {

namespace {

[[noreturn]] void bad(const char* fn, const std::string& what) {
  throw std::invalid_argument(std::string("relapse::kernels::") + fn + ": " + what);
}

}  // namespace

void check_rtn_args(const char* fn, int64_t rows, int64_t cols, int64_t group_size, int bits) {
  if (bits < 2 || bits > 8) bad(fn, "bits must be in 2..8, got " + std::to_string(bits));
  if (rows < 0 || cols <= 0)
    bad(fn, "bad shape [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
  if (group_size <= 0 || cols % group_size != 0)
    bad(fn, "group_size " + std::to_string(group_size) + " does not divide cols " +
                std::to_string(cols));
}

void check_pack_args(const char* fn, int64_t rows, int64_t cols, int bits, bool along_rows) {
  if (bits != 2 && bits != 4 && bits != 8)
    bad(fn, "pack/unpack needs bits 2, 4 or 8, got " + std::to_string(bits));
  if (rows < 0 || cols < 0)
    bad(fn, "bad shape [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
  const int64_t k = 32 / bits;
  const int64_t n = along_rows ? rows : cols;
  if (n % k != 0)
    bad(fn, std::string(along_rows ? "rows " : "cols ") + std::to_string(n) +
                " is not a multiple of " + std::to_string(k) + " (codes per int32 word at " +
                std::to_string(bits) + " bits)");
}

void check_dequant_args(const char* fn, int64_t out, int64_t in, int64_t group_size) {
  if (out < 0 || in <= 0)
    bad(fn, "bad shape [" + std::to_string(out) + ", " + std::to_string(in) + "]");
  if (group_size <= 0 || in % group_size != 0)
    bad(fn,
        "group_size " + std::to_string(group_size) + " does not divide in " + std::to_string(in));
}

void check_gptq_args(const char* fn, int64_t in, int64_t out, int64_t n_groups, int bits) {
  check_pack_args(fn, in, out, bits, true);
  check_pack_args(fn, n_groups, out, bits, false);
  if (n_groups <= 0) bad(fn, "n_groups must be positive, got " + std::to_string(n_groups));
}

}  // namespace relapse::kernels::detail

namespace relapse::kernels {

void rtn_quantize(Device d, const float* w, int64_t rows, int64_t cols, int64_t group_size,
                  int bits, RtnKind kind, int32_t* codes, float* scales, int32_t* zeros,
                  float* dequant) {
  if (d == Device::kCuda)
    rtn_quantize_cuda(w, rows, cols, group_size, bits, kind, codes, scales, zeros, dequant);
  else
    rtn_quantize_cpu(w, rows, cols, group_size, bits, kind, codes, scales, zeros, dequant);
}

}  // namespace relapse::kernels
