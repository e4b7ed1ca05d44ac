// src/model/hf_checkpoint.cpp — load/save Hugging Face Llama directories.
#include "relapse/model/hf_checkpoint.h"
#include "relapse/model/tokenizer.h"

#include <filesystem>
#include <set>

#include "relapse/core/error.h"
#include "relapse/core/fs.h"
#include "relapse/core/log.h"

namespace fs = std::filesystem;

namespace relapse::model {

namespace {

// Tensors found in some published checkpoints that carry no parameters
// (old transformers saved RoPE's inv_freq buffer).
bool ignorable(const std::string& name) {
  return name.size() >= 23 && name.compare(name.size() - 23, 23, "rotary_emb.inv_freq") == 0;
}

std::string join_names(const std::vector<std::string>& v, size_t limit = 8) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < limit; ++i) s += (i ? ", '" : "'") + v[i] + "'";
  if (v.size() > limit) s += ", ... (" + std::to_string(v.size()) + " in all)";
  return s;
}

// This rank's part of a stored tensor, by the parameter's explicit slice rule
// (tp_param_layout): the stored tensor must have the full HF shape; only the
// bytes of this rank's slice are read, rows of the padded vocabulary past the
// stored ones stay zero.
torch::Tensor hf_read_shard(const SafetensorsStore& store, const TpParamInfo& p,
                            const StTensorInfo& info) {
  const std::string& file = store.file_of(p.name).path();
  RELAPSE_CHECK_INPUT(info.shape == p.full_shape, file, ": tensor '", p.name, "' has shape ",
                      c10::IntArrayRef(info.shape), " but config.json implies ",
                      c10::IntArrayRef(p.full_shape));
  std::vector<int64_t> want(p.tensor.sizes().begin(), p.tensor.sizes().end());
  if (info.shape == want && p.start == 0) return store.read(p.name);
  RELAPSE_CHECK(p.dim >= 0, "tensor '", p.name, "' is replicated but its shape differs");
  int64_t len = std::max<int64_t>(0, std::min(want[p.dim], info.shape[p.dim] - p.start));
  torch::Tensor out =
      torch::zeros(want, torch::TensorOptions().dtype(st_dtype_to_torch(info.dtype)));
  if (len > 0) out.narrow(p.dim, 0, len).copy_(store.read_slice(p.name, p.dim, p.start, len));
  return out;
}

// config.json, generation_config.json, the weights and the tokenizer (its
// Hugging Face files too: tokenizer_save) into DIR.partial, then renamed to DIR.
void hf_write_dir(const LlamaForCausalLM& m, const NamedTensors& tensors, const std::string& dir,
                  const std::string& tokenizer_model, uint64_t max_shard_bytes) {
  LlamaConfig cfg = m->config();
  cfg.torch_dtype = dtype_name(m->dtype());
  const nlohmann::json cj = llama_config_to_json(cfg);
  fs_write_dir_atomic(dir, [&](const std::string& tmp) {
    fs_write_file_atomic(tmp + "/config.json", cj.dump(2) + "\n");
    const nlohmann::json gen = {{"bos_token_id", cj["bos_token_id"]},
                                {"eos_token_id", cj["eos_token_id"]}};
    fs_write_file_atomic(tmp + "/generation_config.json", gen.dump(2) + "\n");
    safetensors_write_dir(tmp, tensors, max_shard_bytes);
    if (!tokenizer_model.empty()) tokenizer_save(tokenizer_model, tmp, cfg.max_position_embeddings);
  });
}

}  // namespace

LlamaForCausalLM hf_load(const std::string& dir, const HfLoadOptions& opts) {
  RELAPSE_CHECK_INPUT(fs::is_directory(dir), dir, ": model directory does not exist");
  LlamaConfig cfg = llama_config_load(dir + "/config.json");
  torch::ScalarType dtype = dtype_from_name(opts.dtype.empty() ? cfg.torch_dtype : opts.dtype);
  cfg.torch_dtype = dtype_name(dtype);
  SafetensorsStore store(dir);

  LlamaForCausalLM m(cfg, opts.tp);
  std::vector<TpParamInfo> params = tp_param_layout(m);
  std::set<std::string> expected;
  std::vector<std::string> missing;
  for (auto& p : params) {
    expected.insert(p.name);
    if (!store.contains(p.name)) missing.push_back(p.name);
  }
  std::vector<std::string> unexpected;
  for (const auto& name : store.names()) {
    if (expected.count(name) || ignorable(name)) continue;
    // A tied model may still carry lm_head.weight (some exporters write it).
    if (cfg.tie_word_embeddings && name == "lm_head.weight") continue;
    unexpected.push_back(name);
  }
  RELAPSE_CHECK_INPUT(missing.empty(), dir, ": missing tensors: ", join_names(missing));
  RELAPSE_CHECK_INPUT(
      unexpected.empty(), dir,
      ": unexpected tensors (not in a Llama model of this config): ", join_names(unexpected));

  torch::NoGradGuard ng;
  for (auto& p : params) {
    const StTensorInfo& info = store.info(p.name);
    torch::Tensor t = hf_read_shard(store, p, info);
    RELAPSE_CHECK_INPUT(t.is_floating_point(), store.file_of(p.name).path(), ": tensor '", p.name,
                        "' has non-float dtype ", info.dtype);
    p.tensor.set_data(t.to(dtype).contiguous());
  }
  if (opts.device != torch::Device(torch::kCPU)) llama_to(m, opts.device);
  m->eval();
  log_debug("loaded ", params.size(), " tensors from ", dir, " as ", cfg.torch_dtype, " on ",
            opts.device.str());
  return m;
}

NamedTensors hf_state_dict(const LlamaForCausalLM& m) {
  NamedTensors out;
  for (const auto& p : tp_param_layout(m))
    out.emplace_back(p.name, tp_param_gather(p, p.tensor.detach(), m->tp()));
  return out;
}

void hf_save(const LlamaForCausalLM& m, const std::string& dir, const std::string& tokenizer_model,
             uint64_t max_shard_bytes) {
  const TpContext& tp = m->tp();
  NamedTensors full = hf_state_dict(m);  // collective over the TP group
  if (tp.rank == 0) hf_write_dir(m, full, dir, tokenizer_model, max_shard_bytes);
  // The directory is complete on return, on every rank of the group.
  if (tp.size > 1) tp.comm->barrier();
}

}  // namespace relapse::model
