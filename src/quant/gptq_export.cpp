// src/quant/gptq_export.cpp — quantized models as Hugging Face directories in
// AutoGPTQ's checkpoint layout (v1, checkpoint_format "gptq"); conventions in
// relapse/quant/gptq_export.h. Packing and the reference dequantize are the
// CPU kernels of kernels/relapse_kernels.h; quantize_config.json has the
// fields of AutoGPTQ's BaseQuantizeConfig.to_dict (auto_gptq/modeling/_base.py).
#include "relapse/quant/gptq_export.h"

#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/core/fs.h"
#include "relapse/core/log.h"
#include "relapse/model/hf_checkpoint.h"
#include "relapse/model/llama_config.h"
#include "relapse/model/safetensors.h"
#include "relapse/model/tokenizer.h"
#include "relapse_kernels.h"

namespace fs = std::filesystem;

namespace relapse::quant {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void check_bits(int bits) {
  RELAPSE_CHECK_CONFIG(bits == 2 || bits == 4 || bits == 8,
                       "GPTQ export needs bits 2, 4 or 8, got ", bits,
                       " (3-bit GPTQ packing is not implemented)");
}

torch::Tensor i32(const torch::Tensor& t) {
  return t.to(torch::kInt32).contiguous();
}

}  // namespace

GptqTensors gptq_pack_layer(const LayerQuant& l, const GptqExportInfo& info) {
  check_bits(info.bits);
  const RtnResult& r = l.result;
  const std::string& name = l.name;
  RELAPSE_CHECK_INPUT(r.codes.defined() && r.scales.defined(), "GPTQ export: tensor '", name,
                      "' has no codes/scales (quantized with keep_codes = false?)");
  RELAPSE_CHECK_INPUT(r.codes.dim() == 2 && r.scales.dim() == 2, "GPTQ export: tensor '", name,
                      "' needs 2-D codes and scales");
  const int bits = info.bits;
  const int64_t out = r.codes.size(0), in = r.codes.size(1), gs = r.group_size;
  RELAPSE_CHECK_INPUT(
      gs > 0 && in % gs == 0 && r.scales.size(0) == out && r.scales.size(1) == in / gs,
      "GPTQ export: tensor '", name, "' has codes [", out, ", ", in, "], scales ", r.scales.sizes(),
      " and group size ", gs, ", which do not fit together");
  const int64_t want_gs = info.group_size == -1 ? in : info.group_size;
  RELAPSE_CHECK_CONFIG(gs == want_gs, "GPTQ export: tensor '", name,
                       "' was quantized with group size ", gs, " but the export says group_size ",
                       info.group_size);
  const int64_t ng = in / gs;
  const int64_t k = 32 / bits;
  RELAPSE_CHECK_INPUT(in % k == 0 && out % k == 0, "GPTQ export: tensor '", name, "' [", out, ", ",
                      in, "]: both dims must be multiples of ", k, " to pack ", bits,
                      "-bit codes into int32 words");
  const int64_t maxq = (int64_t(1) << bits) - 1, half = int64_t(1) << (bits - 1);

  torch::NoGradGuard ng_guard;
  torch::Tensor codes = i32(r.codes.cpu()), zeros;
  if (r.zeros.defined()) {
    zeros = i32(r.zeros.cpu());
    RELAPSE_CHECK_INPUT(zeros.sizes() == r.scales.sizes(), "GPTQ export: tensor '", name,
                        "' zeros ", zeros.sizes(), " do not match scales ", r.scales.sizes());
  } else if (r.codes.scalar_type() == torch::kInt16) {
    RELAPSE_THROW(ExitCode::kConfig, "GPTQ export: tensor '", name,
                  "' holds rtn_sym codes (the literal absmax rule, codes up to +2^(bits-1): "
                  "2^bits + 1 levels), which have no ",
                  bits, "-bit unsigned form; quantize with rtn_sym_clamp, rtn_asym, gptq or awq");
  } else {
    // rtn_sym_clamp: signed codes c in [-2^(b-1), 2^(b-1) - 1] -> c + 2^(b-1), zero 2^(b-1).
    RELAPSE_CHECK_INPUT(codes.min().item<int64_t>() >= -half && codes.max().item<int64_t>() < half,
                        "GPTQ export: tensor '", name, "' has symmetric codes outside [", -half,
                        ", ", half - 1, "] for ", bits, " bits");
    codes = codes + static_cast<int32_t>(half);
    zeros = torch::full({out, ng}, static_cast<int32_t>(half), torch::kInt32);
  }
  RELAPSE_CHECK_INPUT(codes.min().item<int64_t>() >= 0 && codes.max().item<int64_t>() <= maxq,
                      "GPTQ export: tensor '", name, "' has codes outside [0, ", maxq, "] for ",
                      bits, " bits");
  RELAPSE_CHECK_INPUT(zeros.min().item<int64_t>() >= 0 && zeros.max().item<int64_t>() <= maxq,
                      "GPTQ export: tensor '", name, "' has zero points outside [0, ", maxq,
                      "] for ", bits, " bits");

  GptqTensors t;
  if (r.g_idx.defined()) {
    t.g_idx = i32(r.g_idx.cpu());
    RELAPSE_CHECK_INPUT(t.g_idx.dim() == 1 && t.g_idx.size(0) == in &&
                            t.g_idx.min().item<int64_t>() >= 0 &&
                            t.g_idx.max().item<int64_t>() < ng,
                        "GPTQ export: tensor '", name, "' has a g_idx that is not [", in,
                        "] with groups in [0, ", ng, ")");
  } else {
    t.g_idx = torch::empty({in}, torch::kInt32);
    int32_t* gp = t.g_idx.data_ptr<int32_t>();
    for (int64_t c = 0; c < in; ++c) gp[c] = static_cast<int32_t>(c / gs);
  }
  t.scales = r.scales.cpu().to(torch::kFloat32).t().contiguous().to(torch::kFloat16);
  RELAPSE_CHECK_INPUT(torch::isfinite(t.scales).all().item<bool>(), "GPTQ export: tensor '", name,
                      "' has scales that are not finite in float16");

  torch::Tensor codes_t = codes.t().contiguous();         // [in, out]
  torch::Tensor zeros_m1 = (zeros.t() - 1).contiguous();  // [ng, out], v1 stores zero - 1
  t.qweight = torch::empty({in / k, out}, torch::kInt32);
  t.qzeros = torch::empty({ng, out / k}, torch::kInt32);
  kernels::pack_rows_cpu(codes_t.data_ptr<int32_t>(), in, out, bits, t.qweight.data_ptr<int32_t>());
  kernels::pack_cols_cpu(zeros_m1.data_ptr<int32_t>(), ng, out, bits, t.qzeros.data_ptr<int32_t>());
  return t;
}

