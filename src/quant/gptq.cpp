// src/quant/gptq.cpp — GPTQ for one linear layer and its Hessian statistics,
// following AutoGPTQ's auto_gptq/quantization/gptq.py (GPTQ.fasterquant) and
// quantizer.py (Quantizer.find_params / quantize) step by step; the steps and
// their order are in relapse/quant/gptq.h. The column loop runs on raw fp32
// arrays with the same elementwise IEEE operations torch performs there (one
// rounding each), so it matches tests/golden/make_gptq_fixtures.py bit for bit;
// the block-end update (fp64-accumulated, see below) and the Cholesky steps go
// through torch (BLAS/LAPACK).
#include "relapse/quant/gptq.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "relapse/core/error.h"
#include "relapse/dist/communicator.h"

// The column loop must round every product and difference separately, as
// torch's elementwise ops do: no fused multiply-add contraction here.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace relapse::quant {

void gptq_config_validate(const GptqConfig& c) {
  RELAPSE_CHECK_CONFIG(c.bits == 8 || c.bits == 4 || c.bits == 3 || c.bits == 2,
                       "GPTQ bits must be 8, 4, 3 or 2, got ", c.bits);
  RELAPSE_CHECK_CONFIG(c.group_size == -1 || c.group_size > 0,
                       "GPTQ group_size must be -1 (per output row) or positive, got ",
                       c.group_size);
  RELAPSE_CHECK_CONFIG(c.damp_percent > 0.0 && c.damp_percent < 1.0,
                       "GPTQ damp_percent must be in (0, 1), got ", c.damp_percent);
  RELAPSE_CHECK_CONFIG(c.block_size > 0, "GPTQ block_size must be positive, got ", c.block_size);
  RELAPSE_CHECK_CONFIG(!c.static_groups || c.group_size > 0,
                       "GPTQ static_groups needs a positive group_size, got ", c.group_size);
}

// ---------------------------------------------------------------------------
// GptqHessian

GptqHessian::GptqHessian(int64_t in_features) : in_(in_features) {
  RELAPSE_CHECK_INPUT(in_features > 0, "GptqHessian: in_features must be positive, got ",
                      in_features);
  sum_ = torch::zeros({in_, in_}, torch::kFloat64);
  lo_ = torch::zeros({in_, in_}, torch::kFloat64);
}

namespace {
// Knuth's TwoSum, elementwise: hi + b = t + e exactly (t = fl(hi + b)).
// Returns e; hi becomes t.
torch::Tensor two_sum_into(torch::Tensor& hi, const torch::Tensor& b) {
  torch::Tensor t = hi + b;
  torch::Tensor z = t - hi;
  torch::Tensor e = (hi - (t - z)) + (b - z);
  hi = t;
  return e;
}
}  // namespace

void GptqHessian::add(const torch::Tensor& x, int64_t n_samples) {
  RELAPSE_CHECK_INPUT(x.defined() && (x.dim() == 2 || x.dim() == 3),
                      "GptqHessian: input must be [batch, seq, in] or [tokens, in], got ",
                      x.defined() ? x.dim() : 0, " dimensions");
  RELAPSE_CHECK_INPUT(at::isFloatingType(x.scalar_type()),
                      "GptqHessian: input must be floating-point, got ", x.scalar_type());
  RELAPSE_CHECK_INPUT(x.size(-1) == in_, "GptqHessian: input's last dimension is ", x.size(-1),
                      ", expected in_features ", in_);
  RELAPSE_CHECK_INPUT(n_samples > 0, "GptqHessian: n_samples must be positive, got ", n_samples);
  torch::NoGradGuard no_grad;
  torch::Tensor xs = x.detach().reshape({-1, in_}).to(torch::kFloat64);
  if (n_ == 0 && sum_.device() != xs.device()) {
    sum_ = sum_.to(xs.device());
    lo_ = lo_.to(xs.device());
  }
  // S as a double-double (sum_ + lo_): the order in which samples (and ranks)
  // are added then changes S by ~1e-32 relative instead of fp64's ~1e-16, so
  // the fp32 H is the same however the calibration samples are sharded — GPTQ
  // turns a last-bit change of H into different codes.
  lo_.add_(two_sum_into(sum_, xs.t().mm(xs.to(sum_.device())).to(sum_.device())));
  n_ += n_samples;
}

