// src/model/tokenizer_json_bpe.cpp — JsonTokenizer::bpe, the BPE model of the
// `tokenizers` library (models/bpe/model.rs merge_word, word.rs merge_all) on
// one pre-tokenized word, and GPT-2's byte-to-character map of byte-level BPE.
#include <queue>

#include "relapse/core/utf8.h"
#include "tokenizer_json_internal.h"

namespace relapse::model {

namespace {

struct Symbol {
  int32_t id;
  int prev, next;
  size_t len;  // bytes of the word; 0 once merged into its left neighbour
};

struct Word {
  std::vector<Symbol> symbols;
  void add(int64_t id, size_t len) {
    const int n = static_cast<int>(symbols.size());
    if (n) symbols.back().next = n;
    symbols.push_back({static_cast<int32_t>(id), n - 1, -1, len});
  }
};

// Word::merge_all: the pair with the lowest merge rank first, the leftmost
// among equal ranks; a queued pair that no longer exists is skipped.
void merge_all(Word& w, const JsonTokenizer& t) {
  struct Merge {
    size_t pos;
    int32_t rank, new_id;
    bool operator<(const Merge& o) const {  // priority_queue: top = lowest rank, then pos
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  auto lookup = [&](int32_t a, int32_t b) {
    const auto it = t.merges.find((static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b));
    return it == t.merges.end() ? nullptr : &it->second;
  };
  std::priority_queue<Merge> queue;
  auto& sy = w.symbols;
  for (size_t i = 0; i + 1 < sy.size(); ++i)
    if (const auto* m = lookup(sy[i].id, sy[i + 1].id)) queue.push({i, m->first, m->second});
  while (!queue.empty()) {
    const Merge top = queue.top();
    queue.pop();
    Symbol& cur = sy[top.pos];
    if (cur.len == 0 || cur.next == -1) continue;
    const Symbol right = sy[cur.next];
    const auto* m = lookup(cur.id, right.id);
    if (!m || m->second != top.new_id) continue;  // expired
    sy[cur.next].len = 0;
    cur.id = top.new_id;
    cur.len += right.len;
    cur.next = right.next;
    if (right.next >= 0) sy[right.next].prev = static_cast<int>(top.pos);
    if (cur.prev >= 0)
      if (const auto* p = lookup(sy[cur.prev].id, cur.id))
        queue.push({static_cast<size_t>(cur.prev), p->first, p->second});
    if (cur.next >= 0)
      if (const auto* n = lookup(cur.id, sy[cur.next].id))
        queue.push({top.pos, n->first, n->second});
  }
}

}  // namespace

void JsonTokenizer::bpe(const std::string& word, std::vector<int64_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges) {
    if (const int64_t id = id_of(word); id >= 0) {
      out.push_back(id);
      return;
    }
  }
  Word w;
  int64_t unk_len = -1;  // a pending <unk> and the bytes it covers (fuse_unk)
  for (size_t i = 0; i < word.size();) {
    const size_t n = std::max<size_t>(1, utf8_char_len(word, i));
    const std::string ch = word.substr(i, n);
    i += n;
    if (const int64_t id = id_of(ch); id >= 0) {
      if (unk_len >= 0) w.add(unk, static_cast<size_t>(unk_len));
      unk_len = -1;
      w.add(id, n);
      continue;
    }
    if (byte_fallback) {
      bool all = true;
      for (char b : ch) all = all && byte_ids[static_cast<uint8_t>(b)] >= 0;
      if (all) {  // a pending <unk> stays pending across byte pieces, as in tokenizers
        for (char b : ch) w.add(byte_ids[static_cast<uint8_t>(b)], 1);
        continue;
      }
    }
    if (unk < 0) continue;  // no unk token: tokenizers drops the character
    if (unk_len >= 0 && fuse_unk) {
      unk_len += static_cast<int64_t>(n);
    } else {
      if (unk_len >= 0) w.add(unk, static_cast<size_t>(unk_len));
      unk_len = static_cast<int64_t>(n);
    }
  }
  if (unk_len >= 0) w.add(unk, static_cast<size_t>(unk_len));
  merge_all(w, *this);
  for (const Symbol& s : w.symbols)
    if (s.len) out.push_back(s.id);
}

namespace {

struct ByteLevelMap {
  std::string chars[256];
  std::unordered_map<char32_t, int> bytes;
  ByteLevelMap() {
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
      const char32_t c = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(next++);
      bytes[c] = b;
      // UTF-8 of c (< U+0800: one or two bytes)
      if (c < 0x80) {
        chars[b] = std::string(1, static_cast<char>(c));
      } else {
        chars[b] = {static_cast<char>(0xC0 | (c >> 6)), static_cast<char>(0x80 | (c & 0x3F))};
      }
    }
  }
};

const ByteLevelMap& byte_level_map() {
  static const ByteLevelMap m;
  return m;
}

}  // namespace

const std::string& byte_level_char(uint8_t b) {
  return byte_level_map().chars[b];
}

int byte_level_byte(char32_t c) {
  const auto& m = byte_level_map().bytes;
  const auto it = m.find(c);
  return it == m.end() ? -1 : it->second;
}

}  // namespace relapse::model
