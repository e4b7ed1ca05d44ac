// src/model/llama.cpp — the Llama decoder (see relapse/model/llama.h). Each
// numerical step mirrors transformers' modeling_llama.py so fp32 logits agree
// to rounding; the comments name the HF counterpart. Attention is fused
// (at::scaled_dot_product_attention, HF's "sdpa") with the eager formulation
// kept as the oracle.
#include "relapse/model/llama.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <tuple>

#include "relapse/core/error.h"
#include "relapse/model/cpu_gemm.h"

namespace relapse::model {

namespace F = torch::nn::functional;

namespace {

// Activation checkpointing of one decoder layer (torch.utils.checkpoint's
// reentrant form, with the layer's parameters as explicit inputs): the
// forward runs without autograd (a custom Function's forward does) and keeps
// only the layer's input; the backward recomputes the layer with autograd on
// and returns the gradients of the input and of the parameters
// (torch::autograd::grad, nothing written to .grad there). The outer backward
// then delivers each parameter's gradient to its AccumulateGrad node like any
// other op's — summed over the passes through the layer (forget and retain)
// before one accumulation, as the plain backward does — so gradients equal
// the plain backward's, the post-accumulate-grad hooks of the overlapped DP
// reduction fire once per backward (unlearn/grad_reducer.h), and
// torch::autograd::grad(loss, params) sees these parameters.
// The recomputation repeats the forward op for op on the same input (no
// dropout, no random state), so its activations equal the first forward's;
// under tensor parallelism it repeats the layer's all-reduces, in the same
// order on every rank (the backward walks the same graph everywhere).
struct CheckpointedLayer : public torch::autograd::Function<CheckpointedLayer> {
  // `in` is passed by pointer: a custom Function treats every tensor
  // argument as an input, and the mask may be undefined.
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               torch::TensorList params, LlamaDecoderLayerImpl* layer,
                               const LlamaForCausalLMImpl::DecoderInputs* in) {
    ctx->save_for_backward({x});
    ctx->saved_data["layer"] = reinterpret_cast<int64_t>(layer);
    ctx->saved_data["params"] = static_cast<int64_t>(params.size());
    ctx->saved_data["cos"] = in->cos;
    ctx->saved_data["sin"] = in->sin;
    ctx->saved_data["has_mask"] = in->mask.defined();
    if (in->mask.defined()) ctx->saved_data["mask"] = in->mask;
    return layer->forward(x, in->cos, in->sin, in->mask);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    auto* layer = reinterpret_cast<LlamaDecoderLayerImpl*>(ctx->saved_data["layer"].toInt());
    torch::Tensor x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    torch::Tensor mask;
    if (ctx->saved_data["has_mask"].toBool()) mask = ctx->saved_data["mask"].toTensor();
    torch::Tensor out;
    {
      torch::AutoGradMode on(true);
      out = layer->forward(x, ctx->saved_data["cos"].toTensor(), ctx->saved_data["sin"].toTensor(),
                           mask);
    }
    torch::autograd::variable_list inputs{x};
    for (const auto& p : checkpointed_params(*layer)) inputs.push_back(p);
    RELAPSE_CHECK(static_cast<int64_t>(inputs.size()) == ctx->saved_data["params"].toInt() + 1,
                  "checkpointed layer: its trainable parameters changed between forward and "
                  "backward");
    torch::autograd::variable_list grads =
        torch::autograd::grad({out}, inputs, {grad_out[0]}, /*retain_graph=*/false,
                              /*create_graph=*/false, /*allow_unused=*/true);
    grads.push_back(torch::Tensor());  // layer
    grads.push_back(torch::Tensor());  // in
    return grads;
  }
  // The layer's parameters that take gradients, in module order.
  static std::vector<torch::Tensor> checkpointed_params(LlamaDecoderLayerImpl& layer) {
    std::vector<torch::Tensor> out;
    for (const auto& p : layer.parameters())
      if (p.requires_grad()) out.push_back(p);
    return out;
  }
};

}  // namespace

RMSNormImpl::RMSNormImpl(int64_t dim, double eps_, TpContext grad_tp_)
    : eps(eps_), grad_tp(grad_tp_) {
  param("weight", weight, torch::ones({dim}));
}

