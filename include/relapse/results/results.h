// relapse/results/results.h — what one `relapse run` produces, in memory:
// every evaluated model (target, retrain, each unlearning run) at every
// precision (full, int8, int4, ...), with per-sample evaluation results,
// training curves, quantization code-change diagnostics and stage wall times.
// archive.h writes it to HDF5 (and reads the summary back), report.h renders
// report.md and the printed summary table from it.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "relapse/core/provenance.h"
#include "relapse/eval/muse_eval.h"
#include "relapse/quant/code_change.h"
#include "relapse/unlearn/trainer.h"

namespace relapse::results {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The SURE saliency mask of one unlearning run, per parameter (named as in
// the HF checkpoint): how many of the `steps` updates selected each output
// row (dim 0; 1-D parameters have one row per element). Module granularity:
// the module's bit is fixed for the run, so every row of a parameter has the
// same count, 0 or steps. Row granularity: rows re-selected every step.
// Empty when the run had no mask ("released" mode, or no SURE).
struct SaliencyMaskInfo {
  int64_t steps = 0;
  std::vector<std::string> names;
  std::vector<std::vector<int32_t>> selected_steps;  // [param][row]
};

// A bootstrap confidence interval (eval/bootstrap.h): the point estimate,
// the interval at `level`, and how it was drawn.
struct MetricCI {
  double value = kNaN, lo = kNaN, hi = kNaN;
};
// Paired difference of one metric between this precision and "full" of the
// same model, per sample (quantized − full), with a bootstrap interval.
struct PairedDiff {
  std::string metric;  // verbmem_f | knowmem_f | knowmem_r | privleak
  double mean = kNaN, lo = kNaN, hi = kNaN;
  int64_t n = 0;  // paired samples (forget + holdout texts for privleak)
};

// One model that was trained or unlearned.
struct ModelInfo {
  std::string name;     // unique, archive-safe ([a-z0-9_.-]): "target", "retrain", "ga_gdr_lr1e-05"
  std::string kind;     // "target" | "retrain" | "unlearned"
  std::string method;   // unlearning objective ("ga_gdr", ...); "" for target / retrain
  std::string variant;  // loss variant ("published", ...); "" for target / retrain
  double lr = 0.0;      // learning rate of its training / unlearning
  double alpha = 0.0, beta = 0.0;
  int64_t epochs = 0;
  int64_t steps = 0;                      // optimizer updates run
  std::string lr_regime;                  // "small" | "large" | "" (set by the grid)
  std::string checkpoint;                 // HF directory it was saved to ("" = not saved)
  std::vector<unlearn::StepStats> curve;  // training / unlearning loss curve
  // Unlearning diverged at this update (a non-finite gradient norm, or weights
  // not finite at the end): the run stopped there, its curve ends there and it
  // has no evaluations; 0 = it did not.
  int64_t diverged_step = 0;
  // Repeats with different data orders (unlearn.seeds): models that differ
  // only by seed share `group` (the name without its "_s<seed>" suffix); the
  // report aggregates over a group. seed = the unlearning data-order seed
  // (-1 for target / retrain and single-seed runs keep group == name).
  std::string group;
  int64_t seed = -1;
  // SURE (unlearn.sure): "" (not SURE), "module", "row" or "released"; the
  // threshold rule as text ("p90", "gamma=0.001"); the saliency mask.
  std::string saliency;
  std::string saliency_threshold;
  SaliencyMaskInfo mask;
};

// One model evaluated at one precision.
struct PrecisionEval {
  std::string precision;  // "full" or the quantizer label, e.g. "int8", "int4"
  std::string scheme;     // "" for full precision, else "rtn_sym", "rtn_asym", ...
  int bits = 0;           // 0 for full precision
  int64_t group_size = 0;
  eval::MuseEvalResult metrics;
  double privleak = kNaN;  // normalised against the retrain model's AUC at full precision
  // Unlearned models at a quantized precision: codes of Q(this model) vs
  // Q(target) with the same quantizer (the paper's mechanism). has_code_change
  // is false elsewhere.
  bool has_code_change = false;
  quant::CodeChangeStats code_change;
  std::vector<std::pair<std::string, quant::CodeChangeStats>> code_change_layers;
  double wall_s = 0.0;  // quantize + evaluate time
  // Bootstrap intervals (eval.bootstrap): per metric ("verbmem_f",
  // "knowmem_f", "knowmem_r", "privleak") the value × 100 with its interval;
  // and for every precision other than "full" the paired differences vs the
  // same model's "full" evaluation. Empty when bootstrap is off.
  std::vector<std::pair<std::string, MetricCI>> ci;
  std::vector<PairedDiff> vs_full;
};

struct ModelResult {
  ModelInfo info;
  std::vector<PrecisionEval> evals;  // "full" first
};

struct StageTime {
  std::string stage;  // "data", "train_target", "unlearn/ga_gdr_lr1e-05", "eval/target/int4", ...
  double wall_s = 0.0;
};

// The calibration data GPTQ and AWQ saw (used = false when no precision
// needed any): enough to redraw the same windows.
// How the bootstrap intervals were drawn (eval.bootstrap).
struct BootstrapInfo {
  int64_t resamples = 0;  // 0 = no intervals
  double level = 0.95;
  uint64_t seed = 0;
};

// The relearning attack (relearn.*), its budget: k updates of fine-tuning on
// `rows` rows of `source`, starting from the `from` precision of every
// unlearned model; evaluated as that model's precision "relearn".
struct RelearnInfo {
  int64_t steps = 0;  // 0 = no attack
  double lr = 0.0;
  std::string source;  // forget | holdout | retain | world
  int64_t rows = 0;
  std::string from = "full";  // full or a quantize: label (relearn.from)
};

struct CalibrationInfo {
  bool used = false;
  std::string source, file;  // quantize.calibration.source / .file
  int64_t n_samples = 0, seq_len = 0;
  uint64_t seed = 0;        // the windows' seed (explicit, or derived from run.seed)
  int64_t text_tokens = 0;  // tokens of the whole calibration text
};

struct RunResult {
  std::string name;         // run.name
  std::string config_yaml;  // the resolved config (config_dump)
  Provenance provenance;
  std::vector<ModelResult> models;  // target, retrain, then unlearning runs in grid order
  std::vector<StageTime> stages;
  CalibrationInfo calibration;
  BootstrapInfo bootstrap;
  RelearnInfo relearn;
  double total_wall_s = 0.0;
};

// Looks a model up by name (null when absent).
const ModelResult* run_find_model(const RunResult& r, const std::string& name);
// Its evaluation at `precision` (null when absent).
const PrecisionEval* model_find_eval(const ModelResult& m, const std::string& precision);

}  // namespace relapse::results