void GptqHessian::all_reduce(Communicator* comm) {
  if (comm == nullptr) return;
  torch::NoGradGuard no_grad;
  const bool nccl = comm->backend() == "nccl";
  auto reduce = [&](torch::Tensor t) {
    torch::Tensor u = (nccl && !t.is_cuda()) ? t.to(torch::kCUDA) : t.contiguous();
    comm->all_reduce(u, ReduceOp::kSum);
    return u.to(t.device());
  };
  // The double-double sums of every rank, combined in rank order with TwoSum
  // (an all-reduce would round each partial sum to fp64). Gathered in row
  // chunks of at most ~64 MiB over all ranks.
  const int size = comm->size();
  const int64_t chunk =
      std::max<int64_t>(1, (int64_t(64) << 20) / (2 * in_ * 8 * static_cast<int64_t>(size)));
  for (int64_t r0 = 0; r0 < in_; r0 += chunk) {
    const int64_t rows = std::min(chunk, in_ - r0);
    torch::Tensor mine = torch::cat({sum_.narrow(0, r0, rows), lo_.narrow(0, r0, rows)}, 0);
    if (nccl && !mine.is_cuda()) mine = mine.to(torch::kCUDA);
    torch::Tensor all = comm->all_gather(mine.contiguous()).to(sum_.device());  // [size*2*rows, in]
    torch::Tensor hi = all.narrow(0, 0, rows).clone(), lo = all.narrow(0, rows, rows).clone();
    for (int r = 1; r < size; ++r) {
      const int64_t at = static_cast<int64_t>(r) * 2 * rows;
      lo = lo + two_sum_into(hi, all.narrow(0, at, rows)) + all.narrow(0, at + rows, rows);
    }
    sum_.narrow(0, r0, rows).copy_(hi);
    lo_.narrow(0, r0, rows).copy_(lo);
  }
  torch::Tensor n = torch::full({1}, n_, torch::dtype(torch::kInt64).device(sum_.device()));
  n_ = reduce(n).cpu().item<int64_t>();
}

torch::Tensor GptqHessian::hessian() const {
  RELAPSE_CHECK_INPUT(n_ > 0, "GptqHessian: no calibration samples were added (in_features ", in_,
                      ")");
  torch::NoGradGuard no_grad;
  // (S * 2) / n in fp64 (true division by a tensor), rounded once to fp32.
  torch::Tensor h = (sum_ + lo_) * 2.0;
  h = h / torch::full_like(h, static_cast<double>(n_));
  return h.to(torch::kFloat32);
}

// ---------------------------------------------------------------------------
// gptq_quantize

namespace {

// One group's quantizer: scale and zero per output row (AutoGPTQ's
// Quantizer.find_params on x [rows, k], perchannel, weight=True).
struct QParams {
  std::vector<float> scale, zero;
};

QParams find_params(const float* w, int64_t ld, int64_t rows, int64_t c0, int64_t k, int bits,
                    bool sym) {
  const float maxq = static_cast<float>((1 << bits) - 1);
  QParams p;
  p.scale.resize(rows);
  p.zero.resize(rows);
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = w + r * ld + c0;
    float mn = row[0], mx = row[0];
    for (int64_t j = 1; j < k; ++j) {
      mn = std::min(mn, row[j]);
      mx = std::max(mx, row[j]);
    }
    float xmin = std::min(mn, 0.0f), xmax = std::max(mx, 0.0f);
    if (sym) {
      xmax = std::max(std::fabs(xmin), xmax);
      if (xmin < 0) xmin = -xmax;
    }
    if (xmin == 0 && xmax == 0) {
      xmin = -1.0f;
      xmax = 1.0f;
    }
    const float scale = (xmax - xmin) / maxq;
    p.scale[r] = scale;
    p.zero[r] = sym ? (maxq + 1.0f) / 2.0f : std::nearbyint(-xmin / scale);
  }
  return p;
}

