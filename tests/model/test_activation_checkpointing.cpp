// tests/model/test_activation_checkpointing.cpp — decoder-layer activation
// checkpointing (LlamaForCausalLM::set_activation_checkpointing, issue 18):
// the recomputed backward gives the plain backward's gradients (bit for bit in
// fp32: the same ops on the same inputs, each parameter's parts summed before
// one accumulation either way), with a padding mask and GQA, for one pass and
// for two passes after an earlier micro-batch; the
// activations held between forward and backward shrink to the layer inputs
// (measured with libtorch's allocator reports); evaluation and SURE's
// autograd::grad passes are unaffected. The data- and tensor-parallel update
// with checkpointing is checked in tests/unlearn/test_parallel_step.cpp.
#include <gtest/gtest.h>

#include <c10/core/Allocator.h>
#include <c10/util/ThreadLocalDebugInfo.h>

#include "relapse/core/rng.h"
#include "relapse/model/llama.h"
#include "relapse/unlearn/batch.h"
#include "relapse/unlearn/losses.h"
#include "relapse/unlearn/saliency.h"

namespace relapse::model {
namespace {

LlamaConfig ckpt_config(int64_t layers) {
  LlamaConfig c;
  c.vocab_size = 61;
  c.hidden_size = 48;
  c.intermediate_size = 96;
  c.num_hidden_layers = layers;
  c.num_attention_heads = 6;
  c.num_key_value_heads = 2;  // GQA
  c.max_position_embeddings = 128;
  c.attention_bias = true;
  return c;
}

LlamaForCausalLM make(int64_t layers, torch::ScalarType dt) {
  LlamaForCausalLM m(ckpt_config(layers));
  llama_init_random(m, 0.2, RngStreams(17).torch_generator("ckpt-test"));
  llama_to(m, torch::kCPU, dt);
  return m;
}

torch::Tensor ids_batch(int64_t rows, int64_t len) {
  return torch::randint(3, 61, {rows, len}, RngStreams(5).torch_generator("ids"), torch::kInt64);
}

// Sum of a fixed projection of the logits: every logit gets a distinct weight.
torch::Tensor test_loss(LlamaForCausalLM& m, const torch::Tensor& ids, const torch::Tensor& mask) {
  torch::Tensor logits = m->forward(ids, mask);
  torch::Tensor w = torch::linspace(-1, 1, logits.numel(), logits.options()).view(logits.sizes());
  return (logits * w).sum();
}

std::vector<torch::Tensor> grads_of(LlamaForCausalLM& m, bool checkpoint,
                                    const torch::Tensor& mask) {
  m->zero_grad();
  m->set_activation_checkpointing(checkpoint);
  test_loss(m, ids_batch(3, 19), mask).backward();
  m->set_activation_checkpointing(false);
  std::vector<torch::Tensor> g;
  for (const auto& p : m->parameters()) g.push_back(p.grad().clone());
  return g;
}

TEST(ActivationCheckpointing, GradientsEqualPlainBitForBit) {
  for (bool padded : {false, true}) {
    LlamaForCausalLM m = make(3, torch::kFloat32);
    torch::Tensor mask;
    if (padded) {  // left padding of 4 and 7 positions in rows 1 and 2
      mask = torch::ones({3, 19}, torch::kInt64);
      mask[1].narrow(0, 0, 4).zero_();
      mask[2].narrow(0, 0, 7).zero_();
    }
    auto plain = grads_of(m, false, mask);
    auto ckpt = grads_of(m, true, mask);
    auto names = m->named_parameters().keys();
    ASSERT_EQ(plain.size(), ckpt.size());
    for (size_t i = 0; i < plain.size(); ++i) {
      ASSERT_TRUE(ckpt[i].defined()) << names[i];
      EXPECT_TRUE(torch::equal(plain[i], ckpt[i]))
          << names[i] << (padded ? " (padded)" : "") << " max |diff| "
          << (plain[i] - ckpt[i]).abs().max().item<double>();
    }
  }
}

// Two passes through the layers in one loss (forget and retain), after an
// earlier micro-batch's backward: each parameter's two gradient parts are
// summed before one accumulation into .grad, as in the plain backward — bit
// for bit in fp32 (before the parameters were inputs of the checkpointed op,
// each pass's nested backward added its part into .grad one at a time).
TEST(ActivationCheckpointing, TwoPassesAfterAccumulationEqualPlainBitForBit) {
  LlamaForCausalLM m = make(3, torch::kFloat32);
  auto grads = [&](bool checkpoint) {
    m->zero_grad();
    m->set_activation_checkpointing(checkpoint);
    test_loss(m, ids_batch(3, 19), {}).backward();
    (test_loss(m, ids_batch(2, 13), {}) + test_loss(m, ids_batch(3, 7), {})).backward();
    m->set_activation_checkpointing(false);
    std::vector<torch::Tensor> g;
    for (const auto& p : m->parameters()) g.push_back(p.grad().clone());
    return g;
  };
  auto plain = grads(false), ckpt = grads(true);
  auto names = m->named_parameters().keys();
  for (size_t i = 0; i < plain.size(); ++i)
    EXPECT_TRUE(torch::equal(plain[i], ckpt[i]))
        << names[i] << " max |diff| " << (plain[i] - ckpt[i]).abs().max().item<double>();
}

// Tensor bytes alive on the CPU, from libtorch's allocator reports.
struct LiveBytes : public c10::MemoryReportingInfoBase {
  int64_t current = 0;
  void reportMemoryUsage(void*, int64_t alloc_size, size_t, size_t, c10::Device d) override {
    if (d.type() == c10::DeviceType::CPU) current += alloc_size;
  }
  bool memoryProfilingEnabled() const override { return true; }
};

// Bytes a forward leaves alive for its backward (the loss's graph).
int64_t bytes_held_by_graph(bool checkpoint) {
  LlamaForCausalLM m = make(6, torch::kFloat32);
  m->set_activation_checkpointing(checkpoint);
  torch::Tensor ids = ids_batch(4, 64);
  auto counter = std::make_shared<LiveBytes>();
  c10::DebugInfoGuard guard(c10::DebugInfoKind::PROFILER_STATE, counter);
  torch::Tensor loss = test_loss(m, ids, {});
  const int64_t held = counter->current;
  loss.backward();
  return held;
}

// Plain: every layer keeps its norms' fp32 copies, q/k/v, the attention
// output and log-sum-exp, the MLP's three activations — ~20 × [rows, T, H]
// floats per layer here. Checkpointed: the layer input alone (1 × [rows, T, H])
// per layer, so the saved bytes fall by far more than half.
TEST(ActivationCheckpointing, KeepsOnlyLayerInputs) {
  const int64_t plain = bytes_held_by_graph(false);
  const int64_t ckpt = bytes_held_by_graph(true);
  const int64_t layer_input = 4 * 64 * 48 * 4;  // rows × T × H × fp32
  std::printf("[ checkpointing ] bytes held for the backward: plain %lld, checkpointed %lld\n",
              (long long)plain, (long long)ckpt);
  EXPECT_LT(ckpt, plain / 3);
  // What remains: the six layer inputs, the final norm's and the logits'
  // tensors (vocab 61) and the loss's weights — well under 6 + 20 inputs' worth.
  EXPECT_LT(ckpt, 26 * layer_input);
}

// Without a recorded graph (evaluation, no_grad) the flag changes nothing.
TEST(ActivationCheckpointing, NoGradForwardUnchanged) {
  LlamaForCausalLM m = make(2, torch::kFloat32);
  torch::NoGradGuard ng;
  torch::Tensor a = m->forward(ids_batch(2, 11));
  m->set_activation_checkpointing(true);
  torch::Tensor b = m->forward(ids_batch(2, 11));
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(b.requires_grad());
}

// SURE's saliency gradients use autograd::grad over the parameters: the
// checkpointed layers take their parameters as inputs, so autograd::grad
// gets the plain backward's gradients through them (bit for bit).
TEST(ActivationCheckpointing, SaliencyGradsUnaffected) {
  LlamaForCausalLM m = make(2, torch::kFloat64);
  unlearn::TokenBatch f = unlearn::batch_from_sequences(
      {{1, 5, 9, 13, 17, 21, 25}, {1, 30, 2, 7, 11}, {1, 3, 3, 8, 19, 22, 31}}, 0, "forget");
  unlearn::UnlearnLossConfig lc;
  lc.objective = unlearn::Objective::kGA;
  const unlearn::LossNormalizer norm = unlearn::loss_normalizer(f, {}, 61);
  auto params = m->parameters();
  auto plain = unlearn::saliency_forget_grads(m, nullptr, f, lc, norm, params);
  m->set_activation_checkpointing(true);
  auto ckpt = unlearn::saliency_forget_grads(m, nullptr, f, lc, norm, params);
  EXPECT_TRUE(m->activation_checkpointing());
  ASSERT_EQ(plain.size(), ckpt.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    ASSERT_TRUE(ckpt[i].defined()) << i;
    EXPECT_TRUE(torch::equal(plain[i], ckpt[i])) << i;
  }
}

}  // namespace
}  // namespace relapse::model
