// src/model/hf_checkpoint.cpp — load/save Hugging Face Llama directories.
#include "relapse/model/hf_checkpoint.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "relapse/core/error.h"
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

// This rank's part of a stored tensor. The split dimension is the one where
// the local parameter is smaller than the stored tensor (Column-parallel: dim 0,
// Row-parallel: dim 1, vocab-parallel: dim 0 with the vocabulary padded to a
// multiple of TP, the padding rows zero); only those bytes are read.
torch::Tensor hf_read_shard(const SafetensorsStore& store, const std::string& name,
                            const StTensorInfo& info, const std::vector<int64_t>& want,
                            const TpContext& tp) {
  const std::string& file = store.file_of(name).path();
  RELAPSE_CHECK_INPUT(info.shape.size() == want.size(), file, ": tensor '", name, "' has shape ",
                      c10::IntArrayRef(info.shape), " but config.json implies ",
                      c10::IntArrayRef(want));
  if (info.shape == want) return store.read(name);
  int split = -1;
  for (size_t d = 0; d < want.size(); ++d) {
    if (info.shape[d] == want[d]) continue;
    bool shard = tp.size > 1 && split < 0 && want[d] * tp.size >= info.shape[d] &&
                 want[d] * (tp.size - 1) < info.shape[d];
    RELAPSE_CHECK_INPUT(shard, file, ": tensor '", name, "' has shape ",
                        c10::IntArrayRef(info.shape), " but config.json implies ",
                        c10::IntArrayRef(want), tp.size > 1 ? " (per tensor-parallel rank)" : "");
    split = static_cast<int>(d);
  }
  int64_t start = want[split] * tp.rank;
  int64_t len = std::max<int64_t>(0, std::min(want[split], info.shape[split] - start));
  std::vector<int64_t> shape = want;
  torch::Tensor out =
      torch::zeros(shape, torch::TensorOptions().dtype(st_dtype_to_torch(info.dtype)));
  if (len > 0) out.narrow(split, 0, len).copy_(store.read_slice(name, split, start, len));
  return out;
}

}  // namespace

LlamaForCausalLM hf_load(const std::string& dir, const HfLoadOptions& opts) {
  RELAPSE_CHECK_INPUT(fs::is_directory(dir), dir, ": model directory does not exist");
  LlamaConfig cfg = llama_config_load(dir + "/config.json");
  torch::ScalarType dtype = dtype_from_name(opts.dtype.empty() ? cfg.torch_dtype : opts.dtype);
  cfg.torch_dtype = dtype_name(dtype);
  SafetensorsStore store(dir);

  LlamaForCausalLM m(cfg, opts.tp);
  auto params = m->named_parameters(/*recurse=*/true);
  std::set<std::string> expected;
  std::vector<std::string> missing;
  for (auto& kv : params) {
    expected.insert(kv.key());
    if (!store.contains(kv.key())) missing.push_back(kv.key());
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
  for (auto& kv : params) {
    const std::string& name = kv.key();
    torch::Tensor& p = kv.value();
    const StTensorInfo& info = store.info(name);
    std::vector<int64_t> want(p.sizes().begin(), p.sizes().end());
    torch::Tensor t = hf_read_shard(store, name, info, want, opts.tp);
    RELAPSE_CHECK_INPUT(t.is_floating_point(), store.file_of(name).path(), ": tensor '", name,
                        "' has non-float dtype ", info.dtype);
    p.set_data(t.to(dtype).contiguous());
  }
  m->eval();
  log_debug("loaded ", params.size(), " tensors from ", dir, " as ", cfg.torch_dtype);
  return m;
}

NamedTensors hf_state_dict(const LlamaForCausalLM& m) {
  NamedTensors out;
  for (auto& kv : m->named_parameters(true)) out.emplace_back(kv.key(), kv.value().detach());
  return out;
}

void hf_save(const LlamaForCausalLM& m, const std::string& dir, const std::string& tokenizer_model,
             uint64_t max_shard_bytes) {
  RELAPSE_CHECK_CODE(ExitCode::kConfig, m->tp().size == 1,
                     "hf_save of a tensor-parallel shard needs a gather");
  fs::path final_dir(dir);
  fs::path tmp = final_dir.string() + ".partial";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  RELAPSE_CHECK_INPUT(!ec, tmp.string(), ": cannot create directory: ", ec.message());

  LlamaConfig cfg = m->config();
  cfg.torch_dtype = dtype_name(m->dtype());
  {
    std::ofstream f(tmp / "config.json");
    f << llama_config_to_json(cfg).dump(2) << "\n";
    RELAPSE_CHECK_INPUT(f.good(), (tmp / "config.json").string(), ": write failed");
  }
  {
    nlohmann::json gen = {{"bos_token_id", cfg.bos_token_id}, {"eos_token_id", cfg.eos_token_id}};
    std::ofstream f(tmp / "generation_config.json");
    f << gen.dump(2) << "\n";
  }
  safetensors_write_dir(tmp.string(), hf_state_dict(m), max_shard_bytes);
  if (!tokenizer_model.empty()) {
    fs::copy_file(tokenizer_model, tmp / "tokenizer.model", fs::copy_options::overwrite_existing,
                  ec);
    RELAPSE_CHECK_INPUT(!ec, tokenizer_model, ": cannot copy tokenizer: ", ec.message());
  }
  fs::remove_all(final_dir, ec);
  fs::rename(tmp, final_dir, ec);
  RELAPSE_CHECK_INPUT(!ec, dir, ": cannot move the saved model into place: ", ec.message());
}

}  // namespace relapse::model
