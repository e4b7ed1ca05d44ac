// src/pipeline/stages.cpp — the data, train and unlearn stages of
// `relapse run` (src/pipeline/stages.h): corpus and chunks, the base /
// target / retrain models, one unlearning run; model caching by config key.
#include "stages.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/core/fs.h"
#include "relapse/core/log.h"
#include "relapse/core/progress.h"
#include "relapse/core/rng.h"
#include "relapse/data/chunking.h"
#include "relapse/data/synth.h"
#include "relapse/eval/muse_eval.h"
#include "relapse/model/hf_checkpoint.h"
#include "relapse/model/presets.h"

namespace fs = std::filesystem;

namespace relapse::pipeline {

namespace {

// The file's text, "" when there is none (a cache not written yet).
std::string read_text(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) ? fs_read_file(path) : std::string();
}

}  // namespace

// A short stable hash of a key text (FNV-1a 64, hex).
std::string key_hash(const std::string& text) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)rng_fnv1a64(text));
  return buf;
}

unlearn::LoopOptions loop_options(const RelapseConfig& cfg, const TrainStageSection& s,
                                  uint64_t seed, const std::string& stream,
                                  const std::string& label) {
  unlearn::LoopOptions o;
  o.activation_checkpointing = cfg.parallel.activation_checkpointing;
  o.shard_optimizer = cfg.parallel.shard_optimizer;
  o.overlap_grad_reduce = cfg.parallel.overlap_grad_reduce;
  o.train.adamw = {s.beta1, s.beta2, s.eps, s.weight_decay, s.master_weights};
  o.train.schedule.kind = unlearn::lr_schedule_from_name(s.schedule);
  o.train.schedule.base_lr = s.lr;
  o.train.max_grad_norm = s.max_grad_norm;
  o.train.micro_batches = s.micro_batches;
  o.epochs = s.epochs;
  o.batch_size = s.batch_size;
  o.seed = seed;
  o.shuffle_stream = stream;
  o.label = label;
  return o;
}

// Resumable checkpoints of the loop that makes the model stage-saved in
// `dir` under `key`: DIR.resume-<run name> (run names keep concurrent sweep
// cells sharing run.cache_dir apart), removed once the model is saved.
unlearn::LoopCheckpointOptions resume_options(const RelapseConfig& cfg, const std::string& dir,
                                              const std::string& key) {
  return {dir + ".resume-" + cfg.run.name, cfg.run.checkpoint_every, key_hash(key)};
}

void set_warmup(unlearn::LoopOptions& o, double ratio, int64_t n_rows) {
  int64_t total = o.epochs * unlearn::loop_batches_per_epoch(n_rows, o.batch_size);
  if (o.max_steps > 0) total = std::min(total, o.max_steps);
  o.train.schedule.warmup_steps = static_cast<int64_t>(std::floor(ratio * total));
}

static unlearn::Chunks concat(std::initializer_list<const unlearn::Chunks*> parts) {
  unlearn::Chunks out;
  for (const auto* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

static nlohmann::json curve_to_json(const std::vector<unlearn::StepStats>& c) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& s : c)
    j.push_back({s.step, s.lr, s.loss, s.forget_term, s.retain_term, s.grad_norm, s.tokens});
  return j;
}

static std::vector<unlearn::StepStats> curve_from_json(const nlohmann::json& j) {
  std::vector<unlearn::StepStats> c;
  for (const auto& e : j)
    c.push_back({e[0].get<int64_t>(), e[1].get<double>(), e[2].get<double>(), e[3].get<double>(),
                 e[4].get<double>(), e[5].get<double>(), e[6].get<int64_t>()});
  return c;
}

// What stage_save recorded beside a cached model (steps, epochs, curve).
void info_from_stamp(const std::string& dir, ModelInfo& info) {
  auto j = nlohmann::json::parse(read_text(dir + "/relapse_stage.json"));
  if (j.contains("steps")) info.steps = j["steps"].get<int64_t>();
  if (j.contains("epochs")) info.epochs = j["epochs"].get<int64_t>();
  if (j.contains("curve")) info.curve = curve_from_json(j["curve"]);
}

