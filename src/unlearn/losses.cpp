// src/unlearn/losses.cpp — LM losses and the unlearning objectives (see
// relapse/unlearn/losses.h for the definitions and the released variants).
#include "relapse/unlearn/losses.h"

#include <algorithm>
#include <cctype>

#include "relapse/core/error.h"

namespace relapse::unlearn {

namespace {

constexpr int64_t kIgnore = -100;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// HF upcasts logits to fp32 for the loss; fp64 (tests) stays fp64.
torch::ScalarType compute_dtype(const torch::Tensor& logits) {
  return logits.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

// log_softmax of the logits that have a label: positions 0..T-2.
torch::Tensor shifted_log_softmax(const torch::Tensor& logits) {
  RELAPSE_CHECK(logits.dim() == 3 && logits.size(1) >= 2,
                "logits must be [B,T,V] with T >= 2, got ", logits.sizes());
  return torch::log_softmax(logits.narrow(1, 0, logits.size(1) - 1).to(compute_dtype(logits)), -1);
}

void check_batch(const torch::Tensor& logits, const TokenBatch& b) {
  RELAPSE_CHECK(b.defined() && logits.size(0) == b.size() && logits.size(1) == b.length(),
                "logits ", logits.sizes(), " do not match the batch [", b.size(), ", ", b.length(),
                "]");
}

double or_default(double given, double fallback) {
  return given > 0 ? given : fallback;
}

}  // namespace

Objective objective_from_name(const std::string& name) {
  std::string n = lower(name);
  if (n == "ga") return Objective::kGA;
  if (n == "ga_gdr") return Objective::kGA_GDR;
  if (n == "ga_klr") return Objective::kGA_KLR;
  if (n == "npo") return Objective::kNPO;
  if (n == "npo_gdr") return Objective::kNPO_GDR;
  if (n == "npo_klr") return Objective::kNPO_KLR;
  RELAPSE_THROW(ExitCode::kConfig, "unknown unlearning method '", name,
                "' (expected ga, ga_gdr, ga_klr, npo, npo_gdr, npo_klr)");
}

std::string objective_name(Objective o) {
  switch (o) {
    case Objective::kGA:
      return "ga";
    case Objective::kGA_GDR:
      return "ga_gdr";
    case Objective::kGA_KLR:
      return "ga_klr";
    case Objective::kNPO:
      return "npo";
    case Objective::kNPO_GDR:
      return "npo_gdr";
    case Objective::kNPO_KLR:
      return "npo_klr";
  }
  return "?";
}

LossVariant loss_variant_from_name(const std::string& name) {
  std::string n = lower(name);
  if (n == "published") return LossVariant::kPublished;
  if (n == "muse_released") return LossVariant::kMuseReleased;
  if (n == "paper_released") return LossVariant::kPaperReleased;
  RELAPSE_THROW(ExitCode::kConfig, "unknown loss variant '", name,
                "' (expected published, muse_released, paper_released)");
}

std::string loss_variant_name(LossVariant v) {
  switch (v) {
    case LossVariant::kPublished:
      return "published";
    case LossVariant::kMuseReleased:
      return "muse_released";
    case LossVariant::kPaperReleased:
      return "paper_released";
  }
  return "?";
}

bool objective_uses_ref(Objective o) {
  return o == Objective::kNPO || o == Objective::kNPO_GDR || o == Objective::kNPO_KLR ||
         o == Objective::kGA_KLR;
}

bool objective_uses_retain(Objective o) {
  return o == Objective::kGA_GDR || o == Objective::kGA_KLR || o == Objective::kNPO_GDR ||
         o == Objective::kNPO_KLR;
}

static bool is_npo(Objective o) {
  return o == Objective::kNPO || o == Objective::kNPO_GDR || o == Objective::kNPO_KLR;
}
static bool is_klr(Objective o) {
  return o == Objective::kGA_KLR || o == Objective::kNPO_KLR;
}

void unlearn_loss_config_validate(const UnlearnLossConfig& cfg) {
  RELAPSE_CHECK_CONFIG(cfg.alpha >= 0, "unlearn alpha must be >= 0, got ", cfg.alpha);
  RELAPSE_CHECK_CONFIG(cfg.beta > 0, "unlearn beta must be > 0, got ", cfg.beta);
  RELAPSE_CHECK_CONFIG(
      !(cfg.variant == LossVariant::kMuseReleased && objective_uses_retain(cfg.objective) &&
        cfg.alpha != 1.0),
      "loss variant muse_released has no retain weight (MUSE's code adds the retain term "
      "unweighted): alpha must be 1, got ",
      cfg.alpha, "; use paper_released for a weighted retain term");
}

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

torch::Tensor token_nll(const torch::Tensor& logits, const TokenBatch& b) {
  check_batch(logits, b);
  torch::Tensor labels = shifted_labels(b).to(logits.device());
  torch::Tensor valid = labels != kIgnore;
  torch::Tensor lp = shifted_log_softmax(logits);
  torch::Tensor picked = lp.gather(-1, labels.clamp_min(0).unsqueeze(-1)).squeeze(-1);
  return (-picked).masked_fill(valid.logical_not(), 0.0);
}

torch::Tensor causal_lm_loss(const torch::Tensor& logits, const TokenBatch& b, double n_labels) {
  double n = or_default(n_labels, static_cast<double>(label_count(b)));
  RELAPSE_CHECK_INPUT(n > 0, "a batch has no token to predict (every label is a pad)");
  return token_nll(logits, b).sum() / n;
}

torch::Tensor sequence_logprob(const torch::Tensor& logits, const TokenBatch& b) {
  return -token_nll(logits, b).sum(1);
}

torch::Tensor npo_loss(const torch::Tensor& logp, const torch::Tensor& ref_logp, double beta,
                       double n_rows) {
  double n = or_default(n_rows, static_cast<double>(logp.size(0)));
  torch::Tensor log_ratio = logp - ref_logp.to(logp.scalar_type());
  return torch::log_sigmoid(-beta * log_ratio).sum() * (-2.0 / beta) / n;
}

torch::Tensor token_kl(const torch::Tensor& logits, const torch::Tensor& ref_logits,
                       const TokenBatch& b) {
  check_batch(logits, b);
  check_batch(ref_logits, b);
  torch::Tensor lp = shifted_log_softmax(logits);
  torch::Tensor lq = shifted_log_softmax(ref_logits).to(lp.scalar_type());
  torch::Tensor kl = (lq.exp() * (lq - lp)).sum(-1);
  torch::Tensor valid = shifted_labels(b).to(logits.device()) != kIgnore;
  return kl.masked_fill(valid.logical_not(), 0.0);
}

torch::Tensor kl_loss(const torch::Tensor& logits, const torch::Tensor& ref_logits,
                      const TokenBatch& b, double n_labels) {
  double n = or_default(n_labels, static_cast<double>(label_count(b)));
  RELAPSE_CHECK_INPUT(n > 0, "a retain batch has no token to predict (every label is a pad)");
  return token_kl(logits, ref_logits, b).sum() / n;
}

torch::Tensor npo_raw_logits_loss(const torch::Tensor& logits, const torch::Tensor& ref_logits,
                                  double beta, double n_entries) {
  RELAPSE_CHECK(logits.sizes() == ref_logits.sizes(), "logits ", logits.sizes(),
                " and reference logits ", ref_logits.sizes(), " differ");
  double n = or_default(n_entries, static_cast<double>(logits.numel()));
  auto cd = compute_dtype(logits);
  torch::Tensor neg_log_ratio = ref_logits.to(cd) - logits.to(cd);
  return torch::log_sigmoid(beta * neg_log_ratio).sum() * (-2.0 / beta) / n;
}

torch::Tensor kl_raw_logits_loss(const torch::Tensor& logits, const torch::Tensor& ref_logits,
                                 double n_rows) {
  RELAPSE_CHECK(logits.sizes() == ref_logits.sizes(), "logits ", logits.sizes(),
                " and reference logits ", ref_logits.sizes(), " differ");
  double n = or_default(n_rows, static_cast<double>(logits.size(0)));
  auto cd = compute_dtype(logits);
  torch::Tensor t = ref_logits.to(cd), x = logits.to(cd);
  return (t.exp() * (t - x)).sum() / n;
}

model::LlamaForCausalLM reference_model_copy(const model::LlamaForCausalLM& m) {
  torch::NoGradGuard ng;
  model::LlamaForCausalLM ref(m->config(), m->tp());
  auto src_params = m->parameters();
  RELAPSE_CHECK(!src_params.empty(), "model has no parameters");
  ref->to(src_params[0].device(), m->dtype());
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

torch::Tensor lm_forward(model::LlamaForCausalLM& m, const TokenBatch& b) {
  torch::Tensor pos = torch::arange(b.length(), b.input_ids.options().dtype(torch::kInt64))
                          .unsqueeze(0)
                          .expand({b.size(), b.length()});
  return m->forward(b.input_ids, b.attention_mask, pos);
}

LossParts unlearn_loss(model::LlamaForCausalLM& model, model::LlamaForCausalLM* ref_model,
                       const TokenBatch& forget, const TokenBatch& retain,
                       const UnlearnLossConfig& cfg, const LossNormalizer* norm) {
  unlearn_loss_config_validate(cfg);
  const Objective o = cfg.objective;
  const bool released = cfg.variant != LossVariant::kPublished;
  RELAPSE_CHECK(!objective_uses_ref(o) || (ref_model && !ref_model->is_empty()), "method ",
                objective_name(o), " needs a reference model");
  RELAPSE_CHECK(!objective_uses_retain(o) || retain.defined(), "method ", objective_name(o),
                " needs a retain batch");
  LossNormalizer nz = norm ? *norm : LossNormalizer{};

  auto ref_forward = [&](const TokenBatch& b) {
    torch::NoGradGuard ng;
    return lm_forward(*ref_model, b);
  };

  LossParts out;
  torch::Tensor lf = lm_forward(model, forget);
  torch::Tensor f;
  if (!is_npo(o)) {
    f = -causal_lm_loss(lf, forget, nz.forget_labels);
  } else if (!released) {
    torch::Tensor ref_lp = sequence_logprob(ref_forward(forget), forget);
    f = npo_loss(sequence_logprob(lf, forget), ref_lp, cfg.beta, nz.forget_rows);
  } else {
    f = npo_raw_logits_loss(lf, ref_forward(forget), cfg.beta, nz.forget_entries);
  }
  out.forget_term = f.item<double>();
  out.total = f;
  if (objective_uses_retain(o)) {
    torch::Tensor lr = lm_forward(model, retain);
    torch::Tensor r;
    if (!is_klr(o)) {
      r = causal_lm_loss(lr, retain, nz.retain_labels);
    } else if (!released) {
      r = kl_loss(lr, ref_forward(retain), retain, nz.retain_labels);
    } else {
      r = kl_raw_logits_loss(lr, ref_forward(retain), nz.retain_rows);
    }
    out.retain_term = r.item<double>();
    double weight = cfg.variant == LossVariant::kMuseReleased ? 1.0 : cfg.alpha;
    out.total = f + weight * r;
  }
  return out;
}

}  // namespace relapse::unlearn
