// src/pipeline/config.cpp — the run's own config section and RelapseConfig,
// the composition of every layer's sections (relapse/pipeline/config.h).
#include "relapse/pipeline/config.h"

#include "relapse/dist/device.h"

namespace relapse {

void config_fields(ConfigBinder& b, RunSection& s) {
  b.field("name", s.name, "run name, used in archive and log file names");
  b.field("seed", s.seed,
          "root seed; every random choice comes from a named stream derived from it");
  b.field("out_dir", s.out_dir, "directory for the archive, checkpoints and logs");
  b.field("cache_dir", s.cache_dir,
          "directory shared between runs (a sweep's cells) for the synthesized corpus and the "
          "trained base / target / retrain models, each in a sub-directory named by the hash of "
          "what produced it; empty = OUT/data and OUT/models");
  b.field("log_level", s.log_level, "log verbosity", {"error", "warn", "info", "debug"});
  b.field("device", s.device,
          "where every tensor of a rank lives: auto = the node-local GPU (local rank mod "
          "visible devices) when CUDA is available, else the CPU; cuda = that GPU or an error",
          device_setting_names());
  b.field("checkpoint_every", s.checkpoint_every,
          "training and unlearning save a resumable checkpoint (weights, AdamW moments, step, "
          "data order) every N epochs and on SIGTERM; a rerun resumes from it; 0 = only on "
          "SIGTERM");
  b.check("name", !s.name.empty(), "must not be empty");
  b.check("checkpoint_every", s.checkpoint_every >= 0, "must be >= 0, got ", s.checkpoint_every);
  b.check("seed", s.seed >= 0, "must be >= 0, got ", s.seed);
  b.check("out_dir", !s.out_dir.empty(), "must not be empty");
}

void config_fields(ConfigBinder& b, RelapseConfig& c) {
  b.section("run", c.run, "what this run is called, where it writes, how it is seeded");
  b.section("model", c.model, "the model to load");
  b.section("parallel", c.parallel, "process grid");
  b.section("generate", c.generate, "text generation");
  b.section("data", c.data, "the corpus (MUSE layout) and its chunking");
  b.section("pretrain", c.pretrain,
            "pretraining the base LM from scratch on the corpus's world/ split (synthetic only)");
  b.section("train", c.train,
            "fine-tuning the target (forget + retain) and retrain (retain) models");
  b.section("unlearn", c.unlearn, "the unlearning grid: methods x learning rates");
  b.section("relearn", c.relearn, "the relearning attack on every unlearned model");
  b.section("quantize", c.quantize, "quantized evaluations of every model");
  b.section("eval", c.eval, "the MUSE evaluation");
  if (b.loading())
    config_check_across(
        c, 0, [&](const char* key, bool ok, const std::string& why) { b.check(key, ok, why); });
}

RelapseConfig config_load(const std::string& path, const std::vector<std::string>& sets) {
  RelapseConfig cfg{};
  cfg.origins = config_bind_file([&](ConfigBinder& b) { config_fields(b, cfg); }, path, sets);
  return cfg;
}

std::string config_dump(const RelapseConfig& cfg, bool with_help) {
  return config_dump_as(cfg, with_help);
}

}  // namespace relapse
