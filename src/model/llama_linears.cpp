// src/model/llama_linears.cpp — the table of a decoder layer's linears
// (relapse/model/llama_linears.h).
#include "relapse/model/llama_linears.h"

namespace relapse::model {

const std::vector<LlamaLinear>& llama_linear_table() {
  using D = LinearDim;
  static const std::vector<LlamaLinear> table = {
      {"q_proj", "self_attn", LinearSplit::kColumn, "q_proj", 0, "input_layernorm", D::kQHeads,
       D::kHidden},
      {"k_proj", "self_attn", LinearSplit::kColumn, "q_proj", 0, "", D::kKvHeads, D::kHidden},
      {"v_proj", "self_attn", LinearSplit::kColumn, "q_proj", 0, "", D::kKvHeads, D::kHidden},
      {"o_proj", "self_attn", LinearSplit::kRow, "o_proj", 1, "v_proj", D::kHidden, D::kQHeads},
      {"gate_proj", "mlp", LinearSplit::kColumn, "gate_proj", 2, "post_attention_layernorm",
       D::kIntermediate, D::kHidden},
      {"up_proj", "mlp", LinearSplit::kColumn, "gate_proj", 2, "", D::kIntermediate, D::kHidden},
      {"down_proj", "mlp", LinearSplit::kRow, "down_proj", 3, "up_proj", D::kHidden,
       D::kIntermediate},
  };
  return table;
}

int64_t linear_dim_size(const LlamaConfig& cfg, LinearDim d) {
  switch (d) {
    case LinearDim::kHidden:
      return cfg.hidden_size;
    case LinearDim::kIntermediate:
      return cfg.intermediate_size;
    case LinearDim::kQHeads:
      return cfg.num_attention_heads * cfg.head_dim_or_default();
    case LinearDim::kKvHeads:
      return cfg.num_key_value_heads * cfg.head_dim_or_default();
  }
  return 0;
}

std::vector<LlamaLinear> llama_linears(const LlamaConfig& cfg) {
  std::vector<LlamaLinear> out = llama_linear_table();
  for (auto& l : out) {
    l.out = linear_dim_size(cfg, l.out_dim);
    l.in = linear_dim_size(cfg, l.in_dim);
  }
  return out;
}

const std::vector<std::string>& llama_linear_kinds() {
  static const std::vector<std::string> kinds = [] {
    std::vector<std::string> k;
    for (const auto& l : llama_linear_table()) k.push_back(l.kind);
    return k;
  }();
  return kinds;
}

const LlamaLinear* llama_linear_find(const std::string& kind) {
  for (const auto& l : llama_linear_table())
    if (l.kind == kind) return &l;
  return nullptr;
}

const LlamaLinear* llama_linear_of_name(const std::string& name) {
  for (const auto& l : llama_linear_table())
    if (name.find("." + l.kind + ".") != std::string::npos ||
        name.compare(0, l.kind.size() + 1, l.kind + ".") == 0)
      return &l;
  return nullptr;
}

std::string llama_linear_weight_name(int64_t layer, const LlamaLinear& l) {
  return "model.layers." + std::to_string(layer) + "." + l.block + "." + l.kind + ".weight";
}

}  // namespace relapse::model
