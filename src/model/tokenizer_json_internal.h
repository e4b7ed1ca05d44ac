// src/model/tokenizer_json_internal.h — JsonTokenizer: a Hugging Face
// tokenizer.json (the `tokenizers` library's serialization) loaded into the
// parts relapse runs: added tokens, normalizer, pre-tokenizer, BPE model,
// post-processor template and decoder. Loaded and validated by
// tokenizer_json.cpp; run by tokenizer_json_encode.cpp (encode) and
// tokenizer_json_decode.cpp (decode); the pre-tokenizer regexes are matched by
// pretokenize_regex.cpp. Private to src/model.
//
// Supported (the kinds Llama-2/3, Mistral, Qwen2/2.5/3 and GPT-2 ship; every
// other kind is refused at load naming the file and the JSON field):
//  - model: BPE (vocab, merges as "a b" or ["a", "b"], byte_fallback,
//    fuse_unk, ignore_merges, unk_token);
//  - normalizer: null, NFC, Prepend, Replace(String), Sequence of these;
//  - pre_tokenizer: null, ByteLevel, Metaspace, Split(one of the known
//    regexes, Isolated), Sequence of these;
//  - post_processor: null, ByteLevel, TemplateProcessing, Sequence;
//  - decoder: ByteLevel, Metaspace, Replace(String), ByteFallback, Fuse,
//    Strip, Sequence of these.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "relapse/core/error.h"

namespace relapse::model {

// The pre-tokenizer regexes relapse matches by hand (pretokenize_regex.cpp):
// the exact pattern strings of GPT-2 (ByteLevel's use_regex), Llama-3 and
// Qwen2 (Split). Any other pattern is refused at load.
enum class SplitRegex { kGpt2, kLlama3, kQwen2 };

// Splits `text` at the matches of `re` (tokenizers' Split, behavior Isolated:
// every match and every gap between matches is a piece). Appends the pieces'
// byte lengths to `lengths` (they tile `text`).
void pretokenize_regex(SplitRegex re, std::string_view text, std::vector<size_t>& lengths);
// The pattern string of `re`, as it appears in tokenizer.json.
const char* split_regex_pattern(SplitRegex re);

struct JsonTokenizer {
  struct Added {
    std::string content;
    int64_t id = -1;
    bool special = false, lstrip = false, rstrip = false, normalized = false, single_word = false;
  };
  enum class NormStep { kNfc, kPrepend, kReplace };
  struct Norm {
    NormStep kind;
    std::string a, b;  // Prepend: a; Replace: a -> b
  };
  enum class PreStep { kByteLevel, kMetaspace, kSplit };
  struct Pre {
    PreStep kind;
    SplitRegex regex = SplitRegex::kGpt2;   // kSplit; kByteLevel with use_regex
    bool use_regex = false;                 // kByteLevel
    bool add_prefix_space = false;          // kByteLevel
    std::string replacement;                // kMetaspace ("▁")
    std::string prepend_scheme = "always";  // kMetaspace: always, first, never
    bool split = false;                     // kMetaspace
  };
  enum class DecStep { kByteLevel, kMetaspace, kReplace, kByteFallback, kFuse, kStrip };
  struct Dec {
    DecStep kind;
    std::string a, b;  // Replace: a -> b; Strip: a = content; Metaspace: a = replacement
    int start = 0, stop = 0;
    bool prepend = true;  // Metaspace: prepend_scheme != never
  };

  std::string path;         // tokenizer.json
  std::string config_path;  // tokenizer_config.json next to it, "" if none
  std::string json_bytes;   // the file as read (copied verbatim by tokenizer_save)

  // The model's vocabulary and the added tokens, by id ("" for an unused id).
  std::vector<std::string> pieces;
  std::unordered_map<std::string, int64_t> vocab;  // the model's own vocabulary
  // (left id, right id) -> (rank, merged id).
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges;
  bool byte_fallback = false, fuse_unk = false, ignore_merges = false;
  int64_t unk = -1;
  int64_t byte_ids[256];  // <0xXX> pieces (byte_fallback), -1 when absent

  std::vector<Added> added;             // longest content first
  std::vector<std::string> added_norm;  // their contents normalized (matched after normalizing)
  // First bytes of the added tokens matched on the raw [0] and normalized [1]
  // text: most positions start none, and are skipped without a comparison.
  bool added_first[2][256] = {};
  std::vector<bool> is_special;  // by id: an added token marked special
  std::vector<bool> is_added;    // by id
  std::vector<Norm> normalizer;
  std::vector<Pre> pre_tokenizer;
  std::vector<int64_t> prefix_ids, suffix_ids;  // TemplateProcessing "single" around $A
  std::vector<Dec> decoder;
  bool byte_level = false;  // a ByteLevel pre-tokenizer maps bytes to characters

  // tokenizer_config.json
  int64_t bos = -1, eos = -1, pad = -1;
  bool clean_up_spaces = false;  // recorded (and written back), not applied: see decode

  void load(const std::string& file);
  std::vector<int64_t> encode(const std::string& text, bool add_special) const;
  std::string decode(const std::vector<int64_t>& ids, bool skip_special) const;

  // encode's parts (tokenizer_json_encode.cpp).
  void split_added(std::string_view text, bool normalized_pass,
                   std::vector<std::pair<std::string, int64_t>>& out) const;
  std::string normalize(std::string_view s) const;
  void pre_tokenize(const std::string& piece, bool at_text_start,
                    std::vector<std::string>& words) const;
  void bpe(const std::string& word, std::vector<int64_t>& out) const;
  int64_t id_of(const std::string& s) const {
    auto it = vocab.find(s);
    return it == vocab.end() ? -1 : it->second;
  }
  void id_check(int64_t id) const {
    RELAPSE_CHECK_INPUT(id >= 0 && id < static_cast<int64_t>(pieces.size()) &&
                            (is_added[id] || !pieces[id].empty()),
                        "tokenizer ", path, ": token id ", id, " is not in the vocabulary (",
                        pieces.size(), " ids)");
  }
};

// Every occurrence of `from` in `s` replaced by `to` (Replace normalizer and
// decoder, Metaspace).
void replace_all(std::string& s, const std::string& from, const std::string& to);

// GPT-2's byte-to-character map of byte-level BPE: the printable bytes
// (33..126, 161..172, 174..255) are themselves, the others U+0100 onwards in
// byte order. byte_level_char(b) is the character's UTF-8; byte_level_byte
// the inverse (-1 for a character outside the map).
const std::string& byte_level_char(uint8_t b);
int byte_level_byte(char32_t c);

}  // namespace relapse::model
