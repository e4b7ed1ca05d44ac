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
//    protobuf wire-format reader (tokenizer_model.cpp).
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
#include <filesystem>
#include <fstream>
#include <queue>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "relapse/core/error.h"
#include "relapse/core/fs.h"
#include "relapse/core/utf8.h"
#include "tokenizer_internal.h"
#include "tokenizer_json_internal.h"

namespace fs = std::filesystem;

namespace relapse::model {

using namespace tokenizer_detail;

namespace {

const std::string kSpaceMark = "\xE2\x96\x81";    // U+2581 "▁", SentencePiece's whitespace
const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

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

  emit_ids(result, out);
}

void Tokenizer::Impl::emit_ids(const std::vector<std::string_view>& pieces,
                               std::vector<int64_t>& out) const {
  bool prev_unk = false;
  for (std::string_view w : pieces) {
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

std::string tokenizer_file_in(const std::string& dir) {
  std::error_code ec;
  for (const char* name : {"tokenizer.model", "tokenizer.json"}) {
    const fs::path f = fs::path(dir) / name;
    if (fs::is_regular_file(f, ec)) return f.string();
  }
  return "";
}

Tokenizer::Tokenizer(const std::string& model_path) {
  std::error_code ec;
  const bool is_dir = fs::is_directory(model_path, ec);
  const std::string file = is_dir ? tokenizer_file_in(model_path) : model_path;
  RELAPSE_CHECK_INPUT(
      !file.empty() && fs::is_regular_file(file, ec), "tokenizer: no tokenizer file ",
      file.empty() ? model_path : file,
      is_dir ? " (the directory has neither tokenizer.model nor tokenizer.json)" : "");
  if (fs::path(file).extension() == ".json") {
    json_ = std::make_unique<JsonTokenizer>();
    json_->load(file);
    return;
  }
  impl_ = std::make_unique<Impl>();
  impl_->path = file;
  const std::string bytes = fs_read_file(file, "tokenizer");
  RELAPSE_CHECK_INPUT(!bytes.empty(), "tokenizer: ", file, " is empty");
  impl_->load(bytes);
}

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

std::vector<int64_t> Tokenizer::encode(const std::string& text, bool add_bos, bool add_eos) const {
  if (json_) {
    std::vector<int64_t> ids = json_->encode(text, add_bos);
    if (add_eos && json_->eos >= 0) ids.push_back(json_->eos);
    return ids;
  }
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
  if (json_) return json_->decode(ids, skip_special);
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
    const bool special = type == kControl || type == kUnknown;
    // HF drops skipped special ids before its decoder runs, so the byte pieces
    // on both sides of one form a single run ("<0xA1> <unk> <0x69>" is one
    // invalid run: two U+FFFD, not U+FFFD then "i").
    if (special && skip_special) continue;
    if (type == kByte) {  // "<0xAB>"
      bytes.push_back(static_cast<char>(std::stoi(piece.substr(3, 2), nullptr, 16)));
      continue;
    }
    bytes_flush();
    if (special) {  // kept: its piece text ("<s>") ends a byte run
      out += piece;
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
  return static_cast<int64_t>(json_ ? json_->pieces.size() : impl_->pieces.size());
}
int64_t Tokenizer::bos_id() const {
  return json_ ? json_->bos : impl_->bos;
}
int64_t Tokenizer::eos_id() const {
  return json_ ? json_->eos : impl_->eos;
}
int64_t Tokenizer::pad_id() const {
  return json_ ? json_->pad : impl_->pad;
}
int64_t Tokenizer::unk_id() const {
  return json_ ? json_->unk : impl_->unk;
}

std::string Tokenizer::id_to_piece(int64_t id) const {
  if (json_) {
    json_->id_check(id);
    return json_->pieces[id];
  }
  impl_->id_check(id);
  return impl_->pieces[id];
}

const std::string& Tokenizer::path() const {
  return json_ ? json_->path : impl_->path;
}

}  // namespace relapse::model
