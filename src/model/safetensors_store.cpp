// src/model/safetensors_store.cpp — SafetensorsStore: the weights of a Hugging
// Face model directory, either one `model.safetensors` or the shards listed in
// `model.safetensors.index.json`. The index and the shards must agree exactly:
// every indexed tensor is in its shard, every shard tensor is indexed there.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/core/fs.h"
#include "relapse/model/safetensors.h"

namespace fs = std::filesystem;

namespace relapse::model {

SafetensorsStore::SafetensorsStore(const std::string& model_dir) : dir_(model_dir) {
  const std::string index_path = (fs::path(model_dir) / "model.safetensors.index.json").string();
  const std::string single_path = (fs::path(model_dir) / "model.safetensors").string();
  std::error_code ec;
  if (fs::exists(index_path, ec)) {
    nlohmann::json j = nlohmann::json::parse(fs_read_file(index_path, "safetensors index"), nullptr,
                                             /*allow_exceptions=*/false);
    RELAPSE_CHECK_INPUT(!j.is_discarded() && j.is_object(), index_path,
                        ": not a valid JSON object");
    auto wm = j.find("weight_map");
    RELAPSE_CHECK_INPUT(wm != j.end() && wm->is_object(), index_path,
                        ": missing or non-object 'weight_map'");
    // Shard file name -> the tensors the index puts there; each file opened once.
    std::map<std::string, std::vector<std::string>> by_file;
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      RELAPSE_CHECK_INPUT(it.value().is_string(), index_path, ": tensor '", it.key(),
                          "': weight_map value is not a file name string");
      const std::string file = it.value().get<std::string>();
      RELAPSE_CHECK_INPUT(!file.empty() && fs::path(file).filename() == file, index_path,
                          ": tensor '", it.key(), "': shard '", file,
                          "' is not a plain file name in the model directory");
      by_file[file].push_back(it.key());
    }
    for (const auto& [file, names] : by_file) {
      files_.push_back(std::make_unique<SafetensorsFile>((fs::path(model_dir) / file).string()));
      const SafetensorsFile& sf = *files_.back();
      for (const auto& name : names) {
        RELAPSE_CHECK_INPUT(sf.contains(name), index_path, ": tensor '", name, "' is listed in '",
                            file, "' but ", sf.path(), " has no such tensor");
        where_[name] = files_.size() - 1;
      }
      for (const auto& name : sf.names()) {
        auto w = where_.find(name);
        RELAPSE_CHECK_INPUT(w != where_.end() && w->second == files_.size() - 1, sf.path(),
                            ": tensor '", name, "' is not listed for this shard in ", index_path,
                            wm->contains(name)
                                ? " (the index puts it in '" + (*wm)[name].get<std::string>() + "')"
                                : std::string(""));
      }
    }
  } else if (fs::exists(single_path, ec)) {
    files_.push_back(std::make_unique<SafetensorsFile>(single_path));
    for (const auto& name : files_.back()->names()) where_[name] = 0;
  } else {
    // A checkpoint published only as PyTorch pickles (pytorch_model*.bin):
    // relapse reads no pickles (they run code); transformers converts them.
    bool pickles = false;
    for (const auto& e : fs::directory_iterator(model_dir, ec))
      pickles = pickles || e.path().filename().string().rfind("pytorch_model", 0) == 0;
    RELAPSE_CHECK_INPUT(!pickles, model_dir,
                        ": the weights are pytorch_model*.bin only; relapse reads safetensors. "
                        "Convert once with transformers: python -c \"from transformers import "
                        "AutoModelForCausalLM as M; M.from_pretrained('",
                        model_dir, "').save_pretrained('", model_dir,
                        "-st', safe_serialization=True)\" and use ", model_dir, "-st");
    RELAPSE_THROW(ExitCode::kInput, model_dir,
                  ": no model.safetensors or model.safetensors.index.json in this directory");
  }
}

std::vector<std::string> SafetensorsStore::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& kv : where_) out.push_back(kv.first);
  return out;
}

const SafetensorsFile& SafetensorsStore::file_of(const std::string& name) const {
  auto it = where_.find(name);
  RELAPSE_CHECK_INPUT(it != where_.end(), dir_, ": no tensor '", name, "' in the model weights");
  return *files_[it->second];
}

const StTensorInfo& SafetensorsStore::info(const std::string& name) const {
  return file_of(name).info(name);
}

torch::Tensor SafetensorsStore::read(const std::string& name) const {
  return file_of(name).read(name);
}

torch::Tensor SafetensorsStore::read_slice(const std::string& name, int64_t dim, int64_t start,
                                           int64_t length) const {
  return file_of(name).read_slice(name, dim, start, length);
}

}  // namespace relapse::model
