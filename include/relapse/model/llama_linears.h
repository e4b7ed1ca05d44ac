// relapse/model/llama_linears.h — the one table of a Llama decoder layer's
// linears, in Hugging Face's module order, read by tensor parallelism's
// layout, RTN, GPTQ's order and Hessians, AWQ's groups and the memory plan:
// each linear's module path, how tensor parallelism splits it (column: its
// output rows; row: its input columns — model/tp_layers.h), the linear whose
// input it shares (q/k/v read the same normed x, so do gate/up: one GPTQ
// Hessian, one AWQ scale group), its step in GPTQ's true-sequential order,
// the op before its AWQ scale group, and its whole shape for a config.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "relapse/model/llama_config.h"

namespace relapse::model {

enum class LinearSplit { kColumn, kRow };
// A side of a linear's weight, in config terms: hidden_size, intermediate_size,
// the query heads' width (heads × head_dim), the KV heads' (kv heads × head_dim).
enum class LinearDim { kHidden, kIntermediate, kQHeads, kKvHeads };
int64_t linear_dim_size(const LlamaConfig& cfg, LinearDim d);

struct LlamaLinear {
  std::string kind;               // "q_proj", ..., "down_proj"
  std::string block;              // "self_attn" | "mlp"
  LinearSplit split;              // how TP cuts its weight
  std::string shares_input_with;  // the first linear of the table reading the same input
  int sequential_step;            // GPTQ true_sequential: 0 q/k/v, 1 o, 2 gate/up, 3 down
  // AWQ (AutoAWQ's get_layers_for_scaling): on the first linear of a scaling
  // group, the op before it that absorbs 1/s — a norm ("input_layernorm",
  // "post_attention_layernorm": the block is inspected) or a linear ("v_proj",
  // "up_proj": the group's linear is inspected); "" on the others.
  std::string awq_prev;
  LinearDim out_dim, in_dim;  // the weight's [out, in] sides
  int64_t out = 0, in = 0;    // their sizes for a config (llama_linears(cfg))
};

// The seven linears (q, k, v, o, gate, up, down) without shapes.
const std::vector<LlamaLinear>& llama_linear_table();
// The same with the whole shapes for `cfg`.
std::vector<LlamaLinear> llama_linears(const LlamaConfig& cfg);
// Their kinds, in table order.
const std::vector<std::string>& llama_linear_kinds();
// The entry of `kind`; nullptr when it is not a decoder-layer linear.
const LlamaLinear* llama_linear_find(const std::string& kind);
// The entry whose kind appears in a parameter name
// ("model.layers.3.mlp.down_proj.weight" → down_proj); nullptr for others.
const LlamaLinear* llama_linear_of_name(const std::string& name);
// Hugging Face's weight name: "model.layers.<layer>.<block>.<kind>.weight".
std::string llama_linear_weight_name(int64_t layer, const LlamaLinear& l);

}  // namespace relapse::model
