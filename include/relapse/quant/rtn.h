// relapse/quant/rtn.h — round-to-nearest (RTN) weight quantization, per group
// along the input dimension of a 2-D weight [out, in], with bits 8, 4, 3, 2.
//
// Schemes (selected by name, see rtn_scheme_from_name):
//  - "rtn_sym" — the paper's symmetric absmax (Zhang et al., ICLR 2025, the
//    RTN equation): Δ = max|w| / 2^(N−1), Q(w) = Δ·round(w/Δ), taken
//    literally: codes are NOT clamped, so they span [−2^(N−1), +2^(N−1)]
//    (2^N + 1 levels; the group's max element maps exactly to +2^(N−1), which
//    is one beyond a signed N-bit integer). The paper's released code
//    (github.com/zzwjames/FailureLLMUnlearning, utils.py load_model) never
//    runs this RTN: it quantizes through bitsandbytes (load_in_4bit FP4 /
//    load_in_8bit LLM.int8), so there is no released RTN code to follow and
//    the printed formula is the reference. Codes are stored as int16 because
//    +128 does not fit int8 at 8 bits.
//  - "rtn_sym_clamp" — the same Δ with codes clamped to the signed N-bit range
//    [−2^(N−1), 2^(N−1)−1] (a true N-bit format; the largest positive weights
//    lose up to one step). Codes stored as int8.
//  - "rtn_asym" — min/max with a zero point, exactly AutoGPTQ's Quantizer
//    (auto_gptq/quantization/quantizer.py, find_params with sym=False, the
//    per-channel path GPTQ uses per group): xmin = min(min(w), 0),
//    xmax = max(max(w), 0) (the range is forced to contain 0); when both are 0,
//    xmin = −1, xmax = +1; scale = (xmax − xmin)/(2^N − 1),
//    zero = round(−xmin/scale), q = clamp(round(w/scale) + zero, 0, 2^N − 1),
//    w' = scale·(q − zero). Codes and zeros stored as uint8.
//
// All arithmetic is fp32 (the input is upcast first, as GPTQ does W.float()),
// in the operation order written above; the dequantized weight is cast back to
// the input dtype at the end. round() is round-half-to-even (torch.round,
// numpy.round): 2.5 -> 2, 3.5 -> 4, −0.5 -> −0.
// A symmetric group whose weights are all zero has Δ = 0: its codes are 0, its
// dequantized weights 0 (no 0/0 NaN), and its stored scale is 0.
//
// Re-quantizing a dequantized weight: rtn_sym gives the same codes and scales
// bit for bit (the absmax maps to exactly ±2^(N−1)); rtn_asym gives the same
// codes wherever a group's codes reach both 0 and 2^N − 1 (a rounding that
// leaves one end unused shrinks the range); rtn_sym_clamp changes Δ whenever
// a group's absmax is positive. In a bf16 model 8-bit asym dequantized values
// are rounded to bf16 (up to half a step off the grid: bf16 has 8 significand
// bits), while sym 8-bit ones are exact (Δ = bf16 absmax / 128, |q| ≤ 128).
#pragma once
#include <string>
#include <vector>

#include <torch/torch.h>

namespace relapse::quant {

enum class RtnScheme { kSym, kSymClamp, kAsym };

// "rtn_sym" | "rtn_sym_clamp" | "rtn_asym"; anything else is a kConfig error
// naming the value and the accepted names.
RtnScheme rtn_scheme_from_name(const std::string& name);
std::string rtn_scheme_name(RtnScheme s);
std::vector<std::string> rtn_scheme_names();

// The module kinds quantize_model knows: the seven decoder linear kinds and,
// only when listed, "embed_tokens" and "lm_head".
const std::vector<std::string>& rtn_linear_kinds();  // q,k,v,o,gate,up,down _proj

struct RtnConfig {
  RtnScheme scheme = RtnScheme::kSym;
  int bits = 4;              // 8, 4, 3 or 2
  int64_t group_size = 128;  // -1 = one group per output row (the whole input dim)
  // Module kinds quantize_model applies to (names as in rtn_linear_kinds(),
  // plus "embed_tokens", "lm_head"). Norm weights are 1-D and cannot be listed.
  std::vector<std::string> modules = rtn_linear_kinds();
};

// Checks bits / group_size / module kinds (kConfig error naming the bad value).
void rtn_config_validate(const RtnConfig& c);

struct RtnResult {
  torch::Tensor codes;     // [out, in]: int16 (rtn_sym), int8 (rtn_sym_clamp), uint8 (rtn_asym)
  torch::Tensor scales;    // [out, n_groups] fp32 (Δ for sym, scale for asym)
  torch::Tensor zeros;     // [out, n_groups] uint8 (rtn_asym only; undefined for sym)
  torch::Tensor dequant;   // [out, in], the input's dtype
  int64_t group_size = 0;  // the effective group size (in for -1)
  // Group of each input column, int32 [in] (GPTQ's g_idx: with act-order the
  // groups follow the permuted column order). Undefined = column c is in group
  // c / group_size, as RTN, AWQ and GPTQ without act-order have it.
  torch::Tensor g_idx;
};

// Quantizes one weight [out, in] (any floating dtype, CPU or CUDA) with
// kernels/'s RTN on the weight's device (rows split over libtorch's threads on
// the CPU). `name` names the tensor in errors: not 2-D, not floating,
// non-finite values, or in % group_size != 0 are kInput errors naming it.
RtnResult rtn_quantize(const torch::Tensor& w, const RtnConfig& c, const std::string& name = "");
// The same in torch ops, the formulas above written out: the oracle
// rtn_quantize and the kernels are checked against, bit for bit.
RtnResult rtn_quantize_torch(const torch::Tensor& w, const RtnConfig& c);

// Reconstructs the dequantized weight (fp32) from codes, scales, zeros.
torch::Tensor rtn_dequantize(const torch::Tensor& codes, const torch::Tensor& scales,
                             const torch::Tensor& zeros, int64_t group_size);

}  // namespace relapse::quant
