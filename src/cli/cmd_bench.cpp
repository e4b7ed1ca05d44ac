// src/cli/cmd_bench.cpp — `relapse bench`: a parent for micro-benchmarks.
// `relapse bench comm` times relapse's all-reduce / all-gather against the raw
// MPI (or NCCL) call on the same buffer and prints an nccl-tests style table
// (measurements in src/dist/bench_comm.cpp). `relapse bench quant` times
// RTN/GPTQ/AWQ on whole models (src/quant/bench_quant.cpp). `relapse bench
// train|score|generate` compares tokens/s with Hugging Face transformers
// (src/unlearn/bench_model.cpp, launch/bench/hf_reference.py). `relapse bench
// dp` times the data-parallel step with the gradient reduction after the
// backward and overlapped with it (src/unlearn/bench_dp.cpp). `relapse bench
// gemm` times bf16 linears, attention and a model step on the CPU with
// libtorch's bf16 kernels and with the fp32 path (src/model/bench_gemm.cpp).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "commands.h"
#include "relapse/core/log.h"
#include "relapse/dist/bench_comm.h"
#include "relapse/dist/device.h"
#include "relapse/dist/process_grid.h"
#include "relapse/model/bench_gemm.h"
#include "relapse/model/presets.h"
#include "relapse/quant/bench_quant.h"
#include "relapse/unlearn/bench_dp.h"
#include "relapse/unlearn/bench_model.h"

