// src/dist/bench_comm.cpp — `relapse bench comm`'s measurements: for each size,
// relapse's Communicator op and the raw library call on the same buffer, each
// timed as a loop after a barrier (median per op, slowest rank), reported with
// nccl-tests' algbw / busbw definitions.
#include "relapse/dist/bench_comm.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "relapse/core/stats.h"

namespace relapse {

double bench_busbw_factor(const std::string& op, int ranks) {
  RELAPSE_CHECK_CONFIG(ranks >= 1, "bench: rank count ", ranks);
  const double n = ranks;
  if (op == "all_reduce") return 2.0 * (n - 1) / n;
  if (op == "all_gather") return (n - 1) / n;
  RELAPSE_THROW(ExitCode::kConfig, "bench comm: unknown op '", op,
                "' (expected all_reduce or all_gather)");
}

double bench_algbw(int64_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / seconds / 1e9 : 0.0;
}

namespace {

// bfloat16 sum for the raw MPI_Allreduce baseline (MPI has no bf16 type):
// each pair is added in float and rounded to nearest even, the same work a
// hand-written MPI code would do.
void bf16_sum(void* in, void* inout, int* len, MPI_Datatype*) {
  auto* a = static_cast<const uint16_t*>(in);
  auto* b = static_cast<uint16_t*>(inout);
  for (int i = 0; i < *len; ++i) {
    uint32_t ua = uint32_t(a[i]) << 16, ub = uint32_t(b[i]) << 16;
    float fa, fb;
    std::memcpy(&fa, &ua, 4);
    std::memcpy(&fb, &ub, 4);
    float s = fa + fb;
    uint32_t us;
    std::memcpy(&us, &s, 4);
    us += 0x7fff + ((us >> 16) & 1);  // round to nearest even (no NaN inputs here)
    b[i] = static_cast<uint16_t>(us >> 16);
  }
}

// Warm-up ops, a barrier, then `iters` ops each timed alone; the median.
template <typename F>
double time_loop(Communicator& sync, int iters, int warmup, F&& one) {
  for (int i = 0; i < warmup; ++i) one();
  sync.barrier();
  std::vector<double> t(static_cast<size_t>(iters));
  for (auto& ti : t) {
    auto t0 = std::chrono::steady_clock::now();
    one();
    ti = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return np_percentile_linear(std::move(t), 50);
}

double max_over_ranks(double v, MPI_Comm comm) {
  double out = v;
  RELAPSE_MPI_CHECK(MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_MAX, comm));
  return out;
}

}  // namespace

std::vector<BenchCommRow> bench_comm_run(MPI_Comm comm, const BenchCommOptions& opt) {
  RELAPSE_CHECK_CONFIG(opt.dtype == torch::kFloat32 || opt.dtype == torch::kBFloat16,
                       "bench comm: --dtype must be float32 or bfloat16");
  RELAPSE_CHECK_CONFIG(opt.min_bytes >= 1 && opt.max_bytes >= opt.min_bytes,
                       "bench comm: need 1 <= --min-bytes <= --max-bytes, got ", opt.min_bytes,
                       " and ", opt.max_bytes);
  RELAPSE_CHECK_CONFIG(opt.iters >= 1 && opt.warmup >= 0, "bench comm: --iters must be >= 1");
  for (const auto& op : opt.ops) bench_busbw_factor(op, 1);  // validates the names

  std::unique_ptr<Communicator> c =
      opt.backend == CommBackend::kNccl ? comm_nccl_create(comm) : comm_mpi_create(comm);
  std::unique_ptr<Communicator> host = comm_mpi_create(comm);  // barriers for the MPI loops
  const bool nccl = opt.backend == CommBackend::kNccl;
  const int n = c->size();
  const int64_t esize = c10::elementSize(opt.dtype);
  torch::TensorOptions to = torch::TensorOptions().dtype(opt.dtype);
  if (nccl) to = to.device(torch::Device(torch::kCUDA, bench_nccl_device(*c)));
  const bool bf16 = opt.dtype == torch::kBFloat16;
  MPI_Datatype raw_ty = bf16 ? MPI_UINT16_T : MPI_FLOAT;
  MPI_Op raw_sum = MPI_SUM;
  if (bf16) RELAPSE_MPI_CHECK(MPI_Op_create(&bf16_sum, /*commute=*/1, &raw_sum));

  std::vector<BenchCommRow> rows;
  for (const auto& op : opt.ops) {
    const bool gather = op == "all_gather";
    for (int64_t bytes = opt.min_bytes; bytes <= opt.max_bytes; bytes *= 2) {
      // Elements per rank: all_reduce reduces `bytes`; all_gather's output is
      // `bytes` (nccl-tests' convention), rounded down to a multiple of n.
      int64_t per_rank = gather ? bytes / (esize * n) : bytes / esize;
      if (per_rank < 1) continue;
      BenchCommRow r;
      r.op = op;
      r.ranks = n;
      r.count = gather ? per_rank * n : per_rank;
      r.bytes = r.count * esize;
      torch::Tensor buf = torch::zeros({per_rank}, to);
      torch::Tensor out;
      if (gather) out = torch::zeros({per_rank * n}, to);
      Communicator& sync = nccl ? *c : *host;
      double t = time_loop(sync, opt.iters, opt.warmup, [&] {
        if (gather) {
          c->all_gather_into(buf, out);
        } else {
          c->all_reduce(buf, ReduceOp::kSum);
        }
      });
      double raw = 0;
      if (nccl) {
        raw = time_loop(sync, opt.iters, opt.warmup, bench_nccl_raw_op(*c, buf, out, op));
      } else {
        raw = time_loop(*host, opt.iters, opt.warmup, [&] {
          int cnt = static_cast<int>(per_rank);
          if (gather) {
            RELAPSE_MPI_CHECK(
                MPI_Allgather(buf.data_ptr(), cnt, raw_ty, out.data_ptr(), cnt, raw_ty, comm));
          } else {
            RELAPSE_MPI_CHECK(
                MPI_Allreduce(MPI_IN_PLACE, buf.data_ptr(), cnt, raw_ty, raw_sum, comm));
          }
        });
      }
      r.time_s = max_over_ranks(t, comm);
      r.raw_time_s = max_over_ranks(raw, comm);
      const double f = bench_busbw_factor(op, n);
      r.algbw = bench_algbw(r.bytes, r.time_s);
      r.busbw = r.algbw * f;
      r.raw_algbw = bench_algbw(r.bytes, r.raw_time_s);
      r.raw_busbw = r.raw_algbw * f;
      r.ratio = r.raw_time_s > 0 ? r.time_s / r.raw_time_s : 0.0;
      rows.push_back(r);
      if (bytes > opt.max_bytes / 2) break;  // no overflow past max
    }
  }
  if (bf16) MPI_Op_free(&raw_sum);
  return rows;
}

}  // namespace relapse
