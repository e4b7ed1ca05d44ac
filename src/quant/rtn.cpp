// src/quant/rtn.cpp — round-to-nearest weight quantization per input-dim group:
// the paper's symmetric absmax (literal and clamped) and AutoGPTQ's asymmetric
// min/max with a zero point. Formulas and conventions in relapse/quant/rtn.h;
// tests/golden/make_quant_fixtures.py is the numpy rendering they are checked against.
// rtn_quantize runs kernels/'s RTN (CPU reference or CUDA, by the weight's
// device); rtn_quantize_torch, the same in torch ops, is the oracle the
// kernels are checked against bit for bit (tests/kernels, tests/quant).
#include "relapse/quant/rtn.h"

#include <algorithm>

#include <ATen/Parallel.h>
#include <c10/core/DeviceGuard.h>

#include "relapse/core/enum_names.h"
#include "relapse/core/error.h"
#include "relapse/model/llama_linears.h"
#include "relapse_kernels.h"

namespace relapse::quant {

constexpr EnumName<RtnScheme> kRtnSchemeNames[] = {
    {RtnScheme::kSym, "rtn_sym"},
    {RtnScheme::kSymClamp, "rtn_sym_clamp"},
    {RtnScheme::kAsym, "rtn_asym"},
};

RtnScheme rtn_scheme_from_name(const std::string& name) {
  return enum_from_name(kRtnSchemeNames, name, "RTN scheme");
}

std::string rtn_scheme_name(RtnScheme s) {
  return enum_name(kRtnSchemeNames, s);
}

std::vector<std::string> rtn_scheme_names() {
  return enum_names(kRtnSchemeNames);
}

const std::vector<std::string>& rtn_linear_kinds() {
  return model::llama_linear_kinds();
}

void rtn_config_validate(const RtnConfig& c) {
  RELAPSE_CHECK_CONFIG(c.bits == 8 || c.bits == 4 || c.bits == 3 || c.bits == 2,
                       "RTN bits must be 8, 4, 3 or 2, got ", c.bits);
  RELAPSE_CHECK_CONFIG(c.group_size == -1 || c.group_size > 0,
                       "RTN group_size must be -1 (per output row) or positive, got ",
                       c.group_size);
  for (const auto& m : c.modules) {
    const auto& k = rtn_linear_kinds();
    bool known =
        std::find(k.begin(), k.end(), m) != k.end() || m == "embed_tokens" || m == "lm_head";
    RELAPSE_CHECK_CONFIG(known, "unknown module kind '", m,
                         "' for RTN (expected q_proj, k_proj, v_proj, o_proj, gate_proj, "
                         "up_proj, down_proj, embed_tokens or lm_head)");
  }
}

namespace {

// Integer code dtype of a scheme (see rtn.h).
torch::ScalarType code_dtype(RtnScheme s) {
  switch (s) {
    case RtnScheme::kSym:
      return torch::kInt16;
    case RtnScheme::kSymClamp:
      return torch::kInt8;
    case RtnScheme::kAsym:
      return torch::kUInt8;
  }
  return torch::kInt16;
}

// The checks both formulations make; returns the fp32 copy [out, in] and the
// effective group size.
torch::Tensor rtn_checked_input(const torch::Tensor& w, const RtnConfig& c, const std::string& name,
                                int64_t* group_size) {
  rtn_config_validate(c);
  const std::string what = name.empty() ? std::string("weight") : "tensor '" + name + "'";
  RELAPSE_CHECK_INPUT(w.defined() && w.dim() == 2, "RTN needs a 2-D weight [out, in]; ", what,
                      " has ", w.defined() ? w.dim() : 0, " dimensions");
  RELAPSE_CHECK_INPUT(at::isFloatingType(w.scalar_type()), "RTN needs a floating-point weight; ",
                      what, " is ", w.scalar_type());
  const int64_t out = w.size(0), in = w.size(1);
  const int64_t gs = c.group_size == -1 ? in : c.group_size;
  RELAPSE_CHECK_INPUT(in > 0 && in % gs == 0, "RTN group_size ", c.group_size,
                      " does not divide the input dimension ", in, " of ", what, " [", out, ", ",
                      in, "]");
  torch::NoGradGuard no_grad;
  torch::Tensor x = w.detach().to(torch::kFloat32).contiguous();
  RELAPSE_CHECK_INPUT(torch::isfinite(x).all().item<bool>(), what,
                      " holds NaN or infinite values; RTN cannot quantize it");
  *group_size = gs;
  return x;
}

kernels::RtnKind rtn_kind(RtnScheme s) {
  switch (s) {
    case RtnScheme::kSym:
      return kernels::RtnKind::kSym;
    case RtnScheme::kSymClamp:
      return kernels::RtnKind::kSymClamp;
    case RtnScheme::kAsym:
      return kernels::RtnKind::kAsym;
  }
  return kernels::RtnKind::kSym;
}

}  // namespace

RtnResult rtn_quantize(const torch::Tensor& w, const RtnConfig& c, const std::string& name) {
  int64_t gs = 0;
  const torch::Tensor x = rtn_checked_input(w, c, name, &gs);
  const int64_t out = x.size(0), in = x.size(1), ng = in / gs;
  const auto i32 = x.options().dtype(torch::kInt32);
  torch::Tensor codes = torch::empty({out, in}, i32), scales = torch::empty({out, ng}, x.options());
  torch::Tensor deq = torch::empty_like(x);
  torch::Tensor zeros =
      c.scheme == RtnScheme::kAsym ? torch::empty({out, ng}, i32) : torch::Tensor();
  const kernels::RtnKind kind = rtn_kind(c.scheme);
  // Row r's outputs depend on row r only, so any split of the rows gives the
  // same bits. CUDA: the kernel runs on the device's default stream and
  // synchronizes before returning (kernels/relapse_kernels.h).
  auto rows = [&](int64_t b, int64_t e, kernels::Device d) {
    kernels::rtn_quantize(d, x.data_ptr<float>() + b * in, e - b, in, gs, c.bits, kind,
                          codes.data_ptr<int32_t>() + b * in, scales.data_ptr<float>() + b * ng,
                          zeros.defined() ? zeros.data_ptr<int32_t>() + b * ng : nullptr,
                          deq.data_ptr<float>() + b * in);
  };
  if (x.is_cuda()) {
    const c10::DeviceGuard guard(x.device());
    rows(0, out, kernels::Device::kCuda);
  } else {
    at::parallel_for(0, out, 16, [&](int64_t b, int64_t e) { rows(b, e, kernels::Device::kCpu); });
  }
  RtnResult r;
  r.group_size = gs;
  r.codes = codes.to(code_dtype(c.scheme));
  r.scales = scales;
  if (zeros.defined()) r.zeros = zeros.to(torch::kUInt8);
  r.dequant = deq.to(w.scalar_type());
  return r;
}

RtnResult rtn_quantize_torch(const torch::Tensor& w, const RtnConfig& c) {
  int64_t gs = 0;
  torch::NoGradGuard no_grad;
  const torch::Tensor flat = rtn_checked_input(w, c, "", &gs);
  const int64_t out = flat.size(0), in = flat.size(1), ng = in / gs;
  // fp32 copy, grouped: [out, ng, gs].
  torch::Tensor x = flat.view({out, ng, gs});
  RtnResult r;
  r.group_size = gs;
  torch::Tensor q, deq;
  if (c.scheme == RtnScheme::kAsym) {
    const double maxq = static_cast<double>((1 << c.bits) - 1);
    auto zero_t = torch::zeros({}, x.options());
    torch::Tensor xmin = torch::minimum(std::get<0>(x.min(-1, true)), zero_t);
    torch::Tensor xmax = torch::maximum(std::get<0>(x.max(-1, true)), zero_t);
    torch::Tensor both0 = xmin.eq(0) & xmax.eq(0);
    xmin = torch::where(both0, torch::full_like(xmin, -1.0), xmin);
    xmax = torch::where(both0, torch::full_like(xmax, 1.0), xmax);
    // True fp32 division by a tensor (no reciprocal-multiply shortcut).
    torch::Tensor scale = (xmax - xmin) / torch::full_like(xmax, maxq);
    torch::Tensor zero = torch::round(-xmin / scale);
    q = torch::clamp(torch::round(x / scale) + zero, 0.0, maxq);
    deq = scale * (q - zero);
    r.scales = scale.view({out, ng}).clone();
    r.zeros = zero.view({out, ng}).to(torch::kUInt8);
  } else {
    const double half = static_cast<double>(1 << (c.bits - 1));  // 2^(N-1)
    torch::Tensor amax = std::get<0>(x.abs().max(-1, true));
    // Δ = max|w| / 2^(N-1): division by a power of two, exact in fp32.
    torch::Tensor delta = amax / torch::full_like(amax, half);
    // All-zero group: Δ = 0 and every w = 0; dividing by 1 instead gives code 0.
    torch::Tensor safe = torch::where(delta.eq(0), torch::ones_like(delta), delta);
    q = torch::round(x / safe);
    if (c.scheme == RtnScheme::kSymClamp) q = torch::clamp(q, -half, half - 1.0);
    deq = delta * q;
    r.scales = delta.view({out, ng}).clone();
  }
  // +0.0 instead of -0.0 in codes (round(-0.3) is -0.0); harmless for the cast.
  r.codes = q.view({out, in}).to(code_dtype(c.scheme));
  r.dequant = deq.view({out, in}).to(w.scalar_type());
  return r;
}

torch::Tensor rtn_dequantize(const torch::Tensor& codes, const torch::Tensor& scales,
                             const torch::Tensor& zeros, int64_t group_size) {
  RELAPSE_CHECK(codes.dim() == 2 && scales.dim() == 2, "rtn_dequantize: codes and scales 2-D");
  const int64_t out = codes.size(0), in = codes.size(1);
  RELAPSE_CHECK(group_size > 0 && in % group_size == 0 && scales.size(0) == out &&
                    scales.size(1) == in / group_size,
                "rtn_dequantize: shapes do not match group_size");
  const int64_t ng = in / group_size;
  torch::Tensor q = codes.to(torch::kFloat32).view({out, ng, group_size});
  torch::Tensor s = scales.to(torch::kFloat32).view({out, ng, 1});
  if (zeros.defined()) q = q - zeros.to(torch::kFloat32).view({out, ng, 1});
  return (s * q).view({out, in});
}

}  // namespace relapse::quant
