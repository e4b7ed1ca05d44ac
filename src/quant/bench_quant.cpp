// src/quant/bench_quant.cpp — measurements of `relapse bench quant`
// (relapse/quant/bench_quant.h).
#include "relapse/quant/bench_quant.h"

#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>

#include "relapse/core/error.h"
#include "relapse/core/rng.h"
#include "relapse/model/presets.h"
#include "relapse/quant/calibration.h"
#include "relapse/quant/quant_spec.h"
#include "relapse_kernels.h"

namespace relapse::quant {

namespace {
double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

model::LlamaConfig bench_config(const std::string& name) {
  if (name != "llama-134m") return model::model_preset(name, 32000);
  model::LlamaConfig c = model::model_preset("tiny", 32000);
  c.hidden_size = 768;
  c.num_hidden_layers = 12;
  c.num_attention_heads = 12;
  c.num_key_value_heads = 12;
  c.head_dim = 64;
  c.intermediate_size = 2048;
  return c;
}

model::LlamaForCausalLM bench_model(const model::LlamaConfig& c, torch::ScalarType dt) {
  model::LlamaForCausalLM m(c);
  torch::NoGradGuard ng;
  model::llama_init_random(m, 0.02, RngStreams(1).torch_generator("bench-quant/init"));
  m->to(dt);
  return m;
}

// The quantize: section of one bench method (rtn | rtn_kernel | gptq | awq |
// a bitsandbytes format) at the bench's bits and group size.
QuantizeSection bench_method_section(const std::string& method, const BenchQuantOptions& o) {
  QuantizeSection q;
  q.bits.clear();
  if (method == "rtn" || method == "rtn_kernel") {
    q.bits = {o.bits};
    q.group_size = static_cast<int>(o.group_size);
  } else if (method == "gptq") {
    q.gptq.bits = {o.bits};
    q.gptq.group_size = static_cast<int>(o.group_size);
  } else if (method == "awq") {
    q.awq.bits = {o.bits};
    q.awq.group_size = static_cast<int>(o.group_size);
  } else {
    q.bnb.formats = {method};
  }
  return q;
}

// kernels/'s CPU RTN straight on every selected weight (symmetric, per output
// row), rows split over libtorch's threads, fp32 in and out.
void rtn_kernel_apply(model::LlamaForCausalLM& m, const QuantSpec& spec, int bits) {
  for (auto& [k, w] : rtn_model_weights(m, spec.rtn)) {
    torch::Tensor x = w.to(torch::kFloat32).contiguous();
    const int64_t rows = x.size(0), cols = x.size(1), ng = 1;
    torch::Tensor codes = torch::empty({rows, cols}, torch::kInt32);
    torch::Tensor scales = torch::empty({rows, ng}, torch::kFloat32);
    torch::Tensor deq = torch::empty({rows, cols}, torch::kFloat32);
    at::parallel_for(0, rows, 16, [&](int64_t b, int64_t e) {
      kernels::rtn_quantize_cpu(x.data_ptr<float>() + b * cols, e - b, cols, cols, bits,
                                kernels::RtnKind::kSym, codes.data_ptr<int32_t>() + b * cols,
                                scales.data_ptr<float>() + b * ng, nullptr,
                                deq.data_ptr<float>() + b * cols);
    });
    w.copy_(deq);
  }
}

}  // namespace

std::vector<BenchQuantRow> bench_quant_run(const BenchQuantOptions& o, Communicator* comm) {
  torch::NoGradGuard ng;
  const torch::ScalarType dt = model::dtype_from_name(o.dtype);
  std::vector<BenchQuantRow> rows;
  for (const auto& name : o.models) {
    const model::LlamaConfig cfg = bench_config(name);
    model::LlamaForCausalLM base = bench_model(cfg, dt);
    auto weights = rtn_model_weights(base, RtnConfig{});
    int64_t n = 0;
    double bytes = 0;
    for (auto& [k, w] : weights) {
      n += w.numel();
      bytes += static_cast<double>(w.numel() * w.element_size());
    }
    // The copy reference: the same weights into preallocated buffers.
    std::vector<torch::Tensor> dst;
    for (auto& [k, w] : weights) dst.push_back(torch::empty_like(w));
    double copy_s = 1e30;
    for (int r = 0; r < o.repeats; ++r) {
      const double t0 = now_s();
      for (size_t i = 0; i < weights.size(); ++i) dst[i].copy_(weights[i].second);
      copy_s = std::min(copy_s, now_s() - t0);
    }
    std::vector<int64_t> toks(o.seq_len * 4 + 1);
    auto eng = RngStreams(1).std_engine("bench-quant/calibration");
    for (auto& t : toks) t = 3 + static_cast<int64_t>(eng() % (cfg.vocab_size - 3));
    torch::Tensor calib = calibration_windows(toks, o.n_samples, o.seq_len, 1, "bench tokens");
    for (const auto& method : o.methods) {
      const QuantSpec spec = quant_specs(bench_method_section(method, o)).at(0);
      const bool rtn = method == "rtn" || method == "rtn_kernel";
      const int reps = rtn ? o.repeats : 1;
      double best = 1e30;
      for (int r = 0; r < reps; ++r) {
        model::LlamaForCausalLM m = bench_model(cfg, dt);
        if (comm) comm->barrier();
        const double t0 = now_s();
        if (method == "rtn_kernel") {
          rtn_kernel_apply(m, spec, o.bits);
        } else {
          quant_apply(m, spec, calib, comm, /*keep_codes=*/false);
        }
        if (comm) comm->barrier();
        best = std::min(best, now_s() - t0);
      }
      BenchQuantRow row;
      row.model = name;
      row.method = method == "rtn_kernel" ? spec.label + "_kernel" : spec.label;
      row.linear_params = n;
      row.bytes = bytes;
      row.time_s = best;
      row.gbps = bytes / best / 1e9;
      row.copy_gbps = bytes / copy_s / 1e9;
      row.ratio = rtn ? best / copy_s : 0.0;
      rows.push_back(row);
    }
  }
  return rows;
}

std::string bench_quant_format(const std::vector<BenchQuantRow>& rows, const BenchQuantOptions& o,
                               int ranks) {
  std::string s;
  char line[512];
  std::snprintf(line, sizeof line,
                "# relapse bench quant: %d rank(s), %s weights, %d-bit, group %lld; GPTQ/AWQ "
                "calibration %lld x %lld tokens\n"
                "# GB/s = bytes of the quantized weights / time; copy = Tensor.copy_ of the "
                "same weights, same run; ratio = time / copy time (RTN, best of %d)\n",
                ranks, o.dtype.c_str(), o.bits, static_cast<long long>(o.group_size),
                static_cast<long long>(o.n_samples), static_cast<long long>(o.seq_len), o.repeats);
  s += line;
  std::snprintf(line, sizeof line, "%-12s %-10s %12s %10s %10s %10s %10s %8s\n", "#model", "method",
                "params", "MB", "time(s)", "GB/s", "copy_GB/s", "ratio");
  s += line;
  for (const auto& r : rows) {
    std::snprintf(line, sizeof line, "%-12s %-10s %12lld %10.1f %10.3f %10.3f %10.3f %8.2f\n",
                  r.model.c_str(), r.method.c_str(), static_cast<long long>(r.linear_params),
                  r.bytes / 1e6, r.time_s, r.gbps, r.copy_gbps, r.ratio);
    s += line;
  }
  return s;
}

}  // namespace relapse::quant
