// src/model/bench_gemm.cpp — `relapse bench gemm` (see relapse/model/bench_gemm.h).
#include "relapse/model/bench_gemm.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <set>

#include "relapse/model/cpu_gemm.h"
#include "relapse/model/llama.h"
#include "relapse/model/presets.h"

namespace relapse::model {

namespace {

// Microseconds per call of `f` under `g`: best of 3 rounds of o.iters calls,
// after two warm-up calls. The process-wide choice is restored afterwards.
double time_us(const BenchGemmOptions& o, CpuBf16Gemm g, const std::function<void()>& f) {
  const CpuBf16GemmScope scope(g);
  f();
  f();
  double best = 1e300;
  for (int round = 0; round < 3; ++round) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < o.iters; ++i) f();
    std::chrono::duration<double, std::micro> dt = std::chrono::steady_clock::now() - t0;
    best = std::min(best, dt.count() / o.iters);
  }
  return best;
}

BenchGemmRow time_both(const BenchGemmOptions& o, const std::string& op,
                       const std::function<void()>& f) {
  return {op, time_us(o, CpuBf16Gemm::kNative, f), time_us(o, CpuBf16Gemm::kFp32, f)};
}

torch::Tensor bf16_leaf(std::vector<int64_t> shape, double scale, torch::Generator& gen) {
  return (torch::randn(shape, gen) * scale).to(torch::kBFloat16).requires_grad_(true);
}

}  // namespace

std::vector<BenchGemmRow> bench_gemm_run(const BenchGemmOptions& o) {
  const LlamaConfig c = model_preset(o.preset, o.vocab);
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(1);
  std::vector<BenchGemmRow> rows;
  const int64_t hd = c.head_dim ? c.head_dim : c.hidden_size / c.num_attention_heads;
  // The distinct (in, out) shapes of the model's linears, lm_head included.
  std::set<std::pair<int64_t, int64_t>> shapes = {
      {c.hidden_size, c.num_attention_heads * hd}, {c.hidden_size, c.num_key_value_heads * hd},
      {c.num_attention_heads * hd, c.hidden_size}, {c.hidden_size, c.intermediate_size},
      {c.intermediate_size, c.hidden_size},        {c.hidden_size, c.vocab_size}};
  for (auto [in, out] : shapes) {
    torch::Tensor x = bf16_leaf({o.batch, o.seq_len, in}, 1.0, gen);
    torch::Tensor w = bf16_leaf({out, in}, 0.02, gen);
    rows.push_back(time_both(o, "linear " + std::to_string(in) + "x" + std::to_string(out),
                             [&] { linear_forward(x, w).sum().backward(); }));
  }
  {
    torch::Tensor q = bf16_leaf({o.batch, c.num_attention_heads, o.seq_len, hd}, 1.0, gen);
    torch::Tensor k = bf16_leaf({o.batch, c.num_attention_heads, o.seq_len, hd}, 1.0, gen);
    torch::Tensor v = bf16_leaf({o.batch, c.num_attention_heads, o.seq_len, hd}, 1.0, gen);
    const double scaling = 1.0 / std::sqrt(static_cast<double>(hd));
    rows.push_back(time_both(o, "attention (causal)", [&] {
      sdpa_forward(q, k, v, {}, true, scaling, false).sum().backward();
    }));
  }
  {
    LlamaForCausalLM m(c);
    llama_init_random(m, 0.02, gen);
    llama_to(m, torch::kCPU, torch::kBFloat16);
    torch::Tensor ids = torch::randint(c.vocab_size, {o.batch, o.seq_len}, gen);
    rows.push_back(time_both(o, "model step (fwd+bwd)", [&] {
      m->zero_grad();
      m->forward(ids).to(torch::kFloat32).logsumexp(-1).mean().backward();
    }));
  }
  return rows;
}

std::string bench_gemm_format(const std::vector<BenchGemmRow>& rows, const BenchGemmOptions& o) {
  std::string s;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "# relapse bench gemm: preset %s, batch %lld x %lld tokens, bf16 forward + "
                "backward, %d threads; this CPU has %sAVX512_BF16 / AMX-BF16\n",
                o.preset.c_str(), (long long)o.batch, (long long)o.seq_len, at::get_num_threads(),
                cpu_has_bf16_instructions() ? "" : "no ");
  s += buf;
  std::snprintf(buf, sizeof buf, "%-24s %12s %12s %8s\n", "op", "native(us)", "fp32(us)",
                "speedup");
  s += buf;
  for (const auto& r : rows) {
    std::snprintf(buf, sizeof buf, "%-24s %12.0f %12.0f %8.2f\n", r.op.c_str(), r.native_us,
                  r.fp32_us, r.native_us / r.fp32_us);
    s += buf;
  }
  return s;
}

}  // namespace relapse::model
