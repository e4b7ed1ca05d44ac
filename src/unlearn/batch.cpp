// src/unlearn/batch.cpp — token batches (see relapse/unlearn/batch.h).
#include "relapse/unlearn/batch.h"

#include <algorithm>

#include "relapse/core/error.h"

namespace relapse::unlearn {

TokenBatch batch_from_rows(const std::vector<std::vector<int64_t>>& chunks,
                           const std::vector<int64_t>& rows, const std::string& what) {
  RELAPSE_CHECK_INPUT(!rows.empty(), what, ": empty batch");
  const int64_t n = static_cast<int64_t>(chunks.size());
  for (int64_t r : rows) {
    RELAPSE_CHECK_INPUT(r >= 0 && r < n, what, ": row ", r, " out of range [0, ", n, ")");
  }
  const int64_t T = static_cast<int64_t>(chunks[rows[0]].size());
  RELAPSE_CHECK_INPUT(T > 0, what, ": chunk ", rows[0], " is empty");
  const int64_t B = static_cast<int64_t>(rows.size());
  torch::Tensor ids = torch::empty({B, T}, torch::kInt64);
  int64_t* dst = ids.data_ptr<int64_t>();
  for (int64_t i = 0; i < B; ++i) {
    const auto& c = chunks[rows[i]];
    RELAPSE_CHECK_INPUT(static_cast<int64_t>(c.size()) == T, what, ": chunk ", rows[i], " has ",
                        c.size(), " tokens, chunk ", rows[0], " has ", T,
                        " (all chunks must have the same length)");
    std::copy(c.begin(), c.end(), dst + i * T);
  }
  return {ids, torch::ones({B, T}, torch::kInt64)};
}

TokenBatch batch_from_chunks(const std::vector<std::vector<int64_t>>& chunks,
                             const std::string& what) {
  std::vector<int64_t> rows(chunks.size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int64_t>(i);
  return batch_from_rows(chunks, rows, what);
}

TokenBatch batch_from_sequences(const std::vector<std::vector<int64_t>>& seqs, int64_t pad_id,
                                const std::string& what) {
  RELAPSE_CHECK_INPUT(!seqs.empty(), what, ": empty batch");
  int64_t T = 0;
  for (size_t i = 0; i < seqs.size(); ++i) {
    RELAPSE_CHECK_INPUT(!seqs[i].empty(), what, ": sequence ", i, " is empty");
    T = std::max<int64_t>(T, static_cast<int64_t>(seqs[i].size()));
  }
  const int64_t B = static_cast<int64_t>(seqs.size());
  torch::Tensor ids = torch::full({B, T}, pad_id, torch::kInt64);
  torch::Tensor mask = torch::zeros({B, T}, torch::kInt64);
  int64_t* pi = ids.data_ptr<int64_t>();
  int64_t* pm = mask.data_ptr<int64_t>();
  for (int64_t i = 0; i < B; ++i) {
    std::copy(seqs[i].begin(), seqs[i].end(), pi + i * T);
    std::fill(pm + i * T, pm + i * T + static_cast<int64_t>(seqs[i].size()), int64_t{1});
  }
  return {ids, mask};
}

TokenBatch batch_slice(const TokenBatch& b, int64_t start, int64_t len) {
  RELAPSE_CHECK(start >= 0 && len > 0 && start + len <= b.size(), "batch_slice [", start, ", ",
                start + len, ") of a batch of ", b.size());
  return {b.input_ids.narrow(0, start, len), b.attention_mask.narrow(0, start, len)};
}

std::vector<TokenBatch> batch_split(const TokenBatch& b, int64_t n) {
  RELAPSE_CHECK(b.size() > 0 && n > 0, "batch_split of ", b.size(), " rows into ", n);
  n = std::min(n, b.size());
  std::vector<TokenBatch> out;
  int64_t start = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t len = b.size() / n + (i < b.size() % n ? 1 : 0);
    out.push_back(batch_slice(b, start, len));
    start += len;
  }
  return out;
}

TokenBatch batch_to(const TokenBatch& b, torch::Device device) {
  return {b.input_ids.to(device), b.attention_mask.to(device)};
}

std::vector<std::vector<int64_t>> epoch_batches(int64_t n, int64_t batch_size, at::Generator* gen) {
  RELAPSE_CHECK_CONFIG(batch_size > 0, "batch size must be positive, got ", batch_size);
  RELAPSE_CHECK_INPUT(n > 0, "no examples to batch");
  std::vector<int64_t> order(n);
  if (gen) {
    torch::Tensor perm = torch::randperm(n, *gen, torch::kInt64);
    std::copy(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + n, order.begin());
  } else {
    for (int64_t i = 0; i < n; ++i) order[i] = i;
  }
  std::vector<std::vector<int64_t>> out;
  for (int64_t s = 0; s < n; s += batch_size) {
    out.emplace_back(order.begin() + s, order.begin() + std::min(n, s + batch_size));
  }
  return out;
}

std::vector<int64_t> retain_rows_for(const std::vector<int64_t>& forget_rows, int64_t n_retain) {
  RELAPSE_CHECK_INPUT(n_retain > 0, "the retain set is empty");
  std::vector<int64_t> out;
  out.reserve(forget_rows.size());
  for (int64_t i : forget_rows) out.push_back(i % n_retain);
  return out;
}

}  // namespace relapse::unlearn