// The SURE mask stage_save recorded beside a cached unlearned model.
void mask_from_stamp(const std::string& dir, SaliencyMaskInfo& mask) {
  auto j = nlohmann::json::parse(read_text(dir + "/relapse_stage.json"));
  if (!j.contains("saliency_mask")) return;
  const auto& m = j["saliency_mask"];
  mask.steps = m["steps"].get<int64_t>();
  mask.names = m["names"].get<std::vector<std::string>>();
  mask.selected_steps = m["selected_steps"].get<std::vector<std::vector<int32_t>>>();
}

model::LlamaForCausalLM model_clone(const model::LlamaForCausalLM& m, torch::ScalarType dtype) {
  torch::NoGradGuard ng;
  model::LlamaForCausalLM c(m->config(), m->tp());
  model::llama_to(c, m->device(), dtype);
  auto src = m->named_parameters();
  for (auto& kv : c->named_parameters()) kv.value().copy_(*src.find(kv.key()));
  return c;
}

CorpusData stage_data(RunContext& ctx) {
  const RelapseConfig& cfg = *ctx.cfg;
  Progress timer("data", 0);
  CorpusData d;
  if (!cfg.data.corpus.empty()) {
    d.dir = cfg.data.corpus;
  } else {
    data::SynthConfig sc;
    sc.seed = static_cast<uint64_t>(cfg.run.seed);
    sc.size = cfg.data.synth_size;
    sc.vocab_size = cfg.data.synth_vocab_size;
    const std::string meta = data::synth_meta_json(sc);
    d.dir = cfg.run.cache_dir.empty() ? cfg.run.out_dir + "/data"
                                      : cfg.run.cache_dir + "/data-" + key_hash(meta);
    auto fresh = [&] {
      return read_text(d.dir + "/synth.json") == meta && fs::exists(d.dir + "/tokenizer.model");
    };
    if (!fresh() && ctx.rank == 0) {
      log_info("data: synthesizing the embedded default corpus (", sc.size, ", seed ", sc.seed,
               ") into ", d.dir);
      if (cfg.run.cache_dir.empty()) {
        data::synth_write(sc, d.dir);
      } else {
        // Shared between runs: written aside and renamed into place (as stage_save).
        const std::string tmp = d.dir + ".tmp-" + cfg.run.name;
        if (fs::exists(tmp)) fs::remove_all(tmp);
        data::synth_write(sc, tmp);
        fs_commit_dir_shared(tmp, d.dir, fresh);
      }
    }
    ctx.barrier();
  }
  d.corpus = data::muse_load(d.dir);
  std::string tok_path = cfg.model.tokenizer.empty() ? d.dir : cfg.model.tokenizer;
  if (!cfg.model.path.empty() && cfg.model.tokenizer.empty()) tok_path = cfg.model.path;
  d.tok = std::make_unique<model::Tokenizer>(tok_path);
  // Cached models depend on the corpus and tokenizer bytes, not only on the
  // config (a regenerated corpus must retrain them).
  const data::MuseCorpus& cc = d.corpus;
  d.fingerprint = key_hash(read_text(d.tok->path()) + "\x1f" + cc.world.text + "\x1f" +
                           cc.forget.text + "\x1f" + cc.retain1.text + "\x1f" + cc.retain2.text);
  const int64_t L = cfg.data.max_len;
  auto chunk = [&](const data::RawSplit& s) {
    return s.text.empty() ? unlearn::Chunks{} : data::muse_chunk_text(*d.tok, s.text, L);
  };
  d.world = chunk(d.corpus.world);
  d.forget = chunk(d.corpus.forget);
  d.retain1 = chunk(d.corpus.retain1);
  d.retain2 = chunk(d.corpus.retain2);
  d.holdout = chunk(d.corpus.holdout);
  log_info("data: ", d.dir, ": chunks of ", L, " tokens: world ", d.world.size(), ", forget ",
           d.forget.size(), ", retain1 ", d.retain1.size(), ", retain2 ", d.retain2.size());
  ctx.add_stage_time("data", timer.elapsed_s());
  return d;
}

