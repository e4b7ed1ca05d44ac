// src/unlearn/unlearn_config.cpp — the field lists of the unlearn layer's config
// sections (relapse/unlearn/unlearn_config.h): keys, help text, allowed values (from
// this layer's name tables), derived defaults and range checks.
#include "relapse/unlearn/unlearn_config.h"

#include "relapse/unlearn/losses.h"
#include "relapse/unlearn/saliency.h"
#include "relapse/unlearn/trainer.h"

namespace relapse {

namespace {

// SURE's modes as config choices: the saliency modes but "none" (no SURE is
// sure.lrs: []).
std::vector<std::string> sure_mode_choices() {
  std::vector<std::string> out;
  for (const auto& n : unlearn::saliency_mode_names())
    if (n != "none") out.push_back(n);
  return out;
}

}  // namespace

void config_fields(ConfigBinder& b, TrainStageSection& s) {
  b.field("epochs", s.epochs, "passes over the data; 0 = skip this stage");
  b.field("lr", s.lr, "peak learning rate");
  b.field("batch_size", s.batch_size, "global batch in rows (chunks) per update");
  b.field("micro_batches", s.micro_batches, "gradient accumulation: micro-batches per update");
  b.field("schedule", s.schedule, "learning-rate schedule", unlearn::lr_schedule_names());
  b.field("warmup_ratio", s.warmup_ratio, "linear warmup over this fraction of the updates");
  b.field("weight_decay", s.weight_decay, "AdamW decoupled weight decay");
  b.field("beta1", s.beta1, "AdamW beta1");
  b.field("beta2", s.beta2, "AdamW beta2");
  b.field("eps", s.eps, "AdamW epsilon");
  b.field("max_grad_norm", s.max_grad_norm, "global gradient-norm clipping; <= 0 = none");
  b.field("precision", s.precision, "dtype of parameters and optimizer state",
          {"float32", "bfloat16"});
  b.field("master_weights", s.master_weights,
          "with precision bfloat16: keep fp32 master weights and fp32 AdamW moments (mixed "
          "precision; the owner's share under parallel.shard_optimizer) instead of pure bf16");
  b.check("epochs", s.epochs >= 0, "must be >= 0, got ", s.epochs);
  b.check("lr", s.lr >= 0, "must be >= 0, got ", s.lr);
  b.check("beta1", s.beta1 >= 0 && s.beta1 < 1, "must be in [0, 1), got ", s.beta1);
  b.check("beta2", s.beta2 >= 0 && s.beta2 < 1, "must be in [0, 1), got ", s.beta2);
  b.check("eps", s.eps > 0, "must be > 0, got ", s.eps);
  b.check("weight_decay", s.weight_decay >= 0, "must be >= 0, got ", s.weight_decay);
  b.check("batch_size", s.batch_size >= 1, "must be >= 1, got ", s.batch_size);
  b.check("micro_batches", s.micro_batches >= 1, "must be >= 1, got ", s.micro_batches);
  b.check("warmup_ratio", s.warmup_ratio >= 0 && s.warmup_ratio <= 1, "must be in [0, 1], got ",
          s.warmup_ratio);
  b.check("master_weights", !s.master_weights || s.precision != "float32",
          "needs precision bfloat16 (float32 parameters are their own master copy)");
}

void config_fields(ConfigBinder& b, FinetuneSection& s) {
  config_fields(b, s.stage);
  b.field("target", s.target, "existing HF directory of the target model: skip training it");
  b.field("retrain", s.retrain, "existing HF directory of the retrain model: skip training it");
}

void config_fields(ConfigBinder& b, SureSection& s) {
  b.field("lrs", s.lrs, "SURE learning rates (large): one run per sure.methods x lr; [] = no SURE");
  b.field("methods", s.methods, "objectives that get SURE runs ([] = every unlearn.methods entry)",
          unlearn::objective_names());
  b.field("mode", s.mode,
          "module: one mask bit per weight from the forget gradient at the target (the paper); "
          "row: every output row, re-selected each step; released: the published code (no mask, "
          "forget gradient counted twice)",
          sure_mode_choices());
  b.field("percentile", s.percentile,
          "update the modules / rows whose forget-gradient norm is >= this percentile of all "
          "norms (numpy's linear interpolation)");
  b.field("gamma", s.gamma, ">= 0: an absolute norm threshold instead of the percentile");
  b.field("modules", s.modules,
          "parameters that may be selected: names containing one of these (e.g. q_proj, "
          "down_proj); the others stay frozen and are not in the percentile; [] = every "
          "parameter, embeddings and norms included (the published code)");
  b.check("percentile", s.percentile >= 0 && s.percentile <= 100, "must be in [0, 100], got ",
          s.percentile);
  for (double lr : s.lrs) b.check("lrs", lr > 0, "entries must be > 0, got ", lr);
}

void config_fields(ConfigBinder& b, unlearn::ObjectiveParams& s) {
  b.field("forget_weight", s.forget_weight,
          "gamma: weight of the forget term (OpenUnlearning's gamma; 1 in the paper's methods "
          "and required by the released variants)");
  b.field("simnpo_beta", s.simnpo_beta, "SimNPO inverse temperature");
  b.field("simnpo_delta", s.simnpo_delta, "SimNPO margin on the length-normalised NLL");
  b.field("wga_beta", s.wga_beta, "WGA: token weight p^beta");
  b.field("satimp_beta1", s.satimp_beta1, "SatImp: token weight p^beta1 (1-p)^beta2");
  b.field("satimp_beta2", s.satimp_beta2, "SatImp: token weight p^beta1 (1-p)^beta2");
  b.field("undial_beta", s.undial_beta,
          "UNDIAL: the label's logit is lowered by this in the reference's target distribution");
  b.field("rmu_layer", s.rmu_layer,
          "RMU: the decoder layer (0-based) whose output is steered toward the control vector");
  b.field("rmu_steering", s.rmu_steering, "RMU: the norm of the control vector");
  b.check("forget_weight", s.forget_weight > 0, "must be > 0, got ", s.forget_weight);
  b.check("simnpo_beta", s.simnpo_beta > 0, "must be > 0, got ", s.simnpo_beta);
  b.check("wga_beta", s.wga_beta >= 0, "must be >= 0, got ", s.wga_beta);
  b.check("satimp_beta1", s.satimp_beta1 >= 0, "must be >= 0, got ", s.satimp_beta1);
  b.check("satimp_beta2", s.satimp_beta2 >= 0, "must be >= 0, got ", s.satimp_beta2);
  b.check("undial_beta", s.undial_beta >= 0, "must be >= 0, got ", s.undial_beta);
  b.check("rmu_layer", s.rmu_layer >= 0, "must be >= 0, got ", s.rmu_layer);
  b.check("rmu_steering", s.rmu_steering > 0, "must be > 0, got ", s.rmu_steering);
}

void config_fields(ConfigBinder& b, UnlearnSection& s) {
  b.field("methods", s.methods,
          "objectives: a forget term (ga, npo, simnpo, wga, satimp, undial) alone or with a retain "
          "term (_gdr: NLL, _klr: KL), e.g. npo_gdr; rmu (steering a layer's activations, with "
          "its own retain term)",
          unlearn::objective_names());
  b.field("lrs", s.lrs, "small learning rates: one run per method x lr");
  b.field("large_lrs", s.large_lrs, "large learning rates: one run per large_lr_methods x lr");
  b.field("large_lr_methods", s.large_lr_methods,
          "methods that also run at large_lrs ([] = every method)", unlearn::objective_names());
  b.field("variant", s.variant, "loss definitions", unlearn::loss_variant_names());
  b.field("alpha", s.alpha, "retain-term weight");
  b.field("beta", s.beta, "NPO inverse temperature");
  config_fields(b, s.params);
  b.field("epochs", s.epochs, "passes over the forget set");
  b.field("batch_size", s.batch_size, "forget rows per update (each paired with a retain row)");
  b.field("micro_batches", s.micro_batches, "gradient accumulation: micro-batches per update");
  b.field("max_steps", s.max_steps, "stop after this many updates (0 = epochs)");
  b.field("schedule", s.schedule, "learning-rate schedule", unlearn::lr_schedule_names());
  b.field("warmup_ratio", s.warmup_ratio, "linear warmup over this fraction of the updates");
  b.field("weight_decay", s.weight_decay, "AdamW decoupled weight decay");
  b.field("max_grad_norm", s.max_grad_norm, "global gradient-norm clipping; <= 0 = none");
  b.field("precision", s.precision,
          "dtype of parameters and optimizer state while unlearning (the paper: bfloat16)",
          {"float32", "bfloat16"});
  b.field("master_weights", s.master_weights,
          "with precision bfloat16: keep fp32 master weights and fp32 AdamW moments (mixed "
          "precision, as Megatron's and DeepSpeed's bf16 training) instead of the paper's pure "
          "bf16");
  b.field("stop_rule", s.stop_rule,
          "MUSE's rule: evaluate forget KnowMem after each epoch and stop at the first one "
          "<= the retrain model's");
  b.field("seeds", s.seeds,
          "repeat every run with these data-order seeds; the report gives the mean and interval "
          "across them ([] = one run, ordered by run.seed)");
  b.section("sure", s.sure, "SURE: saliency-masked unlearning at a large learning rate");
  b.check("epochs", s.epochs >= 1, "must be >= 1, got ", s.epochs);
  b.check("batch_size", s.batch_size >= 1, "must be >= 1, got ", s.batch_size);
  b.check("micro_batches", s.micro_batches >= 1, "must be >= 1, got ", s.micro_batches);
  b.check("max_steps", s.max_steps >= 0, "must be >= 0, got ", s.max_steps);
  b.check("beta", s.beta > 0, "must be > 0, got ", s.beta);
  for (double lr : s.lrs) b.check("lrs", lr > 0, "entries must be > 0, got ", lr);
  for (double lr : s.large_lrs) b.check("large_lrs", lr > 0, "entries must be > 0, got ", lr);
  b.check("warmup_ratio", s.warmup_ratio >= 0 && s.warmup_ratio <= 1, "must be in [0, 1], got ",
          s.warmup_ratio);
  b.check("weight_decay", s.weight_decay >= 0, "must be >= 0, got ", s.weight_decay);
  b.check("master_weights", !s.master_weights || s.precision != "float32",
          "needs precision bfloat16 (float32 parameters are their own master copy)");
  b.check("alpha", s.alpha >= 0, "must be >= 0, got ", s.alpha);
}

void config_fields(ConfigBinder& b, RelearnSection& s) {
  b.field("steps", s.steps,
          "optimizer updates of fine-tuning on the source (0 = no relearning attack)");
  b.field("lr", s.lr, "learning rate of the attack (AdamW, constant)");
  b.field("batch_size", s.batch_size, "rows per update");
  b.field("source", s.source,
          "text the attacker fine-tunes on: forget (part of the unlearned data), holdout "
          "(related text never trained on), retain (the facts the unlearning kept: no forget "
          "text at all), world (unrelated text, the base LM's)",
          {"forget", "holdout", "retain", "world"});
  b.field("fraction", s.fraction, "share of the source's chunks used (a seeded random subset)");
  b.field("from", s.from,
          "the released model the attacker fine-tunes: full, or a quantize: precision's label "
          "(int4, gptq4, nf4, ...: the quantized model's dequantized weights)");
  b.check("steps", s.steps >= 0, "must be >= 0, got ", s.steps);
  b.check("lr", s.lr > 0, "must be > 0, got ", s.lr);
  b.check("batch_size", s.batch_size >= 1, "must be >= 1, got ", s.batch_size);
  b.check("fraction", s.fraction > 0 && s.fraction <= 1, "must be in (0, 1], got ", s.fraction);
}

}  // namespace relapse
