// relapse/quant/bnb.h — emulations of what the paper's released code ran:
// bitsandbytes 4-bit FP4 / NF4 (transformers load_in_4bit; FP4 is bnb's
// default quant type) and LLM.int8 (load_in_8bit, threshold 6.0).
//
// Followed: bitsandbytes csrc/kernels.cu (kQuantizeBlockwise, dQuantizeFP4,
// dQuantizeNF4, dDequantizeFP4Tree), csrc int8 kernels (kInt8VectorQuant,
// kdequant_mm_int32_fp16, MM_DEQUANT_CONST), bitsandbytes/functional.py
// (get_4bit_type, create_dynamic_map, quantize_4bit with compress_statistics),
// autograd/_functions.py MatMul8bitLt, backends/default/ops.py
// (int8_mixed_scaled_mm), nn/modules.py Int8Params._quantize (bnb 0.50.2).
//
// 4-bit: blocks of `blocksize` consecutive elements of the row-major weight
// (flattened; the last block may be partial, see bnb4_quantize);
// absmax = max|w| (fp32); x = fp32(w) * fp32(1/absmax); the code is chosen by
// the CUDA decision trees (fp32 threshold literals, `x > t` so a value exactly
// on a threshold takes the code of smaller value for NF4 and of smaller
// magnitude for FP4; FP4 keeps the sign bit, so a tiny negative gets code 8,
// "-0"); dequant = fp32(code_value * absmax) cast to w's dtype. This is the GPU
// path. bitsandbytes' CPU path (torch.bucketize) differs from it only in codes
// that dequantize to the same ±0 (FP4 |x| <= 0.0026, an all-zero block) and
// in FP4 negative values exactly on a threshold (it takes the larger
// magnitude); tests/golden/make_bnb_fixtures.py records both.
// Double quantization (compress_statistics): offset = mean(absmax);
// (absmax − offset) is blockwise-quantized (blocks of 256) to the nearest
// value of bnb's signed 8-bit dynamic map; the absmax used is
// fp32(dyn[q] * blockmax) + offset.
#pragma once
#include <string>
#include <vector>

#include <torch/torch.h>

#include "relapse/quant/rtn.h"

namespace relapse::quant {

enum class Bnb4Format { kFp4, kNf4 };

// "fp4" | "nf4"; anything else is a kConfig error naming the value.
Bnb4Format bnb4_format_from_name(const std::string& name);
std::string bnb4_format_name(Bnb4Format f);
std::vector<std::string> bnb4_format_names();

// The 16 code values, index = the stored 4-bit code, in bitsandbytes' order
// (FP4: sign bit 8, magnitudes 0, 1/192, 2/3, 1, 1/3, 1/2, 1/6, 1/4; NF4:
// sorted, -1 … 1). fp32 values.
const std::vector<float>& bnb4_codebook(Bnb4Format f);
// bitsandbytes' create_dynamic_map(signed=True, 7, 8): 256 sorted fp32 values
// (used for the double quantization of the absmax).
const std::vector<float>& bnb_dynamic_map();

struct Bnb4Config {
  Bnb4Format format = Bnb4Format::kFp4;
  int64_t blocksize = 64;     // 32, 64, …, 4096 (bitsandbytes' accepted sizes)
  bool double_quant = false;  // bnb_4bit_use_double_quant (off in the paper's code)
};

// Quantizes a weight [out, in] (fp32/bf16/fp16, any shape; kInput error naming
// the tensor for non-2-D, non-floating or non-finite weights). As bitsandbytes
// does (functional.quantize_4bit; kQuantizeBlockwise; backends/default/ops.py
// quantize_4bit), the blocks run over the FLATTENED row-major tensor: with
// numel = out·in and n_blocks = ceil(numel / blocksize), block b covers the
// flattened elements [b·blocksize, min((b+1)·blocksize, numel)), so blocks may
// span rows and the last one may be partial; a partial block's absmax is the
// max |w| over the elements it has. Double quant runs over the n_blocks absmax
// values in that order (its own blocks of 256, the last one partial too).
// Result: codes uint8 [out, in] (the 4-bit index), scales fp32 = the absmax
// dequantization uses (after double quant when on), laid out
//   [out, in/blocksize]  when in % blocksize == 0 (blocks never span rows),
//   [1, n_blocks]        otherwise (flattened block order);
// in both layouts scales.reshape(-1)[i / blocksize] is the scale of flattened
// element i. zeros undefined, dequant = codebook[code] * scale in w's dtype,
// group_size = blocksize.
RtnResult bnb4_quantize(const torch::Tensor& w, const Bnb4Config& c, const std::string& name = "");

// Width in weight units of the bucket each weight's code stands for: the
// distance between the decision thresholds around its code (ends clipped to
// ±1, FP4 buckets by magnitude with 0 as the boundary between +0 and −0)
// times the block's absmax. Accepts both scales layouts of bnb4_quantize.
// fp32 [out, in].
torch::Tensor bnb4_bucket_width(const RtnResult& q, const Bnb4Config& c);

// LLM.int8 weights: Int8Params casts the weight to fp16, then per output row
// SCB = max|w16| (fp32), CB = round_half_even(w16 * (127/SCB)) (int8). A zero
// row has SCB 0 and CB 0.
struct LlmInt8Weight {
  torch::Tensor cb;   // int8 [out, in]
  torch::Tensor scb;  // fp32 [out]
};
LlmInt8Weight llm_int8_quantize_weight(const torch::Tensor& w, const std::string& name = "");

// The Linear8bitLt forward (inference, has_fp16_weights = False) as the CUDA
// path computes it. x [..., in] (any floating dtype) is cast to fp16 for
// quantization; with threshold > 0 an element with |x16| >= threshold (in
// fp16) is an outlier and every column holding one is an outlier column.
// Row absmax over the non-outlier elements, CA = round(x16 * (127/absmax))
// with outlier columns zeroed; int8 product accumulated exactly;
// y16 = fp16(acc * absmax * SCB * 6.200012e-05 (+ bias: fused when bias is
// fp16, else added to the fp16 result)); y = y16 cast to x's dtype, plus
// x[:, cols] @ (CB[:, cols] * SCB / 127 in x's dtype)ᵀ. threshold 0 = no
// decomposition. Output [..., out] in x's dtype.
torch::Tensor llm_int8_linear(const torch::Tensor& x, const LlmInt8Weight& w, double threshold,
                              const torch::Tensor& bias = {});

}  // namespace relapse::quant
