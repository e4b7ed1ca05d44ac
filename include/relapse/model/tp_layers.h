// relapse/model/tp_layers.h — tensor-parallel building blocks in Megatron-Core's
// shape: ColumnParallelLinear (weight split along the output dim), RowParallelLinear
// (split along the input dim) and VocabParallelEmbedding, joined by the conjugate
// operators f (identity forward, all-reduce backward) and g (all-reduce forward,
// identity backward), both autograd functions. The Llama model is written only
// in these terms; with TP size 1 f and g are identities and no communicator is needed.
//
// Which parameters are split how (tp_param_layout reports it per parameter):
//   sharded (a distinct slice on every TP rank): q/k/v/gate/up and lm_head
//     (dim 0, Column-parallel; lm_head and embed_tokens over the vocabulary
//     padded to a multiple of TP), o/down weights (dim 1, Row-parallel),
//     Column-parallel biases (dim 0);
//   replicated (identical on every TP rank): the RMSNorm weights and the
//     Row-parallel biases (o/down bias, added once after the all-reduce);
//   partially replicated: k/v weights and biases when num_key_value_heads < TP.
//     TP must then be a multiple of the KV heads; each KV head is held by
//     TP/kv adjacent ranks (rank r holds KV head r*kv/TP, the one its query
//     heads use), so groups of TP/kv ranks hold identical slices.
// Gradients: with the f/g operators every sharded and replicated parameter gets
// its full gradient on its own rank (replicated ones identical on every rank).
// A partially replicated k/v slice only receives the part from this rank's query
// heads: tp_sync_replicated_grads sums it over the ranks sharing the KV head
// (call it after backward, before clipping and the optimizer step). In a
// grad-norm, count every parameter once: only where TpParamInfo::owner is true.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "relapse/dist/communicator.h"

namespace relapse::model {

// This rank's place in its tensor-parallel group. `comm` (the TP group's
// communicator, not owned) is required when size > 1.
struct TpContext {
  int size = 1;
  int rank = 0;
  Communicator* comm = nullptr;
};

// The base of relapse's modules. Parameters registered with param() can be
// moved to another device or dtype by rebinding them (move_params), which is
// how llama_to() places a model: libtorch's Module::to() goes through
// set_data, which refuses backends outside libtorch's built-in list (the
// tests' "fakegpu", tests/fake_device.h).
class ParamModule : public torch::nn::Module {
 public:
  // This module's own parameters (not its children's) on `device`, in `dtype`
  // when given; requires_grad is kept, gradients are dropped.
  void move_params(const torch::Device& device, std::optional<torch::ScalarType> dtype);

 protected:
  // register_parameter(name, init), kept in `member` and remembered for move_params.
  void param(const std::string& name, torch::Tensor& member, torch::Tensor init);

