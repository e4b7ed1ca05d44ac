// src/dist/gather.cpp — gathering per-sample results from data-parallel ranks
// back into sample order (relapse/dist/gather.h). Communicator::all_gather
// needs the same shape on every rank, so variable-sized data travels in two
// rounds: first the per-sample lengths (padded to the largest shard), then the
// concatenated payload (padded to the largest payload); each rank unpads.
// Every rank takes part in every collective, also one whose shard is empty.
#include "relapse/dist/gather.h"

#include <algorithm>
#include <cstring>

#include "relapse/core/error.h"
#include "relapse/dist/communicator.h"

namespace relapse {

namespace {

// Samples in rank `rank`'s shard: whole blocks b ≡ rank (mod size), the last
// block possibly short.
int64_t shard_count(int64_t n, int rank, int size, int64_t block) {
  const int64_t blocks = (n + block - 1) / block;
  int64_t count = 0;
  for (int64_t b = rank; b < blocks; b += size) count += std::min(block, n - b * block);
  return count;
}

void check_args(int64_t n, int rank, int size, int64_t block) {
  RELAPSE_CHECK(size > 0 && rank >= 0 && rank < size, "dist: bad rank ", rank, " of ", size);
  RELAPSE_CHECK(n >= 0, "dist: negative sample count ", n);
  RELAPSE_CHECK(block >= 1, "dist: block size must be >= 1, got ", block);
}

// all_gather of a 1-D tensor of `len` elements, the same len on every rank
// (padded to at least one element: no zero-sized messages).
torch::Tensor gather_flat(Communicator& comm, torch::Tensor local, int64_t len) {
  const int64_t padded = std::max<int64_t>(len, 1);
  torch::Tensor buf = torch::zeros({padded}, local.options());
  if (local.numel() > 0) buf.narrow(0, 0, local.numel()).copy_(local);
  return comm.all_gather(buf);  // [size * padded]
}

// Variable-length rows of element type T (dtype dt): lengths first, then data.
template <typename T>
std::vector<std::vector<T>> gather_rows(Communicator& comm,
                                        const std::vector<std::vector<T>>& local, int64_t n,
                                        int64_t block, at::ScalarType dt) {
  const int D = comm.size(), me = comm.rank();
  check_args(n, me, D, block);
  RELAPSE_CHECK(static_cast<int64_t>(local.size()) == shard_count(n, me, D, block),
                "dist gather: rank ", me, " holds ", local.size(), " samples, its shard of ", n,
                " has ", shard_count(n, me, D, block));
  const int64_t maxc = shard_count(n, 0, D, block);  // rank 0 always holds the most
  torch::Tensor lens = torch::zeros({static_cast<int64_t>(local.size())}, torch::kInt64);
  int64_t total = 0;
  int64_t* lp = lens.data_ptr<int64_t>();
  for (size_t j = 0; j < local.size(); ++j) {
    lp[j] = static_cast<int64_t>(local[j].size());
    total += lp[j];
  }
  torch::Tensor all_lens = gather_flat(comm, lens, maxc).contiguous();
  const int64_t lstride = std::max<int64_t>(maxc, 1);
  const int64_t* L = all_lens.data_ptr<int64_t>();
  std::vector<int64_t> totals(D, 0);
  for (int r = 0; r < D; ++r)
    for (int64_t j = 0; j < shard_count(n, r, D, block); ++j) totals[r] += L[r * lstride + j];
  RELAPSE_CHECK(totals[me] == total, "dist gather: inconsistent lengths on rank ", me);
  const int64_t maxt = *std::max_element(totals.begin(), totals.end());

  torch::Tensor data = torch::empty({total}, torch::TensorOptions().dtype(dt));
  T* dp = total > 0 ? static_cast<T*>(data.data_ptr()) : nullptr;
  for (const auto& row : local) {
    if (!row.empty()) std::memcpy(dp, row.data(), row.size() * sizeof(T));
    dp += row.size();
  }
  torch::Tensor all_data = gather_flat(comm, data, maxt).contiguous();
  const int64_t dstride = std::max<int64_t>(maxt, 1);
  const T* A = static_cast<const T*>(all_data.data_ptr());

  std::vector<std::vector<T>> out(n);
  for (int r = 0; r < D; ++r) {
    const T* src = A + r * dstride;
    std::vector<int64_t> idx = dist_shard(n, r, D, block);
    for (size_t j = 0; j < idx.size(); ++j) {
      int64_t len = L[r * lstride + j];
      out[idx[j]].assign(src, src + len);
      src += len;
    }
  }
  return out;
}

bool single(Communicator* comm) {
  return comm == nullptr || comm->size() == 1;
}

}  // namespace

std::vector<int64_t> dist_shard(int64_t n, int rank, int size, int64_t block) {
  check_args(n, rank, size, block);
  std::vector<int64_t> out;
  out.reserve(shard_count(n, rank, size, block));
  for (int64_t b0 = rank * block; b0 < n; b0 += size * block)
    for (int64_t i = b0; i < std::min(n, b0 + block); ++i) out.push_back(i);
  return out;
}

std::vector<double> dist_gather_doubles(Communicator* comm, const std::vector<double>& local,
                                        int64_t n, int64_t block) {
  if (single(comm)) {
    RELAPSE_CHECK(static_cast<int64_t>(local.size()) == n, "dist gather: ", local.size(),
                  " values for ", n, " samples");
    return local;
  }
  const int D = comm->size(), me = comm->rank();
  check_args(n, me, D, block);
  RELAPSE_CHECK(static_cast<int64_t>(local.size()) == shard_count(n, me, D, block),
                "dist gather: rank ", me, " holds ", local.size(), " values, its shard of ", n,
                " has ", shard_count(n, me, D, block));
  // The counts are known from n, so one round suffices.
  const int64_t maxc = shard_count(n, 0, D, block), stride = std::max<int64_t>(maxc, 1);
  torch::Tensor t = torch::empty({static_cast<int64_t>(local.size())}, torch::kFloat64);
  if (!local.empty())
    std::memcpy(t.data_ptr<double>(), local.data(), local.size() * sizeof(double));
  torch::Tensor all = gather_flat(*comm, t, maxc).contiguous();
  const double* A = all.data_ptr<double>();
  std::vector<double> out(n);
  for (int r = 0; r < D; ++r) {
    std::vector<int64_t> idx = dist_shard(n, r, D, block);
    for (size_t j = 0; j < idx.size(); ++j) out[idx[j]] = A[r * stride + j];
  }
  return out;
}

std::vector<std::string> dist_gather_strings(Communicator* comm,
                                             const std::vector<std::string>& local, int64_t n,
                                             int64_t block) {
  if (single(comm)) {
    RELAPSE_CHECK(static_cast<int64_t>(local.size()) == n, "dist gather: ", local.size(),
                  " strings for ", n, " samples");
    return local;
  }
  std::vector<std::vector<uint8_t>> rows;
  rows.reserve(local.size());
  for (const auto& s : local) rows.emplace_back(s.begin(), s.end());
  auto all = gather_rows<uint8_t>(*comm, rows, n, block, torch::kUInt8);
  std::vector<std::string> out;
  out.reserve(all.size());
  for (const auto& r : all) out.emplace_back(r.begin(), r.end());
  return out;
}

std::vector<std::vector<int64_t>> dist_gather_rows(Communicator* comm,
                                                   const std::vector<std::vector<int64_t>>& local,
                                                   int64_t n, int64_t block) {
  if (single(comm)) {
    RELAPSE_CHECK(static_cast<int64_t>(local.size()) == n, "dist gather: ", local.size(),
                  " rows for ", n, " samples");
    return local;
  }
  return gather_rows<int64_t>(*comm, local, n, block, torch::kInt64);
}

}  // namespace relapse
