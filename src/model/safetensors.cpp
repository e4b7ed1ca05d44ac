// src/model/safetensors.cpp — the safetensors reader: dtype tables and
// SafetensorsFile, which validates a header the way the reference Rust crate
// does (huggingface/safetensors, SafeTensors::read_metadata + Metadata::validate)
// before any tensor is read, then preads tensors or slices of them.
// The writer is in safetensors_write.cpp, the directory store in safetensors_store.cpp.
#include "relapse/model/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "relapse/core/error.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors stores little-endian data; relapse reads it without byte swapping");

namespace relapse::model {

namespace {

// The reference reader refuses headers above 100 MB (MAX_HEADER_SIZE).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DtypeEntry {
  const char* name;
  size_t size;
  torch::ScalarType torch_type;
};

// The dtypes libtorch 1.13 can hold. U16/U32/U64 and the F8 variants are
// refused as unsupported.
constexpr DtypeEntry kDtypes[] = {
    {"F64", 8, torch::kFloat64},   {"F32", 4, torch::kFloat32}, {"F16", 2, torch::kFloat16},
    {"BF16", 2, torch::kBFloat16}, {"I64", 8, torch::kInt64},   {"I32", 4, torch::kInt32},
    {"I16", 2, torch::kInt16},     {"I8", 1, torch::kInt8},     {"U8", 1, torch::kUInt8},
    {"BOOL", 1, torch::kBool},
};

const DtypeEntry* dtype_find(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

std::string offsets_str(const StTensorInfo& t) {
  return "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "]";
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// A JSON value as a non-negative integer that fits in uint64 (JSON numbers like
// 3.0 or -1 are refused, as serde refuses them for usize).
bool json_to_u64(const nlohmann::json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(v.get<int64_t>());
    return true;
  }
  return false;
}

}  // namespace

size_t st_dtype_size(const std::string& dtype) {
  const DtypeEntry* d = dtype_find(dtype);
  RELAPSE_CHECK_INPUT(d, "unknown or unsupported safetensors dtype '", dtype, "'");
  return d->size;
}

torch::ScalarType st_dtype_to_torch(const std::string& dtype) {
  const DtypeEntry* d = dtype_find(dtype);
  RELAPSE_CHECK_INPUT(d, "unknown or unsupported safetensors dtype '", dtype, "'");
  return d->torch_type;
}

std::string st_dtype_from_torch(torch::ScalarType t) {
  for (const auto& d : kDtypes)
    if (d.torch_type == t) return d.name;
  RELAPSE_THROW(ExitCode::kInput, "torch dtype ", c10::toString(t),
                " has no safetensors equivalent supported by relapse");
}

// ---- SafetensorsFile --------------------------------------------------------

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  RELAPSE_CHECK_INPUT(fd_ >= 0, path, ": cannot open: ", std::strerror(errno));
  try {
    struct stat st;
    RELAPSE_CHECK_INPUT(::fstat(fd_, &st) == 0, path, ": cannot stat: ", std::strerror(errno));
    RELAPSE_CHECK_INPUT(S_ISREG(st.st_mode), path, ": not a regular file");
    file_size_ = static_cast<uint64_t>(st.st_size);
    RELAPSE_CHECK_INPUT(file_size_ >= 8, path, ": file is ", file_size_,
                        " bytes, shorter than the 8-byte header length; not a safetensors file");
    unsigned char len_bytes[8];
    read_bytes(0, 8, len_bytes, "");
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | len_bytes[i];
    RELAPSE_CHECK_INPUT(n <= kMaxHeaderBytes, path, ": header length ", n,
                        " exceeds the 100 MB limit; not a safetensors file");
    RELAPSE_CHECK_INPUT(n <= file_size_ - 8, path, ": header length ", n, " past EOF (file is ",
                        file_size_, " bytes)");
    data_offset_ = 8 + n;
    std::string header(n, '\0');
    read_bytes(8, n, header.data(), "");
    parse_header(header);
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

// A tensor's shape from its 'shape' entry; returns the element count,
// refusing negative, non-integer or too large dimensions and byte counts
// that overflow.
uint64_t parse_shape(const nlohmann::json& sh, const std::string& where, const DtypeEntry* d,
                     std::vector<int64_t>& shape) {
  uint64_t numel = 1;
  bool overflow = false;
  for (const auto& dim : sh) {
    RELAPSE_CHECK_INPUT(dim.is_number_integer(), where, "shape ", sh.dump(),
                        " has a non-integer dimension");
    RELAPSE_CHECK_INPUT(dim.is_number_unsigned() || dim.get<int64_t>() >= 0, where, "shape ",
                        sh.dump(), " has a negative dimension");
    uint64_t k = 0;
    json_to_u64(dim, &k);
    RELAPSE_CHECK_INPUT(k <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), where,
                        "shape ", sh.dump(), " has a dimension too large");
    shape.push_back(static_cast<int64_t>(k));
    if (k != 0 && numel > std::numeric_limits<uint64_t>::max() / k) overflow = true;
    numel *= k;
  }
  if (numel == 0) overflow = false;  // a zero dimension makes any product 0
  RELAPSE_CHECK_INPUT(!overflow && numel <= std::numeric_limits<uint64_t>::max() / d->size, where,
                      "shape ", sh.dump(), " overflows the byte count");
  return numel;
}

