// src/quant/awq.cpp — AWQ building blocks: AutoAWQ's pseudo-quantizer, the
// activation statistic, the scale grid search, scale application and the clip
// search. Formulas, the AutoAWQ version followed and the deliberate differences
// are in relapse/quant/awq.h; tests/golden/make_awq_fixtures.py is the PyTorch
// reference the tests compare against.
#include "relapse/quant/awq.h"

#include <algorithm>
#include <limits>

#include "relapse/core/error.h"

namespace relapse::quant {

void awq_config_validate(const AwqConfig& c) {
  RELAPSE_CHECK_CONFIG(c.bits >= 2 && c.bits <= 8, "AWQ bits must be 2 .. 8, got ", c.bits);
  RELAPSE_CHECK_CONFIG(c.group_size == -1 || c.group_size > 0,
                       "AWQ group_size must be -1 (per output row) or positive, got ",
                       c.group_size);
  RELAPSE_CHECK_CONFIG(c.n_grid >= 1, "AWQ n_grid must be >= 1, got ", c.n_grid);
  RELAPSE_CHECK_CONFIG(c.max_shrink >= 0.0 && c.max_shrink < 1.0,
                       "AWQ max_shrink must be in [0, 1), got ", c.max_shrink);
  RELAPSE_CHECK_CONFIG(c.clip_n_grid >= 1, "AWQ clip_n_grid must be >= 1, got ", c.clip_n_grid);
  RELAPSE_CHECK_CONFIG(c.n_sample_token >= 1, "AWQ n_sample_token must be >= 1, got ",
                       c.n_sample_token);
}

namespace {

std::string what_of(const std::string& name) {
  return name.empty() ? std::string("weight") : "tensor '" + name + "'";
}

// Effective group size of an input dimension `in`, with the kInput checks.
int64_t group_of(int64_t in, const AwqConfig& c, const std::string& what) {
  const int64_t gs = c.group_size == -1 ? in : c.group_size;
  RELAPSE_CHECK_INPUT(in > 0 && in % gs == 0, "AWQ group_size ", c.group_size,
                      " does not divide the input dimension ", in, " of ", what);
  return gs;
}

void check_weight(const torch::Tensor& w, const std::string& what) {
  RELAPSE_CHECK_INPUT(w.defined() && w.dim() == 2, "AWQ needs a 2-D weight [out, in]; ", what,
                      " has ", w.defined() ? w.dim() : 0, " dimensions");
  RELAPSE_CHECK_INPUT(at::isFloatingType(w.scalar_type()), "AWQ needs a floating-point weight; ",
                      what, " is ", w.scalar_type());
}

// AutoAWQ pseudo_quantize_tensor on fp32 x whose LAST dim is one group.
struct Pq {
  torch::Tensor deq, q, scale, zero;  // zero undefined without zero point
};
Pq pq_last_dim(const torch::Tensor& x, int bits, bool zero_point) {
  Pq r;
  if (zero_point) {
    const double max_int = static_cast<double>((1 << bits) - 1);
    torch::Tensor mx = std::get<0>(x.max(-1, true));
    torch::Tensor mn = std::get<0>(x.min(-1, true));
    // True fp32 division by a tensor, as torch's division by a Python scalar.
    r.scale = (mx - mn).clamp_min(1e-5) / torch::full_like(mx, max_int);
    r.zero = torch::clamp(-torch::round(mn / r.scale), 0.0, max_int);
    r.q = torch::clamp(torch::round(x / r.scale) + r.zero, 0.0, max_int);
    r.deq = (r.q - r.zero) * r.scale;
  } else {
    const double max_int = static_cast<double>((1 << (bits - 1)) - 1);
    const double min_int = -static_cast<double>(1 << (bits - 1));
    torch::Tensor mx = std::get<0>(x.abs().max(-1, true)).clamp_min(1e-5);
    r.scale = mx / torch::full_like(mx, max_int);
    r.q = torch::clamp(torch::round(x / r.scale), min_int, max_int);
    r.deq = r.q * r.scale;
  }
  return r;
}

// Q(w) in fp32 for w [out, in] (grouped by gs along in).
torch::Tensor pq_dequant(const torch::Tensor& w32, int64_t gs, const AwqConfig& c) {
  const int64_t out = w32.size(0), in = w32.size(1);
  return pq_last_dim(w32.contiguous().view({out, in / gs, gs}), c.bits, c.zero_point)
      .deq.view({out, in});
}

}  // namespace

RtnResult awq_pseudo_quantize(const torch::Tensor& w, const AwqConfig& c, const std::string& name) {
  awq_config_validate(c);
  const std::string what = what_of(name);
  check_weight(w, what);
  const int64_t out = w.size(0), in = w.size(1);
  const int64_t gs = group_of(in, c, what);
  const int64_t ng = in / gs;
  torch::NoGradGuard no_grad;
  torch::Tensor x = w.detach().to(torch::kFloat32).contiguous().view({out, ng, gs});
  RELAPSE_CHECK_INPUT(torch::isfinite(x).all().item<bool>(), what,
                      " holds NaN or infinite values; AWQ cannot quantize it");
  Pq p = pq_last_dim(x, c.bits, c.zero_point);
  RtnResult r;
  r.group_size = gs;
  r.codes = p.q.view({out, in}).to(c.zero_point ? torch::kUInt8 : torch::kInt8);
  r.scales = p.scale.view({out, ng}).contiguous();
  if (c.zero_point) r.zeros = p.zero.view({out, ng}).to(torch::kUInt8);
  r.dequant = p.deq.view({out, in}).to(w.scalar_type());
  return r;
}

void AwqActStats::add(const torch::Tensor& x) {
  RELAPSE_CHECK_INPUT(x.defined() && x.dim() >= 1 && at::isFloatingType(x.scalar_type()),
                      "AWQ activation statistics need a floating tensor [..., in]");
  torch::NoGradGuard no_grad;
  const int64_t in = x.size(-1);
  torch::Tensor flat = x.detach().reshape({-1, in});
  torch::Tensor s = flat.abs().to(torch::kFloat64).sum(0);
  if (!abs_sum.defined()) {
    abs_sum = s;
  } else {
    RELAPSE_CHECK_INPUT(abs_sum.numel() == in, "AWQ activation statistics: input has ", in,
                        " channels, earlier inputs had ", abs_sum.numel());
    abs_sum = abs_sum + s;
  }
  n_tokens += flat.size(0);
}

torch::Tensor AwqActStats::mean() const {
  RELAPSE_CHECK(abs_sum.defined() && n_tokens > 0, "AWQ activation statistics are empty");
  return (abs_sum / static_cast<double>(n_tokens)).to(torch::kFloat32);
}

void awq_act_stats_all_reduce(AwqActStats& s, Communicator& comm) {
  RELAPSE_CHECK(s.abs_sum.defined(), "AWQ activation statistics are empty on rank ", comm.rank());
  s.abs_sum = s.abs_sum.contiguous();
  comm.all_reduce(s.abs_sum, ReduceOp::kSum);
  torch::Tensor n = torch::full({1}, s.n_tokens, s.abs_sum.options().dtype(torch::kInt64));
  comm.all_reduce(n, ReduceOp::kSum);
  s.n_tokens = n.cpu().item<int64_t>();
}

namespace {

// w_mean: per input channel, the mean over all rows of the group's weights of
// |w| / (its quantization group's max|w| + 1e-6) (AutoAWQ's _search_best_scale).
torch::Tensor awq_weight_mean(const std::vector<torch::Tensor>& w32, int64_t gs, int64_t in) {
  torch::Tensor cat = torch::cat(w32, 0);
  torch::Tensor ga = cat.view({-1, gs}).abs();
  torch::Tensor w_scale = ga / (std::get<0>(ga.max(1, true)) + 1e-6);
  return w_scale.view({cat.size(0), in}).mean(0);
}

// The scales of grid point `ratio`: x_mean^r / (w_mean^(1−r) + 1e-4) (duo
// scaling) or x_mean^r, floored at 1e-4, normalised by sqrt(max · min); inf
// and NaN become 1.
torch::Tensor awq_grid_scales(const torch::Tensor& xm, const torch::Tensor& w_mean, double ratio,
                              bool duo) {
  torch::Tensor s;
  if (duo)
    s = (xm.pow(ratio) / (w_mean.pow(1.0 - ratio) + 1e-4)).clamp_min(1e-4);
  else
    s = xm.pow(ratio).clamp_min(1e-4);
  s = s / (s.max() * s.min()).sqrt();
  s.masked_fill_(torch::isinf(s) | torch::isnan(s), 1.0);
  return s;
}

}  // namespace

AwqScaleResult awq_search_scales(const std::vector<torch::Tensor>& weights,
                                 const torch::Tensor& x_mean,
                                 const std::function<torch::Tensor()>& block_forward,
                                 const torch::Tensor& reference_out, const AwqConfig& c,
                                 Communicator* comm) {
  awq_config_validate(c);
  RELAPSE_CHECK_INPUT(!weights.empty(), "AWQ scale search needs at least one weight");
  RELAPSE_CHECK_INPUT(x_mean.defined() && x_mean.dim() == 1, "AWQ scale search needs x_mean [in]");
  const int64_t in = x_mean.size(0);
  for (size_t k = 0; k < weights.size(); ++k) {
    const std::string what = "weight " + std::to_string(k) + " of the scaling group";
    check_weight(weights[k], what);
    RELAPSE_CHECK_INPUT(weights[k].size(1) == in, "AWQ scale search: ", what, " has ",
                        weights[k].size(1), " input columns, x_mean has ", in);
  }
  const int64_t gs = group_of(in, c, "the scaling group's weights");
  torch::NoGradGuard no_grad;

  std::vector<torch::Tensor> orig, orig32;
  for (const auto& w : weights) {
    orig.push_back(w.detach().clone());
    // From the clone: w.to(kFloat32) of an fp32 w would alias the weight we overwrite.
    orig32.push_back(orig.back().to(torch::kFloat32));
  }
  const torch::Tensor w_mean = awq_weight_mean(orig32, gs, in);
  torch::Tensor xm = x_mean.detach().to(w_mean.device(), torch::kFloat32).view({-1});
  torch::Tensor ref = reference_out.detach().to(torch::kFloat32);

  std::vector<double> local(c.n_grid + 1, 0.0);
  std::vector<torch::Tensor> cand;
  auto restore = [&] {
    for (size_t k = 0; k < weights.size(); ++k) weights[k].copy_(orig[k]);
  };
  try {
    for (int i = 0; i < c.n_grid; ++i) {
      const double ratio = static_cast<double>(i) / c.n_grid;
      torch::Tensor s = awq_grid_scales(xm, w_mean, ratio, c.duo_scaling);
      torch::Tensor sv = s.view({1, -1});
      for (size_t k = 0; k < weights.size(); ++k)
        weights[k].copy_(pq_dequant(orig32[k] * sv, gs, c) / sv);
      torch::Tensor out = block_forward();
      RELAPSE_CHECK(out.defined() && out.sizes() == ref.sizes(),
                    "AWQ scale search: block_forward's output shape differs from reference_out");
      local[i] =
          (ref - out.detach().to(torch::kFloat32)).to(torch::kFloat64).pow(2).sum().item<double>();
      cand.push_back(s);
    }
  } catch (...) {
    restore();
    throw;
  }
  restore();
  local[c.n_grid] = static_cast<double>(ref.numel());
  if (comm != nullptr) {
    torch::Tensor t = torch::tensor(local, torch::kFloat64);
    if (comm->backend() == "nccl") t = t.to(w_mean.device());
    comm->all_reduce(t, ReduceOp::kSum);
    t = t.cpu().contiguous();
    std::copy(t.data_ptr<double>(), t.data_ptr<double>() + t.numel(), local.begin());
  }

  AwqScaleResult r;
  double best = std::numeric_limits<double>::infinity();
  for (int i = 0; i < c.n_grid; ++i) {
    const double loss = local[i] / local[c.n_grid];
    r.losses.push_back(loss);
    if (loss < best) {
      best = loss;
      r.best_index = i;
    }
  }
  RELAPSE_CHECK(r.best_index >= 0, "AWQ scale search: no finite loss on the grid (NaN outputs?)");
  r.best_ratio = static_cast<double>(r.best_index) / c.n_grid;
  r.scales = cand[r.best_index];
  return r;
}

void awq_scale_prev_norm(torch::Tensor& norm_weight, const std::vector<torch::Tensor>& weights,
                         const torch::Tensor& s, torch::Tensor* norm_bias) {
  RELAPSE_CHECK_INPUT(s.defined() && s.dim() == 1, "AWQ scale must be 1-D [in]");
  RELAPSE_CHECK_INPUT(norm_weight.defined() && norm_weight.numel() == s.numel(),
                      "AWQ: the norm weight has ", norm_weight.numel(), " entries, the scale ",
                      s.numel());
  torch::NoGradGuard no_grad;
  torch::Tensor s32 = s.to(norm_weight.device(), torch::kFloat32);
  norm_weight.copy_(norm_weight.to(torch::kFloat32) / s32);
  if (norm_bias != nullptr && norm_bias->defined())
    norm_bias->copy_(norm_bias->to(torch::kFloat32) / s32);
  for (const auto& w : weights) {
    RELAPSE_CHECK_INPUT(w.dim() == 2 && w.size(1) == s.numel(), "AWQ: a scaled linear has ",
                        w.dim() == 2 ? w.size(1) : -1, " input columns, the scale ", s.numel());
    w.copy_(w.to(torch::kFloat32) * s32.view({1, -1}));
  }
}

void awq_scale_prev_linear(torch::Tensor& prev_weight, const std::vector<torch::Tensor>& weights,
                           const torch::Tensor& s, torch::Tensor* prev_bias) {
  RELAPSE_CHECK_INPUT(s.defined() && s.dim() == 1, "AWQ scale must be 1-D [in]");
  const int64_t n = s.numel();
  RELAPSE_CHECK_INPUT(prev_weight.defined() && prev_weight.dim() == 2 && prev_weight.size(0) >= n,
                      "AWQ: the previous linear needs at least ", n, " output rows");
  torch::NoGradGuard no_grad;
  torch::Tensor s32 = s.to(prev_weight.device(), torch::kFloat32);
  const int64_t rows = prev_weight.size(0);
  // AutoAWQ scale_fc_fc: fc1.weight[-n:] /= s (the last n rows, e.g. v in a fused qkv).
  torch::Tensor tail = prev_weight.narrow(0, rows - n, n);
  tail.copy_(tail.to(torch::kFloat32) / s32.view({-1, 1}));
  if (prev_bias != nullptr && prev_bias->defined()) {
    torch::Tensor bt = prev_bias->narrow(0, prev_bias->size(0) - n, n);
    bt.copy_(bt.to(torch::kFloat32) / s32);
  }
  for (const auto& w : weights) {
    RELAPSE_CHECK_INPUT(w.dim() == 2 && w.size(1) == n, "AWQ: a scaled linear has ",
                        w.dim() == 2 ? w.size(1) : -1, " input columns, the scale ", n);
    w.copy_(w.to(torch::kFloat32) * s32.view({1, -1}));
  }
}

int64_t awq_clip_token_step(int64_t n_tokens, int64_t n_sample_token) {
  RELAPSE_CHECK_INPUT(n_sample_token >= 1, "AWQ n_sample_token must be >= 1");
  return std::max<int64_t>(1, n_tokens / n_sample_token);
}

torch::Tensor awq_clip_sample(const torch::Tensor& x, int64_t n_sample_token) {
  torch::Tensor flat = x.reshape({-1, x.size(-1)});
  const int64_t step = awq_clip_token_step(flat.size(0), n_sample_token);
  return flat.slice(0, 0, flat.size(0), step);
}

torch::Tensor awq_search_clip(const torch::Tensor& w, const torch::Tensor& x_sampled,
                              const AwqConfig& c) {
  awq_config_validate(c);
  check_weight(w, "the clipped weight");
  const int64_t co = w.size(0), ci = w.size(1);
  RELAPSE_CHECK_INPUT(x_sampled.defined() && x_sampled.dim() >= 1 && x_sampled.size(-1) == ci &&
                          x_sampled.numel() > 0,
                      "AWQ clip search: the sampled inputs must be [n, ", ci, "]");
  const int64_t gs = group_of(ci, c, "the clipped weight");
  const int64_t ng = ci / gs;
  torch::NoGradGuard no_grad;
  torch::Tensor wg = w.detach().to(torch::kFloat32).contiguous().view({co, ng, gs});
  torch::Tensor x32 = x_sampled.detach().to(wg.device(), torch::kFloat32).reshape({-1, ci});
  const int64_t n = x32.size(0);
  torch::Tensor xg = x32.view({n, ng, gs}).permute({1, 0, 2}).contiguous();  // [G, n, gs]
  torch::Tensor org_max = std::get<0>(wg.abs().max(-1, true));               // [co, G, 1]
  torch::Tensor best = org_max.clone();
  const int n_shrink = static_cast<int>(c.max_shrink * c.clip_n_grid);
  // Rows in blocks so the [G, n, rows] products stay near 16M elements.
  const int64_t block = std::max<int64_t>(1, std::min<int64_t>(co, (int64_t(1) << 24) / (ng * n)));
  for (int64_t r0 = 0; r0 < co; r0 += block) {
    const int64_t rb = std::min(block, co - r0);
    torch::Tensor wb = wg.narrow(0, r0, rb);
    torch::Tensor mb = org_max.narrow(0, r0, rb);
    torch::Tensor min_errs = torch::ones_like(mb) * 1e9;
    torch::Tensor best_b = mb.clone();
    // Per-group partial dot products x_g · w_g: [G, n, rb].
    torch::Tensor org_out = torch::bmm(xg, wb.permute({1, 2, 0}));
    for (int i_s = 0; i_s < n_shrink; ++i_s) {
      torch::Tensor max_val = mb * (1.0 - static_cast<double>(i_s) / c.clip_n_grid);
      torch::Tensor cur = torch::min(torch::max(wb, -max_val), max_val);
      torch::Tensor q = pq_last_dim(cur, c.bits, c.zero_point).deq;
      torch::Tensor cur_out = torch::bmm(xg, q.permute({1, 2, 0}));
      // Mean over tokens -> [G, rb] -> [rb, G, 1].
      torch::Tensor err = (cur_out - org_out).pow(2).mean(1).t().contiguous().view({rb, ng, 1});
      torch::Tensor better = err < min_errs;
      min_errs = torch::where(better, err, min_errs);
      best_b = torch::where(better, max_val, best_b);
    }
    best.narrow(0, r0, rb).copy_(best_b);
  }
  return best.view({co, ng});
}

void awq_apply_clip(torch::Tensor& w, const torch::Tensor& max_val) {
  RELAPSE_CHECK_INPUT(w.defined() && w.dim() == 2 && max_val.defined() && max_val.dim() == 2 &&
                          max_val.size(0) == w.size(0) && max_val.size(1) > 0 &&
                          w.size(1) % max_val.size(1) == 0,
                      "AWQ apply_clip: max_val must be [out, n_groups] with n_groups dividing in");
  torch::NoGradGuard no_grad;
  const int64_t out = w.size(0), ng = max_val.size(1), gs = w.size(1) / ng;
  torch::Tensor mv = max_val.to(w.device(), torch::kFloat32).view({out, ng, 1});
  torch::Tensor wg = w.to(torch::kFloat32).view({out, ng, gs});
  w.copy_(torch::min(torch::max(wg, -mv), mv).view({out, ng * gs}));
}

}  // namespace relapse::quant
