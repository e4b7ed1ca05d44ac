// relapse/dist/device.h — the one device of a rank (run.device, DESIGN.md
// "Devices and parallelism"): every tensor of the rank lives there and the
// communicators follow it (NCCL for CUDA tensors, MPI for CPU tensors).
#pragma once
#include <mpi.h>

#include <string>
#include <vector>

#include <torch/torch.h>

namespace relapse {

// The values run.device takes, written once: auto | cpu | cuda.
const std::vector<std::string>& device_setting_names();

// The device of a rank for a run.device value: "cpu"; "cuda" = cuda:<local_rank
// mod visible devices>, an error (kConfig naming `key`) when no CUDA device is
// visible; "auto" = that CUDA device when there is one, else the CPU.
torch::Device device_resolve(const std::string& setting, int local_rank,
                             const std::string& key = "run.device");

// The rank's index among the ranks of its node (MPI_COMM_TYPE_SHARED split of `comm`;
// collective over `comm`).
int device_node_local_rank(MPI_Comm comm);

// This process's node-local rank in MPI_COMM_WORLD, computed once: the first
// call is a collective over the world, and Runtime's constructor makes it, so
// code running on a sub-communicator (a sweep's cells) never enters one.
int device_world_local_rank();

// Number of CUDA devices libtorch sees (0 on CPU-only machines).
int device_cuda_count();

// Waits for everything queued on `d` (a one-element host read); nothing on
// the CPU. Benchmarks time device work with it.
void device_synchronize(const torch::Device& d);

// One line for --version and provenance: "cuda:0 (NVIDIA H100 80GB HBM3, sm_90, 79.1 GiB)
// of 1" or "cpu (no CUDA device visible)".
std::string device_describe(const torch::Device& d);

}  // namespace relapse
