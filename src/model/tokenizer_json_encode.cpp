// src/model/tokenizer_json_encode.cpp — JsonTokenizer::encode: text to ids as
// the `tokenizers` library's Tokenizer.encode (tokenizer/mod.rs,
// added_vocabulary.rs, models/bpe/{model,word}.rs), step by step:
//  1. added tokens whose `normalized` is false are split out of the raw text
//     (leftmost, then longest; lstrip/rstrip take the whitespace beside them;
//     single_word ones only between non-word characters);
//  2. every other piece is normalized, then the normalized added tokens are
//     split out of it;
//  3. the pre-tokenizer cuts the remaining pieces into words (Split regex,
//     ByteLevel's byte-to-character map, Metaspace's "▁");
//  4. BPE on each word: its characters (or their <0xXX> bytes, or <unk>),
//     then the merges lowest rank first, leftmost among equal ranks; with
//     ignore_merges a word that is itself in the vocabulary is one token;
//  5. the post-processor template's special tokens around the sequence.

#include "relapse/core/unicode.h"
#include "relapse/core/utf8.h"
#include "tokenizer_json_internal.h"

namespace relapse::model {

namespace {

bool starts_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.compare(0, p.size(), p) == 0;
}

// Whitespace around an added token that lstrip/rstrip take (Rust's
// char::is_whitespace, the Unicode White_Space property).
size_t space_before(std::string_view s) {  // start of the trailing whitespace
  size_t i = s.size();
  while (i > 0) {
    size_t b = i - 1;
    while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
    char32_t c = 0;
    if (utf8_decode(s, b, &c) == 0 || !unicode_is_space(c)) break;
    i = b;
  }
  return i;
}

size_t space_after(std::string_view s) {  // length of the leading whitespace
  size_t i = 0;
  char32_t c = 0;
  for (size_t n; i < s.size() && (n = utf8_decode(s, i, &c)) > 0 && unicode_is_space(c);) i += n;
  return i;
}

// single_word's word character. tokenizers uses the regex crate's \w, which
// also counts combining marks, connector punctuation and ZWJ/ZWNJ and counts
// only decimal digits; relapse has no mark table, so this is letters,
// numbers and "_" — none of the families relapse reads sets single_word.
bool is_word_char(std::string_view s, bool last) {
  if (s.empty()) return false;
  size_t b = last ? s.size() - 1 : 0;
  while (last && b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
  char32_t c = 0;
  if (utf8_decode(s, b, &c) == 0) return false;
  return unicode_is_letter(c) || unicode_is_number(c) || c == '_';
}

// Invalid UTF-8 bytes become U+FFFD (a Python str cannot hold them; the
// SentencePiece path does the same).
std::string valid_utf8(const std::string& s) {
  if (utf8_valid(s)) return s;
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_char_len(s, i);
    out.append(n ? s.substr(i, n) : std::string("\xEF\xBF\xBD"));
    i += n ? n : 1;
  }
  return out;
}

}  // namespace

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size())
    out.append(s, pos, hit - pos).append(to);
  s = out.append(s, pos, std::string::npos);
}

std::string JsonTokenizer::normalize(std::string_view in) const {
  std::string s(in);
  for (const Norm& n : normalizer) {
    if (n.kind == NormStep::kNfc) {
      s = unicode_nfc(s);  // a plain copy, quickly, when s is already NFC
    } else if (n.kind == NormStep::kPrepend) {
      if (!s.empty()) s = n.a + s;
    } else {
      replace_all(s, n.a, n.b);
    }
  }
  return s;
}