// The checks of gptq_quantize's arguments; returns the effective group size.
int64_t gptq_check_args(const torch::Tensor& W_in, const torch::Tensor& H_in, const GptqConfig& c,
                        const std::string& what) {
  RELAPSE_CHECK_INPUT(W_in.defined() && W_in.dim() == 2, "GPTQ needs a 2-D weight [out, in]; ",
                      what, " has ", W_in.defined() ? W_in.dim() : 0, " dimensions");
  RELAPSE_CHECK_INPUT(at::isFloatingType(W_in.scalar_type()),
                      "GPTQ needs a floating-point weight; ", what, " is ", W_in.scalar_type());
  const int64_t rows = W_in.size(0), cols = W_in.size(1);
  RELAPSE_CHECK_INPUT(H_in.defined() && H_in.dim() == 2 && H_in.size(0) == cols &&
                          H_in.size(1) == cols && at::isFloatingType(H_in.scalar_type()),
                      "GPTQ Hessian of ", what, " must be a floating [", cols, ", ", cols,
                      "] matrix, got ", H_in.defined() ? H_in.sizes() : torch::IntArrayRef{});
  const int64_t gs = c.group_size == -1 ? cols : c.group_size;
  RELAPSE_CHECK_INPUT(rows > 0 && cols > 0 && cols % gs == 0, "GPTQ group_size ", c.group_size,
                      " does not divide the input dimension ", cols, " of ", what, " [", rows, ", ",
                      cols, "]");
  return gs;
}

// 2. Dead columns (zero Hessian diagonal): H_ii = 1, the weight column zeroed.
void gptq_dead_columns(torch::Tensor& H, torch::Tensor& W) {
  const int64_t rows = W.size(0), cols = W.size(1);
  float* h = H.data_ptr<float>();
  float* w = W.data_ptr<float>();
  for (int64_t i = 0; i < cols; ++i) {
    if (h[i * cols + i] != 0.0f) continue;
    h[i * cols + i] = 1.0f;
    for (int64_t r = 0; r < rows; ++r) w[r * cols + i] = 0.0f;
  }
}

// 5. Dampening and the upper Cholesky factor of H^-1.
torch::Tensor gptq_hinv_upper(torch::Tensor& H, const GptqConfig& c, const std::string& what) {
  torch::Tensor Hinv;
  {
    torch::Tensor damp = torch::mean(torch::diag(H)) * c.damp_percent;
    H.diagonal().add_(damp);
    try {
      // In fp64, rounded once to fp32 (a deviation from AutoGPTQ's fp32): in
      // fp32 MKL's factorisations change last bits with the thread count and
      // GPTQ turns those into different codes; the fp64 result rounds to the
      // same fp32 Hinv whatever the threads or the LAPACK.
      torch::Tensor L = torch::linalg_cholesky(H.to(torch::kFloat64));
      Hinv = torch::linalg_cholesky(torch::cholesky_inverse(L), /*upper=*/true)
                 .to(torch::kFloat32)
                 .contiguous();
    } catch (const c10::Error&) {
      RELAPSE_THROW(ExitCode::kInput, "the GPTQ Hessian of ", what,
                    " is not positive definite after dampening (damp_percent ", c.damp_percent,
                    "); more or different calibration data is needed");
    }
  }
  return Hinv;
}

// The state of GPTQ's column loop: the (permuted) weight being updated, the
// dequantized values Q, the codes C, the losses, the quantizer in use and the
// per-group quantizers (static: precomputed; else in the order groups start).
struct GptqState {
  torch::Tensor W, Q, C, Losses;
  QParams cur;
  std::vector<QParams> groups, stored;
  std::vector<int64_t> pv;  // permuted column -> original column
};

