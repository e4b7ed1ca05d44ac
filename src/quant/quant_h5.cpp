// src/quant/quant_h5.cpp — writes/reads RTN codes, scales and zero points and
// the code-change diagnostics with the HDF5 wrappers (layout in quant_h5.h).
#include "relapse/quant/quant_h5.h"

#include "relapse/core/error.h"

namespace relapse::quant {

namespace {
template <typename T>
std::vector<T> tensor_vec(const torch::Tensor& t, torch::ScalarType st) {
  torch::Tensor c = t.to(torch::kCPU, st).contiguous();  // device results: one copy
  const T* p = c.data_ptr<T>();
  return std::vector<T>(p, p + c.numel());
}

const char* dtype_str(torch::ScalarType t) {
  switch (t) {
    case torch::kInt16:
      return "int16";
    case torch::kInt8:
      return "int8";
    case torch::kUInt8:
      return "uint8";
    default:
      return "?";
  }
}

torch::ScalarType dtype_from_str(const std::string& s, const std::string& where) {
  if (s == "int16") return torch::kInt16;
  if (s == "int8") return torch::kInt8;
  if (s == "uint8") return torch::kUInt8;
  RELAPSE_THROW(ExitCode::kInput, "unknown codes_dtype '", s, "' at ", where);
}
}  // namespace

void quant_write_codes(archive::H5Group g, const std::vector<LayerQuant>& layers,
                       const RtnConfig& c) {
  quant_write_codes(g, layers, rtn_scheme_name(c.scheme), c.bits, c.group_size, c.modules);
}

void quant_write_codes(archive::H5Group g, const std::vector<LayerQuant>& layers,
                       const std::string& scheme, int bits, int64_t group_size,
                       const std::vector<std::string>& modules) {
  g.set_attr("layout", "rtn_codes");
  g.set_attr("scheme", scheme);
  g.set_attr("bits", bits);
  g.set_attr("group_size", group_size);
  g.set_attr("modules", modules);
  std::vector<std::string> names;
  for (const auto& l : layers) names.push_back(l.name);
  g.set_attr("weights", names);
  for (const auto& l : layers) {
    const RtnResult& r = l.result;
    RELAPSE_CHECK(r.codes.defined() && r.scales.defined(), "no codes kept for ", l.name);
    archive::H5Group lg = g.group(l.name);
    const auto out = static_cast<size_t>(r.codes.size(0));
    lg.write("codes", tensor_vec<int32_t>(r.codes, torch::kInt32), out,
             static_cast<size_t>(r.codes.size(1)));
    // scales' own rows: bitsandbytes 4-bit over blocks spanning rows has [1, n_blocks].
    lg.write("scales", tensor_vec<float>(r.scales, torch::kFloat32),
             static_cast<size_t>(r.scales.size(0)), static_cast<size_t>(r.scales.size(1)));
    if (r.zeros.defined())
      lg.write("zeros", tensor_vec<int32_t>(r.zeros, torch::kInt32), out,
               static_cast<size_t>(r.zeros.size(1)));
    if (r.g_idx.defined()) lg.write("g_idx", tensor_vec<int32_t>(r.g_idx, torch::kInt32));
    if (l.in_scale.defined()) lg.write("in_scale", tensor_vec<float>(l.in_scale, torch::kFloat32));
    if (l.out_div.defined()) lg.write("out_div", tensor_vec<float>(l.out_div, torch::kFloat32));
    lg.set_attr("codes_dtype", dtype_str(r.codes.scalar_type()));
    lg.set_attr("group_size", r.group_size);
    lg.set_attr("format", l.format);
  }
}

std::vector<LayerQuant> quant_read_codes(const archive::H5Group& g, RtnConfig* c) {
  if (c) {
    c->scheme = rtn_scheme_from_name(g.attr_string("scheme"));
    c->bits = static_cast<int>(g.attr_int("bits"));
    c->group_size = g.attr_int("group_size");
    c->modules = g.attr_strings("modules");
  }
  auto to_tensor = [](std::vector<int64_t> shape, const auto& v, torch::ScalarType st) {
    using T = typename std::decay_t<decltype(v)>::value_type;
    auto opts =
        torch::TensorOptions().dtype(std::is_same_v<T, float> ? torch::kFloat32 : torch::kInt32);
    return torch::from_blob(const_cast<T*>(v.data()), shape, opts).clone().to(st);  // own the data
  };
  std::vector<LayerQuant> out;
  for (const auto& name : g.attr_strings("weights")) {
    archive::H5Group lg = g.open_group(name);
    LayerQuant l;
    l.name = name;
    auto st = dtype_from_str(lg.attr_string("codes_dtype"), g.file_path() + ":" + lg.path());
    l.result.codes = to_tensor(lg.shape("codes"), lg.read_int32s("codes"), st);
    l.result.scales = to_tensor(lg.shape("scales"), lg.read_floats("scales"), torch::kFloat32);
    if (lg.has("zeros"))
      l.result.zeros = to_tensor(lg.shape("zeros"), lg.read_int32s("zeros"), torch::kUInt8);
    l.result.group_size = lg.attr_int("group_size");
    auto vec1 = [&](const char* key, torch::ScalarType st) {
      if (!lg.has(key)) return torch::Tensor();
      if (st == torch::kInt32) return to_tensor(lg.shape(key), lg.read_int32s(key), st);
      return to_tensor(lg.shape(key), lg.read_floats(key), st);
    };
    l.result.g_idx = vec1("g_idx", torch::kInt32);
    l.in_scale = vec1("in_scale", torch::kFloat32);
    l.out_div = vec1("out_div", torch::kFloat32);
    if (lg.has_attr("format")) l.format = lg.attr_string("format");
    out.push_back(std::move(l));
  }
  return out;
}

void quant_write_code_change(archive::H5Group g, const CodeChangeStats& s) {
  g.set_attr("n_weights", s.n_weights);
  g.set_attr("n_codes_changed", s.n_codes_changed);
  g.set_attr("frac_codes_changed", s.frac_codes_changed());
  g.set_attr("n_moved", s.n_moved);
  g.set_attr("frac_moved", s.frac_moved());
  g.set_attr("n_groups", s.n_groups);
  g.set_attr("n_groups_params_changed", s.n_groups_params_changed);
  g.set_attr("mean_ratio", s.mean_ratio());
  g.set_attr("max_ratio", s.max_ratio);
  g.set_attr("n_zero_delta_moved", s.n_zero_delta_moved);
  g.set_attr("hist_edges", s.bin_edges);
  g.set_attr("hist", std::vector<double>(s.hist.begin(), s.hist.end()));
}

}  // namespace relapse::quant
