// src/model/tokenizer.cpp — relapse::model::Tokenizer (see tokenizer.h): reads
// a SentencePiece tokenizer.model (protobuf ModelProto) itself and runs
// SentencePiece's BPE on it, with the rules that make the ids those of Hugging
// Face's LlamaTokenizer (transformers 5, tokenizers backed).
//
// Why not libsentencepiece: Debian's libsentencepiece.so.0 carries its own
// copy of protobuf-lite and exports its symbols; Debian's libtorch loads
// libprotobuf.so.32. In one process they bind to each other's symbols and the
// program crashes while the libraries initialise (before main), or inside
// LoadFromSerializedProto when protobuf comes first. So nothing here calls
// libsentencepiece; the model file format and the BPE are small:
//  - ModelProto: pieces (string, score, type), trainer_spec (model_type, ids,
//    byte_fallback), normalizer_spec (add_dummy_prefix). Read with a minimal
//    protobuf wire-format reader (below).
//  - Encode (SentencePiece bpe_model.cc): split the text into UTF-8
//    characters (user-defined pieces kept whole), then repeatedly merge the
//    adjacent pair whose concatenation is a piece with the highest score
//    (ties: leftmost); symbols that are not pieces become <0xXX> byte pieces
//    (byte_fallback) or <unk>.
//  - HF rules on top: the text is first split on special-token text ("<s>",
//    "</s>", "<unk>"), each chunk has " " replaced by "▁", and only the chunk
//    at offset 0 gets the dummy-prefix "▁", and only when it does not start
//    with "▁" already. No other normalization (HF's LlamaTokenizer has none;
//    Llama's model is "identity").
// tests/model/test_tokenizer.cpp checks the ids and decodings against HF's and
// the BPE against SentencePiece's on random texts (tests/golden/README.md).
#include "relapse/model/tokenizer.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <queue>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "relapse/core/error.h"

namespace fs = std::filesystem;

