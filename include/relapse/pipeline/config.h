// relapse/pipeline/config.h — the relapse-wide configuration: every layer's
// sections (relapse/<layer>/<layer>_config.h) composed into RelapseConfig with
// the run's own section, bound through relapse/core/config.h.
// configs/example.yaml shows every key with a comment.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "relapse/core/config.h"
#include "relapse/data/data_config.h"
#include "relapse/dist/dist_config.h"
#include "relapse/eval/eval_config.h"
#include "relapse/model/model_config.h"
#include "relapse/quant/quant_config.h"
#include "relapse/unlearn/unlearn_config.h"

namespace relapse {

struct RunSection {
  std::string name = "relapse";  // run name, used in archive and log names
  int64_t seed = 1234;           // root seed of every named RNG stream
  std::string out_dir = "runs/default";
  std::string cache_dir;  // shared corpus + base/target/retrain models ("" = under out_dir)
  std::string log_level = "info";  // error|warn|info|debug
  std::string device = "auto";     // auto|cpu|cuda (relapse/dist/device.h)
  int checkpoint_every = 1;        // training/unlearning checkpoint every N epochs (0 = never)
};

struct RelapseConfig {
  RunSection run;
  ModelSection model;
  ParallelSection parallel;
  GenerateSection generate;
  DataSection data;
  TrainStageSection pretrain;
  FinetuneSection train;
  UnlearnSection unlearn;
  RelearnSection relearn;
  QuantizeSection quantize;
  EvalSection eval;
};

void config_fields(ConfigBinder& b, RunSection& s);
void config_fields(ConfigBinder& b, RelapseConfig& c);

// Loads `path` (empty = no file: defaults) with the `--set section.key=value`
// overrides applied in order. Throws relapse::Error(kConfig) on any bad key or
// value, naming the key path and the file:line or --set it came from.
RelapseConfig config_load(const std::string& path, const std::vector<std::string>& sets = {});
// The complete resolved config as YAML (every key, declaration order);
// config_load() of it gives back the same config. with_help adds comments.
std::string config_dump(const RelapseConfig& cfg, bool with_help = false);

}  // namespace relapse
