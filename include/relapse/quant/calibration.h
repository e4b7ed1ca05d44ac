// relapse/quant/calibration.h — calibration data for GPTQ and AWQ, and the
// pieces of the layer-by-layer pass both share.
//
// Calibration windows follow GPTQ's data loaders (datautils.py get_wikitext2 /
// get_c4): the text is tokenized once and n_samples windows of seq_len tokens
// start at uniformly drawn offsets in [0, n_tokens − seq_len], here from a
// named seeded stream (relapse/core/rng.h), so the same config gives the same
// windows on any machine and any number of ranks.
//
// Sharding: rank r of D takes the contiguous block of samples
// calib_shard_range(n, r, D); GPTQ's Hessians and AWQ's statistics are sums
// over samples, all-reduced, so every rank quantizes with the same numbers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "relapse/dist/communicator.h"
#include "relapse/model/llama.h"

namespace relapse::quant {

// [n_samples, seq_len] int64 token windows. `what` names the source in errors
// (too short a text is a kInput error naming it, the token count and seq_len).
torch::Tensor calibration_windows(const std::vector<int64_t>& tokens, int64_t n_samples,
                                  int64_t seq_len, uint64_t seed, const std::string& what);

// [begin, end) of this rank's samples: contiguous blocks in rank order, sizes
// differing by at most one.
std::pair<int64_t, int64_t> calib_shard_range(int64_t n, int rank, int size);

// This rank's rows of `windows` (comm == null: all of them).
torch::Tensor calib_shard(const torch::Tensor& windows, Communicator* comm);

// The decoder inputs of this rank's samples in batches of `batch` rows
// (embeddings, RoPE tables, causal mask), for walking the layers.
using DecoderInputs = model::LlamaForCausalLMImpl::DecoderInputs;
std::vector<DecoderInputs> calib_decoder_inputs(model::LlamaForCausalLM& m,
                                                const torch::Tensor& ids_local, int64_t batch);

// Runs decoder layer `layer` on every batch; with `update`, each batch's h
// becomes the layer's output (the next layer's input).
void calib_layer_forward(model::LlamaDecoderLayerImpl& layer, std::vector<DecoderInputs>& in,
                         bool update);

// Rows of x_local [n_local, d] whose global row index (row_offset + i) is a
// multiple of `step`, gathered from every rank in global order (ranks hold
// contiguous blocks in rank order). comm == null: this rank's selection.
torch::Tensor calib_gather_every(const torch::Tensor& x_local, int64_t row_offset, int64_t step,
                                 Communicator* comm);

}  // namespace relapse::quant
