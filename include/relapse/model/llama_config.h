// relapse/model/llama_config.h — the hyper-parameters of a Llama-family model,
// read from and written to a Hugging Face `config.json` (LlamaConfig fields).
// Accepts both transformers v4 keys (rope_theta, rope_scaling, torch_dtype) and
// v5 keys (rope_parameters, dtype). The families (model_type) relapse runs and
// how each differs from Llama are one table in llama_config.cpp: Llama-2/3.x,
// Mistral, Qwen2/2.5 (q/k/v biases, none on o_proj), Qwen3 (q/k RMSNorm).
#pragma once
#include <cstdint>
#include <string>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

namespace relapse::model {

struct RopeScaling {
  std::string type = "default";  // "default" or "llama3"
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct LlamaConfig {
  int64_t vocab_size = 32000;
  int64_t hidden_size = 4096;
  int64_t intermediate_size = 11008;
  int64_t num_hidden_layers = 32;
  int64_t num_attention_heads = 32;
  int64_t num_key_value_heads = 32;
  int64_t head_dim = 0;  // 0 = hidden_size / num_attention_heads
  int64_t max_position_embeddings = 4096;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool attention_bias = false;  // q/k/v biases; o_proj's too unless o_proj_bias is false
  bool mlp_bias = false;
  // Family traits, set from model_type by llama_config_from_json (the table
  // kFamilies in llama_config.cpp):
  std::string model_type = "llama";  // llama | mistral | qwen2 | qwen3
  bool o_proj_bias = true;           // false: o_proj never has a bias (Qwen2)
  bool qk_norm = false;              // RMSNorm over head_dim on q and k before RoPE (Qwen3)
  int64_t sliding_window = 0;        // attention window (Mistral v0.1); 0 = none
  bool tie_word_embeddings = false;
  int64_t bos_token_id = 1;
  int64_t eos_token_id = 2;
  int64_t pad_token_id = -1;  // -1 = none
  std::string hidden_act = "silu";
  std::string torch_dtype = "float32";  // "float32" | "bfloat16" | "float16"

  bool o_bias() const { return attention_bias && o_proj_bias; }
  int64_t head_dim_or_default() const {
    return head_dim > 0 ? head_dim : hidden_size / num_attention_heads;
  }
};

// Parses config.json; `source` names the file in errors. Throws kInput on a
// missing or invalid field (naming it), or an unsupported architecture/activation.
LlamaConfig llama_config_from_json(const nlohmann::json& j, const std::string& source);
LlamaConfig llama_config_load(const std::string& path);
// The config.json transformers writes for LlamaForCausalLM (v4 key names, which
// v5 also reads).
nlohmann::json llama_config_to_json(const LlamaConfig& c);
// Structural checks (divisibility, positive sizes); throws kInput naming `source`.
void llama_config_validate(const LlamaConfig& c, const std::string& source);

torch::ScalarType dtype_from_name(const std::string& name);  // float32|bfloat16|float16
std::string dtype_name(torch::ScalarType t);

}  // namespace relapse::model
