// src/unlearn/bench_model.cpp — `relapse bench train|score|generate` (see
// relapse/unlearn/bench_model.h).
#include "relapse/unlearn/bench_model.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/core/rng.h"
#include "relapse/core/stats.h"
#include "relapse/dist/device.h"
#include "relapse/model/inference.h"
#include "relapse/model/llama.h"
#include "relapse/unlearn/losses.h"
#include "relapse/unlearn/trainer.h"

namespace relapse::unlearn {

namespace fs = std::filesystem;

const std::vector<std::string>& bench_model_shape_names() {
  static const std::vector<std::string> names{"30m", "1b"};
  return names;
}

model::LlamaConfig bench_model_shape(const std::string& name) {
  model::LlamaConfig c;
  if (name == "30m") {
    c.vocab_size = 8192;
    c.hidden_size = 512;
    c.intermediate_size = 1376;
    c.num_hidden_layers = 8;
    c.num_attention_heads = c.num_key_value_heads = 8;
    c.max_position_embeddings = 4096;
  } else if (name == "1b") {  // meta-llama/Llama-3.2-1B config.json
    c.vocab_size = 128256;
    c.hidden_size = 2048;
    c.intermediate_size = 8192;
    c.num_hidden_layers = 16;
    c.num_attention_heads = 32;
    c.num_key_value_heads = 8;
    c.head_dim = 64;
    c.max_position_embeddings = 131072;
    c.rope_theta = 500000.0;
    c.rms_norm_eps = 1e-5;
    c.tie_word_embeddings = true;
  } else {
    RELAPSE_THROW(ExitCode::kConfig, "bench: unknown --shape '", name, "' (30m or 1b)");
  }
  return c;
}

namespace {

using Clock = std::chrono::steady_clock;

double timed_median(const std::function<void()>& fn, int iters, int warmup,
                    const torch::Device& d) {
  for (int i = 0; i < warmup; ++i) fn();
  device_synchronize(d);
  std::vector<double> t;
  for (int i = 0; i < iters; ++i) {
    auto t0 = Clock::now();
    fn();
    device_synchronize(d);
    t.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return np_percentile_linear(std::move(t), 50);
}

// The bf16 dense peak (FLOP/s) of the GPU, stated per known part (NVIDIA
// datasheets, SXM): H100 and H200 989.4 TFLOP/s; 0 = unknown (no MFU).
double bf16_peak_flops(const torch::Device& d) {
  const std::string desc = device_describe(d);
  if (desc.find("H100") != std::string::npos || desc.find("H200") != std::string::npos)
    return 989.4e12;
  if (desc.find("A100") != std::string::npos) return 312e12;
  return 0;
}

int64_t param_count(model::LlamaForCausalLM& m) {
  int64_t n = 0;
  for (const auto& p : m->parameters()) n += p.numel();
  return n;
}

BenchModelRow bench_relapse(const BenchModelOptions& o, const model::LlamaConfig& cfg,
                            const torch::Device& dev) {
  const torch::ScalarType dt = model::dtype_from_name(o.dtype);
  model::LlamaForCausalLM m(cfg);
  model::llama_init_random(m, 0.02, RngStreams(0).torch_generator("bench/init"));
  model::llama_to(m, dev, dt);
  at::Generator gen = RngStreams(0).torch_generator("bench/ids");
  torch::Tensor ids = torch::randint(3, cfg.vocab_size, {o.batch, o.seq}, gen, torch::kInt64);
  BenchModelRow r;
  r.side = "relapse";
  double tokens = static_cast<double>(o.batch * o.seq), flops_per_token = 0;
  const double n_params = static_cast<double>(param_count(m));
  if (o.mode == "train") {
    m->train();
    std::vector<torch::Tensor> params = m->parameters();
    AdamW opt(params, AdamWOptions{});
    TokenBatch b{ids, torch::ones_like(ids)};
    r.time_s = timed_median(
        [&] {
          torch::Tensor loss = causal_lm_loss(lm_forward_local(m, b), b);
          loss.backward();
          clip_grad_norm(params, 1.0);
          opt.step(1e-5);
          opt.zero_grad();
        },
        o.iters, o.warmup, dev);
    flops_per_token = 6 * n_params;
  } else if (o.mode == "score") {
    m->eval();
    std::vector<model::TokenSeq> seqs(o.batch);
    for (int64_t i = 0; i < o.batch; ++i)
      seqs[i].assign(ids[i].data_ptr<int64_t>(), ids[i].data_ptr<int64_t>() + o.seq);
    r.time_s = timed_median([&] { model::score_token_logprobs(m, seqs, o.batch); }, o.iters,
                            o.warmup, dev);
    flops_per_token = 2 * n_params;
  } else {
    m->eval();
    std::vector<model::TokenSeq> prompts(o.batch);
    for (int64_t i = 0; i < o.batch; ++i)
      prompts[i].assign(ids[i].data_ptr<int64_t>(), ids[i].data_ptr<int64_t>() + o.seq);
    model::GenerateOptions g;
    g.max_new_tokens = o.new_tokens;
    g.batch_size = o.batch;
    r.time_s = timed_median([&] { model::generate_greedy(m, prompts, g); }, o.iters, o.warmup, dev);
    tokens = static_cast<double>(o.batch * o.new_tokens);
  }
  r.tokens_per_s = tokens / r.time_s;
  const double peak = bf16_peak_flops(dev);
  if (peak > 0 && flops_per_token > 0) r.mfu = flops_per_token * r.tokens_per_s / peak;
  return r;
}

BenchModelRow bench_reference(const BenchModelOptions& o, const model::LlamaConfig& cfg,
                              const torch::Device& dev) {
  fs::create_directories(o.work_dir);
  {
    std::ofstream f(o.work_dir + "/config.json");
    f << model::llama_config_to_json(cfg).dump(2) << "\n";
    RELAPSE_CHECK_INPUT(f.good(), o.work_dir, "/config.json: cannot write");
  }
  char cmd[2048];
  std::snprintf(cmd, sizeof cmd,
                "'%s' '%s' --config '%s' --mode %s --dtype %s --device %s --threads %d "
                "--batch %lld --seq %lld --new-tokens %lld --iters %d --warmup %d",
                o.python.c_str(), o.reference.c_str(), o.work_dir.c_str(), o.mode.c_str(),
                o.dtype.c_str(), dev.str().c_str(), o.threads, static_cast<long long>(o.batch),
                static_cast<long long>(o.seq), static_cast<long long>(o.new_tokens), o.iters,
                o.warmup);
  FILE* p = popen(cmd, "r");
  RELAPSE_CHECK_CODE(ExitCode::kEnvironment, p != nullptr, "bench: cannot run ", cmd);
  std::string out;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  int rc = pclose(p);
  RELAPSE_CHECK_CODE(ExitCode::kEnvironment, rc == 0, "bench: the reference failed (exit ", rc,
                     "): ", cmd, "\n", out);
  std::string last = out.substr(out.rfind('{') == std::string::npos ? 0 : out.rfind('{'));
  nlohmann::json j = nlohmann::json::parse(last, nullptr, false);
  RELAPSE_CHECK_CODE(ExitCode::kEnvironment, j.is_object() && j.contains("tokens_per_s"),
                     "bench: no JSON result from the reference: ", out);
  BenchModelRow r;
  r.side = "hf";
  r.time_s = j["time_s"].get<double>();
  r.tokens_per_s = j["tokens_per_s"].get<double>();
  r.note = "torch " + j["torch"].get<std::string>() + ", transformers " +
           j["transformers"].get<std::string>() + ", " + std::to_string(j["threads"].get<int>()) +
           " threads, sdpa";
  return r;
}

}  // namespace

std::vector<BenchModelRow> bench_model_run(const BenchModelOptions& o) {
  RELAPSE_CHECK_CONFIG(o.mode == "train" || o.mode == "score" || o.mode == "generate",
                       "bench: unknown mode '", o.mode, "'");
  const model::LlamaConfig cfg = bench_model_shape(o.shape);
  const torch::Device dev = device_resolve(o.device, 0, "--device");
  if (o.threads > 0) at::set_num_threads(o.threads);
  std::vector<BenchModelRow> rows{bench_relapse(o, cfg, dev)};
  if (!o.python.empty()) {
    BenchModelRow hf = bench_reference(o, cfg, dev);
    const double peak = bf16_peak_flops(dev);
    if (peak > 0 && rows[0].mfu > 0) hf.mfu = rows[0].mfu * hf.tokens_per_s / rows[0].tokens_per_s;
    rows.push_back(hf);
  }
  return rows;
}

std::string bench_model_format(const std::vector<BenchModelRow>& rows, const BenchModelOptions& o) {
  const model::LlamaConfig c = bench_model_shape(o.shape);
  const torch::Device dev = device_resolve(o.device, 0, "--device");
  std::string s;
  char line[512];
  std::snprintf(
      line, sizeof line,
      "# relapse bench %s: shape %s (d %lld, %lld layers, vocab %lld), %s, device %s, "
      "%d threads\n# batch %lld, %s %lld%s; time = median of %d (after %d warmup)\n",
      o.mode.c_str(), o.shape.c_str(), static_cast<long long>(c.hidden_size),
      static_cast<long long>(c.num_hidden_layers), static_cast<long long>(c.vocab_size),
      o.dtype.c_str(), device_describe(dev).c_str(), at::get_num_threads(),
      static_cast<long long>(o.batch), o.mode == "generate" ? "prompt" : "seq",
      static_cast<long long>(o.seq),
      o.mode == "generate" ? (", " + std::to_string(o.new_tokens) + " new tokens").c_str() : "",
      o.iters, o.warmup);
  s += line;
  const double peak = bf16_peak_flops(dev);
  if (peak > 0)
    s += "# MFU = " + std::string(o.mode == "train" ? "6" : "2") + "·N·tokens/s ÷ " +
         std::to_string(peak / 1e12) + " TFLOP/s (bf16 dense peak)\n";
  std::snprintf(line, sizeof line, "%-8s %10s %14s %7s  %s\n", "#side", "time(s)", "tokens/s",
                "MFU", "note");
  s += line;
  for (const auto& r : rows) {
    std::snprintf(
        line, sizeof line, "%-8s %10.4f %14.1f %7s  %s\n", r.side.c_str(), r.time_s, r.tokens_per_s,
        r.mfu > 0 ? (std::to_string(r.mfu * 100).substr(0, 5) + "%").c_str() : "-", r.note.c_str());
    s += line;
  }
  if (rows.size() == 2) {
    std::snprintf(line, sizeof line, "ratio relapse/hf = %.3f\n",
                  rows[0].tokens_per_s / rows[1].tokens_per_s);
    s += line;
  }
  return s;
}

}  // namespace relapse::unlearn
