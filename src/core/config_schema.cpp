// src/core/config_schema.cpp — the field lists of the relapse-wide config
// sections (relapse/core/config_schema.h): keys, help text, allowed values,
// derived defaults and range checks.
#include "relapse/core/config_schema.h"

namespace relapse {

// The modules' enum names as config choices. relapse_core sits below the
// layers that own them, so they are spelled here again;
// tests/pipeline/test_config_choices.cpp checks every list against its
// module's table (unlearn::objective_names(), ...), so they cannot drift.
static const std::vector<std::string> kObjectives = {"ga",  "ga_gdr",  "ga_klr",
                                                     "npo", "npo_gdr", "npo_klr"};

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
  // The names are device_setting_names()'s (relapse_dist sits above core).
  b.field("device", s.device,
          "where every tensor of a rank lives: auto = the node-local GPU (local rank mod "
          "visible devices) when CUDA is available, else the CPU; cuda = that GPU or an error",
          {"auto", "cpu", "cuda"});
  b.field("checkpoint_every", s.checkpoint_every,
          "training and unlearning save a resumable checkpoint (weights, AdamW moments, step, "
          "data order) every N epochs and on SIGTERM; a rerun resumes from it; 0 = only on "
          "SIGTERM");
  b.check("name", !s.name.empty(), "must not be empty");
  b.check("checkpoint_every", s.checkpoint_every >= 0, "must be >= 0, got ", s.checkpoint_every);
  b.check("seed", s.seed >= 0, "must be >= 0, got ", s.seed);
  b.check("out_dir", !s.out_dir.empty(), "must not be empty");
}

void config_fields(ConfigBinder& b, ModelSection& s) {
  b.field("path", s.path, "Hugging Face model directory (config.json, *.safetensors)");
  b.field("dtype", s.dtype, "dtype of the weights and the compute", {"float32", "bfloat16"});
  b.field("tokenizer", s.tokenizer, "directory with tokenizer.model; empty = the model path");
  b.field("preset", s.preset,
          "model shape when training from scratch (model.path empty): nano, tiny, small, base, "
          "7b, 13b, 70b");
  b.field("init_std", s.init_std, "standard deviation of the N(0, std) init from scratch");
  b.check("init_std", s.init_std > 0, "must be > 0, got ", s.init_std);
  if (b.loading() && s.tokenizer.empty()) s.tokenizer = s.path;
}

void config_fields(ConfigBinder& b, DataSection& s) {
  b.field("corpus", s.corpus,
          "MUSE-layout corpus directory; empty = synthesize the embedded default into "
          "OUT_DIR/data");
  b.field("synth_size", s.synth_size, "size of the synthetic corpus", {"tiny", "small", "medium"});
  b.field("synth_vocab_size", s.synth_vocab_size,
          "tokenizer vocabulary of the synthetic corpus; 0 = 1024 (small) / 2048 (medium)");
  b.field("max_len", s.max_len, "training chunk length in tokens, BOS included (MUSE max_len)");
  b.check("max_len", s.max_len >= 2, "must be >= 2, got ", s.max_len);
  b.check("synth_vocab_size", s.synth_vocab_size == 0 || s.synth_vocab_size >= 260,
          "must be 0 or >= 260, got ", s.synth_vocab_size);
}

void config_fields(ConfigBinder& b, TrainStageSection& s) {
  b.field("epochs", s.epochs, "passes over the data; 0 = skip this stage");
  b.field("lr", s.lr, "peak learning rate");
  b.field("batch_size", s.batch_size, "global batch in rows (chunks) per update");
  b.field("micro_batches", s.micro_batches, "gradient accumulation: micro-batches per update");
  b.field("schedule", s.schedule, "learning-rate schedule", {"constant", "cosine"});
  b.field("warmup_ratio", s.warmup_ratio, "linear warmup over this fraction of the updates");
  b.field("weight_decay", s.weight_decay, "AdamW decoupled weight decay");
  b.field("beta1", s.beta1, "AdamW beta1");
  b.field("beta2", s.beta2, "AdamW beta2");
  b.field("eps", s.eps, "AdamW epsilon");
  b.field("max_grad_norm", s.max_grad_norm, "global gradient-norm clipping; <= 0 = none");
  b.field("precision", s.precision, "dtype of parameters and optimizer state",
          {"float32", "bfloat16"});
  b.field("master_weights", s.master_weights,
          "with precision bfloat16: keep fp32 master weights and fp32 AdamW moments (mixed "
          "precision; the owner's share under parallel.shard_optimizer) instead of pure bf16");
  b.check("epochs", s.epochs >= 0, "must be >= 0, got ", s.epochs);
  b.check("lr", s.lr >= 0, "must be >= 0, got ", s.lr);
  b.check("batch_size", s.batch_size >= 1, "must be >= 1, got ", s.batch_size);
  b.check("micro_batches", s.micro_batches >= 1, "must be >= 1, got ", s.micro_batches);
  b.check("warmup_ratio", s.warmup_ratio >= 0 && s.warmup_ratio <= 1, "must be in [0, 1], got ",
          s.warmup_ratio);
  b.check("master_weights", !s.master_weights || s.precision != "float32",
          "needs precision bfloat16 (float32 parameters are their own master copy)");
}