// One tensor entry of the header: dtype, shape and data_offsets, checked
// against each other and against the data section's size.
StTensorInfo parse_tensor_entry(const std::string& path, const std::string& name,
                                const nlohmann::json& v, uint64_t data_size) {
  const std::string where = path + ": tensor '" + name + "': ";
  RELAPSE_CHECK_INPUT(v.is_object(), where, "entry is not a JSON object");
  StTensorInfo t;
  t.name = name;
  auto dt = v.find("dtype");
  RELAPSE_CHECK_INPUT(dt != v.end() && dt->is_string(), where, "missing or non-string 'dtype'");
  t.dtype = dt->get<std::string>();
  const DtypeEntry* d = dtype_find(t.dtype);
  RELAPSE_CHECK_INPUT(d, where, "unknown or unsupported dtype '", t.dtype, "'");

  auto sh = v.find("shape");
  RELAPSE_CHECK_INPUT(sh != v.end() && sh->is_array(), where, "missing or non-array 'shape'");
  const uint64_t numel = parse_shape(*sh, where, d, t.shape);

  auto off = v.find("data_offsets");
  RELAPSE_CHECK_INPUT(off != v.end() && off->is_array() && off->size() == 2 &&
                          json_to_u64((*off)[0], &t.begin) && json_to_u64((*off)[1], &t.end),
                      where, "'data_offsets' must be an array of two non-negative integers, got ",
                      off == v.end() ? std::string("nothing") : off->dump());
  RELAPSE_CHECK_INPUT(t.begin <= t.end, where, offsets_str(t), " begin past end");
  const uint64_t nbytes = numel * d->size;
  RELAPSE_CHECK_INPUT(t.end - t.begin == nbytes, where, "shape/byte mismatch: shape ",
                      shape_str(t.shape), " of ", t.dtype, " is ", nbytes, " bytes but ",
                      offsets_str(t), " span ", t.end - t.begin);
  RELAPSE_CHECK_INPUT(t.end <= data_size, where, offsets_str(t), " end past the data section (",
                      data_size, " bytes): file truncated?");
  return t;
}

// The byte ranges must tile the data section exactly: sorted by begin, each
// starts where the previous ended, and the last ends at EOF (the reference
// crate refuses gaps with InvalidOffset and trailing bytes with
// MetadataIncompleteBuffer).
void check_tiling(const std::string& path, const std::map<std::string, StTensorInfo>& infos,
                  uint64_t data_size) {
  std::vector<const StTensorInfo*> order;
  for (const auto& kv : infos) order.push_back(&kv.second);
  std::sort(order.begin(), order.end(), [](const StTensorInfo* a, const StTensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t expected = 0;
  const StTensorInfo* prev = nullptr;
  for (const StTensorInfo* t : order) {
    RELAPSE_CHECK_INPUT(t->begin >= expected, path, ": tensor '", t->name, "': ", offsets_str(*t),
                        " overlap tensor '", prev ? prev->name : "", "' (", offsets_str(*prev),
                        ")");
    RELAPSE_CHECK_INPUT(t->begin == expected, path, ": tensor '", t->name, "': ", offsets_str(*t),
                        " leave a gap of ", t->begin - expected, " unused bytes after ",
                        prev ? "tensor '" + prev->name + "'" : std::string("the header"));
    expected = t->end;
    prev = t;
  }
  RELAPSE_CHECK_INPUT(expected == data_size, path, ": the tensors cover ", expected, " of the ",
                      data_size, " bytes of the data section",
                      prev ? " (last is tensor '" + prev->name + "')" : std::string(""),
                      "; the file has trailing bytes");
}

}  // namespace

void SafetensorsFile::parse_header(const std::string& header) {
  nlohmann::json j = nlohmann::json::parse(header, nullptr, /*allow_exceptions=*/false);
  RELAPSE_CHECK_INPUT(!j.is_discarded(), path_, ": header is not valid JSON");
  RELAPSE_CHECK_INPUT(j.is_object(), path_, ": header is not a JSON object");
  const uint64_t data_size = file_size_ - data_offset_;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& v = it.value();
    if (name == "__metadata__") {
      RELAPSE_CHECK_INPUT(v.is_object(), path_,
                          ": '__metadata__' is not a JSON object of string to string");
      for (auto m = v.begin(); m != v.end(); ++m) {
        RELAPSE_CHECK_INPUT(m.value().is_string(), path_, ": '__metadata__' key '", m.key(),
                            "' has a non-string value");
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    infos_.emplace(name, parse_tensor_entry(path_, name, v, data_size));
  }
  check_tiling(path_, infos_, data_size);
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(infos_.size());
  for (const auto& kv : infos_) out.push_back(kv.first);
  return out;
}

const StTensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = infos_.find(name);
  RELAPSE_CHECK_INPUT(it != infos_.end(), path_, ": no tensor '", name, "'");
  return it->second;
}

void SafetensorsFile::read_bytes(uint64_t offset, uint64_t size, void* dst,
                                 const std::string& tensor) const {
  char* p = static_cast<char*>(dst);
  while (size > 0) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(size, 1ull << 30));
    ssize_t got = ::pread(fd_, p, chunk, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    RELAPSE_CHECK_INPUT(got >= 0, path_, tensor.empty() ? "" : ": tensor '" + tensor + "'",
                        ": read of ", size, " bytes at offset ", offset,
                        " failed: ", std::strerror(errno));
    RELAPSE_CHECK_INPUT(got > 0, path_, tensor.empty() ? "" : ": tensor '" + tensor + "'",
                        ": unexpected end of file at offset ", offset,
                        " (file shrank after it was opened?)");
    p += got;
    offset += static_cast<uint64_t>(got);
    size -= static_cast<uint64_t>(got);
  }
}

