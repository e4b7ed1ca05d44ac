// src/unlearn/saliency.cpp — SURE saliency: numpy's linear percentile, row
// and module norms, update masks and the per-run record
// (relapse/unlearn/saliency.h).
#include "relapse/unlearn/saliency.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "relapse/core/enum_names.h"
#include "relapse/core/error.h"
#include "relapse/core/stats.h"
#include "relapse/dist/communicator.h"

namespace relapse::unlearn {

namespace {

// fp32 for half-precision gradients (the released code's .float()), else as is.
torch::Tensor norm_input(const torch::Tensor& g) {
  const auto t = g.scalar_type();
  return (t == torch::kBFloat16 || t == torch::kHalf) ? g.to(torch::kFloat32) : g;
}

// Mask shape [rows, 1, ...] of a parameter ([] for 0-D).
std::vector<int64_t> mask_shape(const torch::Tensor& p) {
  if (p.dim() == 0) return {};
  std::vector<int64_t> s(static_cast<size_t>(p.dim()), 1);
  s[0] = p.size(0);
  return s;
}

// Whether parameter i may be selected (unlearn.sure.modules).
bool is_candidate(const SaliencyConfig& c, size_t i) {
  return c.candidate.empty() || (i < c.candidate.size() && c.candidate[i]);
}

}  // namespace

// "none" is the loops' own default (no SURE); configs choose among the others.
constexpr EnumName<SaliencyMode> kSaliencyModeNames[] = {
    {SaliencyMode::kNone, "none"},
    {SaliencyMode::kModule, "module"},
    {SaliencyMode::kRow, "row"},
    {SaliencyMode::kReleased, "released"},
};

SaliencyMode saliency_mode_from_name(const std::string& name) {
  return enum_from_name(kSaliencyModeNames, name, "SURE mode (unlearn.sure.mode)");
}

std::string saliency_mode_name(SaliencyMode m) {
  return enum_name(kSaliencyModeNames, m);
}

std::vector<std::string> saliency_mode_names() {
  return enum_names(kSaliencyModeNames);
}

void saliency_config_validate(const SaliencyConfig& c) {
  RELAPSE_CHECK_CONFIG(std::isfinite(c.percentile) && c.percentile >= 0 && c.percentile <= 100,
                       "SURE percentile (unlearn.sure.percentile) must be in [0, 100], got ",
                       c.percentile);
  RELAPSE_CHECK_CONFIG(std::isfinite(c.gamma),
                       "SURE gamma (unlearn.sure.gamma) must be finite (< 0 = use the "
                       "percentile), got ",
                       c.gamma);
}

int64_t saliency_rows(const torch::Tensor& p) {
  return p.dim() == 0 ? 1 : p.size(0);
}

torch::Tensor saliency_row_norms(const torch::Tensor& grad) {
  torch::NoGradGuard ng;
  torch::Tensor g = norm_input(grad.detach());
  torch::Tensor n;
  if (g.dim() == 0) {
    n = g.abs().reshape({1});
  } else if (g.dim() == 1) {
    n = g.abs();
  } else {
    n = g.reshape({g.size(0), -1}).norm(2, {1});
  }
  return n.to(torch::kCPU, torch::kFloat64).contiguous();
}

double saliency_module_norm(const torch::Tensor& grad) {
  torch::NoGradGuard ng;
  return norm_input(grad.detach()).norm().item<double>();
}

double saliency_threshold(const SaliencyConfig& c, const std::vector<double>& norms) {
  for (size_t i = 0; i < norms.size(); ++i)
    RELAPSE_CHECK_INPUT(!std::isnan(norms[i]), "SURE: forget-gradient norm ", i, " of ",
                        norms.size(), " is NaN (the forget loss diverged)");
  return c.gamma >= 0 ? c.gamma : np_percentile_linear(norms, c.percentile);
}

std::vector<torch::Tensor> saliency_module_masks(const std::vector<torch::Tensor>& params,
                                                 const std::vector<torch::Tensor>& grads,
                                                 const SaliencyConfig& c, double* threshold) {
  RELAPSE_CHECK(params.size() == grads.size(), "params and grads differ in number");
  std::vector<double> norms, pool;
  for (size_t i = 0; i < grads.size(); ++i) {
    norms.push_back(grads[i].defined() ? saliency_module_norm(grads[i]) : 0.0);
    if (is_candidate(c, i)) pool.push_back(norms.back());
  }
  RELAPSE_CHECK_CONFIG(!pool.empty(), "SURE: no parameter matches unlearn.sure.modules");
  const double gamma = saliency_threshold(c, pool);
  if (threshold) *threshold = gamma;
  std::vector<torch::Tensor> masks;
  for (size_t i = 0; i < params.size(); ++i) {
    masks.push_back(
        torch::full(mask_shape(params[i]), is_candidate(c, i) && norms[i] >= gamma,
                    torch::TensorOptions().dtype(torch::kBool).device(params[i].device())));
  }
  return masks;
}

std::vector<torch::Tensor> saliency_row_masks(const std::vector<torch::Tensor>& params,
                                              const std::vector<torch::Tensor>& grads,
                                              const SaliencyConfig& c, double* threshold) {
  RELAPSE_CHECK(params.size() == grads.size(), "params and grads differ in number");
  std::vector<torch::Tensor> norms;
  std::vector<double> all;
  for (size_t i = 0; i < params.size(); ++i) {
    torch::Tensor n = grads[i].defined()
                          ? saliency_row_norms(grads[i])
                          : torch::zeros({saliency_rows(params[i])}, torch::kFloat64);
    const double* d = n.data_ptr<double>();
    if (is_candidate(c, i)) all.insert(all.end(), d, d + n.numel());
    norms.push_back(n);
  }
  RELAPSE_CHECK_CONFIG(!all.empty(), "SURE: no parameter matches unlearn.sure.modules");
  const double gamma = saliency_threshold(c, all);
  if (threshold) *threshold = gamma;
  std::vector<torch::Tensor> masks;
  for (size_t i = 0; i < params.size(); ++i) {
    torch::Tensor sel =
        is_candidate(c, i) ? norms[i].ge(gamma) : torch::zeros_like(norms[i]).to(torch::kBool);
    masks.push_back(sel.reshape(mask_shape(params[i])).to(params[i].device()));
  }
  return masks;
}

UnlearnLossConfig saliency_forget_config(const UnlearnLossConfig& loss) {
  UnlearnLossConfig f = loss;
  f.objective = objective_forget_only(loss.objective);
  f.params.forget_weight = 1.0;  // the forget loss's own gradient, as SURE's code takes it
  return f;
}

std::vector<torch::Tensor> saliency_forget_grads(model::LlamaForCausalLM& m,
                                                 model::LlamaForCausalLM* ref_model,
                                                 const TokenBatch& forget,
                                                 const UnlearnLossConfig& loss,
                                                 const LossNormalizer& norm,
                                                 const std::vector<torch::Tensor>& params) {
  // Checkpointed layers return their parameters' gradients to autograd::grad
  // like any op (llama.h), so this pass runs as the model is set.
  LossParts p =
      unlearn_loss(m, ref_model, forget, TokenBatch{}, saliency_forget_config(loss), &norm);
  return torch::autograd::grad({p.total}, params, /*grad_outputs=*/{}, /*retain_graph=*/false,
                               /*create_graph=*/false, /*allow_unused=*/true);
}

SaliencyTracker::SaliencyTracker(const model::LlamaForCausalLM& m,
                                 std::vector<torch::Tensor> params, SaliencyConfig c,
                                 Communicator* dp)
    : params_(std::move(params)), cfg_(c), dp_(dp) {
  saliency_config_validate(cfg_);
  record_.mode = cfg_.mode;
  if (cfg_.mode != SaliencyMode::kModule && cfg_.mode != SaliencyMode::kRow) return;
  for (const auto& kv : m->named_parameters()) {
    if (kv.value().requires_grad()) record_.names.push_back(kv.key());
  }
  RELAPSE_CHECK(record_.names.size() == params_.size(),
                "SURE: named parameters and trainable parameters differ");
  cfg_.candidate.clear();
  if (!cfg_.modules.empty()) {
    for (const auto& name : record_.names) {
      bool match = false;
      for (const auto& frag : cfg_.modules) match = match || name.find(frag) != std::string::npos;
      cfg_.candidate.push_back(match);
    }
  }
  for (const auto& p : params_) record_.selected_steps.emplace_back(saliency_rows(p), 0);
}

void SaliencyTracker::add(const std::vector<torch::Tensor>& grads) {
  RELAPSE_CHECK(grads.size() == params_.size(), "SURE: gradient count mismatch");
  torch::NoGradGuard ng;
  if (acc_.empty()) acc_.resize(params_.size());
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) continue;
    if (acc_[i].defined()) {
      acc_[i].add_(grads[i]);
    } else {
      acc_[i] = grads[i].detach().clone();
    }
  }
}

