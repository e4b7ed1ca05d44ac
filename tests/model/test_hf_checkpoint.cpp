// tests/model/test_hf_checkpoint.cpp — HF directory load/save: round trip,
// the directory transformers verified (tests/golden/fixtures/roundtrip), and
// bad checkpoints that must be refused with an error naming file and tensor.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "relapse/core/error.h"
#include "relapse/model/hf_checkpoint.h"
#include "relapse/model/tokenizer.h"
#include "test_util.h"

using namespace relapse::model;
namespace rt = relapse::test;
namespace fs = std::filesystem;

namespace {

const char* kFixture = "llama_gqa_tied_bias_fp32";

std::string copy_fixture(const std::string& name, const std::string& tag) {
  std::string dst = rt::scratch_dir(tag) + "/model";
  fs::copy(rt::fixture_path(name), dst, fs::copy_options::recursive);
  return dst;
}

// Expects hf_load(dir) to throw kInput with every `needles` in the message.
void expect_load_error(const std::string& dir, const std::vector<std::string>& needles) {
  try {
    hf_load(dir);
    FAIL() << "hf_load(" << dir << ") did not throw";
  } catch (const relapse::Error& e) {
    EXPECT_EQ(e.code(), relapse::ExitCode::kInput) << e.what();
    for (const auto& n : needles)
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}

torch::Tensor logits_of(LlamaForCausalLM& m) {
  torch::NoGradGuard ng;
  torch::Tensor ids = torch::tensor({1, 17, 42, 99, 7, 300, 12, 5}, torch::kInt64).unsqueeze(0);
  return m->forward(ids);
}

TEST(HfCheckpoint, SaveThenLoadIsBitIdentical) {
  for (const char* name : {"llama_mha_fp32", "llama_gqa_tied_bias_fp32", "llama_gqa_bf16"}) {
    auto m = hf_load(rt::fixture_path(name));
    std::string out = rt::scratch_dir("save") + "/saved";
    hf_save(m, out, rt::fixture_path(name) + "/tokenizer.model");
    EXPECT_TRUE(fs::exists(out + "/config.json"));
    EXPECT_TRUE(fs::exists(out + "/tokenizer.model"));
    EXPECT_FALSE(fs::exists(out + ".partial"));
    auto m2 = hf_load(out);
    EXPECT_EQ(m2->dtype(), m->dtype());
    auto a = hf_state_dict(m), b = hf_state_dict(m2);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].first, b[i].first);
      EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << name << " " << a[i].first;
    }
    EXPECT_TRUE(torch::equal(logits_of(m), logits_of(m2))) << name;
  }
}

TEST(HfCheckpoint, TiedModelOmitsLmHead) {
  auto m = hf_load(rt::fixture_path(kFixture));
  for (const auto& kv : hf_state_dict(m)) EXPECT_NE(kv.first, "lm_head.weight");
}

TEST(HfCheckpoint, ShardedSaveWritesIndex) {
  auto m = hf_load(rt::fixture_path("llama_mha_fp32"));
  std::string out = rt::scratch_dir("shard") + "/saved";
  hf_save(m, out, "", /*max_shard_bytes=*/200 * 1024);
  EXPECT_TRUE(fs::exists(out + "/model.safetensors.index.json"));
  EXPECT_FALSE(fs::exists(out + "/model.safetensors"));
  auto m2 = hf_load(out);
  EXPECT_TRUE(torch::equal(logits_of(m), logits_of(m2)));
}