namespace relapse::model {

namespace {

const std::string kSpaceMark = "\xE2\x96\x81";    // U+2581 "▁", SentencePiece's whitespace
const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

enum PieceType {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6
};

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

// ---- UTF-8 -------------------------------------------------------------------

// Length of the valid UTF-8 character at s[i], 0 when invalid (truncated,
// overlong, surrogate, > U+10FFFF) — the rules of Rust's String::from_utf8.
size_t utf8_char_len(std::string_view s, size_t i) {
  const auto c = static_cast<uint8_t>(s[i]);
  size_t n = 0;
  uint32_t cp = 0, min = 0;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 1, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 2, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 3, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n >= s.size()) return 0;
  for (size_t k = 1; k <= n; ++k) {
    const auto cc = static_cast<uint8_t>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n + 1;
}

bool utf8_valid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_char_len(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

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

  void load(const std::string& bytes);
  int piece_to_id(std::string_view s) const {
    if (auto it = reserved.find(s); it != reserved.end()) return it->second;
    if (auto it = mergeable.find(s); it != mergeable.end()) return it->second;
    return static_cast<int>(unk);
  }
  void bpe(std::string_view text, std::vector<int64_t>& out) const;
  void chunk_encode(std::string_view chunk, bool at_text_start, std::vector<int64_t>& out) const;
  void id_check(int64_t id) const {
    RELAPSE_CHECK_INPUT(id >= 0 && id < static_cast<int64_t>(pieces.size()), "tokenizer ", path,
                        ": token id ", id, " is outside the vocabulary [0, ", pieces.size(), ")");
  }
};

void Tokenizer::Impl::load(const std::string& bytes) {
  const std::string bad = "tokenizer: " + path + " is not a valid SentencePiece model: ";
  ProtoReader model(bytes);
  bool have_trainer = false;
  while (model.next()) {
    if (model.field() == 1 && model.wire() == 2) {  // pieces
      ProtoReader p(model.bytes());
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
    } else if (model.field() == 2 && model.wire() == 2) {  // trainer_spec
      have_trainer = true;
      ProtoReader t(model.bytes());
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
      RELAPSE_CHECK_INPUT(piece.size() == 6 && starts_with(piece, "<0x") && piece[5] == '>', bad,
                          "byte piece \"", piece, "\" is not <0xXX>");
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

// SentencePiece's BPE (bpe_model.cc, Model::SampleEncode without dropout) on
// already-normalized text.
void Tokenizer::Impl::bpe(std::string_view text, std::vector<int64_t>& out) const {
  struct Symbol {
    int prev, next;
    bool freeze;
    std::string_view piece;
  };
  struct Pair {
    int left, right;
    float score;
    size_t size;
  };
  // Highest score first; among equal scores the leftmost.
  auto worse = [](const Pair& a, const Pair& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  std::priority_queue<Pair, std::vector<Pair>, decltype(worse)> agenda(worse);
  std::unordered_map<std::string_view, std::pair<std::string_view, std::string_view>> rev_merge;
  std::vector<Symbol> symbols;

  for (size_t pos = 0; pos < text.size();) {
    size_t len = 0;
    bool freeze = false;
    for (std::string_view u : user_defined) {
      if (starts_with(text.substr(pos), u)) {
        len = u.size();
        freeze = true;
        break;
      }
    }
    if (!len) len = std::max<size_t>(1, utf8_char_len(text, pos));
    const int index = static_cast<int>(symbols.size());
    symbols.push_back(
        {index - 1, pos + len < text.size() ? index + 1 : -1, freeze, text.substr(pos, len)});
    pos += len;
  }
  auto pair_add = [&](int left, int right) {
    if (left < 0 || right < 0 || symbols[left].freeze || symbols[right].freeze) return;
    const std::string_view piece(symbols[left].piece.data(),
                                 symbols[left].piece.size() + symbols[right].piece.size());
    const auto it = mergeable.find(piece);
    if (it == mergeable.end()) return;
    agenda.push({left, right, scores[it->second], piece.size()});
    if (types[it->second] == kUnused)
      rev_merge[piece] = {symbols[left].piece, symbols[right].piece};
  };
  for (size_t i = 1; i < symbols.size(); ++i)
    pair_add(static_cast<int>(i) - 1, static_cast<int>(i));
  while (!agenda.empty()) {
    const Pair top = agenda.top();
    agenda.pop();
    Symbol& l = symbols[top.left];
    Symbol& r = symbols[top.right];
    if (l.piece.empty() || r.piece.empty() || l.piece.size() + r.piece.size() != top.size) continue;
    l.piece = std::string_view(l.piece.data(), l.piece.size() + r.piece.size());
    l.next = r.next;
    if (r.next >= 0) symbols[r.next].prev = top.left;
    r.piece = std::string_view();
    pair_add(l.prev, top.left);
    pair_add(top.left, l.next);
  }

  // Unused pieces are split back into what they were merged from.
  std::vector<std::string_view> result;
  auto resegment = [&](auto&& self, std::string_view w) -> void {
    const int id = piece_to_id(w);
    const auto p = rev_merge.find(w);
    if (id == unk || types[id] != kUnused || p == rev_merge.end()) {
      result.push_back(w);
      return;
    }
    self(self, p->second.first);
    self(self, p->second.second);
  };
  for (int i = symbols.empty() ? -1 : 0; i != -1; i = symbols[i].next)
    resegment(resegment, symbols[i].piece);

  bool prev_unk = false;
  for (std::string_view w : result) {
    const int id = piece_to_id(w);
    if (id != unk) {
      out.push_back(id);
      prev_unk = false;
    } else if (byte_fallback) {
      for (char c : w) out.push_back(byte_ids[static_cast<uint8_t>(c)]);
    } else if (!prev_unk) {  // a run of unknown characters is one <unk>
      out.push_back(unk);
      prev_unk = true;
    }
  }
}

void Tokenizer::Impl::chunk_encode(std::string_view chunk, bool at_text_start,
                                   std::vector<int64_t>& out) const {
  if (chunk.empty()) return;
  std::string s;
  s.reserve(chunk.size() + 16);
  if (at_text_start && add_dummy_prefix && chunk[0] != ' ' && !starts_with(chunk, kSpaceMark)) {
    s = kSpaceMark;
  }
  for (size_t i = 0; i < chunk.size();) {
    if (chunk[i] == ' ') {
      s += kSpaceMark;
      ++i;
      continue;
    }
    const size_t n = utf8_char_len(chunk, i);
    if (n == 0) {  // invalid UTF-8 byte: U+FFFD, as SentencePiece's normalizer
      s += kReplacement;
      ++i;
    } else {
      s.append(chunk.substr(i, n));
      i += n;
    }
  }
  bpe(s, out);
}

Tokenizer::Tokenizer(const std::string& model_path) : impl_(std::make_unique<Impl>()) {
  std::error_code ec;
  const bool is_dir = fs::is_directory(model_path, ec);
  const std::string file =
      is_dir ? (fs::path(model_path) / "tokenizer.model").string() : model_path;
  impl_->path = file;
  RELAPSE_CHECK_INPUT(fs::is_regular_file(file, ec), "tokenizer: no tokenizer file ", file,
                      is_dir ? " (the directory has no tokenizer.model)" : "");
  std::ifstream f(file, std::ios::binary);
  RELAPSE_CHECK_INPUT(f.good(), "tokenizer: cannot open ", file);
  std::ostringstream os;
  os << f.rdbuf();
  const std::string bytes = os.str();
  RELAPSE_CHECK_INPUT(!bytes.empty(), "tokenizer: ", file, " is empty");
  impl_->load(bytes);
}

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

std::vector<int64_t> Tokenizer::encode(const std::string& text, bool add_bos, bool add_eos) const {
  const Impl& m = *impl_;
  const std::string_view t(text);
  std::vector<int64_t> ids;
  if (add_bos && m.bos >= 0) ids.push_back(m.bos);
  // Leftmost-longest match of special-token text, as HF's added vocabulary.
  size_t chunk_begin = 0;
  for (size_t pos = 0; pos < t.size();) {
    const std::pair<std::string, int64_t>* hit = nullptr;
    if (m.special_first[static_cast<uint8_t>(t[pos])]) {
      for (const auto& sp : m.specials) {
        if (starts_with(t.substr(pos), sp.first)) {
          hit = &sp;
          break;
        }
      }
    }
    if (!hit) {
      ++pos;
      continue;
    }
    m.chunk_encode(t.substr(chunk_begin, pos - chunk_begin), chunk_begin == 0, ids);
    ids.push_back(hit->second);
    pos += hit->first.size();
    chunk_begin = pos;
  }
  m.chunk_encode(t.substr(chunk_begin), chunk_begin == 0, ids);
  if (add_eos && m.eos >= 0) ids.push_back(m.eos);
  return ids;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids, bool skip_special) const {
  const Impl& m = *impl_;
  std::string out, bytes;
  auto bytes_flush = [&] {
    if (utf8_valid(bytes)) {
      out += bytes;
    } else {
      for (size_t i = 0; i < bytes.size(); ++i) out += kReplacement;  // one per byte, as HF
    }
    bytes.clear();
  };
  for (int64_t id : ids) {
    m.id_check(id);
    const std::string& piece = m.pieces[id];
    const int type = m.types[id];
    if (type == kByte) {  // "<0xAB>"
      bytes.push_back(static_cast<char>(std::stoi(piece.substr(3, 2), nullptr, 16)));
      continue;
    }
    bytes_flush();
    if (type == kControl || type == kUnknown) {
      if (!skip_special) out += piece;
      continue;
    }
    for (size_t p = 0; p < piece.size();) {
      if (piece.compare(p, kSpaceMark.size(), kSpaceMark) == 0) {
        out += ' ';
        p += kSpaceMark.size();
      } else {
        out += piece[p++];
      }
    }
  }
  bytes_flush();
  if (m.add_dummy_prefix && !out.empty() && out[0] == ' ') out.erase(0, 1);
  return out;
}

int64_t Tokenizer::vocab_size() const {
  return static_cast<int64_t>(impl_->pieces.size());
}
int64_t Tokenizer::bos_id() const {
  return impl_->bos;
}
int64_t Tokenizer::eos_id() const {
  return impl_->eos;
}
int64_t Tokenizer::pad_id() const {
  return impl_->pad;
}
int64_t Tokenizer::unk_id() const {
  return impl_->unk;
}

std::string Tokenizer::id_to_piece(int64_t id) const {
  impl_->id_check(id);
  return impl_->pieces[id];
}

const std::string& Tokenizer::path() const {
  return impl_->path;
}

}  // namespace relapse::model