// Pieces of `text` (id -1) and the added tokens (their ids) matched in it,
// as AddedVocabulary::find_matches.
void JsonTokenizer::split_added(std::string_view text, bool normalized_pass,
                                std::vector<std::pair<std::string, int64_t>>& out) const {
  size_t piece_begin = 0;
  for (size_t pos = 0; pos < text.size();) {
    const Added* hit = nullptr;
    if (!added_first[normalized_pass][static_cast<uint8_t>(text[pos])]) {
      ++pos;
      continue;
    }
    for (size_t k = 0; k < added.size(); ++k) {
      const std::string& c = normalized_pass ? added_norm[k] : added[k].content;
      if (added[k].normalized == normalized_pass && starts_with(text.substr(pos), c)) {
        hit = &added[k];
        break;
      }
    }
    if (!hit) {
      ++pos;
      continue;
    }
    const size_t len = (normalized_pass ? added_norm[hit - added.data()] : hit->content).size();
    size_t start = pos, stop = pos + len;
    pos = stop;  // the matcher goes on after the match, whatever the strips take
    if (hit->single_word &&
        (is_word_char(text.substr(0, start), true) || is_word_char(text.substr(stop), false)))
      continue;
    if (hit->lstrip) start = std::max(space_before(text.substr(0, start)), piece_begin);
    if (hit->rstrip) stop += space_after(text.substr(stop));
    if (start > piece_begin)
      out.emplace_back(std::string(text.substr(piece_begin, start - piece_begin)), -1);
    out.emplace_back(std::string(), hit->id);
    piece_begin = stop;
    pos = std::max(pos, stop);
  }
  if (piece_begin < text.size()) out.emplace_back(std::string(text.substr(piece_begin)), -1);
}

void JsonTokenizer::pre_tokenize(const std::string& piece, bool at_text_start,
                                 std::vector<std::string>& words) const {
  // (text, starts at offset 0 of the original text) — Metaspace's "first".
  std::vector<std::pair<std::string, bool>> cur{{piece, at_text_start}}, next;
  for (const Pre& p : pre_tokenizer) {
    next.clear();
    for (auto& [s, first] : cur) {
      std::vector<size_t> lengths;
      if (p.kind == PreStep::kMetaspace) {
        replace_all(s, " ", p.replacement);
        const bool prepend = p.prepend_scheme == "always" || (p.prepend_scheme == "first" && first);
        if (prepend && !starts_with(s, p.replacement)) s = p.replacement + s;
        if (p.split) {  // before every "▁" (MergedWithNext)
          size_t begin = 0;
          for (size_t h = s.find(p.replacement, 1); h != std::string::npos;
               h = s.find(p.replacement, h + 1)) {
            lengths.push_back(h - begin);
            begin = h;
          }
          lengths.push_back(s.size() - begin);
        }
      } else if (p.kind == PreStep::kByteLevel) {
        if (p.add_prefix_space && !starts_with(s, " ")) s = " " + s;
        if (p.use_regex) pretokenize_regex(SplitRegex::kGpt2, s, lengths);
      } else {
        pretokenize_regex(p.regex, s, lengths);
      }
      if (lengths.empty()) lengths.push_back(s.size());
      size_t off = 0;
      for (size_t n : lengths) {
        std::string w = s.substr(off, n);
        if (p.kind == PreStep::kByteLevel) {
          std::string mapped;
          for (char ch : w) mapped += byte_level_char(static_cast<uint8_t>(ch));
          w = std::move(mapped);
        }
        if (!w.empty()) next.emplace_back(std::move(w), first && off == 0);
        off += n;
      }
    }
    cur.swap(next);
  }
  for (auto& [s, first] : cur)
    if (!s.empty()) words.push_back(std::move(s));
}

std::vector<int64_t> JsonTokenizer::encode(const std::string& text_in, bool add_special) const {
  const std::string text = valid_utf8(text_in);
  std::vector<int64_t> ids;
  if (add_special) ids = prefix_ids;
  std::vector<std::pair<std::string, int64_t>> raw, norm;
  std::vector<std::string> words;
  split_added(text, false, raw);
  bool at_start = true;  // the piece begins the text
  for (const auto& [piece, id] : raw) {
    if (id >= 0) {
      ids.push_back(id);
      at_start = false;
      continue;
    }
    norm.clear();
    split_added(normalize(piece), true, norm);
    for (size_t k = 0; k < norm.size(); ++k) {
      if (norm[k].second >= 0) {
        ids.push_back(norm[k].second);
        continue;
      }
      words.clear();
      pre_tokenize(norm[k].first, at_start && k == 0, words);
      for (const std::string& w : words) bpe(w, ids);
    }
    at_start = false;
  }
  if (add_special) ids.insert(ids.end(), suffix_ids.begin(), suffix_ids.end());
  return ids;
}

}  // namespace relapse::model
