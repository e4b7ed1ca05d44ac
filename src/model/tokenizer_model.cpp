// src/model/tokenizer_model.cpp — Tokenizer::Impl::load (tokenizer_internal.h):
// reads a SentencePiece tokenizer.model (protobuf ModelProto) with a minimal
// protobuf wire-format reader instead of libsentencepiece/libprotobuf (see
// tokenizer.cpp for why): pieces (string, score, type), trainer_spec
// (model_type, ids, byte_fallback), normalizer_spec (add_dummy_prefix), then
// the lookup tables encode() and decode() use.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>
#include <string_view>

#include "relapse/core/error.h"
#include "tokenizer_internal.h"

namespace relapse::model {

using namespace tokenizer_detail;

namespace {

// ---- protobuf wire format ----------------------------------------------------

// Reads the fields of one protobuf message. next() returns false at the end;
// a malformed message sets failed().
class ProtoReader {
 public:
  explicit ProtoReader(std::string_view s) : s_(s) {}
  bool next() {
    if (pos_ >= s_.size() || failed_) return false;
    uint64_t tag = 0;
    if (!varint(tag)) return fail();
    field_ = static_cast<uint32_t>(tag >> 3);
    wire_ = static_cast<uint32_t>(tag & 7);
    switch (wire_) {
      case 0:
        return varint(value_) || fail();
      case 1:
      case 5: {
        const size_t n = wire_ == 1 ? 8 : 4;
        if (s_.size() - pos_ < n) return fail();
        bytes_ = s_.substr(pos_, n);
        pos_ += n;
        return true;
      }
      case 2: {
        uint64_t n = 0;
        if (!varint(n) || n > s_.size() - pos_) return fail();
        bytes_ = s_.substr(pos_, static_cast<size_t>(n));
        pos_ += static_cast<size_t>(n);
        return true;
      }
      default:  // groups (3, 4) are not used by sentencepiece_model.proto
        return fail();
    }
  }
  uint32_t field() const { return field_; }
  uint32_t wire() const { return wire_; }
  uint64_t value() const { return value_; }          // wire type 0
  std::string_view bytes() const { return bytes_; }  // wire types 1, 2, 5
  float as_float() const {
    float f = 0;
    if (bytes_.size() == 4) std::memcpy(&f, bytes_.data(), 4);  // little-endian hosts only
    return f;
  }
  bool failed() const { return failed_; }