torch::Tensor gptq_dequantize(const GptqTensors& t, int bits) {
  check_bits(bits);
  const int64_t k = 32 / bits;
  torch::Tensor qw = i32(t.qweight.cpu()), qz = i32(t.qzeros.cpu()), g = i32(t.g_idx.cpu());
  torch::Tensor s = t.scales.cpu().to(torch::kFloat32).contiguous();
  RELAPSE_CHECK_INPUT(qw.dim() == 2 && qz.dim() == 2 && s.dim() == 2 && g.dim() == 1,
                      "gptq_dequantize: qweight, qzeros, scales must be 2-D and g_idx 1-D");
  const int64_t in = qw.size(0) * k, out = qw.size(1), ng = s.size(0);
  RELAPSE_CHECK_INPUT(
      s.size(1) == out && qz.size(0) == ng && qz.size(1) * k == out && g.size(0) == in,
      "gptq_dequantize: shapes qweight ", qw.sizes(), ", qzeros ", qz.sizes(), ", scales ",
      s.sizes(), ", g_idx ", g.sizes(), " do not fit ", bits, " bits");
  torch::Tensor w = torch::empty({out, in}, torch::kFloat32);
  try {
    kernels::dequantize_gptq_cpu(qw.data_ptr<int32_t>(), qz.data_ptr<int32_t>(),
                                 s.data_ptr<float>(), g.data_ptr<int32_t>(), in, out, ng, bits,
                                 w.data_ptr<float>());
  } catch (const std::invalid_argument& e) {
    RELAPSE_THROW(ExitCode::kInput, "gptq_dequantize: ", e.what());
  }
  return w;
}

