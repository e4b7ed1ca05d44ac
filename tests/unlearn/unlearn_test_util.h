// tests/unlearn/unlearn_test_util.h — a tiny random Llama (fp64 or fp32) and
// small padded batches shared by the unlearn-layer tests.
#pragma once
#include <string>
#include <vector>

#include <torch/torch.h>

#include "relapse/core/error.h"
#include "relapse/core/rng.h"
#include "relapse/model/llama.h"
#include "relapse/unlearn/batch.h"

namespace relapse::unlearn::testing {

// hidden 16, 1 layer, 2 query heads sharing 1 KV head, vocab 32.
inline model::LlamaConfig tiny_config() {
  model::LlamaConfig c;
  c.vocab_size = 32;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.max_position_embeddings = 64;
  c.rms_norm_eps = 1e-6;
  return c;
}

inline model::LlamaForCausalLM tiny_model(torch::ScalarType dtype, uint64_t seed) {
  model::LlamaForCausalLM m(tiny_config());
  at::Generator gen = RngStreams(seed).torch_generator("init");
  model::llama_init_random(m, 0.3, gen);
  {
    // Norm weights near 1 (as trained models have), not N(0, 0.3).
    torch::NoGradGuard ng;
    for (auto& kv : m->named_parameters()) {
      if (kv.key().find("norm") != std::string::npos) kv.value().add_(1.0);
    }
  }
  m->to(dtype);
  return m;
}

// Adds N(0, std) noise to every parameter (a "reference" that differs from the model).
inline void perturb(model::LlamaForCausalLM& m, double std, uint64_t seed) {
  torch::NoGradGuard ng;
  at::Generator gen = RngStreams(seed).torch_generator("perturb");
  for (auto& p : m->parameters()) {
    p.add_(
        torch::randn(p.sizes(), gen, torch::TensorOptions().dtype(torch::kFloat64)).to(p.dtype()) *
        std);
  }
}

// Right-padded batches: forget rows of lengths {7, 5, 7, 4}, retain {6, 6, 3, 5}.
inline TokenBatch forget_batch() {
  return batch_from_sequences(
      {{1, 5, 9, 13, 17, 21, 25}, {1, 30, 2, 7, 11}, {1, 3, 3, 8, 19, 22, 31}, {1, 12, 14, 16}}, 0,
      "forget");
}
inline TokenBatch retain_batch() {
  return batch_from_sequences(
      {{1, 4, 6, 8, 10, 12}, {1, 29, 27, 25, 23, 21}, {1, 7, 7}, {1, 18, 2, 20, 9}}, 0, "retain");
}

}  // namespace relapse::unlearn::testing
