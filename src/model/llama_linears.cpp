// src/model/llama_linears.cpp — the table of a decoder layer's linears
// (relapse/model/llama_linears.h).
#include "relapse/model/llama_linears.h"

namespace relapse::model {

const std::vector<LlamaLinear>& llama_linear_table() {
  static const std::vector<LlamaLinear> table = {
      {"q_proj", "self_attn", LinearSplit::kColumn, "q_proj", 0},
      {"k_proj", "self_attn", LinearSplit::kColumn, "q_proj", 0},
      {"v_proj", "self_attn", LinearSplit::kColumn, "q_proj", 0},
      {"o_proj", "self_attn", LinearSplit::kRow, "o_proj", 1},
      {"gate_proj", "mlp", LinearSplit::kColumn, "gate_proj", 2},
      {"up_proj", "mlp", LinearSplit::kColumn, "gate_proj", 2},
      {"down_proj", "mlp", LinearSplit::kRow, "down_proj", 3},
  };
  return table;
}

std::vector<LlamaLinear> llama_linears(const LlamaConfig& cfg) {
  const int64_t H = cfg.hidden_size, F = cfg.intermediate_size, D = cfg.head_dim_or_default();
  const int64_t qd = cfg.num_attention_heads * D, kv = cfg.num_key_value_heads * D;
  std::vector<LlamaLinear> out = llama_linear_table();
  const int64_t shapes[7][2] = {{qd, H}, {kv, H}, {kv, H}, {H, qd}, {F, H}, {F, H}, {H, F}};
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].out = shapes[i][0];
    out[i].in = shapes[i][1];
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