bool stage_cached(const std::string& dir, const std::string& key) {
  const std::string stamp = dir + "/relapse_stage.json";
  if (!fs::exists(stamp)) return false;
  try {
    return nlohmann::json::parse(read_text(stamp)).value("key", "") == key_hash(key);
  } catch (const std::exception&) {
    return false;
  }
}

static std::string stage_model_dir(const RunContext& ctx, const std::string& name,
                                   const std::string& key) {
  const RunSection& r = ctx.cfg->run;
  if (r.cache_dir.empty()) return r.out_dir + "/models/" + name;
  return r.cache_dir + "/" + name + "-" + key_hash(key);
}

// The model is written to DIR.tmp-<run name> and renamed to DIR when complete
// (stamp included), so a killed run never leaves a directory that looks
// cached, and runs sharing run.cache_dir (a sweep's concurrent cells, which
// have distinct run names) never write into the same directory. When another
// run renamed the same model into place first, ours is dropped (same key,
// same bytes).
void stage_save(RunContext& ctx, const model::LlamaForCausalLM& m, const std::string& dir,
                const std::string& key, const std::string& tokenizer_model, const ModelInfo* info) {
  const std::string tmp = dir + ".tmp-" + ctx.cfg->run.name;
  if (ctx.rank == 0 && fs::exists(tmp)) fs::remove_all(tmp);
  ctx.barrier();
  if (ctx.writes_models())
    model::hf_save(m, tmp, tokenizer_model);  // TP: gathers, TP rank 0 writes
  if (ctx.rank == 0) {
    nlohmann::json j = {{"key", key_hash(key)}, {"config", key}};
    if (info) {
      j["steps"] = info->steps;
      j["epochs"] = info->epochs;
      j["curve"] = curve_to_json(info->curve);
      if (!info->mask.names.empty())
        j["saliency_mask"] = {{"steps", info->mask.steps},
                              {"names", info->mask.names},
                              {"selected_steps", info->mask.selected_steps}};
    }
    fs_write_file_atomic(tmp + "/relapse_stage.json", j.dump(2) + "\n");
    // Kept when another run sharing the cache finished it first; a stale
    // model of another config is replaced.
    fs_commit_dir_shared(tmp, dir, [&] { return stage_cached(dir, key); });
  }
  ctx.barrier();
}

model::LlamaForCausalLM stage_load(RunContext& ctx, const std::string& dir,
                                   const std::string& dtype) {
  model::HfLoadOptions o;
  o.dtype = dtype;
  o.tp = ctx.tp();
  o.device = ctx.device;
  return model::hf_load(dir, o);
}

