// src/model/llama_config.cpp — config.json <-> LlamaConfig.
#include "relapse/model/llama_config.h"

#include <fstream>

#include "relapse/core/error.h"

namespace relapse::model {

using nlohmann::json;

namespace {

template <typename T>
void get_opt(const json& j, const char* key, T& out, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  try {
    out = it->get<T>();
  } catch (const json::exception& e) {
    RELAPSE_THROW(ExitCode::kInput, source, ": key '", key, "' has the wrong type (", it->dump(),
                  ")");
  }
}

void parse_rope_scaling(const json& rs, LlamaConfig& c, const std::string& source) {
  if (rs.is_null()) return;
  RELAPSE_CHECK_INPUT(rs.is_object(), source, ": 'rope_scaling' must be an object");
  std::string type = "default";
  if (rs.contains("rope_type"))
    type = rs["rope_type"].get<std::string>();
  else if (rs.contains("type"))
    type = rs["type"].get<std::string>();
  if (rs.contains("rope_theta"))
    c.rope_theta = rs["rope_theta"].get<double>();  // v5 rope_parameters
  if (type == "default") return;
  RELAPSE_CHECK_INPUT(type == "llama3", source, ": rope type '", type,
                      "' is not supported (supported: default, llama3)");
  c.rope_scaling.type = type;
  get_opt(rs, "factor", c.rope_scaling.factor, source + " rope_scaling");
  get_opt(rs, "low_freq_factor", c.rope_scaling.low_freq_factor, source + " rope_scaling");
  get_opt(rs, "high_freq_factor", c.rope_scaling.high_freq_factor, source + " rope_scaling");
  get_opt(rs, "original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings,
          source + " rope_scaling");
}

int64_t token_id(const json& j, const char* key, int64_t fallback, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (it->is_null()) return -1;  // no such token (Qwen has no BOS)
  if (it->is_array()) {          // Llama-3 lists several EOS ids; the first is the primary one.
    RELAPSE_CHECK_INPUT(!it->empty(), source, ": '", key, "' is an empty list");
    return (*it)[0].get<int64_t>();
  }
  RELAPSE_CHECK_INPUT(it->is_number_integer(), source, ": '", key, "' must be an integer");
  return it->get<int64_t>();
}

// The model families relapse runs: how each differs from Llama, written once
// (read by the parser, the writer and, through LlamaConfig, the model). From
// transformers 5.17's modeling files: Qwen2's q/k/v have biases and o_proj
// none, whatever the config says; Qwen3 normalises q and k per head (RMSNorm
// over head_dim, one weight shared by the heads) between the projection and
// RoPE, with attention_bias on all four projections as Llama; Mistral is
// Llama without biases, with a sliding window when sliding_window is set.
struct ModelFamily {
  const char* model_type;
  const char* architecture;
  int qkv_bias;  // -1: the config's attention_bias; 0/1: fixed by the family
  bool o_proj_bias, qk_norm;
  bool window_flag;  // the window applies only when use_sliding_window is true (Qwen)
};
constexpr ModelFamily kFamilies[] = {
    {"llama", "LlamaForCausalLM", -1, true, false, false},
    {"mistral", "MistralForCausalLM", -1, true, false, false},
    {"qwen2", "Qwen2ForCausalLM", 1, false, false, true},
    {"qwen3", "Qwen3ForCausalLM", -1, true, true, true},
};

const ModelFamily& family_of(const std::string& model_type, const std::string& source) {
  std::string known;
  for (const ModelFamily& f : kFamilies) {
    if (model_type == f.model_type) return f;
    known += std::string(known.empty() ? "" : ", ") + f.model_type;
  }
  RELAPSE_THROW(ExitCode::kInput, source, ": model_type '", model_type,
                "' is not a family relapse runs (", known, ")");
}

}  // namespace

LlamaConfig llama_config_from_json(const json& j, const std::string& source) {
  RELAPSE_CHECK_INPUT(j.is_object(), source, ": config must be a JSON object");
  const std::string mt = j.contains("model_type") && j["model_type"].is_string()
                             ? j["model_type"].get<std::string>()
                             : std::string("llama");
  const ModelFamily& fam = family_of(mt, source);
  LlamaConfig c;
  c.model_type = fam.model_type;
  c.o_proj_bias = fam.o_proj_bias;
  c.qk_norm = fam.qk_norm;
  for (const char* key : {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                          "num_attention_heads"}) {
    RELAPSE_CHECK_INPUT(j.contains(key), source, ": missing required key '", key, "'");
  }
  get_opt(j, "vocab_size", c.vocab_size, source);
  get_opt(j, "hidden_size", c.hidden_size, source);
  get_opt(j, "intermediate_size", c.intermediate_size, source);
  get_opt(j, "num_hidden_layers", c.num_hidden_layers, source);
  get_opt(j, "num_attention_heads", c.num_attention_heads, source);
  c.num_key_value_heads = c.num_attention_heads;
  get_opt(j, "num_key_value_heads", c.num_key_value_heads, source);
  get_opt(j, "head_dim", c.head_dim, source);
  get_opt(j, "max_position_embeddings", c.max_position_embeddings, source);
  get_opt(j, "rms_norm_eps", c.rms_norm_eps, source);
  get_opt(j, "rope_theta", c.rope_theta, source);
  get_opt(j, "attention_bias", c.attention_bias, source);
  if (fam.qkv_bias >= 0) c.attention_bias = fam.qkv_bias == 1;
  // The attention window: Mistral's sliding_window (null from v0.2), Qwen's
  // only with use_sliding_window.
  bool use_window = !fam.window_flag;
  if (fam.window_flag) get_opt(j, "use_sliding_window", use_window, source);
  if (use_window) get_opt(j, "sliding_window", c.sliding_window, source);
  RELAPSE_CHECK_INPUT(c.sliding_window >= 0, source, ": sliding_window must be >= 0");
  get_opt(j, "mlp_bias", c.mlp_bias, source);
  get_opt(j, "tie_word_embeddings", c.tie_word_embeddings, source);
  get_opt(j, "hidden_act", c.hidden_act, source);
  if (j.contains("rope_scaling")) parse_rope_scaling(j["rope_scaling"], c, source);
  if (j.contains("rope_parameters")) parse_rope_scaling(j["rope_parameters"], c, source);
  c.bos_token_id = token_id(j, "bos_token_id", c.bos_token_id, source);
  c.eos_token_id = token_id(j, "eos_token_id", c.eos_token_id, source);
  c.pad_token_id = token_id(j, "pad_token_id", -1, source);
  get_opt(j, "torch_dtype", c.torch_dtype, source);
  get_opt(j, "dtype", c.torch_dtype, source);
  RELAPSE_CHECK_INPUT(c.hidden_act == "silu", source, ": hidden_act '", c.hidden_act,
                      "' is not supported (Llama uses silu)");
  llama_config_validate(c, source);
  return c;
}

void llama_config_validate(const LlamaConfig& c, const std::string& source) {
  RELAPSE_CHECK_INPUT(c.vocab_size > 0 && c.hidden_size > 0 && c.intermediate_size > 0 &&
                          c.num_hidden_layers > 0 && c.num_attention_heads > 0 &&
                          c.num_key_value_heads > 0,
                      source, ": sizes must be positive");
  RELAPSE_CHECK_INPUT(c.num_attention_heads % c.num_key_value_heads == 0, source,
                      ": num_attention_heads (", c.num_attention_heads,
                      ") is not a multiple of num_key_value_heads (", c.num_key_value_heads, ")");
  RELAPSE_CHECK_INPUT(
      c.head_dim > 0 || c.hidden_size % c.num_attention_heads == 0, source,
      ": hidden_size is not a multiple of num_attention_heads and head_dim is not given");
  RELAPSE_CHECK_INPUT(c.head_dim_or_default() % 2 == 0, source, ": head_dim must be even for RoPE");
  RELAPSE_CHECK_INPUT(c.rms_norm_eps > 0, source, ": rms_norm_eps must be positive");
  dtype_from_name(c.torch_dtype);
}

LlamaConfig llama_config_load(const std::string& path) {
  std::ifstream f(path);
  RELAPSE_CHECK_INPUT(f.good(), path, ": cannot open model config");
  json j;
  try {
    j = json::parse(f);
  } catch (const json::parse_error& e) {
    RELAPSE_THROW(ExitCode::kInput, path, ": invalid JSON: ", e.what());
  }
  return llama_config_from_json(j, path);
}

json llama_config_to_json(const LlamaConfig& c) {
  json j;
  const ModelFamily& fam = family_of(c.model_type, "llama_config_to_json");
  j["architectures"] = {fam.architecture};
  j["model_type"] = fam.model_type;
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["head_dim"] = c.head_dim_or_default();
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  if (c.rope_scaling.type == "llama3") {
    j["rope_scaling"] = {
        {"rope_type", "llama3"},
        {"factor", c.rope_scaling.factor},
        {"low_freq_factor", c.rope_scaling.low_freq_factor},
        {"high_freq_factor", c.rope_scaling.high_freq_factor},
        {"original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings}};
  } else {
    j["rope_scaling"] = nullptr;
  }
  j["attention_bias"] = c.attention_bias;
  if (fam.window_flag) j["use_sliding_window"] = c.sliding_window > 0;
  if (c.model_type != "llama" || c.sliding_window > 0)
    j["sliding_window"] = c.sliding_window > 0 ? json(c.sliding_window) : json(nullptr);
  j["attention_dropout"] = 0.0;
  j["mlp_bias"] = c.mlp_bias;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["hidden_act"] = c.hidden_act;
  j["initializer_range"] = 0.02;
  j["pretraining_tp"] = 1;
  j["use_cache"] = true;
  // A tokenizer without BOS (Qwen's) gives -1: null, as transformers writes it.
  j["bos_token_id"] = c.bos_token_id >= 0 ? json(c.bos_token_id) : json(nullptr);
  j["eos_token_id"] = c.eos_token_id >= 0 ? json(c.eos_token_id) : json(nullptr);
  if (c.pad_token_id >= 0) j["pad_token_id"] = c.pad_token_id;
  j["torch_dtype"] = c.torch_dtype;
  return j;
}

torch::ScalarType dtype_from_name(const std::string& name) {
  if (name == "float32" || name == "fp32") return torch::kFloat32;
  if (name == "bfloat16" || name == "bf16") return torch::kBFloat16;
  if (name == "float16" || name == "fp16") return torch::kFloat16;
  RELAPSE_THROW(ExitCode::kInput, "unknown dtype '", name, "' (float32|bfloat16|float16)");
}

std::string dtype_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32:
      return "float32";
    case torch::kBFloat16:
      return "bfloat16";
    case torch::kFloat16:
      return "float16";
    default:
      RELAPSE_THROW(ExitCode::kInternal, "unsupported model dtype ", c10::toString(t));
  }
}

}  // namespace relapse::model