 private:
  std::vector<std::pair<std::string, torch::Tensor*>> members_;
};

// Megatron's f: enters a tensor-parallel region.
torch::Tensor tp_copy_to_region(const torch::Tensor& x, const TpContext& tp);
// Megatron's g: leaves a tensor-parallel region by summing the partial results.
torch::Tensor tp_reduce_from_region(const torch::Tensor& x, const TpContext& tp);
// Concatenates the per-rank shards of the last dimension (backward: this rank's slice).
torch::Tensor tp_gather_last_dim(const torch::Tensor& x, const TpContext& tp);
// [start, start+len) of a dimension of `full` split evenly over tp ranks.
std::pair<int64_t, int64_t> tp_shard_range(int64_t full, const TpContext& tp, const char* what);
// `n` rounded up to a multiple of tp.size (the vocabulary is padded so it splits).
int64_t tp_pad_to_multiple(int64_t n, const TpContext& tp);

// y = x W^T + b with W split by output rows; output stays split unless gather_output.
// replicas > 1 (dividing tp.size): the rows are cut into tp/replicas slices and
// `replicas` adjacent ranks hold the same slice (rank r: slice r / replicas),
// as the k/v projections do when there are fewer KV heads than TP ranks.
class ColumnParallelLinearImpl : public ParamModule {
 public:
  ColumnParallelLinearImpl(int64_t in_features, int64_t out_features, bool bias, TpContext tp,
                           bool gather_output = false, int64_t replicas = 1);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;  // [out*replicas/tp, in], [out*replicas/tp]
  int64_t in_features, out_features;
  TpContext tp;
  bool gather_output;
  int64_t replicas;
  // Quantization hooks (src/quant), unset in normal use. input_hook sees every
  // input x of this rank (calibration statistics: GPTQ Hessians, AWQ
  // activation scales); matmul_override, when set, replaces x W^T on this
  // rank's shard (bias and TP reductions unchanged): LLM.int8's emulated
  // int8 matmul with outlier decomposition.
  std::function<void(const torch::Tensor&)> input_hook;
  std::function<torch::Tensor(const torch::Tensor&)> matmul_override;
};
TORCH_MODULE(ColumnParallelLinear);

// y = x W^T + b with W split by input columns; x arrives split, partial sums
// are reduced with g, the bias is added once after the reduction.
class RowParallelLinearImpl : public ParamModule {
 public:
  RowParallelLinearImpl(int64_t in_features, int64_t out_features, bool bias, TpContext tp);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;  // [out, in/tp], [out]
  int64_t in_features, out_features;
  TpContext tp;
  // Quantization hooks (src/quant), unset in normal use. input_hook sees every
  // input x of this rank (calibration statistics: GPTQ Hessians, AWQ
  // activation scales); matmul_override, when set, replaces x W^T on this
  // rank's shard (bias and TP reductions unchanged): LLM.int8's emulated
  // int8 matmul with outlier decomposition.
  std::function<void(const torch::Tensor&)> input_hook;
  std::function<torch::Tensor(const torch::Tensor&)> matmul_override;
};
TORCH_MODULE(RowParallelLinear);

// Embedding table split by vocabulary rows; ids outside this rank's range give
// zeros and g sums the rows across ranks.
class VocabParallelEmbeddingImpl : public ParamModule {
 public:
  VocabParallelEmbeddingImpl(int64_t vocab_size, int64_t dim, TpContext tp);
  torch::Tensor forward(const torch::Tensor& ids);
  torch::Tensor weight;  // [vocab/tp, dim]
  int64_t vocab_size, dim, vocab_start;
  TpContext tp;
};
TORCH_MODULE(VocabParallelEmbedding);

class LlamaForCausalLM;

enum class TpParamKind { kSharded, kReplicated, kPartiallyReplicated };
const char* tp_param_kind_name(TpParamKind k);

// How one parameter of a (possibly) tensor-parallel model relates to the full
// Hugging Face tensor. Slice rule (explicit, not inferred from shapes): along
// `dim`, this rank holds [start, start + tensor.size(dim)) of the full tensor
// padded to a multiple of the shard count, with start = (rank / group_size) *
// tensor.size(dim); rows at or past full_shape[dim] are padding (zeros in
// the weight; only the vocabulary has them).
struct TpParamInfo {
  std::string name;      // HF name, e.g. "model.layers.0.self_attn.k_proj.weight"
  torch::Tensor tensor;  // this rank's parameter (the model's own tensor)
  TpParamKind kind = TpParamKind::kSharded;
  int dim = -1;                     // the split dimension; -1 when kReplicated
  int group_size = 1;               // TP ranks holding an identical copy (1, kv-replicas or tp)
  std::vector<int64_t> full_shape;  // shape of the HF tensor (unpadded vocabulary)
  int64_t start = 0;                // this rank's first index along dim
  bool owner = true;                // the lowest TP rank of the group of identical copies
};

// Every parameter of the model in named_parameters() order. At TP size 1 the
// kinds still say how the parameter would be split (group_size 1, owner true).
std::vector<TpParamInfo> tp_param_layout(const LlamaForCausalLM& m);

// The full tensor (full_shape, padding cut off) from every rank's `local`
// (shaped like p.tensor, e.g. the parameter or its gradient). Collective over
// the TP group when p is not replicated and tp.size > 1.
torch::Tensor tp_param_gather(const TpParamInfo& p, const torch::Tensor& local,
                              const TpContext& tp);

// Sums the gradients of partially replicated parameters (k/v with fewer KV
// heads than TP ranks) over the ranks that share each slice, in rank order and
// in fp32, so that every copy ends with the same full gradient. Collective over
// the TP group (one all-gather); a no-op when nothing is partially replicated.
// Undefined gradients count as zeros.
void tp_sync_replicated_grads(const LlamaForCausalLM& m, const TpContext& tp);

}  // namespace relapse::model
