// relapse/quant/code_change_tp.h — the bucket diagnostics of GPTQ, AWQ and
// bitsandbytes under tensor parallelism without every rank keeping every
// layer. The passes return the codes of whole weights on every TP rank
// (tp_layer.h); keeping them all, with the whole unquantized weights, per
// precision, on every rank would cost TP times the model's linears (54 GiB
// per rank for three precisions of a 7B model at TP 8). Instead decoder layer
// l's entries stay on TP rank l mod TP, each rank computes the statistics of
// its layers, and one all-reduce over TP gives every rank all of them, merged
// in model order — the numbers of TP 1, value for value (each layer's counts
// come from one rank; the sums are added in the same order).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "relapse/model/llama.h"
#include "relapse/model/tp_layers.h"
#include "relapse/quant/code_change.h"
#include "relapse/quant/quant_spec.h"

namespace relapse::quant {

// Whether this TP rank keeps the diagnostics of weight `name`
// ("model.layers.<l>." → l mod TP; other weights on rank 0). TP 1: always.
bool code_change_tp_keeps(const std::string& name, const model::TpContext& tp);

// The unquantized weights that `c` selects (rtn_model_weights), whole as the
// passes' codes are (gathered over TP, each KV head once), copied: those this
// rank keeps, in model order. Collective over the model's TP group.
std::vector<std::pair<std::string, torch::Tensor>> code_change_tp_weights(
    const model::LlamaForCausalLM& m, const RtnConfig& c);

// Drops the entries this rank does not keep.
void code_change_tp_filter(std::vector<LayerQuant>& q, const model::TpContext& tp);

// Every rank's per-layer statistics (`local`, a subset of `names`) to every
// rank: returns the total merged in the order of `names`; per_layer (optional)
// gets (name, stats) in that order. Collective over tp.comm when tp.size > 1.
CodeChangeStats code_change_tp_gather(
    const std::vector<std::string>& names,
    const std::vector<std::pair<std::string, CodeChangeStats>>& local, const model::TpContext& tp,
    std::vector<std::pair<std::string, CodeChangeStats>>* per_layer);

}  // namespace relapse::quant
