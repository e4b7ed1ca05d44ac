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
  // With tp.size > 1 the model is this rank's shard: each parameter reads only
  // its slice (tp_param_layout's rule) straight from the safetensors files.
  TpContext tp;
  // Where the parameters live (each tensor is read on the host, then copied there).
  torch::Device device{torch::kCPU};
};

// Builds the model from DIR/config.json and loads every parameter from the
// safetensors files. Shapes are checked against config.json; missing and
// unexpected tensors are named in the error (all of them, not only the first).
// Not collective: every TP rank reads on its own.
LlamaForCausalLM hf_load(const std::string& dir, const HfLoadOptions& opts = {});

// The HF state-dict of a model: (name, tensor) in module order with HF names
// and full HF shapes; the tied lm_head is omitted as transformers'
// save_pretrained omits it. At TP size 1 the tensors share storage with the
// parameters (detached). On a TP shard every sharded tensor is gathered over
// the TP group (vocabulary padding cut off), so it is collective over the
// group and every rank gets the full tensors (fresh copies).
NamedTensors hf_state_dict(const LlamaForCausalLM& m);

// Writes config.json (+ generation_config.json) and the weights to DIR, sharded
// when larger than max_shard_bytes, and copies `tokenizer_model` (a
// tokenizer.model path) when given. Writes into DIR.partial and renames, so an
// interrupted save never leaves a half-written model directory.
// On a TP shard: collective over the TP group (call it on every rank of ONE
// group — with data parallelism, the dp_rank 0 group only); the tensors are
// gathered, TP rank 0 writes, and a barrier on the TP communicator makes the
// directory complete on every rank of the group when hf_save returns.
void hf_save(const LlamaForCausalLM& m, const std::string& dir,
             const std::string& tokenizer_model = "", uint64_t max_shard_bytes = 5ull << 30);

}  // namespace relapse::model
