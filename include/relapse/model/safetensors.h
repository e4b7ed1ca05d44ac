// relapse/model/safetensors.h — reader and writer for the safetensors format
// (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON {name: {dtype, shape, data_offsets}, "__metadata__"},
// then the raw little-endian tensor bytes. Every header is validated before any
// tensor is read; a bad file is refused with an error naming file and tensor.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace relapse::model {

struct StTensorInfo {
  std::string name;
  std::string dtype;  // "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets relative to the data section
  uint64_t end = 0;
};

// Bytes per element of a safetensors dtype string; throws kInput for unknown.
size_t st_dtype_size(const std::string& dtype);
torch::ScalarType st_dtype_to_torch(const std::string& dtype);
std::string st_dtype_from_torch(torch::ScalarType t);

// One .safetensors file, opened read-only; the header is parsed and validated
// in the constructor as the reference Rust crate does: header length (< 100 MB,
// inside the file), JSON object, `__metadata__` string->string, each entry's
// dtype / non-negative shape / data_offsets, shape × dtype size = byte range,
// and the ranges tile the data section exactly (no overlap, no gap, no
// trailing bytes). Every failure is a kInput error naming the file and tensor.
// Tensors are pread on demand; the file stays open for the object's lifetime.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const { return infos_.count(name) != 0; }
  // kInput error naming file and tensor if absent.
  const StTensorInfo& info(const std::string& name) const;

  // The whole tensor as a contiguous CPU tensor of its stored dtype.
  torch::Tensor read(const std::string& name) const;
  // Rows [start, start+length) along `dim` (negative dim counts from the end)
  // — reads only the bytes it needs: one pread for dim 0, one per outer row
  // otherwise (used by tensor-parallel ranks to load their shard). An
  // out-of-range dim/start/length is a kInput error naming file and tensor.
  torch::Tensor read_slice(const std::string& name, int64_t dim, int64_t start,
                           int64_t length) const;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t file_size_ = 0;
  uint64_t data_offset_ = 0;  // 8 + header length
  std::map<std::string, StTensorInfo> infos_;
  std::map<std::string, std::string> metadata_;
  void parse_header(const std::string& header);
  void check_bool(const torch::Tensor& t, const std::string& name) const;
  void read_bytes(uint64_t offset, uint64_t size, void* dst, const std::string& tensor) const;
};

// The weights of an HF model directory: either `model.safetensors`, or the shards
// listed in `model.safetensors.index.json` ({"metadata": {...}, "weight_map":
// {tensor: file}}), preferred when present. Every shard is opened once and
// validated; a tensor listed in the index but missing from its shard, or in a
// shard the index does not list it for, is a kInput error naming both; neither
// file present is a kInput error naming the directory.
class SafetensorsStore {
 public:
  explicit SafetensorsStore(const std::string& model_dir);
  const std::string& dir() const { return dir_; }
  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const { return where_.count(name) != 0; }
  const StTensorInfo& info(const std::string& name) const;
  const SafetensorsFile& file_of(const std::string& name) const;
  torch::Tensor read(const std::string& name) const;
  torch::Tensor read_slice(const std::string& name, int64_t dim, int64_t start,
                           int64_t length) const;

 private:
  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;  // tensor name -> index into files_
};

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Writes one safetensors file (tensors made contiguous, CPU, stored dtype kept,
// data in the order given; header JSON laid out and padded with spaces to a
// multiple of 8 as the reference writer does, so the same tensors in the same
// order give the bytes of safetensors.torch.save_file). `__metadata__` is
// omitted when metadata is empty. Written to PATH.tmp, fsynced and renamed, so
// a crash never leaves a partial file. Duplicate names, a dtype safetensors
// cannot hold and I/O failures are kInput errors naming the path.
void safetensors_write(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Writes the weights of an HF directory: one `model.safetensors` when the total
// fits in `max_shard_bytes`, else `model-0000i-of-0000n.safetensors` shards plus
// `model.safetensors.index.json` (metadata.total_size = sum of tensor bytes,
// sorted keys, indent 2), as transformers' save_pretrained lays them out: shards
// filled greedily in the given order, a tensor larger than the limit alone in
// its own shard (huggingface_hub's rule). metadata gets {"format": "pt"} added,
// which transformers requires. Weight files of an earlier save in `dir`
// (model.safetensors, model-*-of-*.safetensors, the index, *.tmp of those) that
// this save did not write are removed; other files are left alone.
void safetensors_write_dir(const std::string& dir, const NamedTensors& tensors,
                           uint64_t max_shard_bytes = 5ull << 30,
                           std::map<std::string, std::string> metadata = {});

}  // namespace relapse::model
