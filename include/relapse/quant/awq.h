// relapse/quant/awq.h — AWQ (Lin et al., activation-aware weight quantization)
// building blocks, per scaling group: the pseudo-quantizer, the activation
// statistic, the grid search over the scale exponent, applying a scale to the
// previous op and the linears, and the weight clipping search. The model-level
// driver (which linears form a group, capturing inputs, sharding) lives elsewhere.
//
// Followed: AutoAWQ (casper-hansen/AutoAWQ) awq/quantize/quantizer.py
// (pseudo_quantize_tensor, _search_best_scale, _compute_best_scale,
// _compute_loss, _compute_best_clip) and awq/quantize/scale.py (scale_ln_fcs,
// scale_fc_fc, apply_clip), the v0.2.x mainline with duo_scaling and the chunked
// x_mean / loss; the original mit-han-lab/llm-awq auto_scale.py / auto_clip.py
// is the same algorithm without duo_scaling (its scales are x_mean^ratio).
// Formulas (ratio r = i / n_grid, i = 0 .. n_grid-1, so r = 1 is never tried):
//  - pseudo-quantize per group of `group_size` input columns, zero point:
//    scale = clamp(max − min, min 1e-5) / (2^b − 1)  (min/max NOT forced to
//    contain 0, unlike AutoGPTQ), zero = clamp(−round(min/scale), 0, 2^b − 1),
//    q = clamp(round(w/scale) + zero, 0, 2^b − 1), w' = (q − zero)·scale;
//    without zero point: scale = clamp(max|w|, min 1e-5) / (2^(b−1) − 1),
//    q = clamp(round(w/scale), −2^(b−1), 2^(b−1) − 1), w' = q·scale.
//  - w_mean[c] = mean over all rows of the concatenated weights of
//    |w| / (max|w| of its group + 1e-6);  x_mean[c] = mean over tokens of |x|.
//  - s = clamp(x_mean^r / (w_mean^(1−r) + 1e-4), min 1e-4) (duo_scaling) or
//    clamp(x_mean^r, min 1e-4); s /= sqrt(max(s)·min(s)); inf/NaN -> 1.
//  - loss(r) = mean over all output elements of (out_ref − out(Q(W·s)/s))²;
//    the first ratio with the strictly smallest loss wins.
//  - clip: for i_s in 0 .. int(max_shrink·clip_n_grid) − 1, max_val =
//    max|w|_group·(1 − i_s/clip_n_grid); w clamped to ±max_val, quantized; the
//    error per (row, group) is the mean over sampled tokens of the squared
//    difference of the group's partial dot product x_g·w_g; the first strictly
//    smaller error wins (starting from 1e9, as AutoAWQ: an error ≥ 1e9 keeps
//    the unclipped max).
// Deliberate differences (all ulp-level or configuration edge cases):
//  - all arithmetic is fp32 (AutoAWQ casts the layer to fp16), x_mean's sum and
//    the loss's sum of squares are fp64; weights of another dtype are upcast,
//    Q(W·s)/s is computed in fp32 and rounded once into the weight's dtype;
//  - group_size −1 means one group per row (AutoAWQ's search and clip assert);
//  - the clip search computes the per-group dot products as a batched matrix
//    product over row blocks (AutoAWQ: a broadcast multiply-sum over 64/256-row
//    batches and an assert out % 64 == 0); rows are independent, so only the
//    summation order (ulps of the error) differs.
// What the driver does (AutoAWQ's quantize loop, for Llama's get_layers_for_scaling):
//  - groups: input_layernorm -> [q, k, v] (inspect self_attn); v -> [o] only when
//    v's and o's weights have the same shape (no GQA; inspect o); post_attention_
//    layernorm -> [gate, up] (inspect the MLP); up -> [down] (inspect down);
//  - after applying a scale, the captured inputs of the scaled linears are divided
//    by s (AutoAWQ apply_scale's input_feat_dict) before the clip search;
//  - clipping is skipped for q_proj and k_proj ("due to qk bmm, it is hard to clip
//    precisely"); then all linears are pseudo-quantized;
//  - the clip's token sample is x[0::step] over the layer's flattened tokens in
//    the global (all-samples) order, step = awq_clip_token_step(T, n_sample_token)
//    = max(1, T / n_sample_token) — that keeps up to 2·n_sample_token − 1 tokens;
//  - sharded: AwqActStats are all-reduced (awq_act_stats_all_reduce) before the
//    search; awq_search_scales all-reduces its per-ratio losses itself.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "relapse/dist/communicator.h"
#include "relapse/quant/rtn.h"

