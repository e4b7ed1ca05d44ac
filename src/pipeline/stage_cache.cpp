// src/pipeline/stage_cache.cpp — the stage cache: saved model directories
// keyed by the config text that made them (relapse_stage.json beside the
// weights, with the training curve and SURE mask), written aside and
// committed whole, loaded back on this run's device and TP place; and the
// deep copy every stage makes before it changes a model (stages.h).
#include <filesystem>
#include <limits>

#include <nlohmann/json.hpp>

#include "relapse/core/fs.h"
#include "relapse/core/rng.h"
#include "relapse/model/cpu_gemm.h"
#include "relapse/model/hf_checkpoint.h"
#include "stages.h"

namespace fs = std::filesystem;

namespace relapse::pipeline {

namespace {

nlohmann::json curve_to_json(const std::vector<unlearn::StepStats>& c) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& s : c)
    j.push_back({s.step, s.lr, s.loss, s.forget_term, s.retain_term, s.grad_norm, s.tokens});
  return j;
}

// JSON has no NaN or infinity: nlohmann writes them as null (a diverged run's
// last update), read back as NaN.
double number_or_nan(const nlohmann::json& v) {
  return v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>();
}

std::vector<unlearn::StepStats> curve_from_json(const nlohmann::json& j) {
  std::vector<unlearn::StepStats> c;
  for (const auto& e : j)
    c.push_back({e[0].get<int64_t>(), number_or_nan(e[1]), number_or_nan(e[2]), number_or_nan(e[3]),
                 number_or_nan(e[4]), number_or_nan(e[5]), e[6].get<int64_t>()});
  return c;
}

}  // namespace

std::string stage_read_text(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) ? fs_read_file(path) : std::string();
}

// A short stable hash of a key text (FNV-1a 64, hex).
std::string key_hash(const std::string& text) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)rng_fnv1a64(text));
  return buf;
}

std::string dump(const ModelSection& s) {
  const std::string text = config_dump_as(s);
  const std::string tag = "cpu_bf16_gemm: ";
  const size_t at = text.find(tag);
  if (at == std::string::npos || (at > 0 && text[at - 1] != '\n')) return text;
  const size_t end = text.find('\n', at);
  return text.substr(0, at) + (end == std::string::npos ? "" : text.substr(end + 1));
}

std::string compute_key(const RunContext& ctx, const std::string& precision) {
  const bool fp32_path = !ctx.device.is_cuda() && precision == "bfloat16" &&
                         model::cpu_bf16_gemm_get() == model::CpuBf16Gemm::kFp32;
  return fp32_path ? "cpu_bf16_gemm: fp32\n" : "";
}

// What stage_save recorded beside a cached model (steps, epochs, curve).
void info_from_stamp(const std::string& dir, ModelInfo& info) {
  auto j = nlohmann::json::parse(stage_read_text(dir + "/relapse_stage.json"));
  if (j.contains("steps")) info.steps = j["steps"].get<int64_t>();
  if (j.contains("epochs")) info.epochs = j["epochs"].get<int64_t>();
  if (j.contains("curve")) info.curve = curve_from_json(j["curve"]);
  info.diverged_step = j.value("diverged_step", int64_t{0});
}

// The SURE mask stage_save recorded beside a cached unlearned model.
void mask_from_stamp(const std::string& dir, SaliencyMaskInfo& mask) {
  auto j = nlohmann::json::parse(stage_read_text(dir + "/relapse_stage.json"));
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

bool stage_cached(const std::string& dir, const std::string& key) {
  const std::string stamp = dir + "/relapse_stage.json";
  if (!fs::exists(stamp)) return false;
  try {
    return nlohmann::json::parse(stage_read_text(stamp)).value("key", "") == key_hash(key);
  } catch (const std::exception&) {
    return false;
  }
}

std::string stage_model_dir(const RunContext& ctx, const std::string& name,
                            const std::string& key) {
  const RunSection& r = *ctx.run;
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
  const std::string tmp = dir + ".tmp-" + ctx.run->name;
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
      if (info->diverged_step > 0) j["diverged_step"] = info->diverged_step;
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

}  // namespace relapse::pipeline
