// relapse/model/llama.h — a Llama decoder with the semantics of transformers'
// LlamaForCausalLM: RMSNorm in fp32, rotate-half RoPE with
// rope_theta and the llama3 scaling, grouped-query attention, SwiGLU MLP,
// optional attention/MLP biases, tied embeddings; fp32 or bf16. Parameter names
// equal the Hugging Face state-dict names ("model.layers.0.self_attn.q_proj.weight").
#pragma once
#include <vector>

#include <torch/torch.h>

#include "relapse/model/llama_config.h"
#include "relapse/model/tp_layers.h"

namespace relapse::model {

// Keys/values of every layer for incremental decoding, preallocated: k[l],
// v[l] are [batch, kv_heads_local, capacity, head_dim] buffers whose first
// length() positions hold the keys/values so far. reserve(n) before the first
// forward sizes them for n positions (generation knows prompt + new tokens), so
// a decode step writes one position in place instead of concatenating; a
// forward past the capacity grows the buffers (doubling, one copy).
struct KVCache {
  std::vector<torch::Tensor> k, v;
  int64_t len = 0;
  int64_t capacity = 0;  // positions to allocate on first use (0 = what the first call needs)
  void reserve(int64_t positions) { capacity = positions; }
  int64_t length() const { return len; }
};

// One layer's view of a KVCache during a forward: its two buffers, the number
// of positions already filled and the capacity to allocate.
struct KVSlot {
  torch::Tensor* k = nullptr;
  torch::Tensor* v = nullptr;
  int64_t past = 0;
  int64_t capacity = 0;
};

// How attention is computed. kFused: at::scaled_dot_product_attention (flash /
// memory-efficient / cuDNN kernels on the GPU, the fused flash kernel on the
// CPU; GQA without repeating K/V). kEager: transformers' eager formulation
// (matmul, fp32 softmax, matmul), kept as the oracle the fused path is tested
// against.
enum class AttentionKind { kFused, kEager };

class RMSNormImpl : public ParamModule {
 public:
  // `grad_tp`: a norm applied to each rank's own heads (Qwen3's q_norm/k_norm)
  // sees only part of the model, so its weight's gradient is summed over the
  // TP group (the f operator on the weight: identity forward, all-reduce
  // backward; transformers' "replicated_with_grad_allreduce").
  RMSNormImpl(int64_t dim, double eps, TpContext grad_tp = {});
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  double eps;
  TpContext grad_tp;
};
TORCH_MODULE(RMSNorm);

// cos/sin tables of RoPE for given positions, computed in fp32 exactly as
// transformers' LlamaRotaryEmbedding does, then cast to `dtype`.
class RotaryEmbedding {
 public:
  explicit RotaryEmbedding(const LlamaConfig& c);
  // position_ids [B, T] -> cos, sin [B, T, head_dim]
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& position_ids,
                                                  torch::ScalarType dtype) const;
  torch::Tensor inv_freq;  // [head_dim/2] fp32, on the host
 private:
  mutable torch::Tensor inv_freq_dev_;  // inv_freq on the device last used (one copy per device)
};

class LlamaAttentionImpl : public torch::nn::Module {
 public:
  LlamaAttentionImpl(const LlamaConfig& c, TpContext tp);
  // x [B,T,H]; mask [B,1,T,S] additive (0 or dtype min), or undefined for
  // plain causal attention without a past (S = T); cache slot optional.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask, const KVSlot* cache = nullptr);
  ColumnParallelLinear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr};
  RowParallelLinear o_proj{nullptr};
  RMSNorm q_norm{nullptr}, k_norm{nullptr};  // Qwen3 (config.qk_norm); null otherwise
  int64_t heads_local, kv_heads_local, head_dim;
  int64_t sliding_window = 0;  // longer sequences are refused (no windowed attention)
  AttentionKind kind = AttentionKind::kFused;
};
TORCH_MODULE(LlamaAttention);

class LlamaMLPImpl : public torch::nn::Module {
 public:
  LlamaMLPImpl(const LlamaConfig& c, TpContext tp);
  torch::Tensor forward(const torch::Tensor& x);
  ColumnParallelLinear gate_proj{nullptr}, up_proj{nullptr};
  RowParallelLinear down_proj{nullptr};
};
TORCH_MODULE(LlamaMLP);

class LlamaDecoderLayerImpl : public torch::nn::Module {
 public:
  LlamaDecoderLayerImpl(const LlamaConfig& c, TpContext tp);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask, const KVSlot* cache = nullptr);
  LlamaAttention self_attn{nullptr};
  LlamaMLP mlp{nullptr};
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(LlamaDecoderLayer);

// The decoder stack ("model." in HF names).
class LlamaModelImpl : public torch::nn::Module {
 public:
  LlamaModelImpl(const LlamaConfig& c, TpContext tp);
  VocabParallelEmbedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
};
TORCH_MODULE(LlamaModel);