void SaliencyTracker::dp_sum(std::vector<torch::Tensor>& grads) const {
  if (!dp_ || dp_->size() <= 1) return;
  torch::NoGradGuard ng;
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) grads[i] = torch::zeros_like(params_[i]);
    grads[i] = grads[i].contiguous();
    dp_->all_reduce(grads[i], ReduceOp::kSum);
  }
}

void SaliencyTracker::set_module_masks(const std::vector<torch::Tensor>& grads) {
  double gamma = 0;
  fixed_ = saliency_module_masks(params_, grads, cfg_, &gamma);
  record_.thresholds.push_back(gamma);
}

std::vector<torch::Tensor> SaliencyTracker::update_masks() {
  if (cfg_.mode == SaliencyMode::kModule) {
    RELAPSE_CHECK(!fixed_.empty(), "SURE module masks were not set before training");
    record(fixed_, std::numeric_limits<double>::quiet_NaN());
    return fixed_;
  }
  RELAPSE_CHECK(cfg_.mode == SaliencyMode::kRow, "SURE: no masks in mode ",
                saliency_mode_name(cfg_.mode));
  if (acc_.empty()) acc_.resize(params_.size());
  dp_sum(acc_);
  double gamma = 0;
  std::vector<torch::Tensor> masks = saliency_row_masks(params_, acc_, cfg_, &gamma);
  acc_.clear();
  record(masks, gamma);
  return masks;
}

void SaliencyTracker::record(const std::vector<torch::Tensor>& masks, double threshold) {
  ++record_.steps;
  if (!std::isnan(threshold)) record_.thresholds.push_back(threshold);
  int64_t total = 0;
  for (size_t i = 0; i < masks.size(); ++i) {
    torch::Tensor sel = masks[i].reshape({-1}).to(torch::kCPU).expand({saliency_rows(params_[i])});
    torch::Tensor s = sel.to(torch::kInt32).contiguous();
    const int32_t* d = s.data_ptr<int32_t>();
    auto& out = record_.selected_steps[i];
    for (size_t r = 0; r < out.size(); ++r) {
      out[r] += d[r];
      total += d[r];
    }
  }
  record_.selected_rows.push_back(total);
}

}  // namespace relapse::unlearn
