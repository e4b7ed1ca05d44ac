// relapse/quant/gptq.h — GPTQ (Frantar et al., ICLR 2023) for one linear layer,
// computed exactly as AutoGPTQ does it (auto_gptq/quantization/gptq.py
// GPTQ.add_batch / fasterquant and quantizer.py Quantizer with perchannel=True,
// mse=False), plus the running Hessian statistics of the layer's input.
//
// gptq_quantize(W [out, in], H [in, in]), all arithmetic in fp32 (W.float()):
//  1. Quantizer params from the whole W (used when group_size == -1).
//  2. Dead columns (H_ii == 0): H_ii = 1 and W[:, i] = 0.
//  3. static_groups: params of every group [g*gs, (g+1)*gs) from this W, in
//     the original column order.
//  4. desc_act: perm = argsort(diag(H), descending) (ties: lowest column first;
//     AutoGPTQ's unstable argsort leaves ties to the backend); W and H permuted.
//  5. H_ii += damp_percent * mean(diag H); Hinv = cholesky(cholesky_inverse(
//     cholesky(H)), upper) — the upper Cholesky factor of H^-1.
//  6. Columns in lazy blocks of block_size: column j of the block is quantized,
//     err = (w − q) / Hinv_jj is propagated to the block's later columns at
//     once and to the columns after the block with one matmul at block end
//     (relapse: fp64 products and sums rounded once to fp32, so the result is
//     the same on every BLAS/device; AutoGPTQ's fp32 matmul is BLAS-ordered).
//     Non-static groups get their params when column j (permuted order) starts
//     a group (j % gs == 0), from W[:, j : j+gs] of the OUTER W, which holds
//     the updates of earlier blocks but not those of earlier columns of the
//     current block (AutoGPTQ's order, kept on purpose).
//  7. g_idx[c] = position of c in the permuted order / gs (non-static), or
//     c / gs (no act-order, or static groups); codes and Q un-permuted.
// The Quantizer: xmin = min(min w, 0), xmax = max(max w, 0); sym: xmax =
// max(|xmin|, xmax) and, only where xmin < 0, xmin = −xmax (a group with no
// negative weight keeps xmin = 0); xmin = xmax = 0 -> −1, +1; scale =
// (xmax − xmin) / maxq; zero = (maxq + 1) / 2 (sym) or round(−xmin / scale);
// q = clamp(round(w / scale) + zero, 0, maxq), w' = scale * (q − zero).
// round() is half-to-even. maxq = 2^bits − 1.
//
// Computed on the CPU (inputs on another device are copied there); the result
// is returned on W's device. Reference: tests/golden/make_gptq_fixtures.py.
#pragma once
#include <string>

#include <torch/torch.h>

#include "relapse/quant/rtn.h"

namespace relapse {
class Communicator;
}

namespace relapse::quant {

struct GptqConfig {
  int bits = 4;              // 8, 4, 3 or 2
  int64_t group_size = 128;  // -1 = one group per output row (the whole input dim)
  bool sym = true;
  bool desc_act = false;       // act-order
  double damp_percent = 0.01;  // of the mean diagonal of H; in (0, 1)
  int64_t block_size = 128;    // lazy-batch width
  bool static_groups = false;  // group params from the un-updated W, up front
};

// kConfig error naming the bad field (bits, group_size, damp_percent,
// block_size, static_groups without a group size).
void gptq_config_validate(const GptqConfig& c);

// Running statistics of one linear layer's input: S = sum over tokens of
// x x^T in float64, and the number of samples (sequences, as AutoGPTQ's
// add_batch counts inp.shape[0]). Sharded calibration: each rank adds its own
// samples, then all_reduce sums S and the counts. S is kept as a double-double
// (TwoSum), so its value does not depend on the order samples and ranks are
// added in beyond ~1e-32 relative: the fp32 H is the same at any rank count.
class GptqHessian {
 public:
  explicit GptqHessian(int64_t in_features);
  // x [batch, seq, in] or [tokens, in], any floating dtype; n_samples > 0 is
  // the number of samples x holds (batch for a 3-D x). S lives on the device
  // of the first x added.
  void add(const torch::Tensor& x, int64_t n_samples);
  // Sums S and the sample count over the communicator's ranks (collective).
  // Null = no-op. An NCCL communicator gets CUDA copies.
  void all_reduce(Communicator* comm);
  // fp32 [in, in] = fp32(S * 2 / n_samples) (AutoGPTQ's 2/n scaling; AutoGPTQ
  // keeps a running fp32 H instead, equal up to fp32 rounding). kInput error
  // when no sample was added.
  torch::Tensor hessian() const;
  int64_t n_samples() const { return n_; }
  int64_t in_features() const { return in_; }
  const torch::Tensor& sum() const { return sum_; }    // S's leading fp64 part [in, in]
  const torch::Tensor& sum_lo() const { return lo_; }  // S's trailing part (S = sum + sum_lo)

 private:
  int64_t in_;
  int64_t n_ = 0;
  torch::Tensor sum_, lo_;  // S = sum_ + lo_ (double-double, see add())
};

// Quantizes W [out, in] (any floating dtype) given its input Hessian H [in, in]
// (see the top of this file). Returns: codes uint8 [out, in] in [0, 2^bits − 1],
// scales fp32 [out, n_groups], zeros uint8 [out, n_groups] (sym too: (maxq+1)/2),
// dequant [out, in] in W's dtype (= scales * (codes − zeros) per g_idx group),
// group_size (in for −1), g_idx int32 [in] (always set). `loss`, when given,
// receives the sum of AutoGPTQ's Losses (sum of (w − q)^2 / Hinv_jj^2 / 2).
// kInput errors name `name`: W not 2-D / not floating / non-finite, H not
// [in, in] / non-finite / not positive definite after dampening, group_size not
// dividing in.
RtnResult gptq_quantize(const torch::Tensor& W, const torch::Tensor& H, const GptqConfig& c,
                        const std::string& name = "", double* loss = nullptr);

}  // namespace relapse::quant
