// relapse/unlearn/batch.h — token batches for training and unlearning: fixed-
// length chunks to [B,T] tensors, micro-batch slices, per-epoch batch orders,
// and MUSE's forget/retain pairing.
//
// MUSE (baselines/baselines/dataset.py, ForgetRetainDataset) pairs at the
// *example* level: item i of an epoch is (forget[i], retain[i mod |retain|]),
// and the HF Trainer's sampler shuffles these fixed pairs into batches. So a
// forget batch with indices {i} is trained together with the retain rows
// {i mod |retain|}; unlearn_pair_batches reproduces that.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace relapse::unlearn {

// input_ids [B,T] int64; attention_mask [B,T] int64 (1 = real token, 0 = pad).
struct TokenBatch {
  torch::Tensor input_ids;
  torch::Tensor attention_mask;
  int64_t size() const { return input_ids.defined() ? input_ids.size(0) : 0; }
  int64_t length() const { return input_ids.defined() ? input_ids.size(1) : 0; }
  bool defined() const { return input_ids.defined(); }
};

// Stacks chunks (all the same non-zero length) into a batch with an all-ones
// mask. `what` names the data in errors (kInput on empty or ragged chunks).
TokenBatch batch_from_chunks(const std::vector<std::vector<int64_t>>& chunks,
                             const std::string& what = "chunks");
// The rows `rows` of `chunks` (each index checked) as a batch.
TokenBatch batch_from_rows(const std::vector<std::vector<int64_t>>& chunks,
                           const std::vector<int64_t>& rows, const std::string& what = "chunks");
// Right-padded batch from sequences of any positive length; pads get `pad_id`
// and mask 0.
TokenBatch batch_from_sequences(const std::vector<std::vector<int64_t>>& seqs, int64_t pad_id,
                                const std::string& what = "sequences");
// Rows [start, start+len) of a batch (views).
TokenBatch batch_slice(const TokenBatch& b, int64_t start, int64_t len);
// Splits a batch into `n` contiguous micro-batches (sizes differ by at most
// one; n is clamped to the batch size).
std::vector<TokenBatch> batch_split(const TokenBatch& b, int64_t n);
TokenBatch batch_to(const TokenBatch& b, torch::Device device);

// Row orders of one epoch over n examples in batches of `batch_size` (the
// last one may be smaller, as the HF Trainer's drop_last=false): shuffled
// with `gen` when given (a randperm from the generator), sequential otherwise.
std::vector<std::vector<int64_t>> epoch_batches(int64_t n, int64_t batch_size,
                                                at::Generator* gen = nullptr);

// MUSE's pairing: the retain rows for forget rows `forget_rows` (i -> i mod n_retain).
std::vector<int64_t> retain_rows_for(const std::vector<int64_t>& forget_rows, int64_t n_retain);

}  // namespace relapse::unlearn
