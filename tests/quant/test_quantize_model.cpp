// tests/quant/test_quantize_model.cpp — RTN over a whole model on the tiny
// fixture tests/golden/fixtures/llama_mha_fp32 (2 layers, hidden 64, MLP 160):
// exactly the seven decoder linear kinds change (each to its own rtn_quantize
// result), everything else stays bit-identical; embed_tokens / lm_head only
// when listed; bad group sizes name the tensor; codes round-trip through HDF5.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "relapse/archive/h5.h"
#include "relapse/core/error.h"
#include "relapse/model/hf_checkpoint.h"
#include "relapse/quant/quant_h5.h"
#include "relapse/quant/quantize_model.h"
#include "test_util.h"

namespace relapse::quant {
namespace {

std::map<std::string, torch::Tensor> snapshot(const model::LlamaForCausalLM& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, t] : model::hf_state_dict(m)) out[name] = t.detach().clone();
  return out;
}

std::set<std::string> linear_names(int layers) {
  std::set<std::string> s;
  for (int i = 0; i < layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    for (const char* k : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                          "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"})
      s.insert(p + k + ".weight");
  }
  return s;
}

TEST(QuantizeModel, TouchesExactlyTheSevenLinearKinds) {
  auto m = model::hf_load(test::fixture_path("llama_mha_fp32"));
  const auto before = snapshot(m);
  RtnConfig c;
  c.scheme = RtnScheme::kSym;
  c.bits = 4;
  c.group_size = 32;
  auto layers = quantize_model(m, c);
  const auto after = snapshot(m);

  const std::set<std::string> expected = linear_names(2);
  ASSERT_EQ(layers.size(), expected.size());
  std::set<std::string> got;
  for (const auto& l : layers) {
    got.insert(l.name);
    EXPECT_TRUE(l.result.codes.defined());
    EXPECT_FALSE(l.result.dequant.defined());  // the model holds it
    // The model now holds exactly rtn_quantize(original).
    RtnResult ref = rtn_quantize(before.at(l.name), c, l.name);
    EXPECT_TRUE(torch::equal(after.at(l.name), ref.dequant)) << l.name;
    EXPECT_TRUE(torch::equal(l.result.codes, ref.codes)) << l.name;
    EXPECT_TRUE(torch::equal(l.result.scales, ref.scales)) << l.name;
    EXPECT_FALSE(torch::equal(after.at(l.name), before.at(l.name))) << l.name;
  }
  EXPECT_EQ(got, expected);
  ASSERT_EQ(before.size(), after.size());
  for (const auto& [name, t] : before)
    if (!expected.count(name)) {
      EXPECT_TRUE(torch::equal(after.at(name), t)) << name << " must stay untouched";
    }

  // Still a working model: finite logits that differ from the original's.
  auto orig = model::hf_load(test::fixture_path("llama_mha_fp32"));
  torch::NoGradGuard ng;
  torch::Tensor ids = torch::tensor({{1, 5, 9, 200, 17}}, torch::kInt64);
  torch::Tensor lq = m->forward(ids), lo = orig->forward(ids);
  EXPECT_TRUE(torch::isfinite(lq).all().item<bool>());
  EXPECT_GT((lq - lo).abs().max().item<float>(), 0.f);
}

TEST(QuantizeModel, ModuleListSelectsKinds) {
  auto m = model::hf_load(test::fixture_path("llama_mha_fp32"));
  const auto before = snapshot(m);
  RtnConfig c;
  c.scheme = RtnScheme::kAsym;
  c.bits = 8;
  c.group_size = -1;
  c.modules = {"down_proj", "embed_tokens", "lm_head"};
  auto layers = quantize_model(m, c, /*keep_codes=*/false);
  std::vector<std::string> names;
  for (const auto& l : layers) {
    names.push_back(l.name);
    EXPECT_FALSE(l.result.codes.defined());
    EXPECT_TRUE(l.result.scales.defined());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"model.layers.0.mlp.down_proj.weight",
                                             "model.layers.1.mlp.down_proj.weight",
                                             "model.embed_tokens.weight", "lm_head.weight"}));
  const auto after = snapshot(m);
  for (const auto& [name, t] : before) {
    bool listed = std::find(names.begin(), names.end(), name) != names.end();
    EXPECT_EQ(torch::equal(after.at(name), t), !listed) << name;
  }
}

TEST(QuantizeModel, BadGroupSizeNamesTheTensor) {
  auto m = model::hf_load(test::fixture_path("llama_mha_fp32"));
  RtnConfig c;  // group 128 > hidden 64
  try {
    quantize_model(m, c);
    ADD_FAILURE() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInput);
    EXPECT_NE(std::string(e.what()).find("model.layers.0.self_attn.q_proj.weight"),
              std::string::npos)
        << e.what();
  }
}

TEST(QuantizeModel, CodesRoundTripThroughHdf5) {
  for (auto scheme : {RtnScheme::kSym, RtnScheme::kSymClamp, RtnScheme::kAsym}) {
    auto m = model::hf_load(test::fixture_path("llama_mha_fp32"));
    RtnConfig c;
    c.scheme = scheme;
    c.bits = 3;
    c.group_size = 32;
    auto layers = quantize_model(m, c);
    const std::string path = test::scratch_dir("quant_h5") + "/codes.h5";
    {
      auto f = archive::H5File::create(path);
      quant_write_codes(f.root().group("rtn"), layers, c);
      f.commit();
    }
    auto f = archive::H5File::open_read(path);
    RtnConfig rc;
    rc.modules.clear();
    auto back = quant_read_codes(f.root().open_group("rtn"), &rc);
    EXPECT_EQ(rc.scheme, c.scheme);
    EXPECT_EQ(rc.bits, c.bits);
    EXPECT_EQ(rc.group_size, c.group_size);
    EXPECT_EQ(rc.modules, c.modules);
    ASSERT_EQ(back.size(), layers.size());
    const auto sd = snapshot(m);
    for (size_t i = 0; i < back.size(); ++i) {
      const auto& a = layers[i].result;
      const auto& b = back[i].result;
      EXPECT_EQ(back[i].name, layers[i].name);
      EXPECT_TRUE(torch::equal(a.codes, b.codes));
      EXPECT_TRUE(torch::equal(a.scales, b.scales));
      EXPECT_EQ(a.zeros.defined(), b.zeros.defined());
      if (a.zeros.defined()) {
        EXPECT_TRUE(torch::equal(a.zeros, b.zeros));
      }
      // The archived codes reproduce the model's weights exactly.
      EXPECT_TRUE(torch::equal(rtn_dequantize(b.codes, b.scales, b.zeros, b.group_size),
                               sd.at(back[i].name)))
          << back[i].name;
    }
  }
}

}  // namespace
}  // namespace relapse::quant
