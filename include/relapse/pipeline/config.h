// relapse/pipeline/config.h — the relapse-wide configuration: every layer's
// sections (relapse/<layer>/<layer>_config.h) composed into RelapseConfig with
// the run's own section, bound through relapse/core/config.h.
// configs/example.yaml shows every key with a comment.
#pragma once
#include <cstdint>
#include <functional>
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
  // Not a key: where each key's value came from (config_load fills it), so a
  // rule checked after loading names the key and its file:line or --set.
  ConfigOrigins origins;
};

void config_fields(ConfigBinder& b, RunSection& s);
void config_fields(ConfigBinder& b, RelapseConfig& c);

// The rules that span sections (config_check.cpp), written once: `check(key,
// ok, why)` is called for each; `world` is the number of ranks the run is
// launched with (0 = not known: the rules that need it use parallel.ranks, or
// are skipped). config_fields(RelapseConfig) runs them while loading; the run
// runs them again with its world (config_check_across_loaded: kConfig naming
// the key and its origin).
using ConfigCheckFn = std::function<void(const char* key, bool ok, const std::string& why)>;
void config_check_across(const RelapseConfig& c, int64_t world, const ConfigCheckFn& check);
void config_check_across_loaded(const RelapseConfig& c, int64_t world);

// Loads `path` (empty = no file: defaults) with the `--set section.key=value`
// overrides applied in order. Throws relapse::Error(kConfig) on any bad key or
// value, naming the key path and the file:line or --set it came from.
RelapseConfig config_load(const std::string& path, const std::vector<std::string>& sets = {});
// The complete resolved config as YAML (every key, declaration order);
// config_load() of it gives back the same config. with_help adds comments.
std::string config_dump(const RelapseConfig& cfg, bool with_help = false);

}  // namespace relapse