class LlamaForCausalLMImpl : public torch::nn::Module {
 public:
  LlamaForCausalLMImpl(const LlamaConfig& c, TpContext tp = {});

  // input_ids [B,T] int64. attention_mask [B, past+T] (1 = real token, 0 = pad;
  // undefined = all real: plain causal attention, the fused kernels' fastest
  // path; right padding needs no mask either, since a real token only ever
  // attends to earlier, real, tokens and pad positions' outputs are unused). position_ids [B,T]
  // (undefined = derived from the mask as transformers' generate does: cumsum(mask) - 1). With a
  // cache, the new keys/values are appended to it. Returns logits [B,T,V] in the model dtype.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask = {},
                        const torch::Tensor& position_ids = {}, KVCache* cache = nullptr);

  // The two halves of forward, for losses that never gather the vocabulary
  // (vocab-parallel cross-entropy): the final-normed hidden states [B,T,H]
  // (same arguments as forward), and this TP rank's slice of the logits
  // [B,T,V_pad/tp], vocabulary ids [vocab_start(), vocab_start() + width).
  // Columns of the padding (ids >= config().vocab_size) hold -inf so that a
  // softmax over the padded vocabulary equals the one over the real one.
  // forward(...) == gather over TP of logits_local(forward_hidden(...)), cut to vocab_size.
  torch::Tensor forward_hidden(const torch::Tensor& input_ids,
                               const torch::Tensor& attention_mask = {},
                               const torch::Tensor& position_ids = {}, KVCache* cache = nullptr);
  torch::Tensor logits_local(const torch::Tensor& hidden);
  // The output of the first `n_layers` decoder layers [B,T,H] (before the
  // final norm; HF's hidden_states[n_layers]), for losses on a layer's
  // activations (RMU); replicated over TP like every layer's output.
  // forward_hidden(ids, ...) == norm(forward_layers(ids, ..., L)).
  torch::Tensor forward_layers(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                               const torch::Tensor& position_ids, int64_t n_layers);

  // Every layer's attention computed as `kind` (kFused by default).
  void set_attention(AttentionKind kind);

  // Activation checkpointing (parallel.activation_checkpointing): when on,
  // a forward that autograd records keeps only each decoder layer's input and
  // recomputes the layer in the backward (llama.cpp, CheckpointedLayer).
  // The layer's parameters are inputs of the checkpointed op, so their
  // gradients flow as with the plain backward (.grad, autograd::grad, hooks).
  void set_activation_checkpointing(bool on) { checkpoint_layers_ = on; }
  bool activation_checkpointing() const { return checkpoint_layers_; }

  // What the decoder layers see, for passes that walk the layers one at a
  // time (GPTQ/AWQ calibration): the embeddings h [B,T,H] and the RoPE tables
  // and additive mask every layer takes (same arguments as forward, no cache).
  // forward_hidden(ids, mask) == norm(layer_{L-1}(... layer_0(h, cos, sin, mask))).
  // `mask` is undefined when attention is plain causal (no attention_mask, no past).
  struct DecoderInputs {
    torch::Tensor h, cos, sin, mask;
  };
  DecoderInputs decoder_inputs(const torch::Tensor& input_ids,
                               const torch::Tensor& attention_mask = {},
                               const torch::Tensor& position_ids = {}, int64_t past = 0);
  int64_t vocab_start() const { return model->embed_tokens->vocab_start; }

  const LlamaConfig& config() const { return config_; }
  const TpContext& tp() const { return tp_; }
  torch::ScalarType dtype() const;
  torch::Device device() const;  // where the parameters live
  // The output projection's weight (the embedding's when tied).
  torch::Tensor lm_head_weight() const;

  LlamaModel model{nullptr};
  ColumnParallelLinear lm_head{nullptr};  // null when tie_word_embeddings

 private:
  // Decoder layers 0..n_layers-1 on `in` (with `cache`: appended to it).
  torch::Tensor run_layers(const DecoderInputs& in, int64_t n_layers, KVCache* cache);

  LlamaConfig config_;
  TpContext tp_;
  RotaryEmbedding rope_;
  bool checkpoint_layers_ = false;
};
TORCH_MODULE(LlamaForCausalLM);

// Additive attention mask [B,1,T,S] for T new queries over S = past+T keys:
// causal, and padded keys (attention_mask == 0) excluded; 0 where allowed and
// the dtype's lowest finite value elsewhere, as transformers builds it.
torch::Tensor llama_causal_mask(const torch::Tensor& attention_mask, int64_t q_len,
                                torch::ScalarType dtype);

// Every parameter of `m` on `device` (and in `dtype` when given): how relapse
// places a model, instead of Module::to (see ParamModule).
void llama_to(LlamaForCausalLM& m, const torch::Device& device,
              std::optional<torch::ScalarType> dtype = std::nullopt);

// Fills parameters with N(0, std) (biases and norms too, from a seeded generator).
void llama_init_random(LlamaForCausalLM& m, double std, at::Generator gen);

}  // namespace relapse::model
