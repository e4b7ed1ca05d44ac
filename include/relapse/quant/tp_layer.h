// relapse/quant/tp_layer.h — one whole decoder layer for the passes that
// must see whole weights and whole activations (GPTQ, AWQ, bitsandbytes
// 4-bit) when the model is tensor parallel.
//
// At TP 1 a LayerWork is the model's own layer. At TP > 1 it is a TP-1 copy of
// layer l built from every parameter gathered over the TP group (the HF
// tensors: each replicated KV head once), on the model's device and dtype; the
// pass calibrates and quantizes the copy exactly as at TP 1 — same shapes,
// same ops, on inputs that are whole on every rank (the decoder's hidden
// states are replicated) — and write_back() copies this rank's slice of every
// parameter of the copy (the quantized linears and whatever the pass folded
// into the norms) into the model. So the codes, the dequantized weights and
// the next layer's inputs equal TP 1's bit for bit, and only one layer is
// ever whole in memory (Megatron regathers a layer the same way for export).
// Every TP rank of a DP rank does the same work; the passes' own sharding of
// the calibration samples runs over the DP group, as before.
#pragma once
#include <string>
#include <vector>

#include "relapse/model/llama.h"
#include "relapse/quant/model_passes.h"

namespace relapse::quant {

class LayerWork {
 public:
  LayerWork(model::LlamaForCausalLM& m, int64_t l);
  model::LlamaDecoderLayerImpl& layer() { return *layer_; }
  // The selected linears of the working layer (layer_linears' order and names).
  std::vector<LinearRef> linears(const std::vector<std::string>& modules);
  // TP > 1: this rank's slice of every parameter of the copy into the model's
  // layer l (collective-free); TP 1: nothing to do.
  void write_back();

 private:
  model::LlamaForCausalLM& m_;
  int64_t l_;
  model::LlamaDecoderLayer copy_{nullptr};  // TP > 1 only
  model::LlamaDecoderLayerImpl* layer_ = nullptr;
};

}  // namespace relapse::quant
