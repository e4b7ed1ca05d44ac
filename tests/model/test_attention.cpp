// tests/model/test_attention.cpp — the fused attention (at::scaled_dot_product_
// attention) against the eager formulation kept as its oracle (transformers'
// eager_attention_forward): logits and every parameter's gradient in fp32, with
// grouped-query attention, plain causal batches, left padding (generation) and
// a KV cache. Tolerance 2e-5: both are fp32, but the fused kernel sums the
// softmax in blocks (online softmax) where the eager path sums whole rows.
#include <gtest/gtest.h>

#include "relapse/core/rng.h"
#include "relapse/model/inference.h"
#include "relapse/model/llama.h"

namespace relapse::model {
namespace {

LlamaConfig gqa_config() {
  LlamaConfig c;
  c.vocab_size = 61;
  c.hidden_size = 48;
  c.intermediate_size = 96;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 6;
  c.num_key_value_heads = 2;  // 3 query heads per KV head
  c.max_position_embeddings = 128;
  return c;
}

LlamaForCausalLM make(AttentionKind kind) {
  LlamaForCausalLM m(gqa_config());
  llama_init_random(m, 0.2, RngStreams(11).torch_generator("attn-test"));
  m->set_attention(kind);
  return m;
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

torch::Tensor ids_batch() {
  return torch::randint(3, 61, {3, 17}, RngStreams(5).torch_generator("ids"), torch::kInt64);
}

TEST(Attention, FusedEqualsEagerCausal) {
  auto fused = make(AttentionKind::kFused), eager = make(AttentionKind::kEager);
  torch::NoGradGuard ng;
  torch::Tensor ids = ids_batch();
  EXPECT_LE(max_diff(fused->forward(ids), eager->forward(ids)), 2e-5);
}

TEST(Attention, FusedEqualsEagerLeftPadded) {
  auto fused = make(AttentionKind::kFused), eager = make(AttentionKind::kEager);
  torch::NoGradGuard ng;
  torch::Tensor ids = ids_batch();
  torch::Tensor mask = torch::ones_like(ids);
  mask.index_put_({0, torch::indexing::Slice(0, 5)}, 0);   // row 0: 5 left pads
  mask.index_put_({2, torch::indexing::Slice(0, 16)}, 0);  // row 2: one real token
  torch::Tensor a = fused->forward(ids, mask), b = eager->forward(ids, mask);
  // Pad queries attend to nothing real; both give them the same uniform softmax.
  EXPECT_FALSE(torch::isnan(a).any().item<bool>());
  EXPECT_LE(max_diff(a, b), 2e-5);
}

TEST(Attention, RightPaddingNeedsNoMask) {
  // What scoring and the losses rely on: with right padding, real tokens get
  // the same logits with the padding mask (eager) and without it (fused, causal).
  auto fused = make(AttentionKind::kFused), eager = make(AttentionKind::kEager);
  torch::NoGradGuard ng;
  torch::Tensor ids = ids_batch();
  torch::Tensor mask = torch::ones_like(ids);
  mask.index_put_({1, torch::indexing::Slice(9, 17)}, 0);
  torch::Tensor pos = torch::arange(17, torch::kInt64).unsqueeze(0).expand({3, 17});
  torch::Tensor a = fused->forward(ids, {}, pos), b = eager->forward(ids, mask, pos);
  EXPECT_LE(max_diff(a.narrow(1, 0, 9), b.narrow(1, 0, 9)), 2e-5);
}

TEST(Attention, FusedGradientsEqualEager) {
  auto fused = make(AttentionKind::kFused), eager = make(AttentionKind::kEager);
  torch::Tensor ids = ids_batch();
  for (auto* m : {&fused, &eager}) {
    torch::Tensor logits = (*m)->forward(ids);
    torch::nn::functional::cross_entropy(logits.reshape({-1, 61}).narrow(0, 0, 3 * 17 - 1),
                                         ids.reshape({-1}).narrow(0, 1, 3 * 17 - 1))
        .backward();
  }
  auto ge = eager->named_parameters();
  int checked = 0;
  for (const auto& kv : fused->named_parameters()) {
    const torch::Tensor& g = kv.value().grad();
    ASSERT_TRUE(g.defined()) << kv.key();
    EXPECT_LE(max_diff(g, ge.find(kv.key())->grad()), 2e-5) << kv.key();
    ++checked;
  }
  EXPECT_EQ(checked, 2 * 9 + 3);  // per layer 7 linears + 2 norms; embed, norm, lm_head
}

TEST(Attention, PreallocatedKvCacheEqualsEagerRecompute) {
  auto fused = make(AttentionKind::kFused), eager = make(AttentionKind::kEager);
  torch::NoGradGuard ng;
  torch::Tensor ids = ids_batch();
  torch::Tensor full = eager->forward(ids);
  KVCache cache;
  cache.reserve(8);  // smaller than needed: the buffers must grow on the way
  std::vector<torch::Tensor> parts{fused->forward(ids.narrow(1, 0, 5), {}, {}, &cache)};
  for (int64_t t = 5; t < 17; ++t) {
    torch::Tensor mask = torch::ones({3, t + 1}, torch::kInt64);
    parts.push_back(fused->forward(ids.narrow(1, t, 1), mask, {}, &cache));
  }
  EXPECT_EQ(cache.length(), 17);
  EXPECT_GE(cache.k[0].size(2), 17);
  EXPECT_LE(max_diff(torch::cat(parts, 1), full), 2e-5);
}

TEST(Attention, GreedyGenerationSameWithBothKinds) {
  auto fused = make(AttentionKind::kFused), eager = make(AttentionKind::kEager);
  std::vector<TokenSeq> prompts{{1, 7, 9, 11}, {1, 30}, {1, 3, 3, 8, 19, 22}};
  GenerateOptions g;
  g.max_new_tokens = 8;
  g.batch_size = 3;
  EXPECT_EQ(generate_greedy(fused, prompts, g), generate_greedy(eager, prompts, g));
}

}  // namespace
}  // namespace relapse::model
