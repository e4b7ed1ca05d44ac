// src/unlearn/bench_dp.cpp — `relapse bench dp` (relapse/unlearn/bench_dp.h).
#include "relapse/unlearn/bench_dp.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>

#include "relapse/core/error.h"
#include "relapse/core/rng.h"
#include "relapse/core/stats.h"
#include "relapse/dist/bench_comm.h"
#include "relapse/dist/communicator.h"
#include "relapse/dist/device.h"
#include "relapse/model/llama.h"
#include "relapse/unlearn/bench_model.h"
#include "relapse/unlearn/grad_reducer.h"
#include "relapse/unlearn/grad_sync.h"
#include "relapse/unlearn/losses.h"
#include "relapse/unlearn/trainer.h"

namespace relapse::unlearn {

namespace {

using Clock = std::chrono::steady_clock;

// The slowest rank's time of one step (a step ends for the group when its
// last rank is done).
double group_max(Communicator& dp, double s) {
  torch::Tensor t = torch::tensor({s}, torch::kFloat64);
  dp.all_reduce(t, ReduceOp::kMax);
  return t.item<double>();
}

}  // namespace

std::vector<BenchDpRow> bench_dp_run(Communicator& dp, const BenchDpOptions& o) {
  RELAPSE_CHECK_CONFIG(o.iters >= 1 && o.warmup >= 0, "bench dp: iters must be >= 1");
  const torch::Device dev =
      o.backend == "nccl"
          ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(bench_nccl_device(dp)))
          : torch::Device(torch::kCPU);
  const model::LlamaConfig cfg = bench_model_shape(o.shape);
  model::LlamaForCausalLM m(cfg);
  model::llama_init_random(m, 0.02, RngStreams(0).torch_generator("bench/init"));
  model::llama_to(m, dev, model::dtype_from_name(o.dtype));
  m->train();
  // Each rank its own rows, as in data-parallel training.
  at::Generator gen = RngStreams(static_cast<uint64_t>(dp.rank())).torch_generator("bench/ids");
  torch::Tensor ids =
      torch::randint(3, cfg.vocab_size, {o.batch, o.seq}, gen, torch::kInt64).to(dev);
  const TokenBatch b{ids, torch::ones_like(ids)};
  const std::vector<torch::Tensor> params = trainable_parameters(*m);
  AdamW opt(params, AdamWOptions{});
  const auto bytes = static_cast<int64_t>(o.bucket_mib * (1 << 20));
  std::vector<BenchDpRow> rows(2);
  std::vector<std::vector<double>> times(2);
  for (int mode = 0; mode < 2; ++mode) {
    rows[mode].mode = mode ? "overlapped" : "blocking";
    rows[mode].buckets = static_cast<int>(grad_buckets(params, bytes).size());
  }
  // Alternated, so both modes see the same drift of the machine.
  for (int it = 0; it < o.warmup + o.iters; ++it) {
    for (int mode = 0; mode < 2; ++mode) {
      GradBucketReducer r(dp, params, bytes, mode == 1);
      dp.barrier();
      const auto t0 = Clock::now();
      if (mode == 1) r.arm();
      causal_lm_loss(lm_forward_local(m, b), b).backward();
      r.finish();
      clip_grad_norm(params, 1.0);
      opt.step(1e-5);
      opt.zero_grad();
      device_synchronize(dev);
      const double s = group_max(dp, std::chrono::duration<double>(Clock::now() - t0).count());
      if (it >= o.warmup) times[mode].push_back(s);
      rows[mode].started_in_backward = r.started_in_backward();
    }
  }
  for (int mode = 0; mode < 2; ++mode) rows[mode].step_s = np_percentile_linear(times[mode], 50);
  return rows;
}

std::string bench_dp_format(const std::vector<BenchDpRow>& rows, const BenchDpOptions& o,
                            int ranks) {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line,
                "# relapse bench dp: backend %s, %d DP ranks, shape %s %s, %lld x %lld tokens "
                "per rank, buckets %.0f MiB (%d), median of %d (%d warmup), slowest rank\n",
                o.backend.c_str(), ranks, o.shape.c_str(), o.dtype.c_str(), (long long)o.batch,
                (long long)o.seq, o.bucket_mib, rows.empty() ? 0 : rows[0].buckets, o.iters,
                o.warmup);
  out << line << "mode        step_s     speedup  buckets_started_in_backward\n";
  const double base = rows.empty() ? 0 : rows[0].step_s;
  for (const auto& r : rows) {
    const bool all = r.buckets > 0 && r.started_in_backward == r.buckets;
    std::snprintf(line, sizeof line, "%-10s %7.4f  %10.3fx  %d of %d%s\n", r.mode.c_str(), r.step_s,
                  r.step_s > 0 ? base / r.step_s : 0.0, r.started_in_backward, r.buckets,
                  all ? " (all)" : "");
    out << line;
  }
  return out.str();
}

}  // namespace relapse::unlearn
