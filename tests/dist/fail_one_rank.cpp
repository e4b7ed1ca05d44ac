// tests/dist/fail_one_rank.cpp — a standalone MPI program (not GoogleTest) that
// checks "one failing rank ends the whole job". Usage: fail_one_rank [RANK]
// Rank RANK throws a relapse::Error (kInput) that is caught at top level and
// passed to runtime_abort, while every other rank waits in MPI_Barrier — they
// would wait forever unless the abort takes the job down. Without RANK (or
// with a rank outside the world) every rank passes the barrier and exits 0.
// Usage: fail_one_rank --in-collective RANK — every rank runs a sequence of
// communicator all_reduces (checking each result); rank RANK throws in the
// middle of it while the others are already blocked in the next all_reduce.
// Usage: fail_one_rank --stall-nccl — on a GPU (launch/device-smoke.sh): a
// host function that sleeps for 10 minutes is queued on the stream, an NCCL
// all_reduce behind it, and the host waits for the result; only the NCCL
// watchdog (relapse/dist/watchdog.h) can end this, after
// RELAPSE_NCCL_TIMEOUT_S, with exit 5 naming the op. Exit 77 without a GPU.
// tests/dist/check_exit.cmake runs it and checks exit status, time and stderr.
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "relapse/core/error.h"
#include "relapse/dist/communicator.h"
#include "relapse/dist/runtime.h"

#ifdef RELAPSE_FAIL_ONE_RANK_CUDA
#include <cuda_runtime.h>
#include <unistd.h>
#endif

namespace {

int parse_rank(const char* s) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  RELAPSE_CHECK_INPUT(end != s && *end == '\0', "fail_one_rank: bad rank argument '", s, "'");
  return static_cast<int>(v);
}

// Ten all_reduces of a 1024-float vector; rank `fail_rank` throws after the
// fifth, so the others sit in the sixth (a collective that can never finish).
void collective_sequence(relapse::Communicator& comm, int fail_rank) {
  const int n = comm.size();
  for (int step = 0; step < 10; ++step) {
    RELAPSE_CHECK_INPUT(!(step == 5 && comm.rank() == fail_rank), "deliberate failure on rank ",
                        comm.rank(), " inside collective step ", step);
    torch::Tensor t = torch::full({1024}, static_cast<float>(comm.rank() + step));
    comm.all_reduce(t, relapse::ReduceOp::kSum);
    const float want = static_cast<float>(n * (n - 1) / 2 + n * step);  // sum of rank + step
    RELAPSE_CHECK(t.eq(want).all().item<bool>(), "all_reduce step ", step, " gave ",
                  t[0].item<float>(), ", expected ", want);
  }
}

// A stream that never gets to the collective: what a peer that died or hangs
// looks like from this rank (its NCCL kernel never completes).
int stall_nccl() {
#ifdef RELAPSE_FAIL_ONE_RANK_CUDA
  if (!relapse::comm_nccl_built() || relapse::comm_cuda_device_count() == 0) {
    std::printf("fail_one_rank --stall-nccl: no GPU or no NCCL, skipped\n");
    return 77;
  }
  std::unique_ptr<relapse::Communicator> comm = relapse::comm_nccl_create(MPI_COMM_WORLD);
  torch::Tensor t = torch::ones({1024}, torch::Device(torch::kCUDA, 0));
  auto sleep_600 = [](void*) { ::sleep(600); };
  RELAPSE_CHECK(cudaLaunchHostFunc(nullptr, sleep_600, nullptr) == cudaSuccess,
                "cudaLaunchHostFunc failed");
  comm->all_reduce(t, relapse::ReduceOp::kSum);
  std::printf("fail_one_rank --stall-nccl: %f — the watchdog did not fire\n",
              t.sum().item<float>());
  return 1;
#else
  std::printf("fail_one_rank --stall-nccl: built without NCCL, skipped\n");
  return 77;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  // Constructed outside the try block on purpose: an exception leaving the
  // block must not run ~Runtime (MPI_Finalize) before runtime_abort.
  relapse::Runtime runtime(&argc, &argv);
  // Also outside the try block: its destructor (MPI_Comm_free) must not run
  // between the throw and runtime_abort.
  std::unique_ptr<relapse::Communicator> comm;
  try {
    if (argc > 1 && std::strcmp(argv[1], "--stall-nccl") == 0) return stall_nccl();
    if (argc > 2 && std::strcmp(argv[1], "--in-collective") == 0) {
      comm = relapse::comm_mpi_create(MPI_COMM_WORLD);
      collective_sequence(*comm, parse_rank(argv[2]));
      if (runtime.rank() == 0)
        std::printf("fail_one_rank: all %d ranks finished the collective sequence\n",
                    runtime.world_size());
      return 0;
    }
    int fail_rank = -1;
    if (argc > 1) fail_rank = parse_rank(argv[1]);
    RELAPSE_CHECK_INPUT(runtime.rank() != fail_rank, "deliberate failure on rank ", runtime.rank());
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    RELAPSE_CHECK_CODE(relapse::ExitCode::kRuntime, rc == MPI_SUCCESS, "MPI_Barrier failed (code ",
                       rc, ")");
    if (runtime.rank() == 0)
      std::printf("fail_one_rank: all %d ranks passed the barrier\n", runtime.world_size());
  } catch (const relapse::Error& e) {
    relapse::runtime_abort(e);
  }
  return 0;
}