TrainedModels stage_train(RunContext& ctx, CorpusData& d) {
  const RelapseConfig& cfg = *ctx.cfg;
  const uint64_t seed = static_cast<uint64_t>(cfg.run.seed);
  const std::string models = cfg.run.out_dir + "/models";
  const std::string tok_file = d.tok->path();
  Communicator* dp = ctx.dp();
  const TrainStageSection& ft = cfg.train.stage;
  TrainedModels tm;

  // The base LM: model.path, or a preset from scratch pretrained on world/.
  const std::string base_key = "seed: " + std::to_string(seed) + "\ncorpus: " + d.fingerprint +
                               "\n" + dump(cfg.data) + dump(cfg.model) + dump(cfg.pretrain);
  const std::string base_dir =
      cfg.model.path.empty() ? stage_model_dir(ctx, "base", base_key) : cfg.model.path;
  auto base = [&]() -> model::LlamaForCausalLM {
    if (!cfg.model.path.empty()) return stage_load(ctx, cfg.model.path, cfg.pretrain.precision);
    if (stage_cached(base_dir, base_key)) {
      log_info("train: base LM cached in ", base_dir);
      return stage_load(ctx, base_dir, cfg.pretrain.precision);
    }
    model::LlamaConfig lc = model::model_preset(cfg.model.preset, d.tok->vocab_size(),
                                                d.tok->bos_id(), d.tok->eos_id());
    model::LlamaForCausalLM m{nullptr};
    if (ctx.grid.tp_size == 1) {
      m = model::LlamaForCausalLM(lc);
      model::llama_init_random(m, cfg.model.init_std,
                               RngStreams(seed).torch_generator("model/init"));
    } else {
      // The same initial weights at any TP size: rank 0 draws the whole model
      // and every rank loads its slice of it.
      const std::string init_dir = models + "/base.init";
      if (ctx.rank == 0) {
        model::LlamaForCausalLM full(lc);
        model::llama_init_random(full, cfg.model.init_std,
                                 RngStreams(seed).torch_generator("model/init"));
        model::hf_save(full, init_dir, tok_file);
      }
      ctx.barrier();
      m = stage_load(ctx, init_dir, "float32");
      ctx.barrier();
      if (ctx.rank == 0) fs::remove_all(init_dir);
    }
    model::llama_to(m, ctx.device, model::dtype_from_name(cfg.pretrain.precision));
    if (cfg.pretrain.epochs > 0 && !d.world.empty()) {
      Progress timer("", 0);
      auto o = loop_options(cfg, cfg.pretrain, seed, "pretrain/shuffle", "pretrain");
      set_warmup(o, cfg.pretrain.warmup_ratio, (int64_t)d.world.size());
      o.checkpoint = resume_options(cfg, base_dir, base_key);
      unlearn::lm_train(m, d.world, o, dp);
      ctx.add_stage_time("pretrain", timer.elapsed_s());
    }
    stage_save(ctx, m, base_dir, base_key, tok_file, nullptr);
    unlearn::loop_checkpoint_remove(resume_options(cfg, base_dir, base_key), m, dp);
    return m;
  };

  auto finetune = [&](const std::string& name, const std::string& given,
                      const unlearn::Chunks& chunks, ModelInfo& info,
                      model::LlamaForCausalLM* base_model) -> model::LlamaForCausalLM {
    info.name = name;
    info.kind = name;
    info.lr = ft.lr;
    info.epochs = ft.epochs;
    if (!given.empty()) {
      info.checkpoint = given;
      return stage_load(ctx, given, ft.precision);
    }
    const std::string key = base_key + "finetune: " + name + "\n" + dump(cfg.train);
    const std::string dir = stage_model_dir(ctx, name, key);
    info.checkpoint = dir;
    if (stage_cached(dir, key)) {
      log_info("train: ", name, " cached in ", dir);
      info_from_stamp(dir, info);
      return stage_load(ctx, dir, ft.precision);
    }
    model::LlamaForCausalLM m = model_clone(*base_model, model::dtype_from_name(ft.precision));
    Progress timer("", 0);
    auto o = loop_options(cfg, ft, seed, "train/" + name + "/shuffle", "train " + name);
    set_warmup(o, ft.warmup_ratio, (int64_t)chunks.size());
    o.checkpoint = resume_options(cfg, dir, key);
    if (ft.epochs > 0) {
      auto r = unlearn::lm_train(m, chunks, o, dp);
      info.curve = r.curve;
      info.steps = r.steps;
    }
    ctx.add_stage_time("train_" + name, timer.elapsed_s());
    stage_save(ctx, m, dir, key, tok_file, &info);
    unlearn::loop_checkpoint_remove(o.checkpoint, m, dp);
    return m;
  };

  const bool need_base = cfg.train.target.empty() || cfg.train.retrain.empty();
  model::LlamaForCausalLM b{nullptr};
  if (need_base) b = base();
  const unlearn::Chunks target_data = concat({&d.forget, &d.retain1, &d.retain2});
  const unlearn::Chunks retrain_data = concat({&d.retain1, &d.retain2});
  tm.target = finetune("target", cfg.train.target, target_data, tm.target_info, &b);
  tm.retrain = finetune("retrain", cfg.train.retrain, retrain_data, tm.retrain_info, &b);
  tm.key = base_key + dump(cfg.train) + "target: " + cfg.train.target + "\n";
  return tm;
}

}  // namespace relapse::pipeline