void config_fields(ConfigBinder& b, FinetuneSection& s) {
  config_fields(b, s.stage);
  b.field("target", s.target, "existing HF directory of the target model: skip training it");
  b.field("retrain", s.retrain, "existing HF directory of the retrain model: skip training it");
}

void config_fields(ConfigBinder& b, SureSection& s) {
  b.field("lrs", s.lrs, "SURE learning rates (large): one run per sure.methods x lr; [] = no SURE");
  b.field("methods", s.methods, "objectives that get SURE runs ([] = every unlearn.methods entry)",
          kObjectives);
  b.field("mode", s.mode,
          "module: one mask bit per weight from the forget gradient at the target (the paper); "
          "row: every output row, re-selected each step; released: the published code (no mask, "
          "forget gradient counted twice)",
          {"module", "row", "released"});
  b.field("percentile", s.percentile,
          "update the modules / rows whose forget-gradient norm is >= this percentile of all "
          "norms (numpy's linear interpolation)");
  b.field("gamma", s.gamma, ">= 0: an absolute norm threshold instead of the percentile");
  b.field("modules", s.modules,
          "parameters that may be selected: names containing one of these (e.g. q_proj, "
          "down_proj); the others stay frozen and are not in the percentile; [] = every "
          "parameter, embeddings and norms included (the published code)");
  b.check("percentile", s.percentile >= 0 && s.percentile <= 100, "must be in [0, 100], got ",
          s.percentile);
  for (double lr : s.lrs) b.check("lrs", lr > 0, "entries must be > 0, got ", lr);
}

void config_fields(ConfigBinder& b, RelearnSection& s) {
  b.field("steps", s.steps,
          "optimizer updates of fine-tuning on the source (0 = no relearning attack)");
  b.field("lr", s.lr, "learning rate of the attack (AdamW, constant)");
  b.field("batch_size", s.batch_size, "rows per update");
  b.field("source", s.source, "text the attacker fine-tunes on", {"forget", "holdout"});
  b.field("fraction", s.fraction, "share of the source's chunks used (a seeded random subset)");
  b.check("steps", s.steps >= 0, "must be >= 0, got ", s.steps);
  b.check("lr", s.lr > 0, "must be > 0, got ", s.lr);
  b.check("batch_size", s.batch_size >= 1, "must be >= 1, got ", s.batch_size);
  b.check("fraction", s.fraction > 0 && s.fraction <= 1, "must be in (0, 1], got ", s.fraction);
}

void config_fields(ConfigBinder& b, BootstrapSection& s) {
  b.field("resamples", s.resamples,
          "bootstrap resamples of the evaluation samples for every interval (0 = none)");
  b.field("level", s.level, "confidence level of the intervals");
  b.check("resamples", s.resamples >= 0, "must be >= 0, got ", s.resamples);
  b.check("level", s.level > 0 && s.level < 1, "must be in (0, 1), got ", s.level);
}

