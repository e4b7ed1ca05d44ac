// relapse/quant/gptq_export.h — quantized models written as Hugging Face
// directories in the GPTQ checkpoint layout (AutoGPTQ's, checkpoint_format
// "gptq", i.e. v1), which transformers/optimum load: for every quantized
// linear `<prefix>.qweight` int32 [in·bits/32, out], `<prefix>.qzeros` int32
// [n_groups, out·bits/32] (zero − 1, packed), `<prefix>.scales` fp16
// [n_groups, out], `<prefix>.g_idx` int32 [in]; every other tensor as
// model::hf_save writes it; config.json with a `quantization_config` and
// AutoGPTQ's quantize_config.json. Packing: kernels/relapse_kernels.h
// (layout of AutoGPTQ's QuantLinear.pack, auto_gptq/nn_modules/qlinear/
// qlinear_cuda_old.py). Bits 2, 4, 8 (3-bit packing is not implemented).
//
// Codes: GPTQ stores unsigned codes q ∈ [0, 2^b − 1] with a zero point z and
// reads w = scale·(q − z). LayerQuant results with zeros (GPTQ, AWQ,
// rtn_asym) are stored as they are; rtn_sym_clamp codes c ∈ [−2^(b−1),
// 2^(b−1) − 1] become q = c + 2^(b−1) with z = 2^(b−1) (the same weights);
// rtn_sym (codes up to +2^(b−1): 2^b + 1 levels) has no b-bit form and is
// refused. The v1 format stores z − 1, so a zero point 0 cannot be held: its
// field is written as 2^b − 1 (masked, no other field touched) and every v1
// loader reads it as z = 2^b; such groups are counted in a warning.
#pragma once
#include <string>
#include <vector>

#include "relapse/model/llama.h"
#include "relapse/quant/quantize_model.h"

namespace relapse::quant {

struct GptqExportInfo {
  int bits = 4;              // 2, 4 or 8
  int64_t group_size = 128;  // -1 = one group per row (the whole input dim)
  bool sym = true;           // recorded in quantization_config
  bool desc_act = false;     // act-order (the g_idx of the results carry the order)
  double damp_percent = 0.01;
};

// One linear layer in the GPTQ layout (CPU tensors).
struct GptqTensors {
  torch::Tensor qweight;  // int32 [in·bits/32, out]
  torch::Tensor qzeros;   // int32 [n_groups, out·bits/32]
  torch::Tensor scales;   // float16 [n_groups, out]
  torch::Tensor g_idx;    // int32 [in]
};

// Packs one quantized weight [out, in] (codes, scales [out, n_groups], zeros,
// g_idx of l.result; conversions as above). Errors: rtn_sym codes, a group
// size that disagrees with info.group_size, or bits not 2/4/8 are kConfig
// errors; missing codes, codes or zeros outside their range, in or out not a
// multiple of 32/bits, or a scale that overflows fp16 are kInput errors; all
// name the tensor.
GptqTensors gptq_pack_layer(const LayerQuant& l, const GptqExportInfo& info);

// The fp32 weight [out, in] a GPTQ v1 loader reconstructs from the packed
// tensors: scales[g_idx[c], o] · (q(c, o) − (qzeros field(g, o) + 1)) — AutoGPTQ's
// torch forward (qlinear_cuda.py) with the scales widened to fp32.
torch::Tensor gptq_dequantize(const GptqTensors& t, int bits);

// Writes the model as an HF directory OUT_DIR in the GPTQ layout: the weights
// named by `layers` (HF names "<prefix>.weight" of decoder linears) replaced by
// their packed tensors, all else as model::hf_save (config.json gains
// quantization_config {quant_method "gptq", bits, group_size, desc_act, sym,
// damp_percent, true_sequential, static_groups, checkpoint_format "gptq"};
// quantize_config.json has AutoGPTQ's fields), `tokenizer_path` (a
// tokenizer.model file) copied when given. Written to OUT_DIR.partial and
// renamed. TP = 1 only (kConfig error otherwise); embed_tokens / lm_head
// results are refused (the layout holds only decoder linears).
void quant_export_gptq(const model::LlamaForCausalLM& m, const std::vector<LayerQuant>& layers,
                       const GptqExportInfo& info, const std::string& out_dir,
                       const std::string& tokenizer_path = "");

}  // namespace relapse::quant
