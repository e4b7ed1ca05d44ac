// tests/model/test_tokenizer_json.cpp — relapse::model::Tokenizer on Hugging
// Face tokenizer.json files against the `tokenizers` library (0.23.3):
// tests/golden/fixtures/tokenizer_json/ holds five tokenizers trained with it
// in exactly the setups Llama-3, Qwen2/2.5, GPT-2, Mistral (Metaspace) and
// Llama-2 (legacy Prepend/Replace normalizer) ship, texts.json (>= 1,000
// texts: Unicode in many scripts, code, digit and whitespace runs,
// contractions, special-token text) and each tokenizer's ids and decodings
// (tests/golden/make_tokenizer_json_fixtures.py). All comparisons are exact.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/model/tokenizer.h"
#include "test_util.h"

using relapse::model::Tokenizer;
using relapse::test::expect_input_error;
using json = nlohmann::json;

namespace {

std::string dir_of(const std::string& name) {
  return relapse::test::fixture_path("tokenizer_json/" + name);
}

json json_load(const std::string& path) {
  return json::parse(relapse::test::read_file(path));
}

// Every text: ids with and without the template's special tokens, and both
// decodings; counts the mismatches and shows the first few.
void expect_equal_on_texts(const std::string& name) {
  const json texts = json_load(relapse::test::fixture_path("tokenizer_json/texts.json"));
  const json g = json_load(dir_of(name) + "/golden.json");
  ASSERT_GE(texts.size(), 1000u);
  ASSERT_EQ(g["ids"].size(), texts.size());
  Tokenizer tok(dir_of(name));
  EXPECT_EQ(tok.vocab_size(), g["vocab_size"].get<int64_t>()) << name;
  int bad = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string text = texts[i].get<std::string>();
    const auto ids = g["ids"][i].get<std::vector<int64_t>>();
    const auto plain = g["ids_plain"][i].get<std::vector<int64_t>>();
    const std::string dec = g["decoded"][i].get<std::string>();
    const std::string keep = g["decoded_keep"][i].get<std::string>();
    const bool ok = tok.encode(text, true) == ids && tok.encode(text, false) == plain &&
                    tok.decode(ids, true) == dec && tok.decode(ids, false) == keep;
    if (!ok && ++bad <= 5) {
      ADD_FAILURE() << name << " text " << i << ": " << json(text).dump() << "\n ids  "
                    << json(tok.encode(text, true)).dump() << "\n want " << json(ids).dump()
                    << "\n dec  " << json(tok.decode(ids, true)).dump() << "\n want "
                    << json(dec).dump();
    }
  }
  EXPECT_EQ(bad, 0) << name << ": texts differing from the tokenizers library";
}

void expect_equal_on_random_ids(const std::string& name) {
  const json g = json_load(dir_of(name) + "/golden.json");
  Tokenizer tok(dir_of(name));
  ASSERT_GE(g["random_ids"].size(), 100u);
  for (size_t i = 0; i < g["random_ids"].size(); ++i) {
    const auto ids = g["random_ids"][i].get<std::vector<int64_t>>();
    const std::string dec = g["random_decoded"][i].get<std::string>();
    const std::string keep = g["random_decoded_keep"][i].get<std::string>();
    ASSERT_EQ(tok.decode(ids, true), dec) << name << " random ids " << json(ids).dump();
    ASSERT_EQ(tok.decode(ids, false), keep) << name << " random ids " << json(ids).dump();
  }
}

}  // namespace

TEST(TokenizerJson, Llama3ByteLevelMatchesTokenizers) {
  expect_equal_on_texts("llama3");
  expect_equal_on_random_ids("llama3");
}

TEST(TokenizerJson, Qwen2NfcByteLevelMatchesTokenizers) {
  expect_equal_on_texts("qwen2");
  expect_equal_on_random_ids("qwen2");
}

TEST(TokenizerJson, Gpt2ByteLevelMatchesTokenizers) {
  expect_equal_on_texts("gpt2");
  expect_equal_on_random_ids("gpt2");
}

TEST(TokenizerJson, MistralMetaspaceByteFallbackMatchesTokenizers) {
  expect_equal_on_texts("mistral");
  expect_equal_on_random_ids("mistral");
}

TEST(TokenizerJson, Llama2LegacyNormalizerMatchesTokenizers) {
  expect_equal_on_texts("llama2_legacy");
  expect_equal_on_random_ids("llama2_legacy");
}

