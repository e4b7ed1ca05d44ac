// src/unlearn/trainer.cpp — AdamW, LR schedules, clipping and the training
// step with gradient accumulation (see relapse/unlearn/trainer.h).
#include "relapse/unlearn/trainer.h"

#include <cmath>
#include <limits>

#include "relapse/core/enum_names.h"
#include "relapse/core/error.h"
#include "relapse/core/host_read.h"

namespace relapse::unlearn {

AdamW::AdamW(std::vector<torch::Tensor> params, AdamWOptions opts, std::vector<bool> owned)
    : params_(std::move(params)), opts_(opts), owned_(std::move(owned)) {
  RELAPSE_CHECK(owned_.empty() || owned_.size() == params_.size(), "AdamW: ", owned_.size(),
                " ownership flags for ", params_.size(), " parameters");
  RELAPSE_CHECK_CONFIG(opts.beta1 >= 0 && opts.beta1 < 1, "adamw beta1 must be in [0, 1), got ",
                       opts.beta1);
  RELAPSE_CHECK_CONFIG(opts.beta2 >= 0 && opts.beta2 < 1, "adamw beta2 must be in [0, 1), got ",
                       opts.beta2);
  RELAPSE_CHECK_CONFIG(opts.eps >= 0, "adamw eps must be >= 0, got ", opts.eps);
  RELAPSE_CHECK_CONFIG(opts.weight_decay >= 0, "adamw weight_decay must be >= 0, got ",
                       opts.weight_decay);
  for (size_t i = 0; i < params_.size(); ++i) {
    const torch::Tensor& p = params_[i];
    const bool low = p.scalar_type() == torch::kBFloat16 || p.scalar_type() == torch::kHalf;
    // Master weights: an exact fp32 copy; the moments live in its dtype.
    master_.push_back(owns(i) && opts_.master_weights && low
                          ? p.detach().to(torch::kFloat32, /*non_blocking=*/false, /*copy=*/true)
                          : torch::Tensor());
    // PyTorch: zeros_like(p, memory_format=torch.preserve_format): state in the param dtype.
    const torch::Tensor& like = master_.back().defined() ? master_.back() : p;
    exp_avg_.push_back(owns(i) ? torch::zeros_like(like, torch::MemoryFormat::Preserve)
                               : torch::Tensor());
    exp_avg_sq_.push_back(owns(i) ? torch::zeros_like(like, torch::MemoryFormat::Preserve)
                                  : torch::Tensor());
    steps_.push_back(0);
  }
}

void AdamW::restore(size_t i, const torch::Tensor& exp_avg, const torch::Tensor& exp_avg_sq,
                    int64_t steps, const torch::Tensor& master) {
  RELAPSE_CHECK(i < params_.size(), "AdamW::restore: parameter ", i, " of ", params_.size());
  steps_[i] = steps;
  if (!owns(i)) return;
  torch::NoGradGuard ng;
  exp_avg_[i].copy_(exp_avg);
  exp_avg_sq_[i].copy_(exp_avg_sq);
  RELAPSE_CHECK(master.defined() == master_[i].defined(), "AdamW::restore: parameter ", i,
                master_[i].defined() ? " needs" : " has no", " a master copy");
  if (master.defined()) master_[i].copy_(master);
}

void AdamW::step(double lr, const std::vector<torch::Tensor>* masks) {
  torch::NoGradGuard ng;
  RELAPSE_CHECK(!masks || masks->size() == params_.size(), "AdamW: wrong number of update masks");
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].grad().defined() || !owns(i)) continue;
    // The tensor updated: the parameter itself, or its fp32 master copy.
    const bool mixed = master_[i].defined();
    torch::Tensor& p = mixed ? master_[i] : params_[i];
    const torch::Tensor g = mixed ? params_[i].grad().to(torch::kFloat32) : params_[i].grad();
    // Update masks: nothing selected = skip (weight, moments and step count
    // untouched); partly selected = update, then restore the masked entries
    // from copies, so they stay bit for bit what they were.
    torch::Tensor mask;
    if (masks && (*masks)[i].defined() && !host_scalar<bool>((*masks)[i].all())) {
      mask = (*masks)[i];
      if (!host_scalar<bool>(mask.any())) continue;
    }
    torch::Tensor p_old, m_old, v_old;
    if (mask.defined()) {
      p_old = p.clone();
      m_old = exp_avg_[i].clone();
      v_old = exp_avg_sq_[i].clone();
    }
    int64_t k = ++steps_[i];
    if (opts_.weight_decay != 0) p.mul_(1 - lr * opts_.weight_decay);
    exp_avg_[i].lerp_(g, 1 - opts_.beta1);
    exp_avg_sq_[i].mul_(opts_.beta2).addcmul_(g, g, 1 - opts_.beta2);
    double bias1 = 1 - std::pow(opts_.beta1, static_cast<double>(k));
    double bias2 = 1 - std::pow(opts_.beta2, static_cast<double>(k));
    double step_size = lr / bias1;
    torch::Tensor denom = (exp_avg_sq_[i].sqrt() / std::sqrt(bias2)).add_(opts_.eps);
    p.addcdiv_(exp_avg_[i], denom, -step_size);
    if (mask.defined()) {
      p.copy_(torch::where(mask, p, p_old));
      exp_avg_[i].copy_(torch::where(mask, exp_avg_[i], m_old));
      exp_avg_sq_[i].copy_(torch::where(mask, exp_avg_sq_[i], v_old));
    }
    if (mixed) params_[i].copy_(p);  // rounded once (masked entries: round(old w) = old p)
  }
}