// tests/golden/fixtures/roundtrip is what relapse's hf_save wrote for
// llama_mha_fp32, loaded by transformers' from_pretrained in
// tests/golden/check_roundtrip.py, which recorded its logits there. Saving
// again must give the same bytes (so the verified layout has not drifted) and
// the logits transformers computed from that directory must match ours.
TEST(HfCheckpoint, SavedDirectoryIsTheOneTransformersLoaded) {
  std::string verified = rt::fixture_path("roundtrip");
  auto m = hf_load(rt::fixture_path("llama_mha_fp32"));
  std::string out = rt::scratch_dir("verified") + "/saved";
  hf_save(m, out, rt::fixture_path("llama_mha_fp32") + "/tokenizer.model");
  for (const char* f :
       {"config.json", "model.safetensors", "generation_config.json", "tokenizer.model",
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) {
    EXPECT_EQ(rt::read_file(out + "/" + f), rt::read_file(verified + "/" + f)) << f;
  }
  SafetensorsFile golden(verified + "/transformers_logits.safetensors");
  torch::NoGradGuard ng;
  auto m2 = hf_load(verified);
  torch::Tensor logits = m2->forward(golden.read("input_ids"));
  double err = (logits - golden.read("logits")).abs().max().item<double>();
  EXPECT_LE(err, 1e-4) << "see test_llama_golden.cpp for the fp32 tolerance";
}

// The same directory through transformers' AutoTokenizer (transformers 5 and
// 4.x, transformers_tokens.json, make_roundtrip_fixture.py): relapse's
// tokenizer gives the same ids, with and without BOS, and the same decodings,
// on every text. Exact: ids and strings have no tolerance.
TEST(HfCheckpoint, SavedTokenizerGivesTransformersIds) {
  std::string verified = rt::fixture_path("roundtrip");
  const nlohmann::json j =
      nlohmann::json::parse(rt::read_file(verified + "/transformers_tokens.json"));
  ASSERT_GE(j["rows"].size(), 100u);
  relapse::model::Tokenizer tok(verified);
  for (const auto& r : j["rows"]) {
    const std::string text = r["text"];
    EXPECT_EQ(tok.encode(text), r["ids"].get<std::vector<int64_t>>()) << text;
    const auto bare = r["ids_no_special"].get<std::vector<int64_t>>();
    EXPECT_EQ(tok.encode(text, /*add_bos=*/false), bare) << text;
    EXPECT_EQ(tok.decode(bare, false), r["decoded"].get<std::string>()) << text;
    EXPECT_EQ(tok.decode(r["ids"].get<std::vector<int64_t>>(), true),
              r["decoded_skip_special"].get<std::string>())
        << text;
  }
}

TEST(HfCheckpoint, MissingTensorIsNamed) {
  std::string dir = copy_fixture("llama_mha_fp32", "missing");
  auto m = hf_load(dir);
  NamedTensors sd;
  for (auto& kv : hf_state_dict(m))
    if (kv.first != "model.layers.1.mlp.up_proj.weight") sd.push_back(kv);
  safetensors_write_dir(dir, sd);
  expect_load_error(dir, {"missing tensors", "model.layers.1.mlp.up_proj.weight"});
}

TEST(HfCheckpoint, UnexpectedTensorIsNamed) {
  std::string dir = copy_fixture("llama_mha_fp32", "unexpected");
  auto m = hf_load(dir);
  NamedTensors sd = hf_state_dict(m);
  sd.emplace_back("model.layers.0.self_attn.rotary_emb.inv_freq",
                  torch::ones({8}));  // tolerated (old HF)
  sd.emplace_back("model.layers.7.mlp.up_proj.weight", torch::ones({4, 4}));
  safetensors_write_dir(dir, sd);
  expect_load_error(dir, {"unexpected tensors", "model.layers.7.mlp.up_proj.weight"});
}

TEST(HfCheckpoint, ConfigWeightMismatchNamesTensorAndFile) {
  std::string dir = copy_fixture("llama_mha_fp32", "mismatch");
  nlohmann::json j = nlohmann::json::parse(rt::read_file(dir + "/config.json"));
  j["intermediate_size"] = 96;  // weights were saved with 160
  rt::write_file(dir + "/config.json", j.dump());
  expect_load_error(dir, {"model.safetensors", "model.layers.0.mlp.gate_proj.weight", "shape"});
}

TEST(HfCheckpoint, BadConfigIsNamed) {
  std::string dir = copy_fixture("llama_mha_fp32", "badcfg");
  rt::write_file(dir + "/config.json", "{\"hidden_size\": 64,");
  expect_load_error(dir, {"config.json", "invalid JSON"});
  nlohmann::json j =
      nlohmann::json::parse(rt::read_file(rt::fixture_path("llama_mha_fp32") + "/config.json"));
  j.erase("num_hidden_layers");
  rt::write_file(dir + "/config.json", j.dump());
  expect_load_error(dir, {"config.json", "num_hidden_layers"});
  j = nlohmann::json::parse(rt::read_file(rt::fixture_path("llama_mha_fp32") + "/config.json"));
  j["num_key_value_heads"] = 3;
  rt::write_file(dir + "/config.json", j.dump());
  expect_load_error(dir, {"config.json", "num_key_value_heads"});
  fs::remove(dir + "/config.json");
  expect_load_error(dir, {"config.json"});
}

// Issue 20's families: each fixture's config.json (written by transformers
// 5.17) gives the family's traits, and relapse's own config.json for it names
// the family and architecture transformers loads it with; a checkpoint saved
// by relapse reloads bit-identical. An unsupported family is refused naming
// the file, the model_type and the families relapse runs.
TEST(HfCheckpoint, ModelFamiliesRoundTrip) {
  struct Want {
    const char* fixture;
    const char* architecture;
    bool qkv_bias, o_bias, qk_norm;
  };
  for (const Want& w : {Want{"qwen2_fp32", "Qwen2ForCausalLM", true, false, false},
                        Want{"qwen3_fp32", "Qwen3ForCausalLM", false, false, true},
                        Want{"mistral_fp32", "MistralForCausalLM", false, false, false}}) {
    SCOPED_TRACE(w.fixture);
    auto m = hf_load(rt::fixture_path(w.fixture));
    const LlamaConfig& c = m->config();
    EXPECT_EQ(c.attention_bias, w.qkv_bias);
    EXPECT_EQ(c.o_bias(), w.o_bias);
    EXPECT_EQ(c.qk_norm, w.qk_norm);
    EXPECT_EQ(c.sliding_window, 0);
    const nlohmann::json j = llama_config_to_json(c);
    EXPECT_EQ(j["architectures"][0], w.architecture);
    const std::string out = rt::scratch_dir(std::string("family_") + w.fixture) + "/m";
    hf_save(m, out);
    auto back = hf_load(out);
    EXPECT_EQ(back->config().model_type, c.model_type);
    auto a = m->named_parameters(), b = back->named_parameters();
    ASSERT_EQ(a.size(), b.size());
    for (const auto& p : a) EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();
  }
  // Mistral v0.1's window is kept; Qwen's applies only with use_sliding_window.
  nlohmann::json j =
      nlohmann::json::parse(rt::read_file(rt::fixture_path("mistral_fp32") + "/config.json"));
  j["sliding_window"] = 4096;
  EXPECT_EQ(llama_config_from_json(j, "m").sliding_window, 4096);
  j = nlohmann::json::parse(rt::read_file(rt::fixture_path("qwen2_fp32") + "/config.json"));
  j["sliding_window"] = 4096;
  EXPECT_EQ(llama_config_from_json(j, "q").sliding_window, 0);
  j["use_sliding_window"] = true;
  EXPECT_EQ(llama_config_from_json(j, "q").sliding_window, 4096);

  std::string dir = copy_fixture("llama_mha_fp32", "gemma");
  j = nlohmann::json::parse(rt::read_file(dir + "/config.json"));
  j["model_type"] = "gemma2";
  rt::write_file(dir + "/config.json", j.dump());
  expect_load_error(dir, {"config.json", "gemma2", "llama, mistral, qwen2, qwen3"});
}

// A sequence longer than a windowed model's sliding_window is refused (relapse
// has no windowed attention), naming the window; within it the model runs.
TEST(HfCheckpoint, SlidingWindowBoundsTheSequence) {
  std::string dir = copy_fixture("mistral_fp32", "window");
  nlohmann::json j = nlohmann::json::parse(rt::read_file(dir + "/config.json"));
  j["sliding_window"] = 6;
  rt::write_file(dir + "/config.json", j.dump());
  auto m = hf_load(dir);
  torch::NoGradGuard ng;
  EXPECT_EQ(m->forward(torch::tensor({1, 17, 42, 99, 7, 30}, torch::kInt64).unsqueeze(0)).size(1),
            6);
  rt::expect_error([&] { logits_of(m); }, relapse::ExitCode::kConfig,
                   {"8 tokens", "sliding_window (6"});
}

TEST(HfCheckpoint, TruncatedWeightsNameTheFile) {
  std::string dir = copy_fixture("llama_mha_fp32", "trunc");
  std::string bytes = rt::read_file(dir + "/model.safetensors");
  rt::write_file(dir + "/model.safetensors", bytes.substr(0, bytes.size() / 2));
  expect_load_error(dir, {"model.safetensors"});
}

TEST(HfCheckpoint, MissingShardNamesIndexAndShard) {
  std::string dir = copy_fixture("llama_sharded_fp32", "shard");
  std::string victim;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("model-00002", 0) == 0)
      victim = e.path().filename().string();
  ASSERT_FALSE(victim.empty());
  fs::remove(dir + "/" + victim);
  expect_load_error(dir, {victim});
}

TEST(HfCheckpoint, MissingDirectory) {
  expect_load_error("/nonexistent/model", {"/nonexistent/model"});
}

// A checkpoint published as pytorch_model*.bin only is refused with the
// transformers one-liner that writes safetensors (issue 20).
TEST(HfCheckpoint, PickleOnlyCheckpointNamesTheConversion) {
  std::string dir = copy_fixture("llama_mha_fp32", "pickles");
  fs::remove(dir + "/model.safetensors");
  rt::write_file(dir + "/pytorch_model-00001-of-00002.bin", "not read");
  expect_load_error(dir, {dir, "pytorch_model*.bin", "save_pretrained", "safe_serialization=True"});
}

}  // namespace
