// src/model/tokenizer_hf.cpp — Tokenizer::hf_files, tokenizer_save and
// tokenizer_check_fits (a tokenizer against the model it feeds): the
// Hugging Face tokenizer files of a relapse model directory, written so that
// transformers tokenizes exactly as relapse does (tests/golden/
// make_roundtrip_fixture.py checks AutoTokenizer on them; test_tokenizer checks
// tokenizer.json against the one transformers converted from the same model).
//
// tokenizer.json follows transformers 5's conversion of a SentencePiece BPE
// model (convert_slow_tokenizer.py, SentencePieceExtractor with
// tokenization_utils_base.generate_merges): the vocabulary by id; a merge
// (l, r) for every piece and every split of it into two pieces of the
// vocabulary (split at code points), ordered by the merged piece's id, then by
// len(l), len(r); control and unknown pieces as special added tokens,
// user-defined pieces as non-special ones; Metaspace("▁", prepend "first") when
// the model adds a dummy prefix; the decoder Replace("▁"→" "), ByteFallback,
// Fuse, Strip(one leading space).
#include <filesystem>
#include <system_error>

#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/core/fs.h"
#include "tokenizer_internal.h"
#include "tokenizer_json_internal.h"

namespace relapse::model {

namespace {

using tokenizer_detail::PieceType;
using Json = nlohmann::ordered_json;

// Byte offsets of the code points of a UTF-8 string (and its size at the end).
std::vector<size_t> code_point_starts(const std::string& s) {
  std::vector<size_t> out;
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) out.push_back(i);
  out.push_back(s.size());
  return out;
}

Json added_token(const std::string& content, bool special) {
  return Json{{"content", content}, {"single_word", false}, {"lstrip", false},
              {"rstrip", false},    {"normalized", false},  {"special", special}};
}

// transformers' generate_merges without scores: per piece (by id), every split
// into two vocabulary pieces, by the left piece's length.
Json bpe_merges(const std::vector<std::string>& pieces,
                const std::unordered_map<std::string, int>& vocab) {
  Json merges = Json::array();
  for (const std::string& piece : pieces) {
    std::vector<size_t> cp = code_point_starts(piece);
    for (size_t k = 1; k + 1 < cp.size(); ++k) {
      std::string l = piece.substr(0, cp[k]), r = piece.substr(cp[k]);
      if (vocab.count(l) && vocab.count(r)) merges.push_back(Json::array({l, r}));
    }
  }
  return merges;
}

Json bos_template(const std::string& bos, int64_t bos_id) {
  auto special = [&](int type_id) {
    return Json{{"SpecialToken", {{"id", bos}, {"type_id", type_id}}}};
  };
  auto seq = [](const char* id, int type_id) {
    return Json{{"Sequence", {{"id", id}, {"type_id", type_id}}}};
  };
  return Json{{"type", "TemplateProcessing"},
              {"single", Json::array({special(0), seq("A", 0)})},
              {"pair", Json::array({special(0), seq("A", 0), special(1), seq("B", 1)})},
              {"special_tokens", {{bos, {{"id", bos}, {"ids", {bos_id}}, {"tokens", {bos}}}}}}};
}

Json decoder_json(bool strip_prefix) {
  Json steps = Json::array();
  steps.push_back(Json{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}});
  steps.push_back(Json{{"type", "ByteFallback"}});
  steps.push_back(Json{{"type", "Fuse"}});
  if (strip_prefix)
    steps.push_back(Json{{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
  return Json{{"type", "Sequence"}, {"decoders", steps}};
}

// A tokenizer.json tokenizer's files: its own, verbatim; a tokenizer_config.json
// and special_tokens_map.json written from what was loaded when it had none.
Tokenizer::HfFiles json_hf_files(const JsonTokenizer& t, int64_t model_max_length) {
  namespace fs = std::filesystem;
  Tokenizer::HfFiles f;
  f.tokenizer_json = t.json_bytes;
  auto token_or_null = [&](int64_t id) { return id >= 0 ? Json(t.pieces[id]) : Json(nullptr); };
  if (!t.config_path.empty()) {
    f.tokenizer_config_json = fs_read_file(t.config_path, "tokenizer config");
  } else {
    Json cfg{
        {"bos_token", token_or_null(t.bos)}, {"clean_up_tokenization_spaces", t.clean_up_spaces},
        {"eos_token", token_or_null(t.eos)}, {"model_max_length", model_max_length},
        {"pad_token", token_or_null(t.pad)}, {"tokenizer_class", "PreTrainedTokenizerFast"}};
    f.tokenizer_config_json = cfg.dump(2) + "\n";
  }
  const fs::path stm = fs::path(t.path).parent_path() / "special_tokens_map.json";
  std::error_code ec;
  if (fs::is_regular_file(stm, ec)) {
    f.special_tokens_map_json = fs_read_file(stm.string(), "special tokens map");
  } else {
    Json m = Json::object();
    if (t.bos >= 0) m["bos_token"] = added_token(t.pieces[t.bos], true);
    if (t.eos >= 0) m["eos_token"] = added_token(t.pieces[t.eos], true);
    if (t.pad >= 0) m["pad_token"] = added_token(t.pieces[t.pad], true);
    f.special_tokens_map_json = m.dump(2) + "\n";
  }
  return f;
}

}  // namespace

Tokenizer::HfFiles Tokenizer::hf_files(int64_t model_max_length) const {
  if (json_) return json_hf_files(*json_, model_max_length);
  const Impl& m = *impl_;  // a BPE model: the loader refuses other model types
  Json vocab = Json::object();
  std::unordered_map<std::string, int> ids;
  Json added = Json::array(), added_decoder = Json::object();
  for (size_t i = 0; i < m.pieces.size(); ++i) {
    vocab[m.pieces[i]] = i;
    ids.emplace(m.pieces[i], static_cast<int>(i));
    const int t = m.types[i];
    if (t == PieceType::kControl || t == PieceType::kUnknown || t == PieceType::kUserDefined) {
      const bool special = t != PieceType::kUserDefined;
      Json a = added_token(m.pieces[i], special);
      added.push_back(Json{{"id", i}});
      for (auto& kv : a.items()) added.back()[kv.key()] = kv.value();
      added_decoder[std::to_string(i)] = a;
    }
  }
  const std::string unk = m.unk >= 0 ? m.pieces[m.unk] : std::string();
  Json model{{"type", "BPE"},
             {"dropout", nullptr},
             // transformers leaves it unset with byte fallback (unknown text becomes bytes).
             {"unk_token", m.byte_fallback || unk.empty() ? Json(nullptr) : Json(unk)},
             {"continuing_subword_prefix", nullptr},
             {"end_of_word_suffix", nullptr},
             {"fuse_unk", true},
             {"byte_fallback", m.byte_fallback},
             {"ignore_merges", false},
             {"vocab", vocab},
             {"merges", bpe_merges(m.pieces, ids)}};
  const bool has_bos = m.bos >= 0 && m.bos < static_cast<int64_t>(m.pieces.size());
  const std::string bos = has_bos ? m.pieces[m.bos] : std::string();
  const bool has_eos = m.eos >= 0 && m.eos < static_cast<int64_t>(m.pieces.size());
  Json tj{{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer", nullptr},
          {"pre_tokenizer",
           {{"type", "Metaspace"},
            {"replacement", "\u2581"},
            {"prepend_scheme", m.add_dummy_prefix ? "first" : "never"},
            {"split", false}}},
          {"post_processor", has_bos ? bos_template(bos, m.bos) : Json(nullptr)},
          {"decoder", decoder_json(m.add_dummy_prefix)},
          {"model", model}};
  auto token_or_null = [&](bool has, int64_t id) {
    return has ? Json(m.pieces[id]) : Json(nullptr);
  };
  Json cfg{{"add_bos_token", has_bos},
           {"add_eos_token", false},
           {"added_tokens_decoder", added_decoder},
           {"bos_token", token_or_null(has_bos, m.bos)},
           {"clean_up_tokenization_spaces", false},
           {"eos_token", token_or_null(has_eos, m.eos)},
           {"legacy", false},
           {"model_max_length", model_max_length},
           {"pad_token", nullptr},
           {"padding_side", "right"},
           {"sp_model_kwargs", Json::object()},
           {"tokenizer_class", "LlamaTokenizer"},
           {"unk_token", unk.empty() ? Json(nullptr) : Json(unk)},
           {"use_default_system_prompt", false}};
  Json stm = Json::object();
  if (has_bos) stm["bos_token"] = added_token(bos, true);
  if (has_eos) stm["eos_token"] = added_token(m.pieces[m.eos], true);
  if (!unk.empty()) stm["unk_token"] = added_token(unk, true);
  return {tj.dump(2) + "\n", cfg.dump(2) + "\n", stm.dump(2) + "\n"};
}

void tokenizer_check_fits(const Tokenizer& tok, int64_t model_vocab_size,
                          const std::string& model_dir) {
  RELAPSE_CHECK_INPUT(tok.vocab_size() <= model_vocab_size, "tokenizer ", tok.path(), " has ",
                      tok.vocab_size(), " ids but the model in ", model_dir,
                      " has a vocabulary of ", model_vocab_size,
                      " (config.json vocab_size): its ids would run past the embeddings; use the "
                      "model's own tokenizer (--tokenizer / model.tokenizer)");
}

void tokenizer_save(const std::string& tokenizer_file, const std::string& dir,
                    int64_t model_max_length) {
  const Tokenizer tok(tokenizer_file);
  const Tokenizer::HfFiles f = tok.hf_files(model_max_length);
  if (!tok.is_hf_json())
    fs_write_file_atomic(dir + "/tokenizer.model", fs_read_file(tok.path(), "tokenizer"));
  fs_write_file_atomic(dir + "/tokenizer.json", f.tokenizer_json);
  fs_write_file_atomic(dir + "/tokenizer_config.json", f.tokenizer_config_json);
  fs_write_file_atomic(dir + "/special_tokens_map.json", f.special_tokens_map_json);
}

}  // namespace relapse::model
