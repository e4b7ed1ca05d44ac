// src/eval/rouge.cpp — ROUGE-L as Google's rouge_score (use_stemmer=False):
// tokenizer with Python's Unicode-aware lowercasing, LCS, and F-measure.
#include "relapse/eval/rouge.h"

#include <algorithm>

namespace relapse::eval {

namespace {

bool is_ascii_alnum_lower(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// Byte length of the UTF-8 sequence starting with lead byte `c` that is
// well-formed at text[i..]; 1 for any malformed byte (consumed as one
// separator).
size_t utf8_length_at(const std::string& text, size_t i) {
  const unsigned char c = static_cast<unsigned char>(text[i]);
  size_t len = 1;
  if (c >= 0xC2 && c <= 0xDF)
    len = 2;
  else if (c >= 0xE0 && c <= 0xEF)
    len = 3;
  else if (c >= 0xF0 && c <= 0xF4)
    len = 4;
  if (len == 1 || i + len > text.size()) return 1;
  for (size_t k = 1; k < len; ++k) {
    const unsigned char cc = static_cast<unsigned char>(text[i + k]);
    if ((cc & 0xC0) != 0x80) return 1;
  }
  return len;
}

}  // namespace

std::vector<std::string> rouge_tokenize(const std::string& text) {
  std::vector<std::string> tokens;
  std::string cur;
  auto flush = [&]() {
    if (!cur.empty()) tokens.push_back(std::move(cur));
    cur.clear();
  };
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      const unsigned char lc =
          (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c - 'A' + 'a') : c;
      if (is_ascii_alnum_lower(lc)) {
        cur.push_back(static_cast<char>(lc));
      } else {
        flush();
      }
      ++i;
      continue;
    }
    const size_t len = utf8_length_at(text, i);
    const std::string cp = text.substr(i, len);
    if (cp == "\xC4\xB0") {  // U+0130 -> "i" U+0307: 'i' joins the run, U+0307 ends it
      cur.push_back('i');
      flush();
    } else if (cp == "\xE2\x84\xAA") {  // U+212A KELVIN SIGN -> 'k'
      cur.push_back('k');
    } else {
      flush();
    }
    i += len;
  }
  flush();
  return tokens;
}

size_t rouge_lcs_length(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  const std::vector<std::string>& rows = a.size() >= b.size() ? a : b;
  const std::vector<std::string>& cols = a.size() >= b.size() ? b : a;
  std::vector<size_t> prev(cols.size() + 1, 0), cur(cols.size() + 1, 0);
  for (size_t i = 1; i <= rows.size(); ++i) {
    for (size_t j = 1; j <= cols.size(); ++j) {
      cur[j] = rows[i - 1] == cols[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    }
    std::swap(prev, cur);
  }
  return prev[cols.size()];
}

RougeScore rouge_l(const std::string& target, const std::string& prediction) {
  const std::vector<std::string> t = rouge_tokenize(target);
  const std::vector<std::string> p = rouge_tokenize(prediction);
  RougeScore s;
  if (t.empty() || p.empty()) return s;
  const double lcs = static_cast<double>(rouge_lcs_length(t, p));
  s.precision = lcs / static_cast<double>(p.size());
  s.recall = lcs / static_cast<double>(t.size());
  // scoring.fmeasure: 2 * precision * recall / (precision + recall)
  s.fmeasure =
      s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0.0;
  return s;
}

}  // namespace relapse::eval
