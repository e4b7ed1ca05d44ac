// src/model/presets.cpp — named Llama shapes (relapse/model/presets.h).
#include "relapse/model/presets.h"

#include "relapse/core/error.h"

namespace relapse::model {

namespace {
struct Shape {
  const char* name;
  int64_t hidden, layers, heads, kv_heads, ffn, max_pos;
};
// The small presets keep head_dim 16-64 and a SwiGLU width of ~2.75 d (Llama's
// 8/3 d rounded); the large ones are the Llama-2 config.json values.
const Shape kShapes[] = {
    {"nano", 64, 2, 4, 4, 176, 512},
    {"tiny", 128, 4, 4, 4, 352, 512},
    {"small", 256, 4, 8, 8, 688, 512},
    {"base", 384, 6, 6, 6, 1024, 512},
    {"medium", 512, 8, 8, 8, 1376, 512},
    // TinyLlama-1.1B's config.json (22 layers, GQA with 4 KV heads): the size
    // sweep's step onto one GPU.
    {"1b", 2048, 22, 32, 4, 5632, 2048},
    {"7b", 4096, 32, 32, 32, 11008, 4096},
    {"13b", 5120, 40, 40, 40, 13824, 4096},
    {"70b", 8192, 80, 64, 8, 28672, 4096},
};
}  // namespace

const std::vector<std::string>& model_preset_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& s : kShapes) v.emplace_back(s.name);
    return v;
  }();
  return names;
}

LlamaConfig model_preset(const std::string& name, int64_t vocab_size, int64_t bos_id,
                         int64_t eos_id) {
  for (const auto& s : kShapes) {
    if (name != s.name) continue;
    RELAPSE_CHECK_CONFIG(vocab_size > 0, "model preset '", name, "': vocab size must be > 0");
    LlamaConfig c;
    c.vocab_size = vocab_size;
    c.hidden_size = s.hidden;
    c.num_hidden_layers = s.layers;
    c.num_attention_heads = s.heads;
    c.num_key_value_heads = s.kv_heads;
    c.intermediate_size = s.ffn;
    c.max_position_embeddings = s.max_pos;
    c.rms_norm_eps = s.hidden >= 4096 ? 1e-5 : 1e-6;
    c.bos_token_id = bos_id;
    c.eos_token_id = eos_id;
    return c;
  }
  std::string known;
  for (const auto& n : model_preset_names()) known += (known.empty() ? "" : ", ") + n;
  RELAPSE_THROW(ExitCode::kConfig, "unknown model preset '", name, "' (known: ", known, ")");
}

}  // namespace relapse::model
