// relapse/model/hf_checkpoint.h — Hugging Face model directories <-> LlamaForCausalLM:
// config.json + model.safetensors (or shards with model.safetensors.index.json)
// + tokenizer.model. What relapse writes, transformers loads.
#pragma once
#include <optional>
#include <string>

#include "relapse/model/llama.h"
#include "relapse/model/safetensors.h"

namespace relapse::model {

struct HfLoadOptions {
  // Model dtype; empty = the checkpoint's torch_dtype (float32 when absent).
  std::string dtype;
  TpContext tp;
};

// Builds the model from DIR/config.json and loads every parameter from the
// safetensors files. Shapes are checked against config.json; missing and
// unexpected tensors are named in the error (all of them, not only the first).
LlamaForCausalLM hf_load(const std::string& dir, const HfLoadOptions& opts = {});

// The HF state-dict of a model: (name, tensor) in module order; the tied
// lm_head is omitted as transformers' save_pretrained omits it.
NamedTensors hf_state_dict(const LlamaForCausalLM& m);

// Writes config.json (+ generation_config.json) and the weights to DIR, sharded
// when larger than max_shard_bytes, and copies `tokenizer_model` (a
// tokenizer.model path) when given. Writes into DIR.partial and renames, so an
// interrupted save never leaves a half-written model directory.
void hf_save(const LlamaForCausalLM& m, const std::string& dir,
             const std::string& tokenizer_model = "", uint64_t max_shard_bytes = 5ull << 30);

}  // namespace relapse::model