void config_fields(ConfigBinder& b, UnlearnSection& s) {
  b.field("methods", s.methods, "objectives: ga, ga_gdr, ga_klr, npo, npo_gdr, npo_klr",
          kObjectives);
  b.field("lrs", s.lrs, "small learning rates: one run per method x lr");
  b.field("large_lrs", s.large_lrs, "large learning rates: one run per large_lr_methods x lr");
  b.field("large_lr_methods", s.large_lr_methods,
          "methods that also run at large_lrs ([] = every method)", kObjectives);
  b.field("variant", s.variant, "loss definitions",
          {"published", "muse_released", "paper_released"});
  b.field("alpha", s.alpha, "retain-term weight");
  b.field("beta", s.beta, "NPO inverse temperature");
  b.field("epochs", s.epochs, "passes over the forget set");
  b.field("batch_size", s.batch_size, "forget rows per update (each paired with a retain row)");
  b.field("micro_batches", s.micro_batches, "gradient accumulation: micro-batches per update");
  b.field("max_steps", s.max_steps, "stop after this many updates (0 = epochs)");
  b.field("schedule", s.schedule, "learning-rate schedule", {"constant", "cosine"});
  b.field("warmup_ratio", s.warmup_ratio, "linear warmup over this fraction of the updates");
  b.field("weight_decay", s.weight_decay, "AdamW decoupled weight decay");
  b.field("max_grad_norm", s.max_grad_norm, "global gradient-norm clipping; <= 0 = none");
  b.field("precision", s.precision,
          "dtype of parameters and optimizer state while unlearning (the paper: bfloat16)",
          {"float32", "bfloat16"});
  b.field("master_weights", s.master_weights,
          "with precision bfloat16: keep fp32 master weights and fp32 AdamW moments (mixed "
          "precision, as Megatron's and DeepSpeed's bf16 training) instead of the paper's pure "
          "bf16");
  b.field("stop_rule", s.stop_rule,
          "MUSE's rule: evaluate forget KnowMem after each epoch and stop at the first one "
          "<= the retrain model's");
  b.field("seeds", s.seeds,
          "repeat every run with these data-order seeds; the report gives the mean and interval "
          "across them ([] = one run, ordered by run.seed)");
  b.section("sure", s.sure, "SURE: saliency-masked unlearning at a large learning rate");
  b.check("epochs", s.epochs >= 1, "must be >= 1, got ", s.epochs);
  b.check("batch_size", s.batch_size >= 1, "must be >= 1, got ", s.batch_size);
  b.check("micro_batches", s.micro_batches >= 1, "must be >= 1, got ", s.micro_batches);
  b.check("max_steps", s.max_steps >= 0, "must be >= 0, got ", s.max_steps);
  b.check("beta", s.beta > 0, "must be > 0, got ", s.beta);
  b.check("master_weights", !s.master_weights || s.precision != "float32",
          "needs precision bfloat16 (float32 parameters are their own master copy)");
  b.check("alpha", s.alpha >= 0, "must be >= 0, got ", s.alpha);
}

namespace {
void check_bits(ConfigBinder& b, const std::vector<int>& bits, std::initializer_list<int> ok) {
  for (int v : bits) {
    bool found = false;
    for (int o : ok) found = found || v == o;
    std::string list;
    for (int o : ok) list += (list.empty() ? "" : ", ") + std::to_string(o);
    b.check("bits", found, "entries must be one of ", list, ", got ", v);
  }
}
void check_group(ConfigBinder& b, int group_size) {
  b.check("group_size", group_size == -1 || group_size >= 1, "must be -1 or >= 1, got ",
          group_size);
}
}  // namespace

void config_fields(ConfigBinder& b, GptqSection& s) {
  b.field("bits", s.bits, "one GPTQ evaluation per entry (8, 4, 3, 2); [] = none");
  b.field("group_size", s.group_size, "weights per group; -1 = per output row");
  b.field("sym", s.sym, "symmetric (zero = 2^(bits-1)) or asymmetric min/max");
  b.field("desc_act", s.desc_act, "act-order: quantize columns by decreasing Hessian diagonal");
  b.field("damp_percent", s.damp_percent, "dampening, as a fraction of the mean Hessian diagonal");
  b.field("block_size", s.block_size, "columns per lazy-update block");
  b.field("true_sequential", s.true_sequential,
          "within a layer quantize q/k/v, o, gate/up, down in turn, each seeing the previous "
          "ones quantized (AutoGPTQ's default)");
  check_bits(b, s.bits, {8, 4, 3, 2});
  check_group(b, s.group_size);
  b.check("damp_percent", s.damp_percent > 0 && s.damp_percent < 1, "must be in (0, 1), got ",
          s.damp_percent);
  b.check("block_size", s.block_size >= 1, "must be >= 1, got ", s.block_size);
}

