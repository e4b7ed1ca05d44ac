// tests/quant/test_gptq_export.cpp — the GPTQ checkpoint export:
//  - packing the fixed codes/zeros/scales/g_idx of
//    tests/golden/fixtures/quant_export/gptq_pack.safetensors gives the bytes of
//    the Python rendering of AutoGPTQ's QuantLinear.pack, and dequantizing the
//    packed tensors gives AutoGPTQ's torch forward weight (fp32 and fp16);
//  - a tiny model (llama_mha_fp32) quantized with rtn_asym exported and read
//    back: tensor names, dtypes, shapes, config.json's quantization_config,
//    quantize_config.json, untouched tensors bit-identical, and the weights a
//    GPTQ loader reconstructs equal the quantized weights;
//  - rtn_sym_clamp codes are converted, rtn_sym and mismatched settings refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/model/hf_checkpoint.h"
#include "relapse/model/safetensors.h"
#include "relapse/quant/gptq_export.h"
#include "relapse/quant/quantize_model.h"
#include "relapse_kernels.h"
#include "test_util.h"

namespace relapse::quant {
namespace {

bool same_bytes(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  torch::Tensor x = a.contiguous(), y = b.contiguous();
  return std::memcmp(x.data_ptr(), y.data_ptr(), x.numel() * x.element_size()) == 0;
}

TEST(GptqExport, PackMatchesAutoGptqReference) {
  model::SafetensorsFile f(test::fixture_path("quant_export/gptq_pack.safetensors"));
  for (int bits : {2, 4, 8}) {
    SCOPED_TRACE("bits " + std::to_string(bits));
    const std::string p = "b" + std::to_string(bits) + "/";
    LayerQuant l;
    l.name = "model.layers.0.mlp.up_proj.weight";
    l.result.codes = f.read(p + "codes");                                         // int32 [out, in]
    l.result.zeros = f.read(p + "zeros");                                         // int32 [out, ng]
    l.result.scales = f.read(p + "scales").to(torch::kFloat32).t().contiguous();  // [out, ng]
    l.result.g_idx = f.read(p + "g_idx");
    l.result.group_size = 16;
    GptqExportInfo info;
    info.bits = bits;
    info.group_size = 16;
    info.desc_act = true;
    GptqTensors t = gptq_pack_layer(l, info);
    EXPECT_TRUE(same_bytes(t.qweight, f.read(p + "qweight")));
    EXPECT_TRUE(same_bytes(t.qzeros, f.read(p + "qzeros")));
    EXPECT_TRUE(same_bytes(t.scales, f.read(p + "scales")));
    EXPECT_TRUE(same_bytes(t.g_idx, f.read(p + "g_idx")));
    torch::Tensor w = gptq_dequantize(t, bits);
    EXPECT_TRUE(same_bytes(w, f.read(p + "dequant_f32")));
    // fp16: the fp32 product of an fp16 scale (11 significant bits) and an
    // integer |q − z| ≤ 255 (8 bits) is exact, so rounding it to fp16 once is
    // AutoGPTQ's fp16 multiply (one rounding of the exact product): equal bits.
    EXPECT_TRUE(same_bytes(w.to(torch::kFloat16), f.read(p + "dequant_f16")));
    // And the codes come back out of qweight.
    torch::Tensor back = torch::empty({64, 32}, torch::kInt32);
    kernels::unpack_rows_cpu(t.qweight.data_ptr<int32_t>(), 64, 32, bits, back.data_ptr<int32_t>());
    EXPECT_TRUE(torch::equal(back.t(), l.result.codes));
  }
}

std::string prefix_of(const std::string& weight_name) {
  return weight_name.substr(0, weight_name.size() - 7);
}

TEST(GptqExport, TinyModelRtnAsymRoundTrip) {
  auto m = model::hf_load(test::fixture_path("llama_mha_fp32"));
  const model::NamedTensors before = model::hf_state_dict(m);
  std::map<std::string, torch::Tensor> orig;
  for (const auto& [n, t] : before) orig[n] = t.clone();
  RtnConfig c;
  c.scheme = RtnScheme::kAsym;
  c.bits = 4;
  c.group_size = 32;
  std::vector<LayerQuant> layers = quantize_model(m, c);
  ASSERT_EQ(layers.size(), 14u);
  // The quantized weights (the model now holds scale·(q − zero) in fp32).
  std::map<std::string, torch::Tensor> quantized;
  for (const auto& [n, t] : model::hf_state_dict(m)) quantized[n] = t.clone();

  GptqExportInfo info;
  info.bits = 4;
  info.group_size = 32;
  info.sym = false;
  info.damp_percent = 0.01;
  const std::string dir = test::scratch_dir("gptq_export") + "/model";
  const std::string tok = test::fixture_path("tokenizer") + "/tokenizer.model";
  const bool have_tok = std::filesystem::exists(tok);
  quant_export_gptq(m, layers, info, dir, have_tok ? tok : "");

  namespace fs = std::filesystem;
  EXPECT_TRUE(fs::exists(dir + "/config.json"));
  EXPECT_TRUE(fs::exists(dir + "/quantize_config.json"));
  EXPECT_TRUE(fs::exists(dir + "/generation_config.json"));
  EXPECT_FALSE(fs::exists(dir + ".partial"));
  if (have_tok) {
    EXPECT_TRUE(fs::exists(dir + "/tokenizer.model"));
  }

  // config.json = the model's config + quantization_config.
  nlohmann::json cfg = nlohmann::json::parse(test::read_file(dir + "/config.json"));
  EXPECT_EQ(cfg.at("hidden_size"), 64);
  const nlohmann::json& qc = cfg.at("quantization_config");
  EXPECT_EQ(qc.at("quant_method"), "gptq");
  EXPECT_EQ(qc.at("bits"), 4);
  EXPECT_EQ(qc.at("group_size"), 32);
  EXPECT_EQ(qc.at("desc_act"), false);
  EXPECT_EQ(qc.at("sym"), false);
  EXPECT_EQ(qc.at("damp_percent"), 0.01);
  EXPECT_EQ(qc.at("true_sequential"), true);
  EXPECT_EQ(qc.at("checkpoint_format"), "gptq");
  EXPECT_EQ(nlohmann::json::parse(test::read_file(dir + "/quantize_config.json")), qc);

  model::SafetensorsStore st(dir);
  EXPECT_EQ(st.names().size(), before.size() - 14 + 14 * 4);
  std::set<std::string> qnames;
  int64_t zero0 = 0;
  for (const auto& l : layers) {
    qnames.insert(l.name);
    const std::string p = prefix_of(l.name);
    SCOPED_TRACE(p);
    EXPECT_FALSE(st.contains(l.name));
    const int64_t out = l.result.codes.size(0), in = l.result.codes.size(1), ng = in / 32;
    EXPECT_EQ(st.info(p + ".qweight").dtype, "I32");
    EXPECT_EQ(st.info(p + ".qweight").shape, (std::vector<int64_t>{in / 8, out}));
    EXPECT_EQ(st.info(p + ".qzeros").dtype, "I32");
    EXPECT_EQ(st.info(p + ".qzeros").shape, (std::vector<int64_t>{ng, out / 8}));
    EXPECT_EQ(st.info(p + ".scales").dtype, "F16");
    EXPECT_EQ(st.info(p + ".scales").shape, (std::vector<int64_t>{ng, out}));
    EXPECT_EQ(st.info(p + ".g_idx").dtype, "I32");
    EXPECT_EQ(st.info(p + ".g_idx").shape, (std::vector<int64_t>{in}));
    zero0 += l.result.zeros.eq(0).sum().item<int64_t>();

    GptqTensors t{st.read(p + ".qweight"), st.read(p + ".qzeros"), st.read(p + ".scales"),
                  st.read(p + ".g_idx")};
    torch::Tensor w = gptq_dequantize(t, 4);
    // Exactly the LayerQuant dequant with its scales rounded to fp16 (the
    // checkpoint's dtype) ...
    torch::Tensor s16 = l.result.scales.to(torch::kFloat16).to(torch::kFloat32);
    EXPECT_TRUE(same_bytes(w, rtn_dequantize(l.result.codes, s16, l.result.zeros, 32)));
    // ... and within the fp16 rounding of the scale of the fp32 quantized
    // weight: |s16 − s| ≤ 2^−11·s (fp16 has an 11-bit significand; the scales
    // are normal fp16 numbers), so |w16 − w| ≤ 2^−11·|w| + the fp32 rounding
    // of w (≤ 2^−24·|w|); 2^−10·|w| bounds both.
    const torch::Tensor& ref = quantized.at(l.name);
    EXPECT_TRUE(((w - ref).abs() <= ref.abs() * std::ldexp(1.0, -10)).all().item<bool>());
    EXPECT_GT((w - orig.at(l.name)).abs().max().item<float>(), 0.f);  // really quantized
  }
  ASSERT_EQ(zero0, 0) << "a zero point 0 has no v1 form; the exact check above needs none";
  // Everything else as hf_save writes it: same names, dtypes, bits.
  for (const auto& [n, t] : before) {
    if (qnames.count(n)) continue;
    ASSERT_TRUE(st.contains(n)) << n;
    EXPECT_TRUE(same_bytes(st.read(n), orig.at(n))) << n;
  }
}

LayerQuant one_layer(RtnScheme s, int bits, int64_t gs) {
  torch::manual_seed(5);
  torch::Tensor w = torch::randn({32, 64}) * 0.02;
  RtnConfig c;
  c.scheme = s;
  c.bits = bits;
  c.group_size = gs;
  LayerQuant l;
  l.name = "model.layers.0.self_attn.q_proj.weight";
  l.result = rtn_quantize(w, c, l.name);
  return l;
}

TEST(GptqExport, SymClampIsConvertedSymRefused) {
  for (int bits : {8, 4, 2}) {
    LayerQuant l = one_layer(RtnScheme::kSymClamp, bits, 16);
    GptqExportInfo info;
    info.bits = bits;
    info.group_size = 16;
    GptqTensors t = gptq_pack_layer(l, info);
    // Δ·c = Δ·((c + 2^(b−1)) − 2^(b−1)), with Δ rounded to fp16.
    torch::Tensor s16 = l.result.scales.to(torch::kFloat16).to(torch::kFloat32);
    EXPECT_TRUE(same_bytes(gptq_dequantize(t, bits),
                           rtn_dequantize(l.result.codes, s16, torch::Tensor(), 16)))
        << bits;
  }
  LayerQuant sym = one_layer(RtnScheme::kSym, 4, 16);
  GptqExportInfo info;
  info.bits = 4;
  info.group_size = 16;
  test::expect_error([&] { gptq_pack_layer(sym, info); }, ExitCode::kConfig,
                     {"q_proj", "rtn_sym", "2^bits + 1 levels"});
}

TEST(GptqExport, MismatchesAreRefused) {
  LayerQuant l = one_layer(RtnScheme::kAsym, 4, 16);
  GptqExportInfo info;
  info.bits = 4;
  info.group_size = 32;  // quantized with 16
  test::expect_error([&] { gptq_pack_layer(l, info); }, ExitCode::kConfig,
                     {"q_proj", "group size 16", "group_size 32"});
  info.group_size = 16;
  info.bits = 3;
  test::expect_error([&] { gptq_pack_layer(l, info); }, ExitCode::kConfig, {"3-bit"});
  info.bits = 2;  // codes up to 15 do not fit 2 bits
  test::expect_error([&] { gptq_pack_layer(l, info); }, ExitCode::kInput,
                     {"q_proj", "codes outside [0, 3]"});

  auto m = model::hf_load(test::fixture_path("llama_mha_fp32"));
  RtnConfig c;
  c.scheme = RtnScheme::kAsym;
  c.bits = 4;
  c.group_size = 32;
  c.modules = {"q_proj", "embed_tokens"};
  auto layers = quantize_model(m, c);
  GptqExportInfo ok;
  ok.bits = 4;
  ok.group_size = 32;
  const std::string dir = test::scratch_dir("gptq_export_bad") + "/model";
  test::expect_error([&] { quant_export_gptq(m, layers, ok, dir); }, ExitCode::kConfig,
                     {"embed_tokens", "decoder's linear layers"});
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_FALSE(std::filesystem::exists(dir + ".partial"));
}

}  // namespace
}  // namespace relapse::quant