// Special ids come from tokenizer_config.json (Llama-3: BOS <|begin_of_text|>
// from the template too; Qwen2: no BOS, EOS <|endoftext|>).
TEST(TokenizerJson, SpecialIdsFromTheConfig) {
  Tokenizer l3(dir_of("llama3"));
  EXPECT_EQ(l3.id_to_piece(l3.bos_id()), "<|begin_of_text|>");
  EXPECT_EQ(l3.id_to_piece(l3.eos_id()), "<|end_of_text|>");
  EXPECT_EQ(l3.encode("hi", true).front(), l3.bos_id());
  EXPECT_EQ(l3.encode("hi", true, true).back(), l3.eos_id());
  Tokenizer qw(dir_of("qwen2"));
  EXPECT_EQ(qw.bos_id(), -1);
  EXPECT_EQ(qw.id_to_piece(qw.eos_id()), "<|endoftext|>");
  EXPECT_EQ(qw.encode("hi", true), qw.encode("hi", false));  // Qwen adds nothing
}

// relapse's own SentencePiece tokenizer and the tokenizer.json it writes for
// it (equal to transformers' conversion) tokenize every text alike, through
// the two independent code paths.
TEST(TokenizerJson, SentencePieceAndItsTokenizerJsonAgree) {
  const std::string rt = relapse::test::fixture_path("roundtrip");
  Tokenizer spm(rt + "/tokenizer.model"), hf(rt + "/tokenizer.json");
  EXPECT_FALSE(spm.is_hf_json());
  EXPECT_TRUE(hf.is_hf_json());
  EXPECT_EQ(spm.vocab_size(), hf.vocab_size());
  EXPECT_EQ(spm.bos_id(), hf.bos_id());
  EXPECT_EQ(spm.eos_id(), hf.eos_id());
  const json texts = json_load(relapse::test::fixture_path("tokenizer_json/texts.json"));
  int bad = 0;
  for (const auto& t : texts) {
    const std::string text = t.get<std::string>();
    const auto ids = spm.encode(text);
    if ((hf.encode(text) != ids || hf.decode(ids) != spm.decode(ids)) && ++bad <= 3)
      ADD_FAILURE() << json(text).dump() << "\n spm " << json(ids).dump() << "\n hf  "
                    << json(hf.encode(text)).dump();
  }
  EXPECT_EQ(bad, 0);
}

// A tokenizer.json tokenizer saved into a model directory travels with its
// config: the copy loads and tokenizes alike.
TEST(TokenizerJson, SavedDirectoryTokenizesAlike) {
  const std::string out = relapse::test::scratch_dir("tokjson");
  relapse::model::tokenizer_save(dir_of("llama3") + "/tokenizer.json", out, 8192);
  Tokenizer a(dir_of("llama3")), b(out);
  EXPECT_TRUE(b.is_hf_json());
  EXPECT_EQ(relapse::test::read_file(out + "/tokenizer.json"),
            relapse::test::read_file(dir_of("llama3") + "/tokenizer.json"));
  const std::string text = "Hello, world! It's 2026.\n  ünïcödé 東京";
  EXPECT_EQ(a.encode(text), b.encode(text));
  EXPECT_EQ(a.bos_id(), b.bos_id());
  EXPECT_EQ(a.eos_id(), b.eos_id());
}

// Unsupported kinds and broken files are refused naming the file and field.
TEST(TokenizerJson, BadFilesAreInputErrors) {
  const std::string dir = relapse::test::scratch_dir("tokjson_bad");
  json base = json_load(dir_of("gpt2") + "/tokenizer.json");
  auto refused = [&](const json& j, const std::vector<std::string>& needles) {
    const std::string f = dir + "/tokenizer.json";
    relapse::test::write_file(f, j.dump());
    std::vector<std::string> n = needles;
    n.push_back(f);
    expect_input_error([&] { Tokenizer t(f); }, n);
  };
  json wp = base;
  wp["model"]["type"] = "WordPiece";
  refused(wp, {"model", "WordPiece"});
  json re = base;
  re["pre_tokenizer"] = {{"type", "Split"},
                         {"pattern", {{"Regex", "\\w+"}}},
                         {"behavior", "Isolated"},
                         {"invert", false}};
  refused(re, {"pre_tokenizer", "\\\\w+"});
  json norm = base;
  norm["normalizer"] = {{"type", "NFKC"}};
  refused(norm, {"normalizer", "NFKC"});
  json merges = base;
  merges["model"]["merges"][0] = "only-one-token";
  refused(merges, {"model.merges[0]"});
  json novocab = base;
  novocab["model"].erase("vocab");
  refused(novocab, {"model", "vocab"});
  relapse::test::write_file(dir + "/tokenizer.json", "{\"model\": ");
  expect_input_error([&] { Tokenizer t(dir + "/tokenizer.json"); }, "not valid JSON");
  Tokenizer ok(dir_of("gpt2"));
  expect_input_error([&] { ok.decode({ok.vocab_size()}); }, "not in the vocabulary");
}
