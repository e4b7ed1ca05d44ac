// relapse/model/model_config.h — the config sections the model layer owns: the model to load and
// text generation.
// Keys, help, choices (the layer's own name tables) and range checks are in
// src/model/model_config.cpp, bound through relapse/core/config.h;
// relapse/pipeline/config.h composes every layer's sections into RelapseConfig
// (configs/example.yaml shows every key).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "relapse/core/config.h"

namespace relapse {

struct ModelSection {
  std::string path;                    // Hugging Face model directory
  std::string dtype = "float32";       // float32|bfloat16
  std::string tokenizer;               // tokenizer directory; "" = the model path
  std::string preset = "tiny";         // shape when training from scratch (model.path empty)
  double init_std = 0.02;              // N(0, std) initialisation from scratch
  std::string cpu_bf16_gemm = "auto";  // auto|native|fp32 (relapse/model/cpu_gemm.h)
};

struct GenerateSection {
  int max_new_tokens = 32;
  int batch_size = 8;
};

void config_fields(ConfigBinder& b, ModelSection& s);
void config_fields(ConfigBinder& b, GenerateSection& s);

}  // namespace relapse
