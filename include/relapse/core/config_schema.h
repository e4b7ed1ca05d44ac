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
  std::string cache_dir;  // shared corpus + base/target/retrain models ("" = under out_dir)
  std::string log_level = "info";  // error|warn|info|debug
  std::string device = "auto";     // auto|cpu|cuda (relapse/dist/device.h)
  int checkpoint_every = 1;        // training/unlearning checkpoint every N epochs (0 = never)
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
  std::string source = "forget";  // forget | holdout
  double fraction = 0.5;          // share of the source's chunks (a seeded random subset)
};

// Bootstrap confidence intervals of every metric and of the paired
// quantized − full differences.
struct BootstrapSection {
  int resamples = 1000;  // 0 = no intervals
  double level = 0.95;
};

// GPTQ (Frantar et al.; AutoGPTQ's defaults), one evaluation per entry of bits.
struct GptqSection {
  std::vector<int> bits = {};  // [] = no GPTQ evaluations
  int group_size = 128;        // -1 = one group per output row
  bool sym = true;
  bool desc_act = false;  // act-order
  double damp_percent = 0.01;
  int block_size = 128;
  bool true_sequential = true;  // q/k/v, o, gate/up, down quantized in that order within a layer
};

// AWQ (Lin et al.; AutoAWQ's defaults), one evaluation per entry of bits.
struct AwqSection {
  std::vector<int> bits = {};
  int group_size = 128;
  bool zero_point = true;
  int n_grid = 20;
  bool duo_scaling = true;
  bool clip = true;
  double max_shrink = 0.5;
  int n_sample_token = 512;
};

// bitsandbytes emulations: what the paper's released code ran.
struct BnbSection {
  std::vector<std::string> formats =
      {};  // fp4 | nf4 (4-bit, load_in_4bit) | llm_int8 (load_in_8bit)
  int blocksize = 64;
  bool double_quant = false;        // bnb_4bit_use_double_quant
  double llm_int8_threshold = 6.0;  // 0 = no outlier decomposition
};

// Calibration data of GPTQ and AWQ: n_samples windows of seq_len tokens at
// random offsets of the tokenized split ('\n\n'-joined documents, as GPTQ's
// wikitext loader does), from the named stream "calibration".
struct CalibrationSection {
  std::string source = "retain";  // forget | retain (= retain1) | retain2 | holdout | file
  std::string file;               // a UTF-8 text file, with source: file
  int n_samples = 128;
  int seq_len = 512;
  int64_t seed = -1;  // -1 = derived from run.seed (stream "calibration")
};

struct QuantizeSection {
  std::string scheme = "rtn_sym";  // the RTN variant of `bits`
  std::vector<int> bits = {8, 4};
  int group_size = -1;  // -1 = one group per output row
  std::vector<std::string> modules = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                      "gate_proj", "up_proj", "down_proj"};
  bool diagnostics = true;  // bucket diagnostics of every unlearned model vs the target
  GptqSection gptq;
  AwqSection awq;
  BnbSection bnb;
  CalibrationSection calibration;
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

struct ParallelSection {
  int tp = 1;     // tensor-parallel ranks (DP = world / tp)
  int ranks = 0;  // ranks the run is planned for (sweep cells, `relapse plan`); 0 = the world
  double memory_gib = 0.0;  // memory per rank the plan must fit in; 0 = detect (GPU or RAM)
  bool activation_checkpointing = false;  // recompute each decoder layer in the backward
  bool shard_optimizer = false;           // ZeRO-1: AdamW moments sharded over DP ranks
  bool overlap_grad_reduce = true;        // DP gradient buckets sent during the backward
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
  RelearnSection relearn;
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
void config_fields(ConfigBinder& b, SureSection& s);
void config_fields(ConfigBinder& b, UnlearnSection& s);
void config_fields(ConfigBinder& b, RelearnSection& s);
void config_fields(ConfigBinder& b, BootstrapSection& s);
void config_fields(ConfigBinder& b, GptqSection& s);
void config_fields(ConfigBinder& b, AwqSection& s);
void config_fields(ConfigBinder& b, BnbSection& s);
void config_fields(ConfigBinder& b, CalibrationSection& s);
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
