// src/model/tokenizer_internal.h — Tokenizer::Impl (the loaded SentencePiece
// model), shared by tokenizer.cpp (encode: BPE and HF's rules; decode) and
// tokenizer_model.cpp (reads the tokenizer.model protobuf into it). Private to
// src/model.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "relapse/core/error.h"
#include "relapse/model/tokenizer.h"

namespace relapse::model {

namespace tokenizer_detail {

// SentencePiece's ModelProto.SentencePiece.Type.
enum PieceType {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6
};

inline bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace tokenizer_detail

struct Tokenizer::Impl {
  std::string path;
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<int> types;
  // Views into `pieces`. `mergeable`: normal, user-defined and unused pieces
  // (SentencePiece's pieces_); `reserved`: control, unknown, byte.
  std::unordered_map<std::string_view, int> mergeable, reserved;
  std::vector<std::string_view> user_defined;             // longest first
  std::vector<std::pair<std::string, int64_t>> specials;  // control + unknown text, longest first
  bool special_first[256] = {};                           // first bytes of `specials`
  int64_t unk = -1, bos = 1, eos = 2, pad = -1;
  int model_type = 1;  // proto default: UNIGRAM
  bool byte_fallback = false, add_dummy_prefix = true;
  int byte_ids[256];

  // load (tokenizer_model.cpp): the ModelProto's pieces, trainer_spec and
  // normalizer_spec parsed, then the look-up maps built (index_pieces).
  void load(const std::string& bytes);
  void parse_piece(std::string_view bytes, const std::string& bad);
  void parse_trainer_spec(std::string_view bytes, const std::string& bad);
  void index_pieces(const std::string& bad);
  int piece_to_id(std::string_view s) const {
    if (auto it = reserved.find(s); it != reserved.end()) return it->second;
    if (auto it = mergeable.find(s); it != mergeable.end()) return it->second;
    return static_cast<int>(unk);
  }
  void bpe(std::string_view text, std::vector<int64_t>& out) const;
  // BPE's final pieces as ids: an unknown piece as its bytes (byte_fallback)
  // or as one <unk> per run of unknown pieces.
  void emit_ids(const std::vector<std::string_view>& pieces, std::vector<int64_t>& out) const;
  void chunk_encode(std::string_view chunk, bool at_text_start, std::vector<int64_t>& out) const;
  void id_check(int64_t id) const {
    RELAPSE_CHECK_INPUT(id >= 0 && id < static_cast<int64_t>(pieces.size()), "tokenizer ", path,
                        ": token id ", id, " is outside the vocabulary [0, ", pieces.size(), ")");
  }
};

}  // namespace relapse::model