// LlamaRMSNorm: normalise in fp32, cast back, then scale.
torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  auto in_dtype = x.scalar_type();
  torch::Tensor h = x.to(torch::kFloat32);
  torch::Tensor var = h.pow(2).mean(-1, /*keepdim=*/true);
  h = h * torch::rsqrt(var + eps);
  return tp_copy_to_region(weight, grad_tp) * h.to(in_dtype);
}

// _compute_default_rope_parameters and _compute_llama3_parameters. Python's
// `s / t` on a tensor is t.reciprocal() * s, reproduced here for bitwise equality.
RotaryEmbedding::RotaryEmbedding(const LlamaConfig& c) {
  int64_t dim = c.head_dim_or_default();
  torch::Tensor exps =
      torch::arange(0, dim, 2, torch::kInt64).to(torch::kFloat32) / static_cast<double>(dim);
  inv_freq = torch::pow(c.rope_theta, exps).reciprocal();
  if (c.rope_scaling.type == "llama3") {
    const RopeScaling& rs = c.rope_scaling;
    double old_ctx = static_cast<double>(rs.original_max_position_embeddings);
    double low_freq_wavelen = old_ctx / rs.low_freq_factor;
    double high_freq_wavelen = old_ctx / rs.high_freq_factor;
    torch::Tensor wavelen = inv_freq.reciprocal() * (2 * M_PI);
    torch::Tensor inv_llama =
        torch::where(wavelen > low_freq_wavelen, inv_freq / rs.factor, inv_freq);
    torch::Tensor smooth = (wavelen.reciprocal() * old_ctx - rs.low_freq_factor) /
                           (rs.high_freq_factor - rs.low_freq_factor);
    torch::Tensor smoothed = (1 - smooth) * inv_llama / rs.factor + smooth * inv_llama;
    torch::Tensor is_medium =
        (wavelen < high_freq_wavelen).logical_not() & (wavelen > low_freq_wavelen).logical_not();
    inv_freq = torch::where(is_medium, smoothed, inv_llama);
  }
}

