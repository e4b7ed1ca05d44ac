// src/unlearn/losses.cpp — LM losses and the unlearning objectives (see
// relapse/unlearn/losses.h for the definitions and the released variants;
// the table of objectives and their names: objectives.cpp).
#include "relapse/unlearn/losses.h"

#include <algorithm>
#include <cctype>

#include "relapse/core/error.h"
#include "relapse/core/rng.h"
#include "relapse/model/tp_cross_entropy.h"

namespace relapse::unlearn {

namespace {

constexpr int64_t kIgnore = -100;

// HF upcasts logits to fp32 for the loss; fp64 (tests) stays fp64.
torch::ScalarType compute_dtype(const torch::Tensor& logits) {
  return logits.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

// The logits that have a label: positions 0..T-2.
torch::Tensor shifted(const torch::Tensor& logits) {
  RELAPSE_CHECK(logits.dim() == 3 && logits.size(1) >= 2,
                "logits must be [B,T,V] with T >= 2, got ", logits.sizes());
  return logits.narrow(1, 0, logits.size(1) - 1);
}

void check_batch(const torch::Tensor& logits, const TokenBatch& b) {
  RELAPSE_CHECK(b.defined() && logits.size(0) == b.size() && logits.size(1) == b.length(),
                "logits ", logits.sizes(), " do not match the batch [", b.size(), ", ", b.length(),
                "]");
}

double or_default(double given, double fallback) {
  return given > 0 ? given : fallback;
}

void check_same_split(const LmLogits& a, const LmLogits& b) {
  RELAPSE_CHECK(a.local.sizes() == b.local.sizes() && a.vocab_start == b.vocab_start &&
                    a.tp.size == b.tp.size,
                "logits ", a.local.sizes(), " (vocab from ", a.vocab_start,
                ") and reference logits ", b.local.sizes(), " (vocab from ", b.vocab_start,
                ") differ");
}

// Padding columns of a TP slice ([width] bool), undefined when it has none.
torch::Tensor padding_columns(const LmLogits& l) {
  const int64_t width = l.local.size(-1);
  if (l.vocab_start + width <= l.vocab_size) return {};
  auto opts = torch::TensorOptions().dtype(torch::kInt64).device(l.local.device());
  return torch::arange(l.vocab_start, l.vocab_start + width, opts) >= l.vocab_size;
}

// Σ over this rank's real entries of `terms` (padding zeroed), summed over TP.
torch::Tensor tp_entry_sum(const torch::Tensor& terms, const torch::Tensor& pad,
                           const model::TpContext& tp) {
  torch::Tensor t = pad.defined() ? terms.masked_fill(pad, 0.0) : terms;
  return model::tp_reduce_from_region(t.sum(), tp);
}

}  // namespace

LossNormalizer loss_normalizer(const TokenBatch& forget, const TokenBatch& retain, int64_t vocab) {
  LossNormalizer n;
  n.forget_labels = static_cast<double>(label_count(forget));
  n.forget_rows = static_cast<double>(forget.size());
  n.forget_entries = static_cast<double>(forget.size() * forget.length() * vocab);
  if (retain.defined()) {
    n.retain_labels = static_cast<double>(label_count(retain));
    n.retain_rows = static_cast<double>(retain.size());
    n.retain_entries = static_cast<double>(retain.size() * retain.length() * vocab);
  }
  return n;
}

torch::Tensor shifted_labels(const TokenBatch& b) {
  RELAPSE_CHECK(b.defined() && b.length() >= 2, "a batch needs at least 2 tokens per row");
  int64_t T = b.length();
  torch::Tensor labels = b.input_ids.narrow(1, 1, T - 1).to(torch::kInt64);
  torch::Tensor pad = b.attention_mask.narrow(1, 1, T - 1) == 0;
  return labels.masked_fill(pad, kIgnore);
}

int64_t label_count(const TokenBatch& b) {
  return (shifted_labels(b) != kIgnore).sum().item<int64_t>();
}

torch::Tensor npo_loss(const torch::Tensor& logp, const torch::Tensor& ref_logp, double beta,
                       double n_rows) {
  double n = or_default(n_rows, static_cast<double>(logp.size(0)));
  torch::Tensor log_ratio = logp - ref_logp.to(logp.scalar_type());
  return torch::log_sigmoid(-beta * log_ratio).sum() * (-2.0 / beta) / n;
}

torch::Tensor label_mask(const TokenBatch& b) {
  return shifted_labels(b) != kIgnore;
}

torch::Tensor simnpo_loss(const torch::Tensor& nll_sum, const torch::Tensor& lengths, double beta,
                          double delta, double n_rows) {
  double n = or_default(n_rows, static_cast<double>(nll_sum.size(0)));
  // A row with no valid label has no length to normalise by: length 1 keeps
  // its (zero) NLL finite, as it carries no token to forget.
  torch::Tensor len = lengths.to(nll_sum.scalar_type()).clamp_min(1.0);
  return torch::log_sigmoid(beta * (nll_sum / len - delta)).sum() * (-2.0 / beta) / n;
}

// −Σ w·NLL / n over the valid labels, w held constant (OpenUnlearning detaches it).
static torch::Tensor weighted_ascent(const torch::Tensor& nll, const torch::Tensor& valid,
                                     const torch::Tensor& weight, double n_labels) {
  double n = or_default(n_labels, static_cast<double>(valid.sum().item<int64_t>()));
  RELAPSE_CHECK_INPUT(n > 0, "a forget batch has no token to predict (every label is a pad)");
  torch::Tensor w = weight.detach().masked_fill(valid.logical_not(), 0.0);
  return -(w * nll).sum() / n;
}

torch::Tensor wga_loss(const torch::Tensor& nll, const torch::Tensor& valid, double beta,
                       double n_labels) {
  torch::Tensor p = torch::exp(-nll.detach());
  return weighted_ascent(nll, valid, p.pow(beta), n_labels);
}

torch::Tensor satimp_loss(const torch::Tensor& nll, const torch::Tensor& valid, double beta1,
                          double beta2, double n_labels) {
  torch::Tensor p = torch::exp(-nll.detach());
  return weighted_ascent(nll, valid, p.pow(beta1) * (1.0 - p).pow(beta2), n_labels);
}

LmLogits lm_logits_full(const torch::Tensor& logits) {
  RELAPSE_CHECK(logits.dim() == 3, "logits must be [B,T,V], got ", logits.sizes());
  return LmLogits{logits, 0, logits.size(-1), model::TpContext{}};
}

torch::Tensor token_nll(const LmLogits& logits, const TokenBatch& b) {
  check_batch(logits.local, b);
  torch::Tensor labels = shifted_labels(b).to(logits.local.device());
  torch::Tensor valid = labels != kIgnore;
  torch::Tensor lp =
      model::tp_token_logprobs(shifted(logits.local), labels, logits.vocab_start, logits.tp);
  return (-lp).masked_fill(valid.logical_not(), 0.0);
}

torch::Tensor causal_lm_loss(const LmLogits& logits, const TokenBatch& b, double n_labels) {
  double n = or_default(n_labels, static_cast<double>(label_count(b)));
  RELAPSE_CHECK_INPUT(n > 0, "a batch has no token to predict (every label is a pad)");
  return token_nll(logits, b).sum() / n;
}

torch::Tensor sequence_logprob(const LmLogits& logits, const TokenBatch& b) {
  return -token_nll(logits, b).sum(1);
}

torch::Tensor token_kl(const LmLogits& logits, const LmLogits& ref_logits, const TokenBatch& b) {
  check_batch(logits.local, b);
  check_batch(ref_logits.local, b);
  check_same_split(logits, ref_logits);
  // KL(p_ref ‖ p_θ) = Σ_v p_ref (log p_ref − log p_θ), in the model's compute dtype.
  torch::Tensor kl =
      model::tp_token_kl(shifted(ref_logits.local), shifted(logits.local), logits.tp);
  torch::Tensor valid = shifted_labels(b).to(logits.local.device()) != kIgnore;
  return kl.masked_fill(valid.logical_not(), 0.0);
}

torch::Tensor kl_loss(const LmLogits& logits, const LmLogits& ref_logits, const TokenBatch& b,
                      double n_labels) {
  double n = or_default(n_labels, static_cast<double>(label_count(b)));
  RELAPSE_CHECK_INPUT(n > 0, "a retain batch has no token to predict (every label is a pad)");
  return token_kl(logits, ref_logits, b).sum() / n;
}

torch::Tensor npo_raw_logits_loss(const LmLogits& logits, const LmLogits& ref_logits, double beta,
                                  double n_entries) {
  check_same_split(logits, ref_logits);
  const torch::Tensor& x = logits.local;
  auto cd = compute_dtype(x);
  if (logits.tp.size == 1) {
    double n = or_default(n_entries, static_cast<double>(x.numel()));
    torch::Tensor neg_log_ratio = ref_logits.local.to(cd) - x.to(cd);
    return torch::log_sigmoid(beta * neg_log_ratio).sum() * (-2.0 / beta) / n;
  }
  double n = or_default(n_entries, static_cast<double>(x.size(0) * x.size(1) * logits.vocab_size));
  torch::Tensor pad = padding_columns(logits);
  torch::Tensor neg_log_ratio = ref_logits.local.to(cd) - x.to(cd);
  if (pad.defined()) neg_log_ratio = neg_log_ratio.masked_fill(pad, 0.0);  // −inf − (−inf)
  return tp_entry_sum(torch::log_sigmoid(beta * neg_log_ratio), pad, logits.tp) * (-2.0 / beta) / n;
}

torch::Tensor kl_raw_logits_loss(const LmLogits& logits, const LmLogits& ref_logits,
                                 double n_rows) {
  check_same_split(logits, ref_logits);
  double n = or_default(n_rows, static_cast<double>(logits.local.size(0)));
  auto cd = compute_dtype(logits.local);
  torch::Tensor t = ref_logits.local.to(cd), x = logits.local.to(cd);
  if (logits.tp.size == 1) return (t.exp() * (t - x)).sum() / n;
  torch::Tensor pad = padding_columns(logits);
  if (pad.defined()) {
    t = t.masked_fill(pad, 0.0);
    x = x.masked_fill(pad, 0.0);
  }
  return tp_entry_sum(t.exp() * (t - x), pad, logits.tp) / n;
}

torch::Tensor token_undial(const LmLogits& logits, const LmLogits& ref_logits, const TokenBatch& b,
                           double beta) {
  check_batch(logits.local, b);
  check_batch(ref_logits.local, b);
  check_same_split(logits, ref_logits);
  const auto cd = compute_dtype(logits.local);
  torch::Tensor x = shifted(logits.local).to(cd);
  torch::Tensor labels = shifted_labels(b).to(x.device());
  torch::Tensor valid = labels != kIgnore;
  torch::Tensor target;  // p̃ [B,T-1,width]: the adjusted reference, a constant
  {
    torch::NoGradGuard ng;
    torch::Tensor z = shifted(ref_logits.local).to(cd).clone();
    const int64_t width = z.size(-1);
    // The label's logit lowered by β on the rank whose slice holds it.
    torch::Tensor col = labels - logits.vocab_start;
    torch::Tensor here = valid & (col >= 0) & (col < width);
    z.scatter_add_(-1, col.clamp(0, width - 1).unsqueeze(-1), (-beta * here.to(cd)).unsqueeze(-1));
    target = torch::exp(z - model::tp_logsumexp(z, logits.tp).unsqueeze(-1));
  }
  // −Σ_v p̃_v (x_v − lse(x)) = lse(x) − Σ_v p̃_v x_v, as Σ_v p̃_v = 1; the
  // padding columns (p̃ 0, x −inf) are left out of the sum.
  torch::Tensor pad = padding_columns(logits);
  torch::Tensor xs = pad.defined() ? x.masked_fill(pad, 0.0) : x;
  torch::Tensor dot = model::tp_reduce_from_region((target * xs).sum(-1), logits.tp);
  torch::Tensor ce = model::tp_logsumexp(x, logits.tp) - dot;
  return ce.masked_fill(valid.logical_not(), 0.0);
}

torch::Tensor undial_loss(const LmLogits& logits, const LmLogits& ref_logits, const TokenBatch& b,
                          double beta, double n_labels) {
  double n = or_default(n_labels, static_cast<double>(label_count(b)));
  RELAPSE_CHECK_INPUT(n > 0, "a forget batch has no token to predict (every label is a pad)");
  return token_undial(logits, ref_logits, b, beta).sum() / n;
}

torch::Tensor activation_loss(const torch::Tensor& x, const torch::Tensor& y,
                              const torch::Tensor& mask, double n_rows) {
  RELAPSE_CHECK(
      x.dim() == 3 && mask.dim() == 2 && mask.size(0) == x.size(0) && mask.size(1) == x.size(1),
      "activations ", x.sizes(), " and mask ", mask.sizes(), " do not match");
  const auto cd = compute_dtype(x);
  torch::Tensor m = mask.to(x.device()).to(cd);
  torch::Tensor sq = (x.to(cd) - y.to(x.device()).to(cd)).pow(2).mean(-1);  // [B,T]
  torch::Tensor per_row = (sq * m).sum(1) / m.sum(1).clamp_min(1.0);
  return per_row.sum() / or_default(n_rows, static_cast<double>(x.size(0)));
}

torch::Tensor rmu_control_vector(uint64_t seed, int64_t dim, double steering) {
  at::Generator g = RngStreams(seed).torch_generator("rmu/control");
  torch::Tensor u = torch::rand({dim}, g, torch::TensorOptions().dtype(torch::kFloat32));
  return u / u.norm() * steering;
}

// The full-logits forms.
torch::Tensor token_nll(const torch::Tensor& logits, const TokenBatch& b) {
  return token_nll(lm_logits_full(logits), b);
}
torch::Tensor causal_lm_loss(const torch::Tensor& logits, const TokenBatch& b, double n_labels) {
  return causal_lm_loss(lm_logits_full(logits), b, n_labels);
}
torch::Tensor sequence_logprob(const torch::Tensor& logits, const TokenBatch& b) {
  return sequence_logprob(lm_logits_full(logits), b);
}
torch::Tensor token_kl(const torch::Tensor& logits, const torch::Tensor& ref_logits,
                       const TokenBatch& b) {
  return token_kl(lm_logits_full(logits), lm_logits_full(ref_logits), b);
}
torch::Tensor kl_loss(const torch::Tensor& logits, const torch::Tensor& ref_logits,
                      const TokenBatch& b, double n_labels) {
  return kl_loss(lm_logits_full(logits), lm_logits_full(ref_logits), b, n_labels);
}
torch::Tensor npo_raw_logits_loss(const torch::Tensor& logits, const torch::Tensor& ref_logits,
                                  double beta, double n_entries) {
  RELAPSE_CHECK(logits.sizes() == ref_logits.sizes(), "logits ", logits.sizes(),
                " and reference logits ", ref_logits.sizes(), " differ");
  return npo_raw_logits_loss(lm_logits_full(logits), lm_logits_full(ref_logits), beta, n_entries);
}
torch::Tensor kl_raw_logits_loss(const torch::Tensor& logits, const torch::Tensor& ref_logits,
                                 double n_rows) {
  RELAPSE_CHECK(logits.sizes() == ref_logits.sizes(), "logits ", logits.sizes(),
                " and reference logits ", ref_logits.sizes(), " differ");
  return kl_raw_logits_loss(lm_logits_full(logits), lm_logits_full(ref_logits), n_rows);
}
torch::Tensor undial_loss(const torch::Tensor& logits, const torch::Tensor& ref_logits,
                          const TokenBatch& b, double beta, double n_labels) {
  return undial_loss(lm_logits_full(logits), lm_logits_full(ref_logits), b, beta, n_labels);
}

model::LlamaForCausalLM reference_model_copy(const model::LlamaForCausalLM& m) {
  torch::NoGradGuard ng;
  model::LlamaForCausalLM ref(m->config(), m->tp());
  auto src_params = m->parameters();
  RELAPSE_CHECK(!src_params.empty(), "model has no parameters");
  model::llama_to(ref, src_params[0].device(), m->dtype());
  auto src = m->named_parameters();
  for (auto& kv : ref->named_parameters()) {
    const torch::Tensor* s = src.find(kv.key());
    RELAPSE_CHECK(s != nullptr, "reference copy: no parameter ", kv.key());
    kv.value().copy_(*s);
    kv.value().set_requires_grad(false);
  }
  ref->eval();
  return ref;
}

// The batch's ids on the model's device (batches are built on the host) and
// positions 0..T-1. Batches are right-padded (or not padded): a real token
// only attends to earlier, real, tokens under the plain causal mask, and pad
// positions carry no loss, so no padding mask is passed (the fused attention's
// causal kernels).
static std::pair<torch::Tensor, torch::Tensor> lm_inputs(const model::LlamaForCausalLM& m,
                                                         const TokenBatch& b) {
  torch::Tensor ids = b.input_ids.to(m->device());
  torch::Tensor pos = torch::arange(b.length(), ids.options().dtype(torch::kInt64))
                          .unsqueeze(0)
                          .expand({b.size(), b.length()});
  return {ids, pos};
}

torch::Tensor lm_forward(model::LlamaForCausalLM& m, const TokenBatch& b) {
  auto [ids, pos] = lm_inputs(m, b);
  return m->forward(ids, {}, pos);
}

LmLogits lm_forward_local(model::LlamaForCausalLM& m, const TokenBatch& b) {
  auto [ids, pos] = lm_inputs(m, b);
  torch::Tensor local = m->logits_local(m->forward_hidden(ids, {}, pos));
  return LmLogits{local, m->vocab_start(), m->config().vocab_size, m->tp()};
}

namespace {

// The forget term of `cfg` on the forget batch (our logits `lf`); `ref_forward`
// runs the frozen reference without grad.
template <typename RefForward>
torch::Tensor forget_term(const LmLogits& lf, const TokenBatch& forget,
                          const UnlearnLossConfig& cfg, const LossNormalizer& nz,
                          RefForward&& ref_forward) {
  const ObjectiveParams& p = cfg.params;
  const bool released = cfg.variant != LossVariant::kPublished;
  switch (objective_forget_term(cfg.objective)) {
    case ForgetTerm::kGA:
      return -causal_lm_loss(lf, forget, nz.forget_labels);
    case ForgetTerm::kNPO:
      if (released)
        return npo_raw_logits_loss(lf, ref_forward(forget), cfg.beta, nz.forget_entries);
      {
        // The reference first (its logits freed before ours get a graph of log-probs).
        torch::Tensor ref_lp = sequence_logprob(ref_forward(forget), forget);
        return npo_loss(sequence_logprob(lf, forget), ref_lp, cfg.beta, nz.forget_rows);
      }
    case ForgetTerm::kSimNPO: {
      torch::Tensor valid = label_mask(forget).to(lf.local.device());
      return simnpo_loss(token_nll(lf, forget).sum(1), valid.sum(1), p.simnpo_beta, p.simnpo_delta,
                         nz.forget_rows);
    }
    case ForgetTerm::kWGA:
      return wga_loss(token_nll(lf, forget), label_mask(forget).to(lf.local.device()), p.wga_beta,
                      nz.forget_labels);
    case ForgetTerm::kSatImp:
      return satimp_loss(token_nll(lf, forget), label_mask(forget).to(lf.local.device()),
                         p.satimp_beta1, p.satimp_beta2, nz.forget_labels);
    case ForgetTerm::kUNDIAL:
      return undial_loss(lf, ref_forward(forget), forget, p.undial_beta, nz.forget_labels);
    case ForgetTerm::kRMU:
      break;  // on activations, not logits: rmu_loss
  }
  RELAPSE_THROW(ExitCode::kInternal, "unknown forget term");
}

// The retain term (before its weight α) on the retain batch.
template <typename RefForward>
torch::Tensor retain_term(model::LlamaForCausalLM& model, const TokenBatch& retain,
                          const UnlearnLossConfig& cfg, const LossNormalizer& nz,
                          RefForward&& ref_forward) {
  const bool released = cfg.variant != LossVariant::kPublished;
  LmLogits lr = lm_forward_local(model, retain);
  if (objective_retain_term(cfg.objective) == RetainTerm::kNLL)
    return causal_lm_loss(lr, retain, nz.retain_labels);
  if (released) return kl_raw_logits_loss(lr, ref_forward(retain), nz.retain_rows);
  return kl_loss(lr, ref_forward(retain), retain, nz.retain_labels);
}

// RMU (losses.h): the output of decoder layer `rmu_layer` steered toward the
// control vector on the forget batch, and kept at the reference's on the
// retain batch.
LossParts rmu_loss(model::LlamaForCausalLM& model, model::LlamaForCausalLM& ref,
                   const TokenBatch& forget, const TokenBatch& retain, const UnlearnLossConfig& cfg,
                   const LossNormalizer& nz) {
  const ObjectiveParams& p = cfg.params;
  const int64_t layers = model->config().num_hidden_layers;
  RELAPSE_CHECK_CONFIG(p.rmu_layer < layers, "unlearn rmu_layer ", p.rmu_layer,
                       " is not a decoder layer of this model (", layers, " layers: 0 to ",
                       layers - 1, ")");
  auto activations = [&](model::LlamaForCausalLM& m, const TokenBatch& b) {
    auto [ids, pos] = lm_inputs(m, b);
    return m->forward_layers(ids, {}, pos, p.rmu_layer + 1);
  };
  LossParts out;
  torch::Tensor hf = activations(model, forget);
  torch::Tensor c = rmu_control_vector(cfg.rmu_control_seed, hf.size(-1), p.rmu_steering);
  torch::Tensor f = activation_loss(hf, c, forget.attention_mask, nz.forget_rows);
  out.forget_term = f.item<double>();
  out.total = p.forget_weight == 1.0 ? f : p.forget_weight * f;
  torch::Tensor target;
  {
    torch::NoGradGuard ng;
    target = activations(ref, retain);
  }
  torch::Tensor r =
      activation_loss(activations(model, retain), target, retain.attention_mask, nz.retain_rows);
  out.retain_term = r.item<double>();
  out.total = out.total + cfg.alpha * r;
  return out;
}

}  // namespace

LossParts unlearn_loss(model::LlamaForCausalLM& model, model::LlamaForCausalLM* ref_model,
                       const TokenBatch& forget, const TokenBatch& retain,
                       const UnlearnLossConfig& cfg, const LossNormalizer* norm) {
  unlearn_loss_config_validate(cfg);
  const Objective o = cfg.objective;
  RELAPSE_CHECK(!objective_uses_ref(o) || (ref_model && !ref_model->is_empty()), "method ",
                objective_name(o), " needs a reference model");
  RELAPSE_CHECK(!objective_uses_retain(o) || retain.defined(), "method ", objective_name(o),
                " needs a retain batch");
  LossNormalizer nz = norm ? *norm : LossNormalizer{};
  if (objective_forget_term(o) == ForgetTerm::kRMU)
    return rmu_loss(model, *ref_model, forget, retain, cfg, nz);

  auto ref_forward = [&](const TokenBatch& b) {
    torch::NoGradGuard ng;
    return lm_forward_local(*ref_model, b);
  };

  LossParts out;
  LmLogits lf = lm_forward_local(model, forget);
  torch::Tensor f = forget_term(lf, forget, cfg, nz, ref_forward);
  out.forget_term = f.item<double>();
  // γ = 1 (every variant of the paper's methods) adds nothing: the same ops as before γ existed.
  const double gamma = cfg.params.forget_weight;
  out.total = gamma == 1.0 ? f : gamma * f;
  if (objective_uses_retain(o)) {
    torch::Tensor r = retain_term(model, retain, cfg, nz, ref_forward);
    out.retain_term = r.item<double>();
    double weight = cfg.variant == LossVariant::kMuseReleased ? 1.0 : cfg.alpha;
    out.total = out.total + weight * r;
  }
  return out;
}

}  // namespace relapse::unlearn
