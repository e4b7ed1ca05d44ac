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
  std::string preset = "tiny";    // shape when training from scratch (model.path empty)
  double init_std = 0.02;         // N(0, std) initialisation from scratch
};

// The synthetic corpus or a MUSE directory, and how text is chunked.
struct DataSection {
  std::string corpus;  // MUSE-layout directory; "" = synthesize into OUT/data
  std::string synth_size = "small";
  int synth_vocab_size = 0;  // 0 = the size's default
  int max_len = 128;         // training chunk length in tokens (BOS included)
};

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
};

struct FinetuneSection {
  TrainStageSection stage;
  std::string target;   // existing HF directory of the target: skip its training
  std::string retrain;  // existing HF directory of the retrain model
};

struct UnlearnSection {
  std::vector<std::string> methods = {"ga_gdr", "npo_gdr"};
  std::vector<double> lrs = {1e-5};                // the small-LR runs (every method × lr)
  std::vector<double> large_lrs = {};              // the large-LR runs
  std::vector<std::string> large_lr_methods = {};  // methods that get large_lrs ([] = all)
  std::string variant = "published";
  double alpha = 1.0;
  double beta = 0.1;
  int epochs = 5;
  int batch_size = 8;
  int micro_batches = 1;
  int max_steps = 0;
  std::string schedule = "constant";
  double warmup_ratio = 0.0;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;
  std::string precision = "bfloat16";  // the paper's trainer: pure bf16
  bool stop_rule = false;              // MUSE: stop at the first epoch with KnowMem_f <= retrain's
};

struct QuantizeSection {
  std::string scheme = "rtn_sym";
  std::vector<int> bits = {8, 4};
  int group_size = -1;  // -1 = one group per output row
  std::vector<std::string> modules = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                      "gate_proj", "up_proj", "down_proj"};
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
  DataSection data;
  TrainStageSection pretrain;
  FinetuneSection train;
  UnlearnSection unlearn;
  QuantizeSection quantize;
  EvalSection eval;
};

void config_fields(ConfigBinder& b, RunSection& s);
void config_fields(ConfigBinder& b, ModelSection& s);
void config_fields(ConfigBinder& b, ParallelSection& s);
void config_fields(ConfigBinder& b, GenerateSection& s);
void config_fields(ConfigBinder& b, DataSection& s);
void config_fields(ConfigBinder& b, TrainStageSection& s);
void config_fields(ConfigBinder& b, FinetuneSection& s);
void config_fields(ConfigBinder& b, UnlearnSection& s);
void config_fields(ConfigBinder& b, QuantizeSection& s);
void config_fields(ConfigBinder& b, EvalSection& s);
void config_fields(ConfigBinder& b, RelapseConfig& c);

// Loads `path` (empty = no file: defaults) with the `--set section.key=value`
// overrides applied in order. Throws relapse::Error(kConfig) on any bad key or
// value, naming the key path and the file:line or --set it came from.
RelapseConfig config_load(const std::string& path, const std::vector<std::string>& sets = {});
// The complete resolved config as YAML (every key, declaration order);
// config_load() of it gives back the same config. with_help adds comments.
std::string config_dump(const RelapseConfig& cfg, bool with_help = false);

}  // namespace relapse
