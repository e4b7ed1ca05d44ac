// tests/kernels/test_kernels.cpp — the quantization kernels of
// kernels/relapse_kernels.h: the CPU RTN equals relapse::quant::rtn_quantize_torch
// bit for bit (three kinds, bits 8/4/3/2, several group sizes, exact ties and
// all-zero groups); pack/unpack round trip and known words; dequantize equals
// rtn_dequantize (with and without g_idx) and the packed GPTQ dequantize
// equals the unpacked one. On a machine with a CUDA device every CUDA kernel
// is compared with its CPU reference bit for bit (the kernels use explicitly
// rounded fp32 intrinsics in the reference's operation order and exact
// min/max reductions, so there is no tolerance); without one those tests skip
// with a message and the CPU checks still run.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "relapse/quant/rtn.h"
#include "relapse_kernels.h"

namespace relapse::kernels {
namespace {

using quant::RtnScheme;

RtnKind kind_of(RtnScheme s) {
  switch (s) {
    case RtnScheme::kSym:
      return RtnKind::kSym;
    case RtnScheme::kSymClamp:
      return RtnKind::kSymClamp;
    case RtnScheme::kAsym:
      return RtnKind::kAsym;
  }
  return RtnKind::kSym;
}

template <typename T>
std::vector<T> to_vec(const torch::Tensor& t) {
  torch::Tensor c = t.contiguous();
  return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

template <typename T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// A [rows, 64] fp32 weight for `bits`: random normal rows, plus rows made of
// exact ties (w/Δ = k + 0.5 for the symmetric Δ = 0.25 and for the asymmetric
// scale 0.25), an all-zero row (every group all zero), an all-positive row
// (asymmetric zero point 0) and a row of small values crossing zero (−0.0 codes).
torch::Tensor test_weight(int bits) {
  const int64_t cols = 64;
  std::vector<torch::Tensor> rows;
  torch::manual_seed(1234 + bits);
  rows.push_back(torch::randn({4, cols}) * 0.05);
  const float half = static_cast<float>(1 << (bits - 1));
  const int maxq = (1 << bits) - 1;
  // Symmetric ties: absmax = half·0.25 in every group of 8 (so Δ = 0.25 for
  // group sizes 8, 32, 64), the rest at (k + 0.5)·0.25.
  std::vector<float> sym(cols);
  for (int64_t i = 0; i < cols; ++i) {
    if (i % 8 == 0) {
      sym[i] = (i % 16 == 0 ? 1.f : -1.f) * half * 0.25f;
    } else {
      const int k = static_cast<int>(i % static_cast<int64_t>(half));
      sym[i] = (i % 3 == 0 ? -1.f : 1.f) * (k + 0.5f) * 0.25f;
    }
  }
  rows.push_back(torch::tensor(sym).view({1, cols}));
  // Asymmetric ties: xmin = −a·0.25, xmax = (maxq − a)·0.25 in every group of 8
  // (scale = (maxq·0.25)/maxq = 0.25 exactly), the rest at (k + 0.5)·0.25.
  const int a = maxq / 2;
  std::vector<float> asym(cols);
  for (int64_t i = 0; i < cols; ++i) {
    if (i % 8 == 0)
      asym[i] = -a * 0.25f;
    else if (i % 8 == 1)
      asym[i] = (maxq - a) * 0.25f;
    else
      asym[i] = (static_cast<int>(i % maxq) - a + 0.5f) * 0.25f;
    if (asym[i] > (maxq - a) * 0.25f) asym[i] = (maxq - a) * 0.25f;
  }
  rows.push_back(torch::tensor(asym).view({1, cols}));
  rows.push_back(torch::zeros({1, cols}));
  rows.push_back(torch::rand({1, cols}) + 0.01);
  rows.push_back((torch::rand({1, cols}) - 0.5) * 1e-3);
  return torch::cat(rows, 0).contiguous();
}

struct CpuRtn {
  std::vector<int32_t> codes, zeros;
  std::vector<float> scales, dequant;
};

CpuRtn cpu_rtn(const torch::Tensor& w, int64_t gs, int bits, RtnKind kind) {
  const int64_t rows = w.size(0), cols = w.size(1), ng = cols / gs;
  CpuRtn r;
  r.codes.resize(rows * cols);
  r.dequant.resize(rows * cols);
  r.scales.resize(rows * ng);
  r.zeros.resize(rows * ng);
  rtn_quantize_cpu(w.data_ptr<float>(), rows, cols, gs, bits, kind, r.codes.data(), r.scales.data(),
                   r.zeros.data(), r.dequant.data());
  return r;
}

TEST(KernelsRtn, CpuEqualsQuantRtnBitForBit) {
  for (RtnScheme s : {RtnScheme::kSym, RtnScheme::kSymClamp, RtnScheme::kAsym})
    for (int bits : {8, 4, 3, 2}) {
      torch::Tensor w = test_weight(bits);
      for (int64_t gs : {8, 32, 64}) {
        SCOPED_TRACE(quant::rtn_scheme_name(s) + " bits " + std::to_string(bits) + " group " +
                     std::to_string(gs));
        quant::RtnConfig c;
        c.scheme = s;
        c.bits = bits;
        c.group_size = gs;
        quant::RtnResult ref = quant::rtn_quantize_torch(w, c);
        CpuRtn got = cpu_rtn(w, gs, bits, kind_of(s));
        EXPECT_EQ(got.codes, to_vec<int32_t>(ref.codes.to(torch::kInt32)));
        EXPECT_TRUE(same_bits(got.scales, to_vec<float>(ref.scales)));
        EXPECT_TRUE(same_bits(got.dequant, to_vec<float>(ref.dequant)));
        if (s == RtnScheme::kAsym) {
          EXPECT_EQ(got.zeros, to_vec<int32_t>(ref.zeros.to(torch::kInt32)));
        }
      }
    }
}

// The tie rows really are ties (the test would be vacuous otherwise): half of
// their codes come from rounding an exact k + 0.5, and half-to-even decides.
TEST(KernelsRtn, TieRowsRoundHalfToEven) {
  torch::Tensor w = test_weight(4);
  CpuRtn r = cpu_rtn(w, 8, 4, RtnKind::kSym);
  const float* x = w.data_ptr<float>() + 4 * 64;  // the symmetric tie row
  int ties = 0;
  for (int i = 0; i < 64; ++i) {
    const float t = x[i] / 0.25f;
    if (t != std::nearbyint(t)) {
      ++ties;
      EXPECT_EQ(r.codes[4 * 64 + i] % 2, 0) << "tie " << t << " must round to even";
    }
  }
  EXPECT_GT(ties, 32);
  CpuRtn ra = cpu_rtn(w, 8, 4, RtnKind::kAsym);
  EXPECT_EQ(ra.scales[5 * 8], 0.25f);  // the asymmetric tie row's first group
  EXPECT_EQ(ra.zeros[5 * 8], 7);
}

TEST(KernelsRtn, AllZeroGroup) {
  torch::Tensor w = test_weight(4);
  for (RtnKind k : {RtnKind::kSym, RtnKind::kSymClamp, RtnKind::kAsym}) {
    CpuRtn r = cpu_rtn(w, 32, 4, k);
    const int64_t row = 6;  // all zero
    for (int i = 0; i < 64; ++i) EXPECT_EQ(r.dequant[row * 64 + i], 0.f);
    if (k == RtnKind::kAsym) {
      EXPECT_EQ(r.scales[row * 2], 2.f / 15.f);  // xmin = −1, xmax = +1
    } else {
      EXPECT_EQ(r.scales[row * 2], 0.f);
      for (int i = 0; i < 64; ++i) EXPECT_EQ(r.codes[row * 64 + i], 0);
    }
  }
}

TEST(KernelsRtn, BadArgumentsThrow) {
  std::vector<float> w(16);
  std::vector<int32_t> q(16), z(4);
  std::vector<float> s(4);
  EXPECT_THROW(
      rtn_quantize_cpu(w.data(), 1, 16, 5, 4, RtnKind::kSym, q.data(), s.data(), nullptr, nullptr),
      std::invalid_argument);
  EXPECT_THROW(
      rtn_quantize_cpu(w.data(), 1, 16, 4, 9, RtnKind::kSym, q.data(), s.data(), nullptr, nullptr),
      std::invalid_argument);
  EXPECT_THROW(
      rtn_quantize_cpu(w.data(), 1, 16, 4, 4, RtnKind::kAsym, q.data(), s.data(), nullptr, nullptr),
      std::invalid_argument);
  std::vector<int32_t> p(8);
  EXPECT_THROW(pack_rows_cpu(q.data(), 4, 4, 4, p.data()), std::invalid_argument);  // 4 % 8
  EXPECT_THROW(pack_cols_cpu(q.data(), 2, 8, 3, p.data()), std::invalid_argument);  // bits 3
}

std::vector<int32_t> random_codes(int64_t n, int bits, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int32_t> d(0, (1 << bits) - 1);
  std::vector<int32_t> v(n);
  for (auto& x : v) x = d(gen);
  return v;
}

TEST(KernelsPack, KnownWordsAndMasking) {
  // 4 bits along rows: codes 0..7 down one column -> 0x76543210.
  std::vector<int32_t> codes(8);
  for (int i = 0; i < 8; ++i) codes[i] = i;
  int32_t word = 0;
  pack_rows_cpu(codes.data(), 8, 1, 4, &word);
  EXPECT_EQ(static_cast<uint32_t>(word), 0x76543210u);
  pack_cols_cpu(codes.data(), 1, 8, 4, &word);
  EXPECT_EQ(static_cast<uint32_t>(word), 0x76543210u);
  // 2 bits: 16 codes 3,0,0,... -> 0x00000003; 8 bits: 0x11, 0x22, 0x33, 0x44.
  std::vector<int32_t> c2(16, 0);
  c2[0] = 3;
  c2[15] = 1;
  pack_cols_cpu(c2.data(), 1, 16, 2, &word);
  EXPECT_EQ(static_cast<uint32_t>(word), 0x40000003u);
  std::vector<int32_t> c8 = {0x11, 0x22, 0x33, 0xFF};
  pack_rows_cpu(c8.data(), 4, 1, 8, &word);
  EXPECT_EQ(static_cast<uint32_t>(word), 0xFF332211u);
  // An out-of-range code (−1: a zero point 0 stored as zero − 1) fills only its field.
  std::vector<int32_t> neg = {5, -1, 5, 5, 5, 5, 5, 5};
  pack_cols_cpu(neg.data(), 1, 8, 4, &word);
  EXPECT_EQ(static_cast<uint32_t>(word), 0x555555F5u);
}

TEST(KernelsPack, RoundTrip) {
  for (int bits : {2, 4, 8}) {
    const int64_t k = 32 / bits, rows = 4 * k, cols = 3 * k;
    std::vector<int32_t> codes = random_codes(rows * cols, bits, 7 + bits), back(rows * cols);
    std::vector<int32_t> pr(rows / k * cols), pc(rows * cols / k);
    pack_rows_cpu(codes.data(), rows, cols, bits, pr.data());
    unpack_rows_cpu(pr.data(), rows, cols, bits, back.data());
    EXPECT_EQ(back, codes) << "rows, bits " << bits;
    pack_cols_cpu(codes.data(), rows, cols, bits, pc.data());
    unpack_cols_cpu(pc.data(), rows, cols, bits, back.data());
    EXPECT_EQ(back, codes) << "cols, bits " << bits;
    EXPECT_NE(pr, pc);  // the two layouts differ
  }
}

TEST(KernelsDequant, EqualsRtnDequantize) {
  for (RtnKind k : {RtnKind::kSym, RtnKind::kAsym})
    for (int bits : {8, 4, 2}) {
      torch::Tensor w = test_weight(bits);
      const int64_t gs = 16, rows = w.size(0), cols = w.size(1), ng = cols / gs;
      CpuRtn r = cpu_rtn(w, gs, bits, k);
      std::vector<float> d(rows * cols);
      const bool asym = k == RtnKind::kAsym;
      dequantize_cpu(r.codes.data(), r.scales.data(), asym ? r.zeros.data() : nullptr, nullptr,
                     rows, cols, gs, d.data());
      auto i32 = torch::TensorOptions().dtype(torch::kInt32);
      torch::Tensor codes = torch::from_blob(r.codes.data(), {rows, cols}, i32);
      torch::Tensor scales = torch::from_blob(r.scales.data(), {rows, ng});
      torch::Tensor zeros =
          asym ? torch::from_blob(r.zeros.data(), {rows, ng}, i32) : torch::Tensor();
      EXPECT_TRUE(same_bits(d, to_vec<float>(quant::rtn_dequantize(codes, scales, zeros, gs))));
      // The quantizer's own dequant: equal values (its Δ·(−0.0) for a code
      // rounded from a small negative weight is −0.0; from the int code it is +0.0).
      EXPECT_EQ(d, r.dequant);
      // With a g_idx: a permuted group assignment equals the gathered formula.
      std::vector<int32_t> g_idx(cols);
      for (int64_t c = 0; c < cols; ++c) g_idx[c] = static_cast<int32_t>((c * 5 + 3) % ng);
      dequantize_cpu(r.codes.data(), r.scales.data(), asym ? r.zeros.data() : nullptr, g_idx.data(),
                     rows, cols, gs, d.data());
      for (int64_t o = 0; o < rows; ++o)
        for (int64_t c = 0; c < cols; ++c) {
          const int64_t g = g_idx[c];
          const float want =
              r.scales[o * ng + g] *
              static_cast<float>(r.codes[o * cols + c] - (asym ? r.zeros[o * ng + g] : 0));
          ASSERT_EQ(d[o * cols + c], want) << o << "," << c;
        }
      g_idx[3] = static_cast<int32_t>(ng);
      EXPECT_THROW(dequantize_cpu(r.codes.data(), r.scales.data(), nullptr, g_idx.data(), rows,
                                  cols, gs, d.data()),
                   std::invalid_argument);
    }
}

// GPTQ tensors built from codes: qweight = pack_rows(codes^T), qzeros =
// pack_cols(zeros^T − 1), scales^T. Also used for the CUDA comparison.
struct Gptq {
  int64_t in, out, ng;
  std::vector<int32_t> qweight, qzeros, g_idx;
  std::vector<float> scales_t;
};

Gptq gptq_from(const CpuRtn& r, int64_t out, int64_t in, int64_t gs, int bits) {
  Gptq g{in, out, in / gs, {}, {}, {}, {}};
  std::vector<int32_t> ct(in * out), zt(g.ng * out);
  g.scales_t.resize(g.ng * out);
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t c = 0; c < in; ++c) ct[c * out + o] = r.codes[o * in + c];
    for (int64_t j = 0; j < g.ng; ++j) {
      zt[j * out + o] = r.zeros[o * g.ng + j] - 1;
      g.scales_t[j * out + o] = r.scales[o * g.ng + j];
    }
  }
  g.qweight.resize(in * bits / 32 * out);
  g.qzeros.resize(g.ng * out * bits / 32);
  pack_rows_cpu(ct.data(), in, out, bits, g.qweight.data());
  pack_cols_cpu(zt.data(), g.ng, out, bits, g.qzeros.data());
  g.g_idx.resize(in);
  for (int64_t c = 0; c < in; ++c) g.g_idx[c] = static_cast<int32_t>(c / gs);
  return g;
}

TEST(KernelsDequant, PackedGptqEqualsUnpacked) {
  for (int bits : {8, 4, 2}) {
    torch::Tensor w = torch::randn({32, 64}) * 0.02;
    const int64_t gs = 16;
    CpuRtn r = cpu_rtn(w, gs, bits, RtnKind::kAsym);
    int zero0 = 0;
    for (int32_t z : r.zeros) zero0 += z == 0;
    ASSERT_EQ(zero0, 0) << "v1 cannot hold zero point 0; pick another weight";
    Gptq g = gptq_from(r, 32, 64, gs, bits);
    std::vector<float> d(32 * 64);
    dequantize_gptq_cpu(g.qweight.data(), g.qzeros.data(), g.scales_t.data(), g.g_idx.data(), 64,
                        32, g.ng, bits, d.data());
    EXPECT_TRUE(same_bits(d, r.dequant)) << "bits " << bits;
  }
}

// ---- CUDA vs CPU ------------------------------------------------------------

template <typename T>
struct DevBuf {
  T* p = nullptr;
  size_t n = 0;
  explicit DevBuf(size_t count) : n(count) {
    p = static_cast<T*>(cuda_alloc(std::max<size_t>(1, n) * sizeof(T)));
  }
  explicit DevBuf(const std::vector<T>& h) : DevBuf(h.size()) {
    cuda_copy_to_device(p, h.data(), n * sizeof(T));
  }
  ~DevBuf() { cuda_free(p); }
  std::vector<T> host() const {
    std::vector<T> h(n);
    cuda_copy_to_host(h.data(), p, n * sizeof(T));
    return h;
  }
};

#define REQUIRE_CUDA()                                                                    \
  if (!kernels_cuda_available())                                                          \
  GTEST_SKIP() << "no CUDA device (or built without CUDA): CUDA kernel vs CPU reference " \
                  "comparison skipped; the CPU checks ran"

TEST(KernelsCuda, RtnEqualsCpu) {
  REQUIRE_CUDA();
  for (RtnKind k : {RtnKind::kSym, RtnKind::kSymClamp, RtnKind::kAsym})
    for (int bits : {8, 4, 3, 2}) {
      torch::Tensor w = torch::cat({test_weight(bits), torch::randn({64, 64}) * 0.03}, 0);
      const int64_t rows = w.size(0), cols = w.size(1);
      for (int64_t gs : {8, 32, 64}) {
        CpuRtn ref = cpu_rtn(w, gs, bits, k);
        DevBuf<float> dw(to_vec<float>(w));
        DevBuf<int32_t> dq(rows * cols), dz(rows * cols / gs);
        DevBuf<float> ds(rows * cols / gs), dd(rows * cols);
        rtn_quantize(Device::kCuda, dw.p, rows, cols, gs, bits, k, dq.p, ds.p, dz.p, dd.p);
        EXPECT_EQ(dq.host(), ref.codes) << bits << " " << gs;
        EXPECT_TRUE(same_bits(ds.host(), ref.scales)) << bits << " " << gs;
        EXPECT_TRUE(same_bits(dd.host(), ref.dequant)) << bits << " " << gs;
        if (k == RtnKind::kAsym) {
          EXPECT_EQ(dz.host(), ref.zeros);
        }
      }
    }
}

TEST(KernelsCuda, PackUnpackEqualCpu) {
  REQUIRE_CUDA();
  for (int bits : {2, 4, 8}) {
    const int64_t k = 32 / bits, rows = 6 * k, cols = 5 * k;
    std::vector<int32_t> codes = random_codes(rows * cols, bits, 99 + bits);
    codes[1] = -1;  // masked like the CPU
    std::vector<int32_t> pr(rows / k * cols), pc(rows * cols / k), back(rows * cols);
    pack_rows_cpu(codes.data(), rows, cols, bits, pr.data());
    pack_cols_cpu(codes.data(), rows, cols, bits, pc.data());
    DevBuf<int32_t> dc(codes), dpr(pr.size()), dpc(pc.size()), dback(codes.size());
    pack_rows_cuda(dc.p, rows, cols, bits, dpr.p);
    EXPECT_EQ(dpr.host(), pr);
    pack_cols_cuda(dc.p, rows, cols, bits, dpc.p);
    EXPECT_EQ(dpc.host(), pc);
    unpack_rows_cpu(pr.data(), rows, cols, bits, back.data());
    unpack_rows_cuda(dpr.p, rows, cols, bits, dback.p);
    EXPECT_EQ(dback.host(), back);
    unpack_cols_cpu(pc.data(), rows, cols, bits, back.data());
    unpack_cols_cuda(dpc.p, rows, cols, bits, dback.p);
    EXPECT_EQ(dback.host(), back);
  }
}

TEST(KernelsCuda, DequantizeEqualsCpu) {
  REQUIRE_CUDA();
  for (int bits : {8, 4, 2}) {
    torch::Tensor w = torch::randn({64, 128}) * 0.02;
    const int64_t gs = 32, out = 64, in = 128, ng = in / gs;
    CpuRtn r = cpu_rtn(w, gs, bits, RtnKind::kAsym);
    std::vector<int32_t> g_idx(in);
    for (int64_t c = 0; c < in; ++c) g_idx[c] = static_cast<int32_t>((c * 7 + 1) % ng);
    std::vector<float> ref(out * in);
    dequantize_cpu(r.codes.data(), r.scales.data(), r.zeros.data(), g_idx.data(), out, in, gs,
                   ref.data());
    DevBuf<int32_t> dq(r.codes), dz(r.zeros), dg(g_idx);
    DevBuf<float> ds(r.scales), dw(out * in);
    dequantize_cuda(dq.p, ds.p, dz.p, dg.p, out, in, gs, dw.p);
    EXPECT_TRUE(same_bits(dw.host(), ref)) << bits;

    Gptq g = gptq_from(r, out, in, gs, bits);
    g.g_idx = g_idx;
    dequantize_gptq_cpu(g.qweight.data(), g.qzeros.data(), g.scales_t.data(), g.g_idx.data(), in,
                        out, g.ng, bits, ref.data());
    DevBuf<int32_t> dqw(g.qweight), dqz(g.qzeros), dgi(g.g_idx);
    DevBuf<float> dst(g.scales_t);
    dequantize_gptq_cuda(dqw.p, dqz.p, dst.p, dgi.p, in, out, g.ng, bits, dw.p);
    EXPECT_TRUE(same_bits(dw.host(), ref)) << bits;
  }
}

TEST(KernelsCuda, AvailabilityIsConsistent) {
  if (kernels_cuda_available()) {
    DevBuf<float> b(4);  // allocation works
    SUCCEED();
  } else {
    // Without a device the CUDA entry points throw a clear error, never crash.
    std::vector<int32_t> c(8), p(1);
    EXPECT_THROW(pack_rows_cuda(c.data(), 8, 1, 4, p.data()), std::runtime_error);
  }
}

}  // namespace
}  // namespace relapse::kernels
