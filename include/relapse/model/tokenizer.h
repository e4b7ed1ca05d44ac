// relapse/model/tokenizer.h — the tokenizer of a model directory, as Hugging
// Face tokenizes with it:
//  - a SentencePiece BPE model (tokenizer.model, Llama-2's): exactly the ids
//    of transformers' LlamaTokenizer for a Llama-2 checkpoint (BOS prepended,
//    no EOS), without libsentencepiece (see tokenizer.cpp for why);
//    tests/golden/README.md lists where HF differs from calling SentencePiece
//    directly; test_tokenizer checks every case against HF;
//  - a Hugging Face tokenizer.json (Llama-3, Qwen2/2.5/3, Mistral, GPT-2:
//    byte-level BPE or BPE with byte fallback) with the tokenizer_config.json
//    beside it: the ids and decodings of the `tokenizers` library
//    (tokenizer_json*.cpp; test_tokenizer_json checks them).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace relapse::model {

struct JsonTokenizer;  // src/model/tokenizer_json_internal.h

class Tokenizer {
 public:
  // `model_path` is a tokenizer.model or tokenizer.json file, or a directory
  // holding one (a HF checkpoint directory; tokenizer_file_in picks). A
  // missing, unreadable, corrupt or unsupported file throws
  // relapse::Error(kInput) naming the file (and the JSON field).
  explicit Tokenizer(const std::string& model_path);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Text (UTF-8) -> ids, as HF LlamaTokenizer(text, add_special_tokens=add_bos)
  // with add_bos_token=True, add_eos_token=add_eos. For a tokenizer.json:
  // add_bos adds the post-processor template's special tokens (Llama-3's
  // <|begin_of_text|>; none for Qwen), add_eos appends eos_id(). For
  // tokenizer.model:
  //  - the literal text of a control/unknown piece ("<s>", "</s>", "<unk>") is
  //    that token's id, not characters (HF's added-token matching);
  //  - the dummy-prefix "▁" goes only before the chunk that starts the text,
  //    and only when that chunk does not already start with a space or "▁";
  //    chunks after a special token get none (HF's Metaspace prepend "first");
  //  - characters outside the vocabulary become <0xXX> byte pieces.
  std::vector<int64_t> encode(const std::string& text, bool add_bos = true,
                              bool add_eos = false) const;
  // Ids -> text, as HF tokenizer.decode(ids, skip_special_tokens=skip_special):
  // "▁" -> " ", runs of byte pieces joined and UTF-8 decoded (an invalid run
  // gives one U+FFFD per byte), one leading space stripped. With
  // skip_special=false control/unknown ids appear as their piece ("<s>"); with
  // skip_special=true they are dropped before byte runs are joined (HF removes
  // special ids first), so <0xE2> <s> <0x82> <0xAC> decodes to "€".
  // An id outside [0, vocab_size()) throws relapse::Error(kInput).
  std::string decode(const std::vector<int64_t>& ids, bool skip_special = true) const;

  int64_t vocab_size() const;
  int64_t bos_id() const;  // -1 if the model has none
  int64_t eos_id() const;  // -1 if the model has none
  int64_t pad_id() const;  // -1 if the model has none (Llama)
  int64_t unk_id() const;
  // The piece string of `id` ("▁the", "<0x0A>", "<s>"); kInput error when out of range.
  std::string id_to_piece(int64_t id) const;
  // The tokenizer.model or tokenizer.json file this was loaded from.
  const std::string& path() const;
  // True when loaded from a tokenizer.json.
  bool is_hf_json() const { return json_ != nullptr; }

  // Hugging Face's tokenizer files describing this tokenizer as relapse runs
  // it (tokenizer_hf.cpp), so transformers' AutoTokenizer gives relapse's ids:
  // tokenizer.json (the fast tokenizer transformers itself builds from this
  // tokenizer.model: BPE with byte fallback, Metaspace "first", BOS template),
  // tokenizer_config.json (LlamaTokenizer, Llama-2's settings: BOS added, no
  // EOS, legacy false) and special_tokens_map.json.
  struct HfFiles {
    std::string tokenizer_json, tokenizer_config_json, special_tokens_map_json;
  };
  HfFiles hf_files(int64_t model_max_length) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;           // tokenizer.model
  std::unique_ptr<JsonTokenizer> json_;  // tokenizer.json
};

// The tokenizer file of a model directory: DIR/tokenizer.model when present
// (Llama-2 and Mistral ship both files and they tokenize alike; relapse's
// SentencePiece path is the one checked against transformers' slow and fast
// tokenizers), else DIR/tokenizer.json, else "".
std::string tokenizer_file_in(const std::string& dir);

// A tokenizer whose ids run past the model's vocabulary (vocab_size of the
// model's config.json) would index outside its embeddings: kInput error naming
// the tokenizer, the model directory and both sizes. A larger model vocabulary
// (padding, as many checkpoints have) is fine.
void tokenizer_check_fits(const Tokenizer& tok, int64_t model_vocab_size,
                          const std::string& model_dir);

// Puts the tokenizer into a model directory (every directory relapse writes:
// train, unlearn, convert, quantize, export): a tokenizer.model is copied to
// DIR/tokenizer.model with the HfFiles written next to it; a tokenizer.json
// is copied with its tokenizer_config.json and special_tokens_map.json (or
// ones written from it when it has none).
void tokenizer_save(const std::string& tokenizer_file, const std::string& dir,
                    int64_t model_max_length);

}  // namespace relapse::model