namespace relapse::cli {

namespace {

struct BenchCommArgs {
  int64_t min_bytes = 8, max_bytes = int64_t(256) << 20;
  int iters = 20, warmup = 5;
  std::string dtype = "float32", backend = "mpi", op = "all";
};

std::string bench_comm_format(const std::vector<BenchCommRow>& rows, const BenchCommOptions& o,
                              const std::string& dtype) {
  const bool nccl = o.backend == CommBackend::kNccl;
  std::string s;
  char line[512];
  std::snprintf(line, sizeof line,
                "# relapse bench comm: backend %s, %d ranks, %s, %d iters (%d warmup)\n"
                "# time = median over the timed ops (loop after a barrier), slowest rank\n"
                "# algbw = size / time, busbw = algbw * 2(n-1)/n (all_reduce) or (n-1)/n "
                "(all_gather), GB/s = 1e9 B/s\n"
                "# raw = %s on the same buffer, same run; ratio = time / raw time\n",
                comm_backend_name(o.backend), rows.empty() ? 0 : rows[0].ranks, dtype.c_str(),
                o.iters, o.warmup,
                nccl ? "ncclAllReduce / ncclAllGather" : "MPI_Allreduce / MPI_Allgather");
  s += line;
  std::snprintf(line, sizeof line, "%-10s %12s %11s %12s %10s %10s %12s %10s %10s %7s\n", "#op",
                "size(B)", "count", "time(us)", "algbw", "busbw", "raw_time(us)", "raw_algbw",
                "raw_busbw", "ratio");
  s += line;
  for (const auto& r : rows) {
    std::snprintf(
        line, sizeof line, "%-10s %12lld %11lld %12.2f %10.3f %10.3f %12.2f %10.3f %10.3f %7.3f\n",
        r.op.c_str(), static_cast<long long>(r.bytes), static_cast<long long>(r.count),
        r.time_s * 1e6, r.algbw, r.busbw, r.raw_time_s * 1e6, r.raw_algbw, r.raw_busbw, r.ratio);
    s += line;
  }
  return s;
}

void cmd_bench_comm_add(CLI::App& bench, CommandRun& run) {
  auto a = std::make_shared<BenchCommArgs>();
  CLI::App* c = bench.add_subcommand(
      "comm",
      "All-reduce / all-gather time and bandwidth (nccl-tests' algbw, busbw) against the "
      "raw MPI/NCCL call");
  c->add_option("--min-bytes", a->min_bytes, "Smallest message size in bytes (default 8)")
      ->check(CLI::PositiveNumber);
  c->add_option("--max-bytes", a->max_bytes, "Largest message size in bytes (default 256 MiB)")
      ->check(CLI::PositiveNumber);
  c->add_option("--iters", a->iters, "Timed iterations per size (default 20)")
      ->check(CLI::PositiveNumber);
  c->add_option("--warmup", a->warmup, "Untimed iterations before each loop (default 5)")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--dtype", a->dtype, "float32|bfloat16 (default float32)")
      ->check(CLI::IsMember({"float32", "bfloat16"}));
  c->add_option("--backend", a->backend, "mpi|nccl (default mpi)")
      ->check(CLI::IsMember({"mpi", "nccl"}));
  c->add_option("--op", a->op, "all_reduce|all_gather|all (default all)")
      ->check(CLI::IsMember({"all_reduce", "all_gather", "all"}));
  c->callback([a, &run] {
    run = [a](Runtime& rt) {
      BenchCommOptions o;
      o.min_bytes = a->min_bytes;
      o.max_bytes = a->max_bytes;
      o.iters = a->iters;
      o.warmup = a->warmup;
      o.dtype = a->dtype == "bfloat16" ? torch::kBFloat16 : torch::kFloat32;
      o.backend = comm_backend_parse(a->backend);
      if (a->op != "all") o.ops = {a->op};
      std::vector<BenchCommRow> rows = bench_comm_run(rt.world(), o);
      if (rt.rank() == 0) {
        std::fputs(bench_comm_format(rows, o, a->dtype).c_str(), stdout);
        std::fflush(stdout);
      }
      return 0;
    };
  });
}

void cmd_bench_quant_add(CLI::App& bench, CommandRun& run) {
  auto a = std::make_shared<quant::BenchQuantOptions>();
  CLI::App* c = bench.add_subcommand(
      "quant",
      "Time to quantize whole models with RTN, GPTQ, AWQ (and fp4/nf4/llm_int8), and RTN's "
      "GB/s against a copy of the same weights");
  c->add_option("--models", a->models, "tiny|small|base|llama-134m ...")->capture_default_str();
  c->add_option("--methods", a->methods, "rtn gptq awq fp4 nf4 llm_int8")->capture_default_str();
  c->add_option("--dtype", a->dtype, "float32|bfloat16")
      ->check(CLI::IsMember({"float32", "bfloat16"}))
      ->capture_default_str();
  c->add_option("--bits", a->bits, "8 or 4")->capture_default_str();
  c->add_option("--group-size", a->group_size, "group size (-1 = per row)")->capture_default_str();
  c->add_option("--n-samples", a->n_samples, "GPTQ/AWQ calibration windows")->capture_default_str();
  c->add_option("--seq-len", a->seq_len, "tokens per window")->capture_default_str();
  c->add_option("--repeats", a->repeats, "RTN and copy: best of N")->capture_default_str();
  c->callback([a, &run] {
    run = [a](Runtime& rt) {
      std::unique_ptr<Communicator> comm;
      if (rt.world_size() > 1) comm = comm_mpi_create(rt.world());
      auto rows = quant::bench_quant_run(*a, comm.get());
      if (rt.rank() == 0) {
        std::fputs(quant::bench_quant_format(rows, *a, rt.world_size()).c_str(), stdout);
        std::fflush(stdout);
      }
      return 0;
    };
  });
}

void cmd_bench_gemm_add(CLI::App& bench, CommandRun& run) {
  auto a = std::make_shared<model::BenchGemmOptions>();
  CLI::App* c = bench.add_subcommand(
      "gemm",
      "bf16 linears, attention and a model step (forward + backward) on the CPU: libtorch's "
      "bf16 kernels against model.cpu_bf16_gemm's fp32 path, in the same process");
  c->add_option("--preset", a->preset, "model shape")
      ->check(CLI::IsMember(model::model_preset_names()))
      ->capture_default_str();
  c->add_option("--vocab", a->vocab, "vocabulary size")->capture_default_str();
  c->add_option("--batch", a->batch, "rows per batch")->capture_default_str();
  c->add_option("--seq-len", a->seq_len, "tokens per row")->capture_default_str();
  c->add_option("--iters", a->iters, "timed calls per round (best of 3 rounds)")
      ->capture_default_str();
  c->callback([a, &run] {
    run = [a](Runtime& rt) {
      auto rows = model::bench_gemm_run(*a);
      if (rt.rank() == 0) {
        std::fputs(model::bench_gemm_format(rows, *a).c_str(), stdout);
        std::fflush(stdout);
      }
      return 0;
    };
  });
}

// The reference's interpreter: $RELAPSE_PYTHON, else the project's venv
// (launch/setup.sh), else python3 from the PATH.
std::string bench_default_python() {
  if (const char* e = std::getenv("RELAPSE_PYTHON")) return e;
  const std::string venv = std::string(RELAPSE_SOURCE_DIR) + "/.deps/venv/bin/python";
  if (std::filesystem::exists(venv)) return venv;
  return "python3";
}

// The model shape and dtype options of the model benchmarks (train, score,
// generate, dp).
void add_shape_dtype(CLI::App& c, std::string& shape, std::string& dtype) {
  c.add_option("--shape", shape, "30m (d 512, 8 layers) | 1b (Llama-3.2-1B sizes)")
      ->check(CLI::IsMember(unlearn::bench_model_shape_names()))
      ->capture_default_str();
  c.add_option("--dtype", dtype, "float32|bfloat16")
      ->check(CLI::IsMember({"float32", "bfloat16"}))
      ->capture_default_str();
}

void cmd_bench_model_add(CLI::App& bench, CommandRun& run, const std::string& mode,
                         const char* help) {
  auto a = std::make_shared<unlearn::BenchModelOptions>();
  a->mode = mode;
  a->python = bench_default_python();
  a->reference = std::string(RELAPSE_SOURCE_DIR) + "/launch/bench/hf_reference.py";
  if (mode == "generate") {
    a->batch = 8;
    a->seq = 32;
  }
  auto no_ref = std::make_shared<bool>(false);
  CLI::App* c = bench.add_subcommand(mode, help);
  add_shape_dtype(*c, a->shape, a->dtype);
  c->add_option("--device", a->device, "auto|cpu|cuda (as run.device)")
      ->check(CLI::IsMember(device_setting_names()))
      ->capture_default_str();
  c->add_option("--threads", a->threads, "intra-op threads of both sides (0 = default)")
      ->capture_default_str();
  c->add_option("--batch", a->batch, "rows per batch")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--seq", a->seq,
                mode == "generate" ? "prompt length in tokens" : "sequence length in tokens")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  if (mode == "generate")
    c->add_option("--new-tokens", a->new_tokens, "tokens generated per row")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
  c->add_option("--iters", a->iters, "timed runs (median)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--warmup", a->warmup, "untimed runs first")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  c->add_option("--python", a->python,
                "interpreter with torch and transformers for the reference "
                "($RELAPSE_PYTHON, else .deps/venv/bin/python, else python3)")
      ->capture_default_str();
  c->add_option("--reference", a->reference, "the reference script")->capture_default_str();
  c->add_flag("--no-reference", *no_ref, "measure relapse only");
  c->callback([a, no_ref, &run] {
    run = [a, no_ref](Runtime& rt) {
      if (*no_ref) a->python.clear();
      a->work_dir =
          (std::filesystem::temp_directory_path() / ("relapse-bench-" + std::to_string(::getpid())))
              .string();
      std::vector<unlearn::BenchModelRow> rows;
      if (rt.rank() == 0) {
        rows = unlearn::bench_model_run(*a);
        std::filesystem::remove_all(a->work_dir);
        std::fputs(unlearn::bench_model_format(rows, *a).c_str(), stdout);
        std::fflush(stdout);
      }
      return 0;
    };
  });
}

void cmd_bench_dp_add(CLI::App& bench, CommandRun& run) {
  auto a = std::make_shared<unlearn::BenchDpOptions>();
  CLI::App* c = bench.add_subcommand(
      "dp",
      "Data-parallel training step with the gradient all-reduce after the backward against "
      "overlapped with it (parallel.overlap_grad_reduce); run under mpirun");
  add_shape_dtype(*c, a->shape, a->dtype);
  c->add_option("--backend", a->backend, "mpi (CPU) | nccl (CUDA)")
      ->check(CLI::IsMember({"mpi", "nccl"}))
      ->capture_default_str();
  c->add_option("--batch", a->batch, "rows per rank")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--seq", a->seq, "tokens per row")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--bucket-mib", a->bucket_mib, "gradient bucket size in MiB")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--iters", a->iters, "timed steps per mode (median)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--warmup", a->warmup, "untimed steps per mode first")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  c->callback([a, &run] {
    run = [a](Runtime& rt) {
      auto comm = comm_backend_parse(a->backend) == CommBackend::kNccl
                      ? comm_nccl_create(rt.world())
                      : comm_mpi_create(rt.world());
      auto rows = unlearn::bench_dp_run(*comm, *a);
      if (rt.rank() == 0) {
        std::fputs(unlearn::bench_dp_format(rows, *a, rt.world_size()).c_str(), stdout);
        std::fflush(stdout);
      }
      return 0;
    };
  });
}

}  // namespace

void cmd_bench_register(CLI::App& app, CommandRun& run) {
  CLI::App* bench = app.add_subcommand(
      "bench",
      "Benchmarks against a reference in the same run (comm, quant, train, score, generate, dp)");
  bench->require_subcommand(1);
  cmd_bench_comm_add(*bench, run);
  cmd_bench_quant_add(*bench, run);
  cmd_bench_model_add(*bench, run, "train",
                      "Tokens/s of a training step (AdamW in the model dtype) against HF "
                      "transformers");
  cmd_bench_model_add(*bench, run, "score",
                      "Tokens/s of scoring (per-token log-probabilities) against HF transformers");
  cmd_bench_model_add(*bench, run, "generate",
                      "Tokens/s of batched greedy generation against HF transformers' generate");
  cmd_bench_dp_add(*bench, run);
  cmd_bench_gemm_add(*bench, run);
}

RELAPSE_REGISTER_COMMAND(80, cmd_bench_register);

}  // namespace relapse::cli