void config_fields(ConfigBinder& b, AwqSection& s) {
  b.field("bits", s.bits, "one AWQ evaluation per entry (8, 4, 3, 2); [] = none");
  b.field("group_size", s.group_size, "weights per group; -1 = per output row");
  b.field("zero_point", s.zero_point, "asymmetric with a zero point (AutoAWQ's default)");
  b.field("n_grid", s.n_grid, "grid points of the scale exponent search in [0, 1)");
  b.field("duo_scaling", s.duo_scaling, "scales from activation and weight magnitudes");
  b.field("clip", s.clip, "search per-group weight clipping (not for q/k)");
  b.field("max_shrink", s.max_shrink, "clip search down to (1 - max_shrink) of the max");
  b.field("n_sample_token", s.n_sample_token, "tokens sampled for the clip search");
  check_bits(b, s.bits, {8, 4, 3, 2});
  check_group(b, s.group_size);
  b.check("n_grid", s.n_grid >= 1, "must be >= 1, got ", s.n_grid);
  b.check("max_shrink", s.max_shrink >= 0 && s.max_shrink < 1, "must be in [0, 1), got ",
          s.max_shrink);
  b.check("n_sample_token", s.n_sample_token >= 1, "must be >= 1, got ", s.n_sample_token);
}

void config_fields(ConfigBinder& b, BnbSection& s) {
  b.field("formats", s.formats,
          "bitsandbytes emulations, one evaluation each: fp4, nf4 (load_in_4bit), "
          "llm_int8 (load_in_8bit)",
          {"fp4", "nf4", "llm_int8"});
  b.field("blocksize", s.blocksize, "4-bit absmax block (bitsandbytes: 64)");
  b.field("double_quant", s.double_quant, "quantize the 4-bit absmax too (8-bit, blocks of 256)");
  b.field("llm_int8_threshold", s.llm_int8_threshold,
          "LLM.int8 outlier threshold on activations; 0 = no decomposition");
  for (const auto& f : s.formats)
    b.check("formats", f == "fp4" || f == "nf4" || f == "llm_int8",
            "entries must be fp4, nf4 or llm_int8, got \"", f, "\"");
  b.check("blocksize", s.blocksize >= 2, "must be >= 2, got ", s.blocksize);
  b.check("llm_int8_threshold", s.llm_int8_threshold >= 0, "must be >= 0, got ",
          s.llm_int8_threshold);
}

void config_fields(ConfigBinder& b, CalibrationSection& s) {
  b.field("source", s.source, "calibration text of GPTQ and AWQ",
          {"forget", "retain", "retain2", "holdout", "file"});
  b.field("file", s.file, "UTF-8 text file, with source: file");
  b.field("n_samples", s.n_samples, "calibration sequences");
  b.field("seq_len", s.seq_len, "tokens per sequence");
  b.field("seed", s.seed, "window offsets' seed; -1 = derived from run.seed");
  b.check("n_samples", s.n_samples >= 1, "must be >= 1, got ", s.n_samples);
  b.check("seq_len", s.seq_len >= 2, "must be >= 2, got ", s.seq_len);
  b.check("file", s.source != "file" || !s.file.empty(), "must name a file when source is file");
}

void config_fields(ConfigBinder& b, QuantizeSection& s) {
  b.field("scheme", s.scheme, "RTN variant of `bits`", {"rtn_sym", "rtn_sym_clamp", "rtn_asym"});
  b.field("bits", s.bits, "one RTN evaluation per entry (8, 4, 3, 2)");
  b.field("group_size", s.group_size, "RTN weights per group; -1 = per output row");
  b.field("modules", s.modules,
          "module kinds to quantize (q/k/v/o/gate/up/down_proj, embed_tokens, lm_head)");
  b.field("diagnostics", s.diagnostics,
          "bucket diagnostics: codes changed and |w_unlearned - w_target| / step per layer");
  b.section("gptq", s.gptq, "GPTQ evaluations");
  b.section("awq", s.awq, "AWQ evaluations");
  b.section("bnb", s.bnb, "bitsandbytes emulations (FP4 / NF4 / LLM.int8)");
  b.section("calibration", s.calibration, "calibration data of GPTQ and AWQ");
  check_bits(b, s.bits, {8, 4, 3, 2});
  check_group(b, s.group_size);
}

