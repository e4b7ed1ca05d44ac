// relapse/core/config_schema.h — the relapse-wide configuration: one struct per
// YAML section, with defaults, bound through relapse/core/config.h. Later
// stages (train, unlearn, quantize, eval, sweep) add their sections here.
// configs/example.yaml shows every key with a comment.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "relapse/core/config.h"

namespace relapse {

struct RunSection {
  std::string name = "relapse";  // run name, used in archive and log names
  int64_t seed = 1234;           // root seed of every named RNG stream
  std::string out_dir = "runs/default";
  std::string log_level = "info";  // error|warn|info|debug
};

struct ModelSection {
  std::string path;               // Hugging Face model directory
  std::string dtype = "float32";  // float32|bfloat16
  std::string tokenizer;          // tokenizer directory; "" = the model path
};

struct ParallelSection {
  int tp = 1;  // tensor-parallel ranks (DP = world / tp)
};

struct GenerateSection {
  int max_new_tokens = 32;
  int batch_size = 8;
};

struct RelapseConfig {
  RunSection run;
  ModelSection model;
  ParallelSection parallel;
  GenerateSection generate;
};

void config_fields(ConfigBinder& b, RunSection& s);
void config_fields(ConfigBinder& b, ModelSection& s);
void config_fields(ConfigBinder& b, ParallelSection& s);
void config_fields(ConfigBinder& b, GenerateSection& s);
void config_fields(ConfigBinder& b, RelapseConfig& c);

// Loads `path` (empty = no file: defaults) with the `--set section.key=value`
// overrides applied in order. Throws relapse::Error(kConfig) on any bad key or
// value, naming the key path and the file:line or --set it came from.
RelapseConfig config_load(const std::string& path, const std::vector<std::string>& sets = {});
// The complete resolved config as YAML (every key, declaration order);
// config_load() of it gives back the same config. with_help adds comments.
std::string config_dump(const RelapseConfig& cfg, bool with_help = false);

}  // namespace relapse
