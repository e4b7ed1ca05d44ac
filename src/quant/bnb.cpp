// src/quant/bnb.cpp — bitsandbytes FP4/NF4 block quantization and LLM.int8
// emulation (see include/relapse/quant/bnb.h for the formulas and the
// bitsandbytes files they follow).
#include "relapse/quant/bnb.h"

#include <algorithm>
#include <cmath>

#include "relapse/core/enum_names.h"
#include "relapse/core/error.h"
#include "relapse/core/host_read.h"

namespace relapse::quant {
namespace {

std::string tensor_label(const std::string& name) {
  return name.empty() ? std::string("weight") : "tensor '" + name + "'";
}

// Decision thresholds of kernels.cu as fp32 literals, sorted ascending.
// NF4: code k is chosen when thr[k-1] < x <= thr[k] (x > t goes up).
const float kNf4Thr[15] = {-0.8480964004993439f,   -0.6106329262256622f,  -0.4599952697753906f,
                           -0.33967943489551544f,  -0.23460740596055984f, -0.13791173323988914f,
                           -0.045525018125772476f, 0.03979014977812767f,  0.1202552504837513f,
                           0.2035212516784668f,    0.2920137718319893f,   0.3893125355243683f,
                           0.5016634166240692f,    0.6427869200706482f,   0.8614784181118011f};
// FP4 magnitude thresholds, ascending, and the 3-bit magnitude codes in
// ascending value order (0, 1/192, 1/6, 1/4, 1/3, 1/2, 2/3, 1).
const float kFp4Thr[7] = {0.00260417f, 0.0859375f, 0.20833333f, 0.29166667f,
                          0.4166667f,  0.583333f,  0.8333333f};
const int kFp4Rank[8] = {0, 1, 6, 7, 4, 5, 2, 3};  // rank -> 3-bit code
int fp4_rank_of(int code3) {
  for (int r = 0; r < 8; ++r)
    if (kFp4Rank[r] == code3) return r;
  return 0;
}

// A host table as a tensor on `like`'s device.
template <typename T>
torch::Tensor table_on(const T* v, int64_t n, torch::ScalarType st, const torch::Tensor& like) {
  return torch::from_blob(const_cast<T*>(v), {n}, st).to(like.device()).clone();
}

// The number of thresholds (ascending, fp32, fewer than 256) strictly below
// each x, as uint8: the decision trees of dQuantizeNF4 / dQuantizeFP4 walk
// exactly these comparisons. A NaN (all-zero block: 0 * 1/0) fails every
// one, as on the GPU: count 0. One comparison per threshold added into the
// count, 2 bytes per element of temporaries whatever their number (a [n, k]
// bool matrix summed in int64 costs 9k + 8: 143 bytes per element for NF4,
// 6.7 GB for one 7B MLP weight).
torch::Tensor count_below(const torch::Tensor& x, const float* thr, int64_t k) {
  RELAPSE_CHECK(k < 256, "count_below: ", k, " thresholds do not fit a uint8 count");
  torch::Tensor n = torch::zeros(x.sizes(), x.options().dtype(torch::kUInt8));
  for (int64_t i = 0; i < k; ++i) n.add_(x.gt(thr[i]));
  return n;
}

// dQuantizeNF4 over a tensor: code k when thr[k-1] < x <= thr[k].
torch::Tensor quantize_nf4(const torch::Tensor& x) {
  return count_below(x, kNf4Thr, 15);
}

// dQuantizeFP4 over a tensor: sign bit 8 for x < 0 (not for -0 or NaN), then
// the 3-bit code of |x|'s rank among the magnitude thresholds.
torch::Tensor quantize_fp4(const torch::Tensor& x) {
  torch::Tensor r = count_below(x.abs(), kFp4Thr, 7).to(torch::kInt32);
  torch::Tensor code = table_on(kFp4Rank, 8, torch::kInt32, x).index_select(0, r.reshape({-1}));
  return (code.view(x.sizes()) + x.lt(0).to(torch::kInt32) * 8).to(torch::kUInt8);
}

void check_weight(const torch::Tensor& w, const std::string& label) {
  RELAPSE_CHECK_INPUT(w.defined(), label, " is undefined");
  RELAPSE_CHECK_INPUT(w.dim() == 2, label, " must be 2-D [out, in], got ", w.dim(), "-D");
  RELAPSE_CHECK_INPUT(w.is_floating_point(), label, " must be floating point, got ",
                      w.scalar_type());
  RELAPSE_CHECK_INPUT(host_scalar<bool>(torch::isfinite(w).all()), label, " has non-finite values");
}

// Nearest value of a sorted fp32 map, ties to the lower index (fp32
// midpoints): the number of midpoints below x (std::lower_bound's index; a NaN
// gets 0, as lower_bound gives it).
torch::Tensor nearest_code(const torch::Tensor& x, const std::vector<float>& map) {
  std::vector<float> mids(map.size() - 1);
  for (size_t i = 0; i + 1 < map.size(); ++i) mids[i] = (map[i] + map[i + 1]) / 2.0f;
  return count_below(x, mids.data(), static_cast<int64_t>(mids.size()));
}

// bitsandbytes' quantize_4bit(compress_statistics=True) on the absmax vector,
// returning the absmax dequantization uses.
torch::Tensor double_quant_absmax(const torch::Tensor& absmax) {
  const auto& dyn = bnb_dynamic_map();
  torch::Tensor offset = absmax.mean();  // fp32, on the device
  torch::Tensor centered = absmax - offset;
  // Blocks of 256 (the last one padded with zeros, which leave its max|x| as it is).
  const int64_t n = centered.numel(), bs = 256, nb = (n + bs - 1) / bs;
  torch::Tensor blk = torch::zeros({nb * bs}, centered.options());
  blk.narrow(0, 0, n).copy_(centered);
  blk = blk.view({nb, bs});
  torch::Tensor bmax = blk.abs().amax(1, /*keepdim=*/true);       // [nb, 1]
  torch::Tensor inv = torch::reciprocal(bmax.clamp_min(1e-38f));  // 1.0f / max(bmax, 1e-38f)
  torch::Tensor codes = nearest_code(torch::clamp(blk * inv, -1.0f, 1.0f), dyn);
  torch::Tensor dynt = table_on(dyn.data(), static_cast<int64_t>(dyn.size()), torch::kFloat32, blk);
  torch::Tensor used = dynt.index({codes.to(torch::kLong)}) * bmax + offset;
  return used.view({nb * bs}).narrow(0, 0, n).contiguous();
}

}  // namespace

constexpr EnumName<Bnb4Format> kBnb4FormatNames[] = {
    {Bnb4Format::kFp4, "fp4"},
    {Bnb4Format::kNf4, "nf4"},
};

Bnb4Format bnb4_format_from_name(const std::string& name) {
  return enum_from_name(kBnb4FormatNames, name, "bitsandbytes 4-bit format");
}

std::string bnb4_format_name(Bnb4Format f) {
  return enum_name(kBnb4FormatNames, f);
}

std::vector<std::string> bnb4_format_names() {
  return enum_names(kBnb4FormatNames);
}

const std::vector<float>& bnb4_codebook(Bnb4Format f) {
  // get_4bit_type: FP4 = {0, 0.0625, 8, 12, 4, 6, 2, 3, -0, ...} / 12 in fp32;
  // NF4 = create_normal_map(offset=0.9677083) as bitsandbytes hardcodes it.
  static const std::vector<float> fp4 = [] {
    const float raw[16] = {0.0f,  0.0625f,  8.0f,  12.0f,  4.0f,  6.0f,  2.0f,  3.0f,
                           -0.0f, -0.0625f, -8.0f, -12.0f, -4.0f, -6.0f, -2.0f, -3.0f};
    std::vector<float> v(16);
    for (int i = 0; i < 16; ++i) v[i] = raw[i] / 12.0f;
    return v;
  }();
  static const std::vector<float> nf4 = {-1.0f,
                                         -0.6961928009986877f,
                                         -0.5250730514526367f,
                                         -0.39491748809814453f,
                                         -0.28444138169288635f,
                                         -0.18477343022823334f,
                                         -0.09105003625154495f,
                                         0.0f,
                                         0.07958029955625534f,
                                         0.16093020141124725f,
                                         0.24611230194568634f,
                                         0.33791524171829224f,
                                         0.44070982933044434f,
                                         0.5626170039176941f,
                                         0.7229568362236023f,
                                         1.0f};
  return f == Bnb4Format::kFp4 ? fp4 : nf4;
}

const std::vector<float>& bnb_dynamic_map() {
  // create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8): for
  // i in 0..6, the 2^i midpoints of linspace(0.1, 1, 2^i + 1) (fp32) times
  // ±10^(i-6), plus 0 and 1, sorted.
  static const std::vector<float> m = [] {
    std::vector<float> v;
    for (int i = 0; i < 7; ++i) {
      // torch.linspace (float32, CPU, torch 2.x): step = (end − start)/(n − 1)
      // in float, then start + step·k for k < n/2 and end − step·(n − 1 − k)
      // after, each a single-rounding fma (libtorch 1.13's linspace rounds
      // differently, so it is not used here).
      const int n = (1 << i) + 1;
      const float start = 0.1f, end = 1.0f, step = (end - start) / static_cast<float>(n - 1);
      std::vector<float> b(n);
      for (int k = 0; k < n; ++k)
        b[k] = k < n / 2 ? std::fma(step, static_cast<float>(k), start)
                         : std::fma(-step, static_cast<float>(n - 1 - k), end);
      const float p = static_cast<float>(std::pow(10.0, i - 6));  // the scalar, cast to float
      for (int k = 0; k + 1 < n; ++k) v.push_back(p * ((b[k] + b[k + 1]) / 2.0f));
      for (int k = 0; k + 1 < n; ++k) v.push_back(-p * ((b[k] + b[k + 1]) / 2.0f));
    }
    v.push_back(0.0f);
    v.push_back(1.0f);
    std::sort(v.begin(), v.end());
    return v;
  }();
  return m;
}

RtnResult bnb4_quantize(const torch::Tensor& w, const Bnb4Config& c, const std::string& name) {
  const std::string label = tensor_label(name);
  RELAPSE_CHECK_CONFIG(
      c.blocksize >= 32 && c.blocksize <= 4096 && (c.blocksize & (c.blocksize - 1)) == 0,
      "bitsandbytes blocksize must be a power of two in [32, 4096], got ", c.blocksize);
  check_weight(w, label);
  const int64_t out = w.size(0), in = w.size(1), bs = c.blocksize, n = out * in;
  // Blocks over the flattened row-major tensor; the last one may be partial
  // (kQuantizeBlockwise loads valid_items = min(bs, n - i) and pads with 0,
  // which leaves max|w| of the block unchanged). Padding with zeros here does
  // the same, and the padded slots are dropped again below.
  const int64_t nb = (n + bs - 1) / bs;
  auto flat = w.detach().to(torch::kFloat32).contiguous().view({n});
  auto x = torch::zeros({nb * bs}, flat.options());
  x.slice(0, 0, n).copy_(flat);
  x = x.view({nb, bs});
  auto absmax = x.abs().amax(-1);        // [nb]
  auto inv = torch::reciprocal(absmax);  // fp32 1/absmax (inf for a zero block)
  auto xn = (x * inv.unsqueeze(-1)).view({nb * bs}).narrow(0, 0, n);  // NaN in a zero block
  const bool fp4 = c.format == Bnb4Format::kFp4;
  auto codes = (fp4 ? quantize_fp4(xn) : quantize_nf4(xn)).view({out, in}).contiguous();

  // Double quant runs over the nb absmax values in flattened block order.
  torch::Tensor scales = c.double_quant ? double_quant_absmax(absmax) : absmax;  // [nb]
  const auto& cb = bnb4_codebook(c.format);
  auto book = table_on(cb.data(), static_cast<int64_t>(cb.size()), torch::kFloat32, flat);
  auto vals = torch::zeros({nb * bs}, flat.options());
  vals.slice(0, 0, n).copy_(book.index({codes.view({n}).to(torch::kLong)}));
  auto deq = (vals.view({nb, bs}) * scales.unsqueeze(-1)).view({nb * bs}).slice(0, 0, n);
  RtnResult r;
  r.codes = codes;
  // Blocks inside rows keep the per-row layout [out, in/bs]; otherwise [1, nb].
  r.scales = (in % bs == 0 ? scales.view({out, in / bs}) : scales.view({1, nb})).contiguous();
  r.dequant = deq.reshape({out, in}).to(w.scalar_type());
  r.group_size = bs;
  return r;
}

torch::Tensor bnb4_bucket_width(const RtnResult& q, const Bnb4Config& c) {
  RELAPSE_CHECK_INPUT(
      q.codes.defined() && q.codes.dim() == 2 && q.scales.defined() && q.scales.dim() == 2,
      "bnb4_bucket_width: codes [out, in] and 2-D scales are required");
  const int64_t bs = q.group_size > 0 ? q.group_size : c.blocksize;
  const int64_t out = q.codes.size(0), in = q.codes.size(1), n = out * in;
  const int64_t nb = (n + bs - 1) / bs;
  const bool row_layout = in % bs == 0 && q.scales.size(0) == out && q.scales.size(1) == in / bs;
  const bool flat_layout = q.scales.size(0) == 1 && q.scales.size(1) == nb;
  RELAPSE_CHECK_INPUT(row_layout || flat_layout, "bnb4_bucket_width: scales ", q.scales.sizes(),
                      " do not match codes ", q.codes.sizes(), " and blocksize ", bs);
  // Bucket width of each code in normalised units.
  float wid[16];
  if (c.format == Bnb4Format::kNf4) {
    for (int k = 0; k < 16; ++k) {
      const float lo = k == 0 ? -1.0f : kNf4Thr[k - 1], hi = k == 15 ? 1.0f : kNf4Thr[k];
      wid[k] = hi - lo;
    }
  } else {
    for (int k = 0; k < 16; ++k) {
      const int r = fp4_rank_of(k & 7);
      const float lo = r == 0 ? 0.0f : kFp4Thr[r - 1], hi = r == 7 ? 1.0f : kFp4Thr[r];
      wid[k] = hi - lo;
    }
  }
  auto table = table_on(wid, 16, torch::kFloat32, q.codes);
  // Both layouts list the absmax in flattened block order: element i of the
  // row-major weight uses scale i / bs.
  auto bidx = torch::arange(n, q.codes.options().dtype(torch::kInt64)).div(bs, "floor");
  auto sc = q.scales.to(torch::kFloat32).reshape({-1}).index_select(0, bidx);
  auto w = table.index({q.codes.reshape({-1}).to(torch::kLong)});
  return (w * sc).view({out, in});
}

LlmInt8Weight llm_int8_quantize_weight(const torch::Tensor& w, const std::string& name) {
  const std::string label = tensor_label(name);
  check_weight(w, label);
  auto w16 = w.detach().to(torch::kHalf);
  RELAPSE_CHECK_INPUT(host_scalar<bool>(torch::isfinite(w16).all()), label,
                      " overflows float16 (LLM.int8 quantizes the fp16 weight)");
  auto wf = w16.to(torch::kFloat32);
  LlmInt8Weight r;
  r.scb = wf.abs().amax(1).contiguous();
  // bnb: 127.0 / row_stats, which torch evaluates as reciprocal(row_stats) * 127.
  auto scale = torch::reciprocal(r.scb) * 127.0f;  // inf for a zero row
  auto q = torch::round(wf * scale.unsqueeze(1));
  q = torch::where(r.scb.unsqueeze(1).gt(0), q, torch::zeros_like(q));
  r.cb = q.to(torch::kInt8).contiguous();
  return r;
}

torch::Tensor llm_int8_linear(const torch::Tensor& x, const LlmInt8Weight& w, double threshold,
                              const torch::Tensor& bias) {
  RELAPSE_CHECK_INPUT(w.cb.defined() && w.cb.dim() == 2 && w.cb.scalar_type() == torch::kInt8,
                      "llm_int8_linear: weight codes CB must be int8 [out, in]");
  RELAPSE_CHECK_INPUT(w.scb.defined() && w.scb.dim() == 1 && w.scb.size(0) == w.cb.size(0),
                      "llm_int8_linear: SCB must be [out] matching CB");
  RELAPSE_CHECK_INPUT(
      x.defined() && x.dim() >= 1 && x.is_floating_point() && x.size(-1) == w.cb.size(1),
      "llm_int8_linear: input x must be floating [..., ", w.cb.size(1), "]");
  RELAPSE_CHECK_INPUT(threshold >= 0.0, "llm_int8_linear: threshold must be >= 0, got ", threshold);
  const int64_t out = w.cb.size(0), in = w.cb.size(1);
  if (bias.defined())
    RELAPSE_CHECK_INPUT(bias.dim() == 1 && bias.size(0) == out, "llm_int8_linear: bias must be [",
                        out, "]");
  const auto dt = x.scalar_type();
  auto x2 = x.detach().reshape({-1, in});
  auto a16 = x2.to(torch::kHalf).to(torch::kFloat32);
  auto absa = a16.abs();
  torch::Tensor keep, cols;
  if (threshold > 0.0) {
    // The comparison runs in fp16 (kernel: absval < T(threshold)).
    const float thr = static_cast<float>(at::Half(static_cast<float>(threshold)));
    keep = absa.lt(thr);
    cols = keep.logical_not().any(0);
  } else {
    keep = torch::ones_like(absa, torch::kBool);
    cols = torch::zeros({in}, absa.options().dtype(torch::kBool));
  }
  auto rowmax = torch::where(keep, absa, torch::zeros_like(absa)).amax(1);  // fp32 [rows]
  // __fdividef(127, absmax) = 127 * approx(1/absmax); exact reciprocal here.
  auto scale = torch::reciprocal(rowmax) * 127.0f;
  auto ca = torch::round(a16 * scale.unsqueeze(1));
  auto zero =
      keep.logical_and(cols.logical_not().unsqueeze(0)).logical_and(rowmax.gt(0).unsqueeze(1));
  ca = torch::where(zero, ca, torch::zeros_like(ca));
  // Exact int32 accumulation, emulated in float64 (|acc| <= in * 127^2 < 2^53).
  auto acc = torch::matmul(ca.to(torch::kFloat64), w.cb.to(torch::kFloat64).t());
  auto prod =
      acc.to(torch::kFloat32) * rowmax.unsqueeze(1) * w.scb.to(torch::kFloat32).unsqueeze(0);
  const double kDequant = static_cast<double>(6.200012e-05f);  // MM_DEQUANT_CONST
  torch::Tensor y16;
  if (bias.defined() && bias.scalar_type() == torch::kHalf) {
    // Fused: __float2half(fmaf(prod, C, bias)); prod*C is exact in float64.
    y16 = (prod.to(torch::kFloat64) * kDequant + bias.to(torch::kFloat64).unsqueeze(0))
              .to(torch::kFloat32)
              .to(torch::kHalf);
  } else {
    y16 = (prod.to(torch::kFloat64) * kDequant).to(torch::kFloat32).to(torch::kHalf);
    if (bias.defined())  // out.add_(bias) on the fp16 output: fp32 sum, rounded to fp16
      y16 = (y16.to(torch::kFloat32) + bias.to(torch::kFloat32).unsqueeze(0)).to(torch::kHalf);
  }
  auto y = y16.to(dt);
  if (host_scalar<bool>(cols.any())) {
    auto idx = torch::nonzero(cols).view(-1);
    auto sub_a = x2.index_select(1, idx).to(torch::kFloat64);
    // int8_vectorwise_dequant: (CB * SCB) * (1/127) in fp32, then x's dtype.
    auto sub_b =
        ((w.cb.index_select(1, idx).to(torch::kFloat32) * w.scb.to(torch::kFloat32).unsqueeze(1)) *
         7.874015718698502e-3f)
            .to(dt)
            .to(torch::kFloat64);
    y = (y.to(torch::kFloat64) + torch::matmul(sub_a, sub_b.t())).to(dt);
  }
  auto shape = x.sizes().vec();
  shape.back() = out;
  return y.view(shape);
}

}  // namespace relapse::quant