void config_fields(ConfigBinder& b, EvalSection& s) {
  b.field("batch_size", s.batch_size, "prompts / texts per forward batch on each rank");
  b.field("verbmem_max_new_tokens", s.verbmem_max_new_tokens, "VerbMem greedy tokens (MUSE 128)");
  b.field("knowmem_max_new_tokens", s.knowmem_max_new_tokens, "KnowMem greedy tokens (MUSE 32)");
  b.field("min_k", s.min_k, "PrivLeak Min-K% fraction (MUSE 0.4)");
  b.field("rouge", s.rouge, "per-sample ROUGE-L number", {"f1", "recall"});
  b.field("clean_up_tokenization", s.clean_up_tokenization,
          "apply transformers 4's clean_up_tokenization to decoded text (MUSE's setting)");
  b.field("max_samples", s.max_samples, "use the first N samples of every set (0 = all)");
  b.field("privleak_auc_retrain", s.privleak_auc_retrain,
          "> 0: normalise PrivLeak with this retrain AUC (MUSE News 0.4772, Books 0.5393) "
          "instead of the retrain model's, computed in the same run");
  b.section("bootstrap", s.bootstrap, "confidence intervals over the evaluation samples");
  b.check("batch_size", s.batch_size >= 1, "must be >= 1, got ", s.batch_size);
  b.check("min_k", s.min_k > 0 && s.min_k <= 1, "must be in (0, 1], got ", s.min_k);
  b.check("max_samples", s.max_samples >= 0, "must be >= 0, got ", s.max_samples);
}

void config_fields(ConfigBinder& b, ParallelSection& s) {
  b.field("tp", s.tp, "tensor-parallel ranks per model replica; data parallel = world size / tp");
  b.field("ranks", s.ranks,
          "ranks (DP x TP) the run is planned for: a sweep cell's size, `relapse plan`'s world; "
          "0 = the world it is launched with");
  b.field("memory_gib", s.memory_gib,
          "memory per rank in GiB the memory plan must fit in before launch; 0 = detect (the "
          "GPU's memory, or this node's RAM / ranks on the node)");
  b.field("activation_checkpointing", s.activation_checkpointing,
          "keep only each decoder layer's input during training and recompute the layer in the "
          "backward pass (less activation memory, one more forward)");
  b.field("shard_optimizer", s.shard_optimizer,
          "ZeRO-1: each data-parallel rank keeps the AdamW moments of its share of the "
          "parameters and updates only those, then broadcasts them (same result as replicated "
          "AdamW, 1/DP of its memory)");
  b.field("overlap_grad_reduce", s.overlap_grad_reduce,
          "start each data-parallel gradient bucket's all-reduce as soon as the backward has "
          "produced it (DDP's overlap; the same buckets and sums, so the same results)");
  b.check("tp", s.tp >= 1, "must be >= 1, got ", s.tp);
  b.check("ranks", s.ranks >= 0 && (s.ranks == 0 || s.ranks % s.tp == 0),
          "must be 0 or a multiple of parallel.tp = ", s.tp, ", got ", s.ranks);
  b.check("memory_gib", s.memory_gib >= 0, "must be >= 0, got ", s.memory_gib);
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
  b.section("data", c.data, "the corpus (MUSE layout) and its chunking");
  b.section("pretrain", c.pretrain,
            "pretraining the base LM from scratch on the corpus's world/ split (synthetic only)");
  b.section("train", c.train,
            "fine-tuning the target (forget + retain) and retrain (retain) models");
  b.section("unlearn", c.unlearn, "the unlearning grid: methods x learning rates");
  b.section("relearn", c.relearn, "the relearning attack on every unlearned model");
  b.section("quantize", c.quantize, "quantized evaluations of every model");
  b.section("eval", c.eval, "the MUSE evaluation");
}

RelapseConfig config_load(const std::string& path, const std::vector<std::string>& sets) {
  return config_load_as<RelapseConfig>(path, sets);
}

std::string config_dump(const RelapseConfig& cfg, bool with_help) {
  return config_dump_as(cfg, with_help);
}

}  // namespace relapse
