// src/model/tokenizer_json_decode.cpp — JsonTokenizer::decode: ids to text as
// the `tokenizers` library's Tokenizer.decode (the ids' tokens, skipped
// special tokens removed first, run through the decoder chain). No
// clean_up_tokenization: transformers 5 ignores tokenizer_config.json's
// clean_up_tokenization_spaces for BPE tokenizers (checked with 5.17 on
// Llama-3's setting), transformers 4 applied it; MUSE's setting is the
// evaluation's own knob (eval.clean_up_tokenization).
#include <cctype>
#include <string>

#include "relapse/core/unicode.h"
#include "relapse/core/utf8.h"
#include "tokenizer_json_internal.h"

namespace relapse::model {

namespace {

const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Rust's String::from_utf8_lossy: each maximal invalid subpart (the longest
// prefix of a well-formed sequence, or one byte) becomes one U+FFFD.
std::string utf8_lossy(const std::string& b) {
  std::string out;
  for (size_t i = 0; i < b.size();) {
    if (const size_t n = utf8_char_len(b, i)) {
      out.append(b, i, n);
      i += n;
      continue;
    }
    const auto u = [&](size_t k) { return static_cast<unsigned char>(b[k]); };
    const unsigned char c = u(i);
    size_t need = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
    if (c >= 0xC2 && c <= 0xDF)
      need = 1;
    else if (c >= 0xE0 && c <= 0xEF)
      need = 2, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
      need = 3, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    size_t k = 1;  // the invalid subpart: the lead byte and the continuations that fit
    if (need && i + 1 < b.size() && u(i + 1) >= lo && u(i + 1) <= hi) {
      k = 2;
      while (k <= need && i + k < b.size() && u(i + k) >= 0x80 && u(i + k) <= 0xBF) ++k;
    }
    out += kReplacement;
    i += k;
  }
  return out;
}

std::vector<std::string> decode_byte_level(const std::vector<std::string>& tokens) {
  std::string bytes;
  for (const std::string& t : tokens) {
    std::string mine;
    bool all = true;
    for (size_t i = 0; i < t.size() && all;) {
      char32_t c = 0;
      const size_t n = utf8_decode(t, i, &c);
      const int b = n ? byte_level_byte(c) : -1;
      if (b < 0) all = false;
      mine.push_back(static_cast<char>(b));
      i += n ? n : 1;
    }
    bytes += all ? mine : t;  // a token outside the map: its own bytes
  }
  return {utf8_lossy(bytes)};
}

std::vector<std::string> decode_byte_fallback(const std::vector<std::string>& tokens) {
  std::vector<std::string> out;
  std::string run;
  auto flush = [&] {
    if (run.empty()) return;
    if (utf8_valid(run)) {
      out.push_back(run);
    } else {
      for (size_t i = 0; i < run.size(); ++i) out.push_back(kReplacement);  // one per byte
    }
    run.clear();
  };
  for (const std::string& t : tokens) {
    const bool byte = t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' &&
                      std::isxdigit(static_cast<unsigned char>(t[3])) &&
                      std::isxdigit(static_cast<unsigned char>(t[4]));
    if (byte) {
      run.push_back(static_cast<char>(std::stoi(t.substr(3, 2), nullptr, 16)));
      continue;
    }
    flush();
    out.push_back(t);
  }
  flush();
  return out;
}

// Strip: up to `start` leading and `stop` trailing characters equal to `c`.
void strip_token(std::string& t, const std::string& c, int start, int stop) {
  for (int k = 0; k < start && !c.empty() && t.compare(0, c.size(), c) == 0; ++k)
    t.erase(0, c.size());
  for (int k = 0; k < stop && !c.empty() && t.size() >= c.size() &&
                  t.compare(t.size() - c.size(), c.size(), c) == 0;
       ++k)
    t.erase(t.size() - c.size());
}

}  // namespace

std::string JsonTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special) const {
  std::vector<std::string> tokens;
  for (int64_t id : ids) {
    id_check(id);
    if (!(skip_special && is_special[id])) tokens.push_back(pieces[id]);
  }
  if (decoder.empty()) {  // tokenizers without a decoder joins tokens with spaces
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  for (const Dec& d : decoder) {
    if (d.kind == DecStep::kByteLevel) {
      tokens = decode_byte_level(tokens);
    } else if (d.kind == DecStep::kByteFallback) {
      tokens = decode_byte_fallback(tokens);
    } else if (d.kind == DecStep::kFuse) {
      std::string all;
      for (const std::string& t : tokens) all += t;
      tokens = {all};
    } else {
      for (size_t i = 0; i < tokens.size(); ++i) {
        std::string& t = tokens[i];
        if (d.kind == DecStep::kReplace) replace_all(t, d.a, d.b);
        if (d.kind == DecStep::kStrip) strip_token(t, d.a, d.start, d.stop);
        // Metaspace: "▁" is a space, except in the first token when a prefix was prepended.
        if (d.kind == DecStep::kMetaspace) replace_all(t, d.a, i == 0 && d.prepend ? "" : " ");
      }
    }
  }
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

}  // namespace relapse::model