namespace relapse::quant {

struct AwqConfig {
  int bits = 4;              // 2 .. 8
  int64_t group_size = 128;  // -1 = one group per output row
  bool zero_point = true;
  int n_grid = 20;  // scale-search grid (ratios 0, 1/n_grid, .., (n_grid-1)/n_grid)
  bool duo_scaling = true;
  bool clip = true;         // whether the driver runs the clip search
  double max_shrink = 0.5;  // clip: shrink factors 1 - i/clip_n_grid, i < max_shrink·clip_n_grid
  int clip_n_grid = 20;
  int64_t n_sample_token = 512;  // clip: token subsampling (see awq_clip_token_step)
};

// kConfig error naming the bad field and value.
void awq_config_validate(const AwqConfig& c);

// AutoAWQ's pseudo_quantize_tensor on a 2-D weight [out, in] (any floating dtype,
// computed in fp32): codes uint8 in [0, 2^b − 1] with zero point, int8 in
// [−2^(b−1), 2^(b−1) − 1] without; scales [out, n_groups] fp32; zeros uint8
// [out, n_groups] (zero point only); dequant in w's dtype; g_idx undefined.
// rtn_dequantize(codes, scales, zeros, group_size) reproduces dequant (fp32).
// `name` names the tensor in kInput errors (not 2-D / not floating / non-finite /
// in % group_size != 0).
RtnResult awq_pseudo_quantize(const torch::Tensor& w, const AwqConfig& c,
                              const std::string& name = "");

// Per-input-channel sum of |x| (fp64) over tokens and the token count; x is
// [..., in] (any leading dims are tokens). Sums are exact to reduce across ranks.
struct AwqActStats {
  torch::Tensor abs_sum;  // fp64 [in], on x's device
  int64_t n_tokens = 0;
  void add(const torch::Tensor& x);
  torch::Tensor mean() const;  // fp32 [in]: abs_sum / n_tokens
};
// Sums abs_sum and n_tokens over the communicator's ranks (collective).
void awq_act_stats_all_reduce(AwqActStats& s, Communicator& comm);

struct AwqScaleResult {
  torch::Tensor scales;        // fp32 [in], the best ratio's s
  std::vector<double> losses;  // per ratio: mean squared error over all elements (all ranks)
  int best_index = -1;
  double best_ratio = 0.0;  // best_index / n_grid
};

// The grid search of one scaling group. `weights` alias the linears' weights
// [out_i, in] (same in, same device); for each ratio they are overwritten in
// place with Q(W·s)/s, block_forward() runs the inspected module on THIS rank's
// inputs and returns its output (same shape as reference_out, computed by the
// caller with the original weights); the squared error is summed in fp64.
// `comm` (may be null) all-reduces the per-ratio sums and element counts once
// after the grid, so every rank picks the same ratio. The weights are restored
// bit for bit before returning (also when block_forward throws).
AwqScaleResult awq_search_scales(const std::vector<torch::Tensor>& weights,
                                 const torch::Tensor& x_mean,
                                 const std::function<torch::Tensor()>& block_forward,
                                 const torch::Tensor& reference_out, const AwqConfig& c,
                                 Communicator* comm = nullptr);

// Applying s [in] (AutoAWQ scale_ln_fcs / scale_fc_fc), in place: the previous
// op absorbs 1/s — the norm weight (and bias, if defined) divided by s, or the
// LAST s.numel() output rows (and bias entries) of the previous linear — and
// every linear's columns are multiplied by s. Computed in fp32, stored back in
// each tensor's dtype.
void awq_scale_prev_norm(torch::Tensor& norm_weight, const std::vector<torch::Tensor>& weights,
                         const torch::Tensor& s, torch::Tensor* norm_bias = nullptr);
void awq_scale_prev_linear(torch::Tensor& prev_weight, const std::vector<torch::Tensor>& weights,
                           const torch::Tensor& s, torch::Tensor* prev_bias = nullptr);

// The clip search's token step: max(1, n_tokens / n_sample_token); the sample
// is rows 0, step, 2·step, ... of the layer's flattened inputs.
int64_t awq_clip_token_step(int64_t n_tokens, int64_t n_sample_token);
// x_sampled [n, in] -> rows 0::step (a view).
torch::Tensor awq_clip_sample(const torch::Tensor& x, int64_t n_sample_token);

// Clip search on one (already scaled) weight [out, in] given the sampled inputs
// x_sampled [n, in] (already divided by s): max_val fp32 [out, n_groups].
torch::Tensor awq_search_clip(const torch::Tensor& w, const torch::Tensor& x_sampled,
                              const AwqConfig& c);
// Clamps w to [−max_val, max_val] per group, in place (AutoAWQ apply_clip).
void awq_apply_clip(torch::Tensor& w, const torch::Tensor& max_val);

}  // namespace relapse::quant
