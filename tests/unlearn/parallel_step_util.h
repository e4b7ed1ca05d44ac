// tests/unlearn/parallel_step_util.h — what the data × tensor parallel step
// tests share: a small Llama (GQA, biases, a vocabulary the TP sizes pad),
// the TP slice of a full parameter, random chunks, the loop options of one
// short run, and one run of plain LM training or of an unlearning objective.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "relapse/core/rng.h"
#include "relapse/unlearn/loops.h"

namespace relapse::unlearn::test {

using model::LlamaForCausalLM;
using model::TpContext;

// vocab 37 (padded at TP 2 and 4), 8 query / 4 KV heads (GQA, divisible by
// TP 4), attention and MLP biases (the Row-parallel o/down biases are
// replicated parameters: the TP grad-norm must count them once).
inline model::LlamaConfig step_config(int64_t kv_heads = 4) {
  model::LlamaConfig c;
  c.vocab_size = 37;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 8;
  c.num_key_value_heads = kv_heads;
  c.max_position_embeddings = 64;
  c.attention_bias = true;
  c.mlp_bias = true;
  return c;
}

// The slice of `full` that a TP rank holds as its parameter `p`: along p.dim,
// rows [p.start, p.start + len) (model::tp_param_layout: a KV head shared by
// several ranks starts at the head's row on each of them), zero past the end
// (the vocabulary padding). Replicated = the whole tensor.
inline torch::Tensor slice_like(const torch::Tensor& full, const model::TpParamInfo& p) {
  if (p.kind == model::TpParamKind::kReplicated || full.sizes() == p.tensor.sizes()) return full;
  const int d = p.dim;
  const int64_t len = p.tensor.size(d), start = p.start;
  torch::Tensor out = torch::zeros_like(p.tensor);
  const int64_t real = std::max<int64_t>(0, std::min(len, full.size(d) - start));
  if (real > 0) out.narrow(d, 0, real).copy_(full.narrow(d, start, real));
  return out;
}

inline LlamaForCausalLM full_model(torch::ScalarType dt, uint64_t seed, int64_t kv_heads = 4) {
  LlamaForCausalLM m(step_config(kv_heads));
  model::llama_init_random(m, 0.2, RngStreams(seed).torch_generator("test/init"));
  torch::NoGradGuard ng;
  for (auto& kv : m->named_parameters()) {
    if (kv.key().find("norm") != std::string::npos) kv.value().add_(1.0);  // norms near 1
  }
  m->to(dt);
  return m;
}

inline LlamaForCausalLM split_model(const LlamaForCausalLM& full, const TpContext& tp) {
  LlamaForCausalLM m(full->config(), tp);
  m->to(full->dtype());
  torch::NoGradGuard ng;
  auto src = full->named_parameters();
  for (auto& p : model::tp_param_layout(m)) {
    const torch::Tensor* f = src.find(p.name);
    EXPECT_NE(f, nullptr) << p.name;
    p.tensor.copy_(slice_like(*f, p));
  }
  return m;
}

inline Chunks random_chunks(int n, int len, uint64_t seed) {
  auto eng = RngStreams(seed).std_engine("test/chunks");
  Chunks c(n, std::vector<int64_t>(len));
  for (auto& row : c) {
    row[0] = 1;
    for (int t = 1; t < len; ++t) row[t] = 2 + static_cast<int64_t>(eng() % 35);
  }
  return c;
}

inline LoopOptions step_options(int64_t micro, int64_t steps, double adam_eps,
                                bool checkpoint = false) {
  LoopOptions o;
  o.activation_checkpointing = checkpoint;
  o.train.adamw.eps = adam_eps;
  o.train.schedule.base_lr = 1e-2;
  o.train.max_grad_norm = 0.5;  // active: the grad norms here are > 0.5 (checked)
  o.train.micro_batches = micro;
  o.train.grad_bucket_bytes = 4096;  // several buckets, some parameters larger than one
  o.epochs = 1;
  o.batch_size = 4;
  o.max_steps = steps;
  o.seed = 3;
  return o;
}

struct Case {
  std::string name;  // "lm" or an objective
  LossVariant variant = LossVariant::kPublished;
};

inline std::vector<Case> all_cases() {
  std::vector<Case> out{{"lm"}};
  for (const char* o : {"ga", "ga_gdr", "ga_klr", "npo", "npo_gdr", "npo_klr"}) out.push_back({o});
  out.push_back({"npo_klr", LossVariant::kMuseReleased});  // NPO and KL on raw logits
  out.push_back({"ga_klr", LossVariant::kPaperReleased});
  // The reference-free methods (per-row and per-token weighted NLL under TP).
  for (const char* o : {"simnpo_gdr", "wga_klr", "satimp"}) out.push_back({o});
  // UNDIAL: the adjusted reference's softmax, vocab-parallel under TP (with the
  // retain NLL: its own gradient at θ = ref is ~1/V per label, below the clip).
  out.push_back({"undial_gdr"});
  out.push_back({"rmu"});  // a layer's activations (replicated over TP), its own retain term
  return out;
}

inline LoopResult run_case(const Case& c, LlamaForCausalLM& m, const Chunks& forget,
                           const Chunks& retain, const LoopOptions& o, Communicator* dp) {
  if (c.name == "lm") return lm_train(m, forget, o, dp);
  UnlearnLossConfig lc;
  lc.objective = objective_from_name(c.name);
  lc.variant = c.variant;
  lc.alpha = c.variant == LossVariant::kMuseReleased ? 1.0 : 0.7;
  lc.beta = 0.5;
  // The tiny model's token probabilities are ~1/V: small exponents keep the
  // WGA / SatImp weights p^β large enough that clipping is active, as the
  // tests ask (OpenUnlearning's defaults give weights ~1e-6 here).
  lc.params.wga_beta = 0.1;
  lc.params.satimp_beta1 = 0.1;
  // RMU on the first of the two layers, steered far enough that clipping acts.
  lc.params.rmu_layer = 0;
  lc.params.rmu_steering = 20.0;
  lc.rmu_control_seed = 3;
  LlamaForCausalLM ref = reference_model_copy(m);
  if (lc.objective == Objective::kRMU) {
    // With weight decay: the layers RMU does not reach must stay untouched at
    // any DP size (no gradient, so AdamW skips them, as on one rank).
    LoopOptions wd = o;
    wd.train.adamw.weight_decay = 0.1;
    return unlearn_train(m, &ref, forget, retain, lc, wd, dp);
  }
  return unlearn_train(m, &ref, forget, retain, lc, o, dp);
}

}  // namespace relapse::unlearn::test