 private:
  bool varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; pos_ < s_.size() && shift < 64; shift += 7) {
      const auto b = static_cast<uint8_t>(s_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  bool fail() {
    failed_ = true;
    return false;
  }
  std::string_view s_;
  size_t pos_ = 0;
  uint32_t field_ = 0, wire_ = 0;
  uint64_t value_ = 0;
  std::string_view bytes_;
  bool failed_ = false;
};

}  // namespace

// One `pieces` entry (ModelProto.SentencePiece: piece, score, type).
void Tokenizer::Impl::parse_piece(std::string_view bytes, const std::string& bad) {
  ProtoReader p(bytes);
  std::string piece;
  float score = 0;
  int type = kNormal;
  while (p.next()) {
    if (p.field() == 1 && p.wire() == 2) piece = std::string(p.bytes());
    if (p.field() == 2 && p.wire() == 5) score = p.as_float();
    if (p.field() == 3 && p.wire() == 0) type = static_cast<int>(p.value());
  }
  RELAPSE_CHECK_INPUT(!p.failed(), bad, "piece ", pieces.size(), " does not parse");
  RELAPSE_CHECK_INPUT(type >= kNormal && type <= kByte, bad, "piece ", pieces.size(),
                      " has unknown type ", type);
  pieces.push_back(std::move(piece));
  scores.push_back(score);
  types.push_back(type);
}

// trainer_spec: model type, byte fallback and the special ids (int32 fields).
void Tokenizer::Impl::parse_trainer_spec(std::string_view bytes, const std::string& bad) {
  ProtoReader t(bytes);
  while (t.next()) {
    if (t.wire() != 0) continue;
    const auto v = static_cast<int64_t>(static_cast<int32_t>(t.value()));  // int32 fields
    switch (t.field()) {
      case 3:
        model_type = static_cast<int>(v);
        break;
      case 35:
        byte_fallback = t.value() != 0;
        break;
      case 41:
        bos = v;
        break;
      case 42:
        eos = v;
        break;
      case 43:
        pad = v;
        break;
      default:
        break;
    }
  }
  RELAPSE_CHECK_INPUT(!t.failed(), bad, "trainer_spec does not parse");
}

void Tokenizer::Impl::load(const std::string& bytes) {
  const std::string bad = "tokenizer: " + path + " is not a valid SentencePiece model: ";
  ProtoReader model(bytes);
  bool have_trainer = false;
  while (model.next()) {
    if (model.field() == 1 && model.wire() == 2) {  // pieces
      parse_piece(model.bytes(), bad);
    } else if (model.field() == 2 && model.wire() == 2) {  // trainer_spec
      have_trainer = true;
      parse_trainer_spec(model.bytes(), bad);
    } else if (model.field() == 3 && model.wire() == 2) {  // normalizer_spec
      ProtoReader n(model.bytes());
      while (n.next()) {
        if (n.field() == 3 && n.wire() == 0) add_dummy_prefix = n.value() != 0;
      }
      RELAPSE_CHECK_INPUT(!n.failed(), bad, "normalizer_spec does not parse");
    }
  }
  RELAPSE_CHECK_INPUT(!model.failed(), bad, "the protobuf is malformed (truncated or not a model)");
  RELAPSE_CHECK_INPUT(!pieces.empty() && have_trainer, bad, "no pieces or no trainer_spec");
  RELAPSE_CHECK_INPUT(model_type == 2, bad, "model_type ", model_type,
                      " is not BPE (2); only Llama-style BPE models are supported");
  index_pieces(bad);
}

// The look-up maps of the parsed pieces: mergeable / reserved by text, the
// unknown id, user-defined and special pieces (longest first), byte pieces;
// special ids that do not name a control piece become -1.
void Tokenizer::Impl::index_pieces(const std::string& bad) {
  std::fill(std::begin(byte_ids), std::end(byte_ids), -1);
  for (size_t i = 0; i < pieces.size(); ++i) {
    const int id = static_cast<int>(i);
    const std::string_view piece = pieces[i];
    const bool is_mergeable =
        types[i] == kNormal || types[i] == kUserDefined || types[i] == kUnused;
    auto& map = is_mergeable ? mergeable : reserved;
    RELAPSE_CHECK_INPUT(map.emplace(piece, id).second, bad, "piece \"", piece,
                        "\" is defined twice");
    if (types[i] == kUnknown) {
      RELAPSE_CHECK_INPUT(unk < 0, bad, "more than one <unk> piece");
      unk = id;
    }
    if (types[i] == kUserDefined) user_defined.push_back(piece);
    if ((types[i] == kControl || types[i] == kUnknown) && !piece.empty()) {
      specials.emplace_back(pieces[i], id);
      special_first[static_cast<uint8_t>(piece[0])] = true;
    }
    if (types[i] == kByte) {
      // Two hex digits, checked before stoi (which throws on "<0xZZ>" and
      // reads "<0x-1>" as -1, an index before byte_ids: found by fuzz_tokenizer_model).
      RELAPSE_CHECK_INPUT(piece.size() == 6 && starts_with(piece, "<0x") && piece[5] == '>' &&
                              std::isxdigit(static_cast<unsigned char>(piece[3])) &&
                              std::isxdigit(static_cast<unsigned char>(piece[4])),
                          bad, "byte piece \"", piece, "\" is not <0xXX>");
      byte_ids[std::stoi(std::string(piece.substr(3, 2)), nullptr, 16)] = id;
    }
  }
  RELAPSE_CHECK_INPUT(unk >= 0, bad, "no <unk> piece");
  if (byte_fallback) {
    for (int b = 0; b < 256; ++b) {
      RELAPSE_CHECK_INPUT(byte_ids[b] >= 0, bad, "byte_fallback set but byte piece ", b,
                          " missing");
    }
  }
  // A special id is one only when it names a control piece (SentencePiece's bos_id() etc.).
  const int64_t n = static_cast<int64_t>(pieces.size());
  for (int64_t* id : {&bos, &eos, &pad}) {
    if (*id < 0 || *id >= n || types[*id] != kControl) *id = -1;
  }
  auto longest_first = [](const auto& a, const auto& b) { return a.size() > b.size(); };
  std::stable_sort(user_defined.begin(), user_defined.end(), longest_first);
  std::stable_sort(specials.begin(), specials.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

}  // namespace relapse::model
