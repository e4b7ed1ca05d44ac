// relapse/eval/eval_config.h — the config sections the eval layer owns: the MUSE evaluation and its
// bootstrap intervals.
// Keys, help, choices (the layer's own name tables) and range checks are in
// src/eval/eval_config.cpp, bound through relapse/core/config.h;
// relapse/pipeline/config.h composes every layer's sections into RelapseConfig
// (configs/example.yaml shows every key).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "relapse/core/config.h"

namespace relapse {

// Bootstrap confidence intervals of every metric and of the paired
// quantized − full differences.
struct BootstrapSection {
  int resamples = 1000;  // 0 = no intervals
  double level = 0.95;
};

struct EvalSection {
  int batch_size = 16;
  int verbmem_max_new_tokens = 128;
  int knowmem_max_new_tokens = 32;
  double min_k = 0.4;
  std::string rouge = "f1";
  bool clean_up_tokenization = false;
  int max_samples = 0;                // 0 = every sample
  double privleak_auc_retrain = 0.0;  // > 0: use this retrain AUC instead of computing it
  BootstrapSection bootstrap;
};

void config_fields(ConfigBinder& b, BootstrapSection& s);
void config_fields(ConfigBinder& b, EvalSection& s);

}  // namespace relapse