// BOOL bytes other than 0 and 1 are not valid torch bools; refuse them.
void SafetensorsFile::check_bool(const torch::Tensor& t, const std::string& name) const {
  if (t.scalar_type() != torch::kBool || t.numel() == 0) return;
  const auto* p = static_cast<const unsigned char*>(t.data_ptr());
  for (int64_t i = 0; i < t.numel(); ++i)
    RELAPSE_CHECK_INPUT(p[i] <= 1, path_, ": tensor '", name, "': BOOL element ", i,
                        " has byte value ", static_cast<int>(p[i]), " (must be 0 or 1)");
}

torch::Tensor SafetensorsFile::read(const std::string& name) const {
  const StTensorInfo& t = info(name);
  torch::Tensor out =
      torch::empty(t.shape, torch::TensorOptions().dtype(st_dtype_to_torch(t.dtype)));
  read_bytes(data_offset_ + t.begin, t.end - t.begin, out.data_ptr(), name);
  check_bool(out, name);
  return out;
}

torch::Tensor SafetensorsFile::read_slice(const std::string& name, int64_t dim, int64_t start,
                                          int64_t length) const {
  const StTensorInfo& t = info(name);
  const int64_t ndim = static_cast<int64_t>(t.shape.size());
  RELAPSE_CHECK_INPUT(dim >= -ndim && dim < ndim, path_, ": tensor '", name, "': slice dim ", dim,
                      " out of range for shape ", shape_str(t.shape));
  if (dim < 0) dim += ndim;
  const int64_t extent = t.shape[static_cast<size_t>(dim)];
  RELAPSE_CHECK_INPUT(start >= 0 && length >= 0 && start <= extent && length <= extent - start,
                      path_, ": tensor '", name, "': slice [", start, ", ", start, " + ", length,
                      ") out of range for dim ", dim, " of shape ", shape_str(t.shape));
  std::vector<int64_t> out_shape = t.shape;
  out_shape[static_cast<size_t>(dim)] = length;
  torch::Tensor out =
      torch::empty(out_shape, torch::TensorOptions().dtype(st_dtype_to_torch(t.dtype)));
  // outer × [extent rows of `inner` bytes]; read `length` rows from each outer block.
  uint64_t outer = 1;
  for (int64_t i = 0; i < dim; ++i) outer *= static_cast<uint64_t>(t.shape[static_cast<size_t>(i)]);
  uint64_t inner = st_dtype_size(t.dtype);
  for (int64_t i = dim + 1; i < ndim; ++i)
    inner *= static_cast<uint64_t>(t.shape[static_cast<size_t>(i)]);
  const uint64_t run = static_cast<uint64_t>(length) * inner;
  if (run == 0 || outer == 0) return out;
  char* dst = static_cast<char*>(out.data_ptr());
  for (uint64_t o = 0; o < outer; ++o) {
    const uint64_t src =
        t.begin + (o * static_cast<uint64_t>(extent) + static_cast<uint64_t>(start)) * inner;
    read_bytes(data_offset_ + src, run, dst + o * run, name);
  }
  check_bool(out, name);
  return out;
}

}  // namespace relapse::model