// 6. The column loop: quantize column by column, spreading each column's
// error over the later columns of its block through Hinv, and over the later
// blocks at each block's end.
void gptq_column_loop(GptqState& st, const torch::Tensor& Hinv, const GptqConfig& c, int64_t gs) {
  torch::Tensor& W = st.W;
  QParams& cur = st.cur;
  const std::vector<QParams>& groups = st.groups;
  std::vector<QParams>& stored = st.stored;
  const std::vector<int64_t>& pv = st.pv;
  const int64_t rows = W.size(0), cols = W.size(1);
  const int bits = c.bits;
  const float maxq = static_cast<float>((1 << bits) - 1);
  st.Q = torch::zeros_like(W);
  st.C = torch::zeros_like(W);
  st.Losses = torch::zeros_like(W);
  float* w = W.data_ptr<float>();
  float* q = st.Q.data_ptr<float>();
  float* code = st.C.data_ptr<float>();
  float* lo = st.Losses.data_ptr<float>();
  const float* hinv = Hinv.data_ptr<float>();
  for (int64_t i1 = 0; i1 < cols; i1 += c.block_size) {
    const int64_t i2 = std::min(i1 + c.block_size, cols), count = i2 - i1;
    std::vector<float> W1(rows * count), Err1(rows * count);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < count; ++j) W1[r * count + j] = w[r * cols + i1 + j];
    for (int64_t i = 0; i < count; ++i) {
      const int64_t col = i1 + i;
      const float d = hinv[col * cols + col];
      if (c.group_size != -1) {
        if (!c.static_groups) {
          if (col % gs == 0) {
            cur = find_params(w, cols, rows, col, gs, bits, c.sym);  // the outer W
            stored.push_back(cur);
          }
        } else {
          cur = groups[pv[col] / gs];
        }
      }
      const float* hrow = hinv + col * cols;  // Hinv1[i, i:] = Hinv[col, col:i2]
      for (int64_t r = 0; r < rows; ++r) {
        float* w1 = W1.data() + r * count;
        const float x = w1[i], s = cur.scale[r], z = cur.zero[r];
        const float qc = std::min(std::max(std::nearbyint(x / s) + z, 0.0f), maxq);
        const float qv = s * (qc - z);
        code[r * cols + col] = qc;
        q[r * cols + col] = qv;
        const float diff = x - qv;
        // Losses1 = (w - q)^2 / d^2, halved at block end (two roundings, as torch).
        lo[r * cols + col] = (diff * diff) / (d * d) / 2.0f;
        const float err = diff / d;
        for (int64_t j = i; j < count; ++j) w1[j] -= err * hrow[i1 + j];
        Err1[r * count + i] = err;
      }
    }
    // W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:]. The one deviation from AutoGPTQ
    // (fp32 matmul): products and sums in fp64, rounded once to fp32, so the
    // result does not depend on the BLAS's summation order (MKL vs OpenBLAS
    // flipped 6 of 3072 codes in a fixture case with groups starting inside
    // later blocks; cuBLAS differs again).
    if (i2 < cols) {
      torch::Tensor E = torch::from_blob(Err1.data(), {rows, count}, torch::kFloat32);
      torch::Tensor upd = E.to(torch::kFloat64)
                              .matmul(Hinv.slice(0, i1, i2).slice(1, i2, cols).to(torch::kFloat64))
                              .to(torch::kFloat32);
      W.slice(1, i2, cols).sub_(upd);
    }
  }
}

