// src/core/config_schema.cpp — the field lists of the relapse-wide config
// sections (relapse/core/config_schema.h): keys, help text, allowed values,
// derived defaults and range checks.
#include "relapse/core/config_schema.h"

namespace relapse {

void config_fields(ConfigBinder& b, RunSection& s) {
  b.field("name", s.name, "run name, used in archive and log file names");
  b.field("seed", s.seed,
          "root seed; every random choice comes from a named stream derived from it");
  b.field("out_dir", s.out_dir, "directory for the archive, checkpoints and logs");
  b.field("log_level", s.log_level, "log verbosity", {"error", "warn", "info", "debug"});
  b.check("name", !s.name.empty(), "must not be empty");
  b.check("seed", s.seed >= 0, "must be >= 0, got ", s.seed);
  b.check("out_dir", !s.out_dir.empty(), "must not be empty");
}

void config_fields(ConfigBinder& b, ModelSection& s) {
  b.field("path", s.path, "Hugging Face model directory (config.json, *.safetensors)");
  b.field("dtype", s.dtype, "dtype of the weights and the compute", {"float32", "bfloat16"});
  b.field("tokenizer", s.tokenizer, "directory with tokenizer.model; empty = the model path");
  if (b.loading() && s.tokenizer.empty()) s.tokenizer = s.path;
}

void config_fields(ConfigBinder& b, ParallelSection& s) {
  b.field("tp", s.tp, "tensor-parallel ranks per model replica; data parallel = world size / tp");
  b.check("tp", s.tp >= 1, "must be >= 1, got ", s.tp);
}

void config_fields(ConfigBinder& b, GenerateSection& s) {
  b.field("max_new_tokens", s.max_new_tokens, "tokens generated per prompt (greedy)");
  b.field("batch_size", s.batch_size, "prompts per generation batch on each data-parallel rank");
  b.check("max_new_tokens", s.max_new_tokens >= 0, "must be >= 0, got ", s.max_new_tokens);
  b.check("batch_size", s.batch_size >= 1, "must be >= 1, got ", s.batch_size);
}

void config_fields(ConfigBinder& b, RelapseConfig& c) {
  b.section("run", c.run, "what this run is called, where it writes, how it is seeded");
  b.section("model", c.model, "the model to load");
  b.section("parallel", c.parallel, "process grid");
  b.section("generate", c.generate, "text generation");
}

RelapseConfig config_load(const std::string& path, const std::vector<std::string>& sets) {
  return config_load_as<RelapseConfig>(path, sets);
}

std::string config_dump(const RelapseConfig& cfg, bool with_help) {
  return config_dump_as(cfg, with_help);
}

}  // namespace relapse