// LlamaRotaryEmbedding.forward: freqs = inv_freq ⊗ positions in fp32,
// emb = [freqs, freqs], cos/sin cast to the activation dtype.
std::pair<torch::Tensor, torch::Tensor> RotaryEmbedding::forward(const torch::Tensor& position_ids,
                                                                 torch::ScalarType dtype) const {
  torch::Tensor pos = position_ids.to(torch::kFloat32).unsqueeze(-1);  // [B,T,1]
  if (!inv_freq_dev_.defined() || inv_freq_dev_.device() != position_ids.device())
    inv_freq_dev_ = inv_freq.to(position_ids.device());
  torch::Tensor freqs = pos * inv_freq_dev_.view({1, 1, -1});  // [B,T,D/2]
  torch::Tensor emb = torch::cat({freqs, freqs}, -1);
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

namespace {

torch::Tensor rotate_half(const torch::Tensor& x) {
  int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

// repeat_kv: [B, kv, S, D] -> [B, kv*n_rep, S, D], each KV head serving n_rep query heads.
torch::Tensor repeat_kv(const torch::Tensor& x, int64_t n_rep) {
  if (n_rep == 1) return x;
  auto s = x.sizes();
  return x.unsqueeze(2)
      .expand({s[0], s[1], n_rep, s[2], s[3]})
      .reshape({s[0], s[1] * n_rep, s[2], s[3]});
}

}  // namespace

LlamaAttentionImpl::LlamaAttentionImpl(const LlamaConfig& c, TpContext tp) {
  head_dim = c.head_dim_or_default();
  int64_t h = c.hidden_size, kv = c.num_key_value_heads;
  // Fewer KV heads than ranks: each KV head is replicated on tp/kv adjacent
  // ranks, rank r holding KV head r*kv/tp, the one its query heads use
  // (Megatron-Core). The constructor of LlamaForCausalLM checked divisibility.
  int64_t replicas = kv < tp.size ? tp.size / kv : 1;
  q_proj = register_module(
      "q_proj", ColumnParallelLinear(h, c.num_attention_heads * head_dim, c.attention_bias, tp));
  k_proj = register_module(
      "k_proj", ColumnParallelLinear(h, kv * head_dim, c.attention_bias, tp, false, replicas));
  v_proj = register_module(
      "v_proj", ColumnParallelLinear(h, kv * head_dim, c.attention_bias, tp, false, replicas));
  o_proj = register_module("o_proj",
                           RowParallelLinear(c.num_attention_heads * head_dim, h, c.o_bias(), tp));
  if (c.qk_norm) {
    q_norm = register_module("q_norm", RMSNorm(head_dim, c.rms_norm_eps, tp));
    k_norm = register_module("k_norm", RMSNorm(head_dim, c.rms_norm_eps, tp));
  }
  sliding_window = c.sliding_window;
  heads_local = c.num_attention_heads / tp.size;
  kv_heads_local = kv * replicas / tp.size;
}

namespace {

// Writes this step's keys/values [B, kv, T, D] at positions [past, past+T) of
// the slot's buffers (allocated, or grown by doubling, when too small) and
// returns the filled part [B, kv, past+T, D] of each.
std::pair<torch::Tensor, torch::Tensor> kv_cache_append(const KVSlot& slot, const torch::Tensor& k,
                                                        const torch::Tensor& v) {
  const int64_t T = k.size(2), need = slot.past + T;
  torch::Tensor& kb = *slot.k;
  torch::Tensor& vb = *slot.v;
  if (!kb.defined() || kb.size(2) < need) {
    int64_t cap = std::max(need, slot.capacity);
    if (kb.defined()) cap = std::max(cap, 2 * kb.size(2));
    auto grow = [&](const torch::Tensor& old, const torch::Tensor& like) {
      torch::Tensor t =
          torch::empty({like.size(0), like.size(1), cap, like.size(3)}, like.options());
      if (old.defined() && slot.past > 0)
        t.narrow(2, 0, slot.past).copy_(old.narrow(2, 0, slot.past));
      return t;
    };
    kb = grow(kb, k);
    vb = grow(vb, v);
  }
  kb.narrow(2, slot.past, T).copy_(k);
  vb.narrow(2, slot.past, T).copy_(v);
  return {kb.narrow(2, 0, need), vb.narrow(2, 0, need)};
}

// eager_attention_forward: repeat_kv, q k^T * scaling + mask, fp32 softmax
// cast back, times v. The test oracle of the fused path.
torch::Tensor attention_eager(const torch::Tensor& q, const torch::Tensor& k,
                              const torch::Tensor& v, torch::Tensor mask, double scaling) {
  int64_t n_rep = q.size(1) / k.size(1);
  torch::Tensor kr = repeat_kv(k, n_rep), vr = repeat_kv(v, n_rep);
  if (!mask.defined()) {
    auto ones = torch::ones({q.size(0), q.size(2)},
                            torch::TensorOptions().dtype(torch::kInt64).device(q.device()));
    mask = llama_causal_mask(ones, q.size(2), q.scalar_type());
  }
  torch::Tensor w = torch::matmul(q, kr.transpose(2, 3)) * scaling + mask;
  w = torch::softmax(w, -1, torch::kFloat32).to(q.scalar_type());
  return torch::matmul(w, vr);
}

}  // namespace

// LlamaAttention.forward with sdpa_attention_forward (or the eager oracle).
torch::Tensor LlamaAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos,
                                          const torch::Tensor& sin, const torch::Tensor& mask,
                                          const KVSlot* cache) {
  int64_t B = x.size(0), T = x.size(1);
  torch::Tensor q = q_proj->forward(x).view({B, T, heads_local, head_dim});
  torch::Tensor k = k_proj->forward(x).view({B, T, kv_heads_local, head_dim});
  if (q_norm) {  // Qwen3: per head, before RoPE
    q = q_norm->forward(q);
    k = k_norm->forward(k);
  }
  q = q.transpose(1, 2);
  k = k.transpose(1, 2);
  torch::Tensor v = v_proj->forward(x).view({B, T, kv_heads_local, head_dim}).transpose(1, 2);
  torch::Tensor c = cos.unsqueeze(1), s = sin.unsqueeze(1);
  q = q * c + rotate_half(q) * s;
  k = k * c + rotate_half(k) * s;
  if (cache) std::tie(k, v) = kv_cache_append(*cache, k, v);
  // relapse's attention is full causal: exact for a windowed model only while
  // every query sees its whole past within the window.
  RELAPSE_CHECK_CODE(ExitCode::kConfig, sliding_window == 0 || k.size(2) <= sliding_window,
                     "a sequence of ", k.size(2),
                     " tokens is longer than the model's sliding_window (", sliding_window,
                     ", config.json); relapse has no windowed attention: use at most ",
                     sliding_window, " tokens (data.max_len, generation lengths)");
  RELAPSE_CHECK(mask.defined() || k.size(2) == T,
                "attention without a mask must be causal over its own tokens (no past)");
  double scaling = std::pow(static_cast<double>(head_dim), -0.5);
  torch::Tensor out;
  if (kind == AttentionKind::kEager) {
    out = attention_eager(q, k, v, mask, scaling);
  } else {
    // No mask: is_causal selects the flash kernels. A mask is additive with
    // the dtype's lowest finite value, as HF builds it: a fully masked row (a
    // left pad) gets a uniform softmax, never NaN.
    // On a CPU without bf16 instructions, in fp32 (cpu_gemm.h).
    out = sdpa_forward(q, k, v, mask, /*is_causal=*/!mask.defined(), scaling,
                       /*enable_gqa=*/kv_heads_local != heads_local);
  }
  return o_proj->forward(out.transpose(1, 2).contiguous().reshape({B, T, -1}));
}

LlamaMLPImpl::LlamaMLPImpl(const LlamaConfig& c, TpContext tp) {
  gate_proj = register_module(
      "gate_proj", ColumnParallelLinear(c.hidden_size, c.intermediate_size, c.mlp_bias, tp));
  up_proj = register_module(
      "up_proj", ColumnParallelLinear(c.hidden_size, c.intermediate_size, c.mlp_bias, tp));
  down_proj = register_module(
      "down_proj", RowParallelLinear(c.intermediate_size, c.hidden_size, c.mlp_bias, tp));
}

torch::Tensor LlamaMLPImpl::forward(const torch::Tensor& x) {
  return down_proj->forward(F::silu(gate_proj->forward(x)) * up_proj->forward(x));
}

LlamaDecoderLayerImpl::LlamaDecoderLayerImpl(const LlamaConfig& c, TpContext tp) {
  self_attn = register_module("self_attn", LlamaAttention(c, tp));
  mlp = register_module("mlp", LlamaMLP(c, tp));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm =
      register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

torch::Tensor LlamaDecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& cos,
                                             const torch::Tensor& sin, const torch::Tensor& mask,
                                             const KVSlot* cache) {
  torch::Tensor h = x + self_attn->forward(input_layernorm->forward(x), cos, sin, mask, cache);
  return h + mlp->forward(post_attention_layernorm->forward(h));
}

LlamaModelImpl::LlamaModelImpl(const LlamaConfig& c, TpContext tp) {
  embed_tokens =
      register_module("embed_tokens", VocabParallelEmbedding(c.vocab_size, c.hidden_size, tp));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(LlamaDecoderLayer(c, tp));
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

LlamaForCausalLMImpl::LlamaForCausalLMImpl(const LlamaConfig& c, TpContext tp)
    : config_(c), tp_(tp), rope_(c) {
  llama_config_validate(c, "model config");
  // Heads are the unit of the attention split. With fewer KV heads than ranks
  // the KV heads are replicated, which needs TP to be a multiple of them.
  const int64_t kv = c.num_key_value_heads;
  RELAPSE_CHECK_CODE(ExitCode::kConfig, c.num_attention_heads % tp.size == 0,
                     "tensor parallel size ", tp.size, " must divide num_attention_heads (",
                     c.num_attention_heads, ")");
  RELAPSE_CHECK_CODE(ExitCode::kConfig, kv >= tp.size ? kv % tp.size == 0 : tp.size % kv == 0,
                     "tensor parallel size ", tp.size,
                     " must divide num_key_value_heads or be a multiple of it (", kv,
                     " KV heads are replicated over tp/kv ranks when fewer than tp)");
  RELAPSE_CHECK_CODE(ExitCode::kConfig, c.intermediate_size % tp.size == 0, "tensor parallel size ",
                     tp.size, " must divide intermediate_size (", c.intermediate_size, ")");
  // The vocabulary is padded to a multiple of TP; padded logits are cut off.
  LlamaConfig padded = c;
  padded.vocab_size = tp_pad_to_multiple(c.vocab_size, tp);
  model = register_module("model", LlamaModel(padded, tp));
  if (!c.tie_word_embeddings) {
    lm_head = register_module("lm_head",
                              ColumnParallelLinear(c.hidden_size, padded.vocab_size, false, tp,
                                                   /*gather_output=*/false));  // see logits_local
  }
}

void LlamaForCausalLMImpl::set_attention(AttentionKind kind) {
  for (size_t i = 0; i < model->layers->size(); ++i)
    model->layers->ptr<LlamaDecoderLayerImpl>(i)->self_attn->kind = kind;
}

torch::ScalarType LlamaForCausalLMImpl::dtype() const {
  return model->embed_tokens->weight.scalar_type();
}

torch::Device LlamaForCausalLMImpl::device() const {
  return model->embed_tokens->weight.device();
}

torch::Tensor LlamaForCausalLMImpl::lm_head_weight() const {
  return lm_head ? lm_head->weight : model->embed_tokens->weight;
}

torch::Tensor llama_causal_mask(const torch::Tensor& attention_mask, int64_t q_len,
                                torch::ScalarType dtype) {
  int64_t B = attention_mask.size(0), S = attention_mask.size(1);
  int64_t past = S - q_len;
  auto dev = attention_mask.device();
  torch::Tensor qpos =
      torch::arange(past, S, torch::TensorOptions().dtype(torch::kInt64).device(dev));
  torch::Tensor kpos = torch::arange(0, S, torch::TensorOptions().dtype(torch::kInt64).device(dev));
  torch::Tensor allowed = kpos.view({1, 1, 1, S}) <= qpos.view({1, 1, q_len, 1});  // causal
  allowed = allowed & (attention_mask.view({B, 1, 1, S}) != 0);                    // padding
  double lowest = (dtype == torch::kBFloat16) ? -3.3895313892515355e+38
                  : (dtype == torch::kFloat16)
                      ? -65504.0
                      : static_cast<double>(std::numeric_limits<float>::lowest());
  torch::Tensor m = torch::zeros({B, 1, q_len, S}, torch::TensorOptions().dtype(dtype).device(dev));
  return m.masked_fill(allowed.logical_not(), lowest);
}

LlamaForCausalLMImpl::DecoderInputs LlamaForCausalLMImpl::decoder_inputs(
    const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
    const torch::Tensor& position_ids, int64_t past) {
  RELAPSE_CHECK(input_ids.dim() == 2, "input_ids must be [batch, seq], got ", input_ids.sizes());
  int64_t B = input_ids.size(0), T = input_ids.size(1);
  auto long_opts = torch::TensorOptions().dtype(torch::kInt64).device(input_ids.device());
  torch::Tensor mask = attention_mask.defined() ? attention_mask.to(torch::kInt64)
                                                : torch::ones({B, past + T}, long_opts);
  RELAPSE_CHECK(mask.size(0) == B && mask.size(1) == past + T, "attention_mask must be [", B, ", ",
                past + T, "], got ", mask.sizes());
  torch::Tensor pos = position_ids;
  if (!pos.defined()) {
    // transformers' generate: position = (number of real tokens before) - 1; pads get 1.
    pos = (mask.cumsum(1) - 1).masked_fill(mask == 0, 1).narrow(1, past, T);
  }
  DecoderInputs in;
  in.h = model->embed_tokens->forward(input_ids);
  auto cs = rope_.forward(pos, in.h.scalar_type());
  in.cos = cs.first;
  in.sin = cs.second;
  // Without an attention_mask or a past, attention is plain causal (no mask).
  if (attention_mask.defined() || past > 0)
    in.mask = llama_causal_mask(mask, T, in.h.scalar_type());
  return in;
}

torch::Tensor LlamaForCausalLMImpl::forward_hidden(const torch::Tensor& input_ids,
                                                   const torch::Tensor& attention_mask,
                                                   const torch::Tensor& position_ids,
                                                   KVCache* cache) {
  DecoderInputs in =
      decoder_inputs(input_ids, attention_mask, position_ids, cache ? cache->length() : 0);
  torch::Tensor h = run_layers(in, static_cast<int64_t>(model->layers->size()), cache);
  if (cache) cache->len += input_ids.size(1);
  return model->norm->forward(h);
}

torch::Tensor LlamaForCausalLMImpl::forward_layers(const torch::Tensor& input_ids,
                                                   const torch::Tensor& attention_mask,
                                                   const torch::Tensor& position_ids,
                                                   int64_t n_layers) {
  const auto total = static_cast<int64_t>(model->layers->size());
  RELAPSE_CHECK_CODE(ExitCode::kConfig, n_layers >= 1 && n_layers <= total, "the output of ",
                     n_layers, " decoder layers was asked of a model with ", total);
  return run_layers(decoder_inputs(input_ids, attention_mask, position_ids, 0), n_layers, nullptr);
}

torch::Tensor LlamaForCausalLMImpl::run_layers(const DecoderInputs& in, int64_t n_layers,
                                               KVCache* cache) {
  torch::Tensor h = in.h;
  if (cache && cache->k.empty()) {
    cache->k.resize(model->layers->size());
    cache->v.resize(model->layers->size());
  }
  for (size_t i = 0; i < static_cast<size_t>(n_layers); ++i) {
    auto layer = model->layers->ptr<LlamaDecoderLayerImpl>(i);
    KVSlot slot;
    if (cache) slot = {&cache->k[i], &cache->v[i], cache->len, cache->capacity};
    // Checkpointed only where a backward will follow (training: autograd on,
    // and h or the layer's parameters take gradients). The parameters go in
    // as a TensorList: that is what makes a custom Function take them as inputs.
    std::vector<torch::Tensor> ps;
    if (checkpoint_layers_ && !cache && torch::GradMode::is_enabled())
      ps = CheckpointedLayer::checkpointed_params(*layer);
    if (checkpoint_layers_ && !cache && torch::GradMode::is_enabled() &&
        (h.requires_grad() || !ps.empty()))
      h = CheckpointedLayer::apply(h, torch::TensorList(ps), layer.get(), &in);
    else
      h = layer->forward(h, in.cos, in.sin, in.mask, cache ? &slot : nullptr);
  }
  return h;
}

torch::Tensor LlamaForCausalLMImpl::logits_local(const torch::Tensor& h) {
  torch::Tensor w = lm_head_weight();
  torch::Tensor logits = linear_forward(tp_copy_to_region(h, tp_), w);
  int64_t width = w.size(0), start = vocab_start();
  if (start + width > config_.vocab_size) {  // this rank holds padding columns
    torch::Tensor pad =
        torch::arange(start, start + width,
                      torch::TensorOptions().dtype(torch::kInt64).device(logits.device())) >=
        config_.vocab_size;
    logits = logits.masked_fill(pad, -std::numeric_limits<float>::infinity());
  }
  return logits;
}

torch::Tensor LlamaForCausalLMImpl::forward(const torch::Tensor& input_ids,
                                            const torch::Tensor& attention_mask,
                                            const torch::Tensor& position_ids, KVCache* cache) {
  torch::Tensor logits = tp_gather_last_dim(
      logits_local(forward_hidden(input_ids, attention_mask, position_ids, cache)), tp_);
  if (logits.size(-1) != config_.vocab_size) logits = logits.narrow(-1, 0, config_.vocab_size);
  return logits;
}

void llama_to(LlamaForCausalLM& m, const torch::Device& device,
              std::optional<torch::ScalarType> dtype) {
  for (const auto& mod : m->modules(/*include_self=*/true))
    if (auto* p = dynamic_cast<ParamModule*>(mod.get())) p->move_params(device, dtype);
}

void llama_init_random(LlamaForCausalLM& m, double std, at::Generator gen) {
  torch::NoGradGuard ng;
  for (auto& p : m->parameters()) {
    torch::Tensor t =
        torch::randn(p.sizes(), gen, torch::TensorOptions().dtype(torch::kFloat32)) * std;
    p.copy_(t);
  }
}

}  // namespace relapse::model