// 7. g_idx, un-permute, and the result on the weight's device.
RtnResult gptq_result(GptqState& st, const torch::Tensor& perm, const torch::Tensor& W_in,
                      const GptqConfig& c, int64_t gs, double* loss) {
  torch::Tensor &Q = st.Q, &C = st.C;
  std::vector<QParams>& stored = st.stored;
  const std::vector<int64_t>& pv = st.pv;
  const int64_t rows = Q.size(0), cols = Q.size(1), ng = cols / gs;
  std::vector<int32_t> gi(cols);
  for (int64_t i = 0; i < cols; ++i)
    gi[i] = static_cast<int32_t>((c.static_groups && c.desc_act ? pv[i] : i) / gs);
  torch::Tensor g_idx = torch::from_blob(gi.data(), {cols}, torch::kInt32).clone();
  if (c.desc_act) {
    torch::Tensor invperm = torch::argsort(perm);
    Q = Q.index_select(1, invperm);
    C = C.index_select(1, invperm);
    g_idx = g_idx.index_select(0, invperm);
  }
  if (c.static_groups) stored = st.groups;
  if (stored.empty()) stored.push_back(st.cur);  // group_size == -1
  torch::Tensor scales = torch::empty({rows, ng}, torch::kFloat32);
  torch::Tensor zeros = torch::empty({rows, ng}, torch::kUInt8);
  {
    auto sa = scales.accessor<float, 2>();
    auto za = zeros.accessor<uint8_t, 2>();
    for (int64_t g = 0; g < ng; ++g)
      for (int64_t r = 0; r < rows; ++r) {
        sa[r][g] = stored[g].scale[r];
        za[r][g] = static_cast<uint8_t>(stored[g].zero[r]);
      }
  }
  if (loss) *loss = torch::sum(st.Losses).item<double>();

  RtnResult res;
  const auto dev = W_in.device();
  res.codes = C.to(torch::kUInt8).to(dev);
  res.scales = scales.to(dev);
  res.zeros = zeros.to(dev);
  res.dequant = Q.to(dev, W_in.scalar_type());
  res.group_size = gs;
  res.g_idx = g_idx.to(dev);
  return res;
}

}  // namespace

RtnResult gptq_quantize(const torch::Tensor& W_in, const torch::Tensor& H_in, const GptqConfig& c,
                        const std::string& name, double* loss) {
  gptq_config_validate(c);
  const std::string what = name.empty() ? std::string("weight") : "tensor '" + name + "'";
  const int64_t gs = gptq_check_args(W_in, H_in, c, what);
  const int64_t rows = W_in.size(0), cols = W_in.size(1), ng = cols / gs;
  const int bits = c.bits;

  torch::NoGradGuard no_grad;
  // fp32 CPU copies (AutoGPTQ: W = weight.clone().float(); H is consumed).
  torch::Tensor W = W_in.detach().to(torch::kCPU, torch::kFloat32).contiguous().clone();
  torch::Tensor H = H_in.detach().to(torch::kCPU, torch::kFloat32).contiguous().clone();
  RELAPSE_CHECK_INPUT(torch::isfinite(W).all().item<bool>(), what,
                      " holds NaN or infinite values; GPTQ cannot quantize it");
  RELAPSE_CHECK_INPUT(torch::isfinite(H).all().item<bool>(), "the GPTQ Hessian of ", what,
                      " holds NaN or infinite values");

  // 1. Params from the whole W, before the dead columns are zeroed.
  QParams cur = find_params(W.data_ptr<float>(), cols, rows, 0, cols, bits, c.sym);

  gptq_dead_columns(H, W);

  // 3. Static groups, original column order.
  std::vector<QParams> groups;  // per group, in the order scales are stored
  if (c.static_groups)
    for (int64_t g = 0; g < ng; ++g)
      groups.push_back(find_params(W.data_ptr<float>(), cols, rows, g * gs, gs, bits, c.sym));

  // 4. Act-order.
  torch::Tensor perm;
  std::vector<int64_t> pv(cols);
  for (int64_t i = 0; i < cols; ++i) pv[i] = i;
  if (c.desc_act) {
    perm = std::get<1>(torch::sort(torch::diag(H), /*stable=*/true, /*dim=*/0,
                                   /*descending=*/true));
    W = W.index_select(1, perm).contiguous();
    H = H.index_select(0, perm).index_select(1, perm).contiguous();
    auto pa = perm.accessor<int64_t, 1>();
    for (int64_t i = 0; i < cols; ++i) pv[i] = pa[i];
  }

  const torch::Tensor Hinv = gptq_hinv_upper(H, c, what);
  GptqState st{W, {}, {}, {}, cur, std::move(groups), {}, std::move(pv)};
  gptq_column_loop(st, Hinv, c, gs);
  return gptq_result(st, perm, W_in, c, gs, loss);
}

}  // namespace relapse::quant
