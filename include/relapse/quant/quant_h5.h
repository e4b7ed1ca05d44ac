// relapse/quant/quant_h5.h — RTN codes and code-change diagnostics in HDF5
// (relapse/archive/h5.h). Layout written by quant_write_codes under a group G:
//   G attrs: layout = "rtn_codes", scheme, bits, group_size, modules (strings),
//            weights (strings: the HF names in order)
//   G/<HF weight name>/codes   int32 [out, in]  (stored dtype widened: the h5
//                                                wrappers have no 8/16-bit ints)
//   G/<HF weight name>/scales  float32 [out, n_groups]
//   G/<HF weight name>/zeros   int32 [out, n_groups]   (rtn_asym only)
//   G/<HF weight name> attrs: codes_dtype ("int16"|"int8"|"uint8"), group_size
// In Python: f[G][name]["codes"][()] etc.; dequantized = scales (repeated per
// group) * (codes - zeros).
#pragma once
#include <vector>

#include "relapse/archive/h5.h"
#include "relapse/quant/code_change.h"
#include "relapse/quant/quantize_model.h"

namespace relapse::quant {

void quant_write_codes(archive::H5Group g, const std::vector<LayerQuant>& layers,
                       const RtnConfig& c);
// Any method's results (scheme: rtn_*, gptq, awq, fp4, nf4, llm_int8). Also
// written when present: G/<name>/g_idx int32 [in] (GPTQ), in_scale / out_div
// float32 (AWQ, see LayerQuant), and the attribute format ("uniform" | "fp4" |
// "nf4").
void quant_write_codes(archive::H5Group g, const std::vector<LayerQuant>& layers,
                       const std::string& scheme, int bits, int64_t group_size,
                       const std::vector<std::string>& modules);
// Reads back what quant_write_codes wrote (codes in their original dtype);
// `c` (optional) receives scheme, bits, group_size and modules.
std::vector<LayerQuant> quant_read_codes(const archive::H5Group& g, RtnConfig* c = nullptr);

// Stats as attributes of `g` (n_weights, n_codes_changed, frac_codes_changed,
// n_moved, frac_moved, n_groups, n_groups_params_changed, mean_ratio,
// max_ratio, n_zero_delta_moved, hist_edges (float64[]), hist (float64[] counts)).
void quant_write_code_change(archive::H5Group g, const CodeChangeStats& s);

}  // namespace relapse::quant
