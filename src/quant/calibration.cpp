// src/quant/calibration.cpp — calibration windows, their sharding over ranks,
// and the layer-walk helpers of GPTQ and AWQ (relapse/quant/calibration.h).
#include "relapse/quant/calibration.h"

#include <algorithm>
#include <random>

#include "relapse/core/error.h"
#include "relapse/core/host_read.h"

namespace relapse::quant {

torch::Tensor calibration_windows(const std::vector<int64_t>& tokens, int64_t n_samples,
                                  int64_t seq_len, uint64_t seed, const std::string& what) {
  RELAPSE_CHECK_CONFIG(n_samples >= 1 && seq_len >= 2, "calibration: n_samples ", n_samples,
                       " and seq_len ", seq_len, " must be >= 1 and >= 2");
  const int64_t n = static_cast<int64_t>(tokens.size());
  RELAPSE_CHECK_INPUT(n >= seq_len, "calibration text ", what, " has ", n,
                      " tokens, fewer than quantize.calibration.seq_len = ", seq_len,
                      " (lower seq_len or use a longer text)");
  // One 64-bit draw per window, reduced to [0, n − seq_len] by modulo: the
  // bias (< 2^-40 for any real text) does not matter, and unlike
  // std::uniform_int_distribution the mapping is the same in every C++ library.
  std::mt19937_64 eng(seed);
  const uint64_t span = static_cast<uint64_t>(n - seq_len + 1);
  torch::Tensor out = torch::empty({n_samples, seq_len}, torch::kInt64);
  auto acc = out.accessor<int64_t, 2>();
  for (int64_t s = 0; s < n_samples; ++s) {
    const int64_t start = static_cast<int64_t>(eng() % span);
    for (int64_t t = 0; t < seq_len; ++t) acc[s][t] = tokens[start + t];
  }
  return out;
}

std::pair<int64_t, int64_t> calib_shard_range(int64_t n, int rank, int size) {
  const int64_t base = n / size, extra = n % size;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

torch::Tensor calib_shard(const torch::Tensor& windows, Communicator* comm) {
  if (!comm || comm->size() == 1) return windows;
  auto [b, e] = calib_shard_range(windows.size(0), comm->rank(), comm->size());
  return windows.narrow(0, b, e - b);
}

std::vector<DecoderInputs> calib_decoder_inputs(model::LlamaForCausalLM& m,
                                                const torch::Tensor& ids_local, int64_t batch) {
  torch::NoGradGuard no_grad;
  RELAPSE_CHECK(batch >= 1, "calibration batch must be >= 1");
  std::vector<DecoderInputs> out;
  for (int64_t b = 0; b < ids_local.size(0); b += batch) {
    const int64_t n = std::min(batch, ids_local.size(0) - b);
    // Windows are kept on the host; each batch goes to the model's device.
    out.push_back(m->decoder_inputs(ids_local.narrow(0, b, n).to(m->device())));
  }
  return out;
}

void calib_layer_forward(model::LlamaDecoderLayerImpl& layer, std::vector<DecoderInputs>& in,
                         bool update) {
  torch::NoGradGuard no_grad;
  for (auto& x : in) {
    torch::Tensor y = layer.forward(x.h, x.cos, x.sin, x.mask, nullptr);
    if (update) x.h = y;
  }
}

torch::Tensor calib_gather_every(const torch::Tensor& x_local, int64_t row_offset, int64_t step,
                                 Communicator* comm) {
  RELAPSE_CHECK(step >= 1 && x_local.dim() == 2, "calib_gather_every: bad arguments");
  const int64_t n = x_local.size(0);
  // First local row whose global index is a multiple of step.
  const int64_t first = (step - row_offset % step) % step;
  auto on = [&](torch::ScalarType t) { return x_local.options().dtype(t); };
  torch::Tensor idx = first < n ? torch::arange(first, n, step, on(torch::kInt64))
                                : torch::empty({0}, on(torch::kInt64));
  torch::Tensor mine = x_local.index_select(0, idx).to(torch::kFloat32).contiguous();
  if (!comm || comm->size() == 1) return mine;
  // Counts differ by rank: gather them, pad every rank's rows to the largest.
  torch::Tensor cnt = torch::full({1}, mine.size(0), on(torch::kInt64));
  torch::Tensor counts = host_copy(comm->all_gather(cnt));
  const int64_t* cp = counts.data_ptr<int64_t>();
  const int64_t max_rows = *std::max_element(cp, cp + comm->size());
  torch::Tensor padded = torch::zeros({max_rows, x_local.size(1)}, on(torch::kFloat32));
  if (mine.size(0)) padded.narrow(0, 0, mine.size(0)).copy_(mine);
  torch::Tensor all = comm->all_gather(padded);  // [size * max_rows, d]
  std::vector<torch::Tensor> parts;
  for (int r = 0; r < comm->size(); ++r) parts.push_back(all.narrow(0, r * max_rows, cp[r]));
  return torch::cat(parts, 0);
}

}  // namespace relapse::quant