namespace {

// The quantized decoder linears by name; every other entry is refused with
// the reason (embedding / head, not uniform integer codes, not a weight, twice).
std::map<std::string, const LayerQuant*> export_layers_by_name(
    const std::vector<LayerQuant>& layers) {
  std::map<std::string, const LayerQuant*> by_name;
  for (const auto& l : layers) {
    RELAPSE_CHECK_CONFIG(l.name.find("embed_tokens") == std::string::npos &&
                             l.name.find("lm_head") == std::string::npos,
                         "GPTQ export: '", l.name,
                         "' is quantized, but the GPTQ layout holds only the decoder's linear "
                         "layers; leave embed_tokens and lm_head out of the quantized modules");
    RELAPSE_CHECK_CONFIG(l.format == "uniform", "GPTQ export: '", l.name, "' has format '",
                         l.format, "'; only uniform integer codes fit the GPTQ layout");
    // AWQ's in_scale / out_div need no place in the layout: awq_quantize_model
    // already folded them into this weight (its codes are of W·s) and into the
    // neighbouring norm / linear weights the model holds and the export copies.
    RELAPSE_CHECK_INPUT(ends_with(l.name, ".weight"), "GPTQ export: '", l.name,
                        "' is not a weight name (<prefix>.weight)");
    RELAPSE_CHECK_INPUT(by_name.emplace(l.name, &l).second, "GPTQ export: '", l.name,
                        "' is listed twice");
  }

  return by_name;
}

// Every quantized name is a parameter of the model, with codes of its shape.
void export_check_shapes(const std::map<std::string, const LayerQuant*>& by_name,
                         const model::NamedTensors& state) {
  std::map<std::string, torch::Tensor> by_state(state.begin(), state.end());
  for (const auto& [n, l] : by_name) {
    auto it = by_state.find(n);
    RELAPSE_CHECK_INPUT(it != by_state.end(), "GPTQ export: quantized tensor '", n,
                        "' is not a parameter of the model");
    RELAPSE_CHECK_INPUT(l->result.codes.defined() && l->result.codes.sizes() == it->second.sizes(),
                        "GPTQ export: codes of '", n, "' do not have the weight's shape ",
                        it->second.sizes());
  }
}

// The checkpoint's tensors: the model's state with each quantized weight
// replaced by its packed qweight, qzeros, scales and g_idx.
model::NamedTensors export_tensors(const model::NamedTensors& state,
                                   const std::map<std::string, const LayerQuant*>& by_name,
                                   const GptqExportInfo& info) {
  model::NamedTensors tensors;
  int64_t zero0 = 0;
  for (const auto& [n, t] : state) {
    auto it = by_name.find(n);
    if (it == by_name.end()) {
      tensors.emplace_back(n, t);
      continue;
    }
    GptqTensors g = gptq_pack_layer(*it->second, info);
    if (it->second->result.zeros.defined())
      zero0 += it->second->result.zeros.eq(0).sum().item<int64_t>();
    const std::string prefix = n.substr(0, n.size() - 7);  // strip ".weight"
    tensors.emplace_back(prefix + ".qweight", g.qweight);
    tensors.emplace_back(prefix + ".qzeros", g.qzeros);
    tensors.emplace_back(prefix + ".scales", g.scales);
    tensors.emplace_back(prefix + ".g_idx", g.g_idx);
  }
  if (zero0 > 0)
    log_warn("GPTQ export: ", zero0,
             " group(s) have zero point 0, which the v1 'gptq' format "
             "cannot hold (stored zero - 1 = -1); loaders read those groups with zero point 2^",
             info.bits);

  return tensors;
}

}  // namespace

void quant_export_gptq(const model::LlamaForCausalLM& m, const std::vector<LayerQuant>& layers,
                       const GptqExportInfo& info, const std::string& out_dir,
                       const std::string& tokenizer_path) {
  RELAPSE_CHECK_CONFIG(m->tp().size == 1, "GPTQ export works at tensor parallelism TP = 1 only; ",
                       "this model is a TP shard (TP = ", m->tp().size,
                       "): gather it or export from a TP = 1 run");
  check_bits(info.bits);
  RELAPSE_CHECK_CONFIG(info.group_size == -1 || info.group_size > 0,
                       "GPTQ export group_size must be -1 or positive, got ", info.group_size);

  const std::map<std::string, const LayerQuant*> by_name = export_layers_by_name(layers);
  const model::NamedTensors state = model::hf_state_dict(m);
  export_check_shapes(by_name, state);
  const model::NamedTensors tensors = export_tensors(state, by_name, info);

  nlohmann::json qc = {{"bits", info.bits},
                       {"group_size", info.group_size},
                       {"damp_percent", info.damp_percent},
                       {"desc_act", info.desc_act},
                       {"static_groups", false},
                       {"sym", info.sym},
                       {"true_sequential", true},
                       {"model_name_or_path", nullptr},
                       {"model_file_base_name", "model"},
                       {"quant_method", "gptq"},
                       {"checkpoint_format", "gptq"}};

  model::LlamaConfig cfg = m->config();
  cfg.torch_dtype = model::dtype_name(m->dtype());
  nlohmann::json config = model::llama_config_to_json(cfg);
  config["quantization_config"] = qc;
  fs_write_dir_atomic(out_dir, [&](const std::string& tmp) {
    auto write_json = [&](const std::string& file, const nlohmann::json& j) {
      fs_write_file_atomic(tmp + "/" + file, j.dump(2) + "\n");
    };
    write_json("config.json", config);
    write_json("generation_config.json", {{"bos_token_id", config["bos_token_id"]},
                                          {"eos_token_id", config["eos_token_id"]}});
    write_json("quantize_config.json", qc);
    model::safetensors_write_dir(tmp, tensors);
    if (!tokenizer_path.empty())
      model::tokenizer_save(tokenizer_path, tmp, cfg.max_position_embeddings);
  });
  log_info("GPTQ export: ", by_name.size(), " quantized linear(s), ", info.bits, "-bit, group ",
           info.group_size, " -> ", out_dir);
}

}  // namespace relapse::quant