void AdamW::zero_grad() {
  // PyTorch's default zero_grad(set_to_none=True): a parameter the next loss
  // does not reach gets no gradient and no update (not a zero-gradient update).
  for (auto& p : params_) {
    if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
  }
}

constexpr EnumName<LrScheduleKind> kLrScheduleNames[] = {
    {LrScheduleKind::kConstant, "constant"},
    {LrScheduleKind::kCosine, "cosine"},
};

LrScheduleKind lr_schedule_from_name(const std::string& name) {
  return enum_from_name(kLrScheduleNames, name, "lr schedule");
}

std::string lr_schedule_name(LrScheduleKind k) {
  return enum_name(kLrScheduleNames, k);
}

std::vector<std::string> lr_schedule_names() {
  return enum_names(kLrScheduleNames);
}

double LrSchedule::factor(int64_t step) const {
  if (step < warmup_steps) {
    return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup_steps));
  }
  if (kind == LrScheduleKind::kConstant) return 1.0;
  double progress = static_cast<double>(step - warmup_steps) /
                    static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps));
  return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * 0.5 * 2.0 * progress)));
}

double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  std::vector<torch::Tensor> with_grad;
  for (const auto& p : params) {
    if (p.grad().defined()) with_grad.push_back(p);
  }
  if (with_grad.empty()) return 0.0;
  double limit = (max_norm > 0 && std::isfinite(max_norm))
                     ? max_norm
                     : std::numeric_limits<double>::infinity();
  // torch::nn::utils::clip_grad_norm_'s arithmetic, op for op (norms in the
  // gradients' dtype, coefficient clamped at 1 on the device), but with its
  // one host read through host_scalar (so it runs on any device).
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> norms;
  for (const auto& p : with_grad) norms.push_back(p.grad().norm(2));
  torch::Tensor total = norms.size() == 1 ? norms[0] : torch::stack(norms).norm(2);
  torch::Tensor coef = torch::clamp(limit / (total + 1e-6), std::nullopt, 1.0);
  for (const auto& p : with_grad) p.grad().mul_(coef);
  return host_scalar<double>(total);
}

void train_config_validate(const TrainConfig& c) {
  RELAPSE_CHECK_CONFIG(c.schedule.base_lr >= 0, "learning rate must be >= 0, got ",
                       c.schedule.base_lr);
  RELAPSE_CHECK_CONFIG(c.schedule.warmup_steps >= 0, "warmup steps must be >= 0, got ",
                       c.schedule.warmup_steps);
  RELAPSE_CHECK_CONFIG(c.schedule.kind != LrScheduleKind::kCosine || c.schedule.total_steps > 0,
                       "the cosine schedule needs the total number of steps");
  RELAPSE_CHECK_CONFIG(c.micro_batches >= 1, "micro_batches must be >= 1, got ", c.micro_batches);
}

Trainer::Trainer(std::vector<torch::Tensor> params, TrainConfig cfg)
    : cfg_(cfg), opt_(std::move(params), cfg.adamw, cfg.owned) {
  train_config_validate(cfg_);
}

const StepStats& Trainer::step(const MicroLossFn& loss_fn, int64_t tokens) {
  StepStats s;
  s.step = updates() + 1;
  s.lr = cfg_.schedule.lr(updates());
  s.tokens = tokens;
  opt_.zero_grad();
  for (int64_t m = 0; m < cfg_.micro_batches; ++m) {
    MicroLoss ml = loss_fn(updates(), m);
    RELAPSE_CHECK(ml.loss.defined() && ml.loss.numel() == 1,
                  "the loss callback must return a scalar");
    if (ml.extra.defined()) ml.extra.backward();
    if (m + 1 == cfg_.micro_batches && cfg_.before_last_backward) cfg_.before_last_backward();
    ml.loss.backward();
    s.loss += host_scalar<double>(ml.loss);
    s.forget_term += ml.forget_term;
    s.retain_term += ml.retain_term;
  }
  if (cfg_.grad_reduce) cfg_.grad_reduce(opt_.params());
  std::vector<torch::Tensor> masks;
  if (cfg_.update_mask) {
    masks = cfg_.update_mask(opt_.params());
    RELAPSE_CHECK(masks.size() == opt_.params().size(), "update_mask returned ", masks.size(),
                  " masks for ", opt_.params().size(), " parameters");
    torch::NoGradGuard ng;
    for (size_t i = 0; i < masks.size(); ++i) {
      torch::Tensor g = opt_.params()[i].grad();
      // masked_fill, not a multiply: a non-finite masked gradient becomes 0.
      if (g.defined() && masks[i].defined()) g.masked_fill_(masks[i].logical_not(), 0);
    }
  }
  s.grad_norm = cfg_.clip ? cfg_.clip(opt_.params(), cfg_.max_grad_norm)
                          : clip_grad_norm(opt_.params(), cfg_.max_grad_norm);
  opt_.step(s.lr, masks.empty() ? nullptr : &masks);
  if (cfg_.param_sync) cfg_.param_sync(opt_.params());
  curve_.push_back(s);
  return curve_.back();
}

int64_t train_loop(Trainer& t, int64_t n_steps, const MicroLossFn& loss_fn,
                   const std::function<bool(const StepStats&)>& on_step) {
  for (int64_t i = 0; i < n_steps; ++i) {
    const StepStats& s = t.step(loss_fn);
    if (on_step && !on_step(s)) return i + 1;
  }
  return n_steps;
}

std::vector<torch::Tensor> trainable_parameters(const torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (const auto& p : m.parameters()) {
    if (p.requires_grad()) out.push_back(p);
  }
  return out;
}

}  // namespace relapse::unlearn
