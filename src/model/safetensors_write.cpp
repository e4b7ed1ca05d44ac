// src/model/safetensors_write.cpp — the safetensors writer: one file
// (safetensors_write) and a Hugging Face weights directory, single file or
// shards plus index (safetensors_write_dir). The header is laid out byte for
// byte as the reference Rust writer does: compact JSON, "__metadata__" first,
// then the tensors in data order as {"dtype","shape","data_offsets"}, padded
// with spaces to a multiple of 8 bytes.

#include <cstdio>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/core/fs.h"
#include "relapse/model/safetensors.h"

namespace fs = std::filesystem;

namespace relapse::model {

namespace {

uint64_t tensor_bytes(const torch::Tensor& t) {
  return static_cast<uint64_t>(t.numel()) * static_cast<uint64_t>(t.element_size());
}

// A JSON string literal, escaped as serde_json does (UTF-8 kept as is).
std::string json_quote(const std::string& path, const std::string& s) {
  try {
    return nlohmann::json(s).dump();
  } catch (const nlohmann::json::exception&) {
    RELAPSE_THROW(ExitCode::kInput, path, ": name or metadata '", s, "' is not valid UTF-8");
  }
}

std::string header_build(const std::string& path, const NamedTensors& tensors,
                         const std::map<std::string, std::string>& metadata) {
  std::string h = "{";
  bool first = true;
  if (!metadata.empty()) {
    h += "\"__metadata__\":{";
    for (const auto& [k, v] : metadata) {
      if (!first) h += ",";
      first = false;
      h += json_quote(path, k) + ":" + json_quote(path, v);
    }
    h += "}";
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (!h.empty() && h.back() != '{') h += ",";
    h += json_quote(path, name) + ":{\"dtype\":\"" + st_dtype_from_torch(t.scalar_type()) +
         "\",\"shape\":[";
    for (int64_t i = 0; i < t.dim(); ++i) h += (i ? "," : "") + std::to_string(t.size(i));
    const uint64_t n = tensor_bytes(t);
    h += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + n) + "]}";
    offset += n;
  }
  h += "}";
  h.append((8 - h.size() % 8) % 8, ' ');
  return h;
}

void names_check_unique(const std::string& path, const NamedTensors& tensors) {
  std::set<std::string> seen;
  for (const auto& [name, t] : tensors) {
    RELAPSE_CHECK_INPUT(seen.insert(name).second, path, ": tensor '", name,
                        "' given twice; tensor names must be unique");
    RELAPSE_CHECK_INPUT(name != "__metadata__", path,
                        ": '__metadata__' is reserved and cannot name a tensor");
    RELAPSE_CHECK_INPUT(t.defined(), path, ": tensor '", name, "' is undefined");
  }
}

std::string shard_name(size_t i, size_t n) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "model-%05zu-of-%05zu.safetensors", i + 1, n);
  return buf;
}

// True for the files a previous safetensors_write_dir may have left: the
// single file, shards, the index, and their .tmp leftovers.
bool is_weights_file(const std::string& f) {
  std::string s = f;
  if (s.size() > 4 && s.compare(s.size() - 4, 4, ".tmp") == 0) s.resize(s.size() - 4);
  if (s == "model.safetensors" || s == "model.safetensors.index.json") return true;
  return s.rfind("model-", 0) == 0 && s.size() > 12 &&
         s.compare(s.size() - 12, 12, ".safetensors") == 0 && s.find("-of-") != std::string::npos;
}

}  // namespace

void safetensors_write(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  names_check_unique(path, tensors);
  const std::string header = header_build(path, tensors, metadata);
  fs_write_atomic_with(path, [&](int fd, const std::string& tmp) {
    unsigned char len[8];
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xff);
    fs_write_all(fd, tmp, len, 8);
    fs_write_all(fd, tmp, header.data(), header.size());
    for (const auto& [name, t] : tensors) {
      // One tensor at a time on the host, so a GPU model is never copied whole.
      torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
      fs_write_all(fd, tmp, c.data_ptr(), tensor_bytes(c));
    }
  });
}

void safetensors_write_dir(const std::string& dir, const NamedTensors& tensors,
                           uint64_t max_shard_bytes, std::map<std::string, std::string> metadata) {
  RELAPSE_CHECK_INPUT(max_shard_bytes > 0, dir, ": max_shard_bytes must be positive");
  names_check_unique(dir, tensors);
  metadata["format"] = "pt";
  std::error_code ec;
  fs::create_directories(dir, ec);
  RELAPSE_CHECK_INPUT(fs::is_directory(dir), dir, ": cannot create directory: ", ec.message());

  // Shards as huggingface_hub's split_state_dict_into_shards_factory builds
  // them: greedy in the given order, a new shard when the next tensor would tip
  // the current one over the limit, and a tensor larger than the limit alone
  // in its own shard.
  std::vector<NamedTensors> shards;
  NamedTensors current;
  uint64_t current_bytes = 0, total = 0;
  for (const auto& nt : tensors) {
    const uint64_t n = tensor_bytes(nt.second);
    total += n;
    if (n > max_shard_bytes) {
      shards.push_back({nt});
      continue;
    }
    if (current_bytes + n > max_shard_bytes) {
      shards.push_back(std::move(current));
      current.clear();
      current_bytes = 0;
    }
    current.push_back(nt);
    current_bytes += n;
  }
  if (!current.empty() || shards.empty()) shards.push_back(std::move(current));

  // Drop the old index first: a crash mid-save then never leaves an index
  // pointing at a mix of old and new shards.
  const fs::path index_path = fs::path(dir) / "model.safetensors.index.json";
  fs::remove(index_path, ec);
  std::set<std::string> written;
  if (shards.size() == 1) {
    safetensors_write((fs::path(dir) / "model.safetensors").string(), shards[0], metadata);
    written.insert("model.safetensors");
  } else {
    nlohmann::json weight_map = nlohmann::json::object();
    for (size_t i = 0; i < shards.size(); ++i) {
      const std::string name = shard_name(i, shards.size());
      safetensors_write((fs::path(dir) / name).string(), shards[i], metadata);
      written.insert(name);
      for (const auto& nt : shards[i]) weight_map[nt.first] = name;
    }
    // Keys sorted (nlohmann's default object is a std::map), indent 2, as
    // transformers writes it with json.dumps(index, indent=2, sort_keys=True).
    nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    const std::string text = index.dump(2) + "\n";
    fs_write_file_atomic(index_path.string(), text);
    written.insert(index_path.filename().string());
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string f = entry.path().filename().string();
    if (entry.is_regular_file() && is_weights_file(f) && !written.count(f))
      fs::remove(entry.path(), ec);
  }
}

}  // namespace relapse::model
