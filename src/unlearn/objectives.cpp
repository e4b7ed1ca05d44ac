// src/unlearn/objectives.cpp — the one table of unlearning objectives (name,
// forget term, retain term), the loss variants' names, and the checks of an
// objective's settings (relapse/unlearn/losses.h).
#include "relapse/core/enum_names.h"
#include "relapse/core/error.h"
#include "relapse/unlearn/losses.h"

namespace relapse::unlearn {

// The one table of objectives (names as the configs spell them): each is a
// forget term and a retain term. A new method adds its rows here, its forget
// term to forget_term() in losses.cpp, and its settings to ObjectiveParams.
struct ObjectiveRow {
  Objective value;
  const char* name;
  ForgetTerm forget;
  RetainTerm retain;
};
constexpr ObjectiveRow kObjectives[] = {
    {Objective::kGA, "ga", ForgetTerm::kGA, RetainTerm::kNone},
    {Objective::kGA_GDR, "ga_gdr", ForgetTerm::kGA, RetainTerm::kNLL},
    {Objective::kGA_KLR, "ga_klr", ForgetTerm::kGA, RetainTerm::kKL},
    {Objective::kNPO, "npo", ForgetTerm::kNPO, RetainTerm::kNone},
    {Objective::kNPO_GDR, "npo_gdr", ForgetTerm::kNPO, RetainTerm::kNLL},
    {Objective::kNPO_KLR, "npo_klr", ForgetTerm::kNPO, RetainTerm::kKL},
    {Objective::kSimNPO, "simnpo", ForgetTerm::kSimNPO, RetainTerm::kNone},
    {Objective::kSimNPO_GDR, "simnpo_gdr", ForgetTerm::kSimNPO, RetainTerm::kNLL},
    {Objective::kSimNPO_KLR, "simnpo_klr", ForgetTerm::kSimNPO, RetainTerm::kKL},
    {Objective::kWGA, "wga", ForgetTerm::kWGA, RetainTerm::kNone},
    {Objective::kWGA_GDR, "wga_gdr", ForgetTerm::kWGA, RetainTerm::kNLL},
    {Objective::kWGA_KLR, "wga_klr", ForgetTerm::kWGA, RetainTerm::kKL},
    {Objective::kSatImp, "satimp", ForgetTerm::kSatImp, RetainTerm::kNone},
    {Objective::kSatImp_GDR, "satimp_gdr", ForgetTerm::kSatImp, RetainTerm::kNLL},
    {Objective::kSatImp_KLR, "satimp_klr", ForgetTerm::kSatImp, RetainTerm::kKL},
    {Objective::kUNDIAL, "undial", ForgetTerm::kUNDIAL, RetainTerm::kNone},
    {Objective::kUNDIAL_GDR, "undial_gdr", ForgetTerm::kUNDIAL, RetainTerm::kNLL},
    {Objective::kUNDIAL_KLR, "undial_klr", ForgetTerm::kUNDIAL, RetainTerm::kKL},
    {Objective::kRMU, "rmu", ForgetTerm::kRMU, RetainTerm::kEmbedDiff},
};
constexpr EnumName<LossVariant> kLossVariantNames[] = {
    {LossVariant::kPublished, "published"},
    {LossVariant::kMuseReleased, "muse_released"},
    {LossVariant::kPaperReleased, "paper_released"},
};

static const ObjectiveRow& objective_row(Objective o) {
  for (const auto& r : kObjectives)
    if (r.value == o) return r;
  RELAPSE_THROW(ExitCode::kInternal, "objective ", static_cast<int>(o), " is not in the table");
}

Objective objective_from_name(const std::string& name) {
  return enum_from_name(kObjectives, name, "unlearning method");
}

std::string objective_name(Objective o) {
  return enum_name(kObjectives, o);
}

std::vector<std::string> objective_names() {
  return enum_names(kObjectives);
}

ForgetTerm objective_forget_term(Objective o) {
  return objective_row(o).forget;
}

RetainTerm objective_retain_term(Objective o) {
  return objective_row(o).retain;
}

Objective objective_forget_only(Objective o) {
  const ForgetTerm f = objective_forget_term(o);
  RELAPSE_CHECK_CONFIG(f != ForgetTerm::kRMU, "unlearning method ", objective_name(o),
                       " has no forget-only form: SURE's saliency (unlearn.sure.methods) cannot "
                       "use it");
  for (const auto& r : kObjectives)
    if (r.forget == f && r.retain == RetainTerm::kNone) return r.value;
  RELAPSE_THROW(ExitCode::kInternal, "objective ", objective_name(o), " has no forget-only form");
}

LossVariant loss_variant_from_name(const std::string& name) {
  return enum_from_name(kLossVariantNames, name, "loss variant");
}

std::string loss_variant_name(LossVariant v) {
  return enum_name(kLossVariantNames, v);
}

std::vector<std::string> loss_variant_names() {
  return enum_names(kLossVariantNames);
}

bool forget_term_uses_ref(ForgetTerm f) {
  return f == ForgetTerm::kNPO || f == ForgetTerm::kUNDIAL;
}

bool objective_uses_ref(Objective o) {
  const RetainTerm r = objective_retain_term(o);
  return forget_term_uses_ref(objective_forget_term(o)) || r == RetainTerm::kKL ||
         r == RetainTerm::kEmbedDiff;
}

bool objective_uses_retain(Objective o) {
  return objective_retain_term(o) != RetainTerm::kNone;
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
  const ObjectiveParams& p = cfg.params;
  RELAPSE_CHECK_CONFIG(p.forget_weight > 0, "unlearn forget_weight must be > 0, got ",
                       p.forget_weight);
  RELAPSE_CHECK_CONFIG(cfg.variant == LossVariant::kPublished || p.forget_weight == 1.0,
                       "loss variant ", loss_variant_name(cfg.variant),
                       " has no forget weight (the released code adds the forget term "
                       "unweighted): forget_weight must be 1, got ",
                       p.forget_weight);
  RELAPSE_CHECK_CONFIG(p.simnpo_beta > 0, "unlearn simnpo_beta must be > 0, got ", p.simnpo_beta);
  RELAPSE_CHECK_CONFIG(p.wga_beta >= 0 && p.satimp_beta1 >= 0 && p.satimp_beta2 >= 0,
                       "unlearn wga_beta, satimp_beta1 and satimp_beta2 must be >= 0, got ",
                       p.wga_beta, ", ", p.satimp_beta1, ", ", p.satimp_beta2);
  RELAPSE_CHECK_CONFIG(p.undial_beta >= 0, "unlearn undial_beta must be >= 0, got ", p.undial_beta);
  RELAPSE_CHECK_CONFIG(p.rmu_layer >= 0 && p.rmu_steering > 0,
                       "unlearn rmu_layer must be >= 0 and rmu_steering > 0, got ", p.rmu_layer,
                       ", ", p.rmu_steering);
}

}  // namespace relapse::unlearn
