// relapse/unlearn/unlearn_config.h — the config sections the unlearn layer owns: the training
// stages: pretraining, fine-tuning, the unlearning grid with SURE, the relearning attack.
// Keys, help, choices (the layer's own name tables) and range checks are in
// src/unlearn/unlearn_config.cpp, bound through relapse/core/config.h;
// relapse/pipeline/config.h composes every layer's sections into RelapseConfig
// (configs/example.yaml shows every key).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "relapse/core/config.h"

namespace relapse {

// One training stage (pretraining the base LM, fine-tuning target / retrain).
struct TrainStageSection {
  int epochs = 1;  // 0 = skip the stage
  double lr = 1e-3;
  int batch_size = 16;  // global rows per update
  int micro_batches = 1;
  std::string schedule = "cosine";
  double warmup_ratio = 0.05;  // warmup steps = ratio × total steps
  double weight_decay = 0.0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double max_grad_norm = 1.0;
  std::string precision = "float32";  // parameters and optimizer state: float32|bfloat16
  bool master_weights = false;        // bfloat16: fp32 master copies and fp32 AdamW moments
};

struct FinetuneSection {
  TrainStageSection stage;
  std::string target;   // existing HF directory of the target: skip its training
  std::string retrain;  // existing HF directory of the retrain model
};

// SURE (Zhang et al. 2025): saliency-masked unlearning at a large learning
// rate. One run per sure.methods × sure.lrs, next to the small/large-LR runs.
struct SureSection {
  std::vector<double> lrs = {};           // [] = no SURE runs
  std::vector<std::string> methods = {};  // [] = every unlearn.methods entry
  std::string mode = "module";            // module | row | released
  double percentile = 90.0;               // threshold: this percentile of the norms ...
  double gamma = -1.0;                    // ... or, when >= 0, this absolute threshold
  std::vector<std::string> modules = {};  // candidate parameters (name fragments); [] = all
};

namespace unlearn {
// Settings of the objectives beyond α and β, copied whole into the loss
// (UnlearnLossConfig::params): a new method's settings go here and in
// config_fields(ObjectiveParams) only. Defaults: OpenUnlearning's
// configs/trainer/*.yaml (see relapse/unlearn/losses.h for the formulas).
struct ObjectiveParams {
  double forget_weight = 1.0;  // γ: total = γ·forget + α·retain
  double simnpo_beta = 4.5;    // SimNPO inverse temperature β_s
  double simnpo_delta = 0.0;   // SimNPO margin δ
  double wga_beta = 1.0;       // WGA weight exponent
  double satimp_beta1 = 5.0;   // SatImp saturation exponent
  double satimp_beta2 = 1.0;   // SatImp importance exponent
  double undial_beta = 10.0;   // UNDIAL: the label's logit lowered by this in the target
  int64_t rmu_layer = 7;       // RMU: the decoder layer whose output is steered
  double rmu_steering = 2.0;   // RMU: the control vector's norm
};
}  // namespace unlearn

struct UnlearnSection {
  std::vector<std::string> methods = {"ga_gdr", "npo_gdr"};
  std::vector<double> lrs = {1e-5};                // the small-LR runs (every method × lr)
  std::vector<double> large_lrs = {};              // the large-LR runs
  std::vector<std::string> large_lr_methods = {};  // methods that get large_lrs ([] = all)
  std::string variant = "published";
  double alpha = 1.0;
  double beta = 0.1;
  unlearn::ObjectiveParams params;  // γ and the methods' settings (keys at unlearn's top level)
  int epochs = 5;
  int batch_size = 8;
  int micro_batches = 1;
  int max_steps = 0;
  std::string schedule = "constant";
  double warmup_ratio = 0.0;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;
  std::string precision = "bfloat16";  // the paper's trainer: pure bf16
  bool master_weights = false;         // mixed precision instead: fp32 master weights
  bool stop_rule = false;              // MUSE: stop at the first epoch with KnowMem_f <= retrain's
  std::vector<int> seeds = {};  // repeat every run with these data-order seeds ([] = run.seed)
  SureSection sure;
};

// The relearning attack: k updates of fine-tuning of every unlearned model on
// a slice of the forget set (or on the holdout text), evaluated at full
// precision as the extra precision "relearn".
struct RelearnSection {
  int steps = 0;  // 0 = no attack
  double lr = 1e-5;
  int batch_size = 8;
  std::string source = "forget";  // forget | holdout | retain | world
  double fraction = 0.5;          // share of the source's chunks (a seeded random subset)
  std::string from = "full";      // the released model attacked: full or a quantize: label
};

void config_fields(ConfigBinder& b, TrainStageSection& s);
void config_fields(ConfigBinder& b, FinetuneSection& s);
void config_fields(ConfigBinder& b, SureSection& s);
void config_fields(ConfigBinder& b, unlearn::ObjectiveParams& s);
void config_fields(ConfigBinder& b, UnlearnSection& s);
void config_fields(ConfigBinder& b, RelearnSection& s);

}  // namespace relapse
