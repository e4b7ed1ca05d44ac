// src/pipeline/stage_train.cpp — the train stage: the base LM (model.path,
// or a preset pretrained on world/ from seeded weights that are the same at
// any TP size), then the target (forget + retain) and the retrain model
// (retain only) fine-tuned from it; every model cached by key (stages.h).
#include <filesystem>

#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/core/log.h"
#include "relapse/core/progress.h"
#include "relapse/core/rng.h"
#include "relapse/model/hf_checkpoint.h"
#include "relapse/model/presets.h"
#include "stages.h"

namespace fs = std::filesystem;

namespace relapse::pipeline {

namespace {

unlearn::Chunks concat(std::initializer_list<const unlearn::Chunks*> parts) {
  unlearn::Chunks out;
  for (const auto* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

// The base LM: model.path, or a preset from scratch pretrained on world/
// (cached under `base_key`).
model::LlamaForCausalLM train_base(RunContext& ctx, CorpusData& d,
                                   const TrainStageSection& pretrain, const std::string& base_key,
                                   const std::string& base_dir) {
  const uint64_t seed = static_cast<uint64_t>(ctx.run->seed);
  const std::string models = ctx.run->out_dir + "/models";
  const std::string tok_file = d.tok->path();
  Communicator* dp = ctx.dp();
  if (!ctx.model->path.empty()) {
    model::LlamaForCausalLM m = stage_load(ctx, ctx.model->path, pretrain.precision);
    model::tokenizer_check_fits(*d.tok, m->config().vocab_size, ctx.model->path);
    return m;
  }
  if (stage_cached(base_dir, base_key)) {
    log_info("train: base LM cached in ", base_dir);
    return stage_load(ctx, base_dir, pretrain.precision);
  }
  model::LlamaConfig lc =
      model::model_preset(ctx.model->preset, d.tok->vocab_size(), d.tok->bos_id(), d.tok->eos_id());
  model::LlamaForCausalLM m{nullptr};
  if (ctx.grid.tp_size == 1) {
    m = model::LlamaForCausalLM(lc);
    model::llama_init_random(m, ctx.model->init_std,
                             RngStreams(seed).torch_generator("model/init"));
  } else {
    // The same initial weights at any TP size: rank 0 draws the whole model
    // and every rank loads its slice of it.
    const std::string init_dir = models + "/base.init";
    if (ctx.rank == 0) {
      model::LlamaForCausalLM full(lc);
      model::llama_init_random(full, ctx.model->init_std,
                               RngStreams(seed).torch_generator("model/init"));
      model::hf_save(full, init_dir, tok_file);
    }
    ctx.barrier();
    m = stage_load(ctx, init_dir, "float32");
    ctx.barrier();
    if (ctx.rank == 0) fs::remove_all(init_dir);
  }
  model::llama_to(m, ctx.device, model::dtype_from_name(pretrain.precision));
  if (pretrain.epochs > 0 && !d.world.empty()) {
    Progress timer("", 0);
    auto o = loop_options(ctx, pretrain, seed, "pretrain/shuffle", "pretrain");
    set_warmup(o, pretrain.warmup_ratio, (int64_t)d.world.size());
    o.checkpoint = resume_options(ctx, base_dir, base_key);
    unlearn::lm_train(m, d.world, o, dp);
    ctx.add_stage_time("pretrain", timer.elapsed_s());
  }
  stage_save(ctx, m, base_dir, base_key, tok_file, nullptr);
  unlearn::loop_checkpoint_remove(resume_options(ctx, base_dir, base_key), m, dp);
  return m;
}

// The value of the first "<tag>" line of a stage key after its first line:
// "corpus: " is the fingerprint of the corpus and tokenizer the model was
// trained on, "preset: " its model shape (stage_train's base_key).
std::string key_line(const std::string& key, const std::string& tag) {
  const size_t at = key.find("\n" + tag);
  if (at == std::string::npos) return "";
  const size_t from = at + 1 + tag.size();
  return key.substr(from, key.find('\n', from) - from);
}

// A given model (train.target / train.retrain) that relapse trained carries
// its stage stamp (relapse_stage.json): it must have been trained on this
// run's corpus and tokenizer (else every score would be for another corpus),
// and its curve and update count go into the archive. `made_key` is the key
// this config would train it under: a mismatch is only a warning (a model
// given on purpose), stated so the report's LR and epochs are not mistaken
// for the model's. A plain Hugging Face directory has no stamp and no check.
void given_check(const std::string& dir, const std::string& name, const std::string& fingerprint,
                 const std::string& preset, const std::string& made_key, ModelInfo& info) {
  const std::string stamp = dir + "/relapse_stage.json";
  const std::string text = stage_read_text(stamp);
  if (text.empty()) return;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    RELAPSE_CHECK_CODE(ExitCode::kInput, false, stamp, ": not JSON (", e.what(), ")");
  }
  const std::string key = j.value("config", "");
  const std::string corpus = key_line(key, "corpus: ");
  RELAPSE_CHECK_CODE(ExitCode::kInput, corpus.empty() || corpus == fingerprint, "train.", name,
                     ": ", stamp, " says the model was trained on corpus ", corpus,
                     ", but this run's corpus and tokenizer are ", fingerprint,
                     " (another data section, run.seed or relapse version): set train.", name,
                     "=\"\" to train it here, or remake it (launch/make-quickstart-models.sh for "
                     "the main job's)");
  // A preset config (model.path empty) asks for that shape: a given model of
  // another one (a sweep over model.preset on the main job's config) is refused.
  const std::string made_preset = key_line(key, "preset: ");
  RELAPSE_CHECK_CODE(ExitCode::kConfig,
                     preset.empty() || made_preset.empty() || made_preset == "\"" + preset + "\"",
                     "train.", name, ": ", dir, " is a ", made_preset, " model (", stamp,
                     ") but model.preset is \"", preset, "\": set train.", name,
                     "=\"\" to train that preset");
  info_from_stamp(dir, info);
  if (key == made_key)
    log_info("train: ", name, " given in ", dir, ", trained by this config's pretrain and train");
  else
    log_warn("train.", name, ": ", dir,
             " was trained by another pretrain / train config than this one's (", stamp,
             " has its own); the report's ", name, " learning rate is this config's");
}

// "stamp: <hash>\n" of a given model directory's relapse_stage.json; "" when
// none is given or it has no stamp.
std::string given_identity(const std::string& dir) {
  if (dir.empty()) return "";
  const std::string text = stage_read_text(dir + "/relapse_stage.json");
  return text.empty() ? "" : "stamp: " + key_hash(text) + "\n";
}

// Fine-tunes `name` (target or retrain) from the base on `chunks`, or loads
// `given` (train.target / train.retrain); cached under base_key + train.
model::LlamaForCausalLM train_finetune(RunContext& ctx, CorpusData& d, const FinetuneSection& train,
                                       const std::string& base_key, const std::string& name,
                                       const std::string& given, const unlearn::Chunks& chunks,
                                       ModelInfo& info, model::LlamaForCausalLM* base_model) {
  const uint64_t seed = static_cast<uint64_t>(ctx.run->seed);
  const std::string tok_file = d.tok->path();
  Communicator* dp = ctx.dp();
  const TrainStageSection& ft = train.stage;
  info.name = name;
  info.kind = name;
  info.lr = ft.lr;
  info.epochs = ft.epochs;
  if (!given.empty()) {
    info.checkpoint = given;
    FinetuneSection own = train;  // what this config would train, as stage_save keyed it
    own.target.clear();
    own.retrain.clear();
    given_check(given, name, d.fingerprint, ctx.model->path.empty() ? ctx.model->preset : "",
                base_key + "finetune: " + name + "\n" + dump(own), info);
    model::LlamaForCausalLM m = stage_load(ctx, given, ft.precision);
    model::tokenizer_check_fits(*d.tok, m->config().vocab_size, given);
    return m;
  }
  const std::string key =
      base_key + "finetune: " + name + "\n" + dump(train) + compute_key(ctx, ft.precision);
  const std::string dir = stage_model_dir(ctx, name, key);
  info.checkpoint = dir;
  if (stage_cached(dir, key)) {
    log_info("train: ", name, " cached in ", dir);
    info_from_stamp(dir, info);
    return stage_load(ctx, dir, ft.precision);
  }
  model::LlamaForCausalLM m = model_clone(*base_model, model::dtype_from_name(ft.precision));
  Progress timer("", 0);
  auto o = loop_options(ctx, ft, seed, "train/" + name + "/shuffle", "train " + name);
  set_warmup(o, ft.warmup_ratio, (int64_t)chunks.size());
  o.checkpoint = resume_options(ctx, dir, key);
  if (ft.epochs > 0) {
    auto r = unlearn::lm_train(m, chunks, o, dp);
    info.curve = r.curve;
    info.steps = r.steps;
  }
  ctx.add_stage_time("train_" + name, timer.elapsed_s());
  stage_save(ctx, m, dir, key, tok_file, &info);
  unlearn::loop_checkpoint_remove(o.checkpoint, m, dp);
  return m;
}

}  // namespace

TrainedModels stage_train(RunContext& ctx, CorpusData& d, const DataSection& data_section,
                          const TrainStageSection& pretrain, const FinetuneSection& train) {
  const uint64_t seed = static_cast<uint64_t>(ctx.run->seed);
  TrainedModels tm;
  // The removal requests only change unlearning (its keys carry them): every
  // request of a study shares one target.
  DataSection data = data_section;
  data.forget_requests.clear();
  const std::string base_key = "seed: " + std::to_string(seed) + "\ncorpus: " + d.fingerprint +
                               "\n" + dump(data) + dump(*ctx.model) + dump(pretrain) +
                               compute_key(ctx, pretrain.precision);
  const std::string base_dir =
      ctx.model->path.empty() ? stage_model_dir(ctx, "base", base_key) : ctx.model->path;
  const bool need_base = train.target.empty() || train.retrain.empty();
  model::LlamaForCausalLM b{nullptr};
  if (need_base) b = train_base(ctx, d, pretrain, base_key, base_dir);
  const unlearn::Chunks target_data = concat({&d.forget, &d.retain1, &d.retain2});
  const unlearn::Chunks retrain_data = concat({&d.retain1, &d.retain2});
  tm.target = train_finetune(ctx, d, train, base_key, "target", train.target, target_data,
                             tm.target_info, &b);
  tm.retrain = train_finetune(ctx, d, train, base_key, "retrain", train.retrain, retrain_data,
                              tm.retrain_info, &b);
  // A given model is keyed by its path and its stamp's bytes (curve included),
  // so remade weights at the same path are not mistaken for the cached ones.
  tm.key = base_key + dump(train) + "target: " + train.target + "\n" + given_identity(train.target);
  tm.retrain_key =
      base_key + dump(train) + "retrain: " + train.retrain + "\n" + given_identity(train.retrain);
  return tm;
}

}  // namespace relapse::pipeline
