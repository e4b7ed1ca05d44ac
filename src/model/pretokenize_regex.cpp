// src/model/pretokenize_regex.cpp — the pre-tokenizer regexes of GPT-2,
// Llama-3 and Qwen2 matched by hand, with the semantics of the Oniguruma
// engine that the `tokenizers` library runs them with: at each position the
// alternatives are tried in order and the first that matches wins (not the
// longest), quantifiers are greedy and backtrack. Why by hand: std::regex has
// no \p{L}/\p{N} classes and no Unicode \s, and these three patterns are the
// ones the model families relapse reads ship; tokenizer_json.cpp refuses any
// other pattern. \p{L}, \p{N} and \s are Oniguruma's own tables
// (relapse/core/unicode.h). tests/model/test_tokenizer_json.cpp checks the
// result through whole tokenizers against the `tokenizers` library.
//
//   GPT-2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   Llama-3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//            ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   Qwen2:   the same with \p{N} (one digit) in place of \p{N}{1,3}
#include <algorithm>

#include "relapse/core/unicode.h"
#include "tokenizer_json_internal.h"

namespace relapse::model {

namespace {

const char* const kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
const char* const kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// The text as code points with their byte offsets (off has one entry more).
struct CodePoints {
  std::vector<char32_t> cp;
  std::vector<size_t> off;
  size_t size() const { return cp.size(); }
};

CodePoints code_points(std::string_view s) {
  CodePoints t;
  for (size_t i = 0; i < s.size();) {
    char32_t c = 0xFFFD;
    size_t n = utf8_decode(s, i, &c);
    if (n == 0) n = 1;  // encode() hands valid UTF-8; a stray byte stays one "character"
    t.cp.push_back(c);
    t.off.push_back(i);
    i += n;
  }
  t.off.push_back(s.size());
  return t;
}

bool is_crlf(char32_t c) {
  return c == '\r' || c == '\n';
}
bool is_other(char32_t c) {  // [^\s\p{L}\p{N}]
  return !unicode_is_space(c) && !unicode_is_letter(c) && !unicode_is_number(c);
}

template <class Pred>
size_t run_of(const CodePoints& t, size_t i, Pred p) {
  size_t j = i;
  while (j < t.size() && p(t.cp[j])) ++j;
  return j - i;
}

// 's|'t|'re|'ve|'m|'ll|'d, case-insensitive under (?i) with Unicode case
// folding (of these letters only "s" has another form: U+017F long s).
size_t match_contraction(const CodePoints& t, size_t i, bool fold) {
  if (t.cp[i] != '\'') return 0;
  auto at = [&](size_t k, char c) {
    if (i + k >= t.size()) return false;
    char32_t x = t.cp[i + k];
    if (!fold) return x == static_cast<char32_t>(c);
    if (c == 's' && x == 0x017F) return true;
    return x == static_cast<char32_t>(c) || x == static_cast<char32_t>(c - 'a' + 'A');
  };
  for (const char* alt : {"s", "t", "re", "ve", "m", "ll", "d"}) {
    size_t k = 0;
    while (alt[k] && at(k + 1, alt[k])) ++k;
    if (!alt[k]) return k + 1;
  }
  return 0;
}

// \s+(?!\S) then \s+ at a whitespace run of length r: the whole run when it
// ends the text, else all but its last character (which then starts the next
// piece, e.g. a space before a word), else the single character.
size_t match_space_run(const CodePoints& t, size_t i) {
  const size_t r = run_of(t, i, unicode_is_space);
  if (i + r == t.size()) return r;
  return r >= 2 ? r - 1 : r;
}

size_t match_gpt2(const CodePoints& t, size_t i) {
  if (size_t k = match_contraction(t, i, false)) return k;
  const char32_t c = t.cp[i];
  const bool space = c == ' ' && i + 1 < t.size();
  for (bool (*cls)(char32_t) : {unicode_is_letter, unicode_is_number, is_other}) {
    if (space && cls(t.cp[i + 1])) return 1 + run_of(t, i + 1, cls);
    if (cls(c)) return run_of(t, i, cls);
  }
  return match_space_run(t, i);
}

size_t match_llama3(const CodePoints& t, size_t i, size_t max_digits) {
  if (size_t k = match_contraction(t, i, true)) return k;
  const char32_t c = t.cp[i];
  const bool has_next = i + 1 < t.size();
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (!is_crlf(c) && !unicode_is_letter(c) && !unicode_is_number(c) && has_next &&
      unicode_is_letter(t.cp[i + 1]))
    return 1 + run_of(t, i + 1, unicode_is_letter);
  if (unicode_is_letter(c)) return run_of(t, i, unicode_is_letter);
  // \p{N}{1,3} (Llama-3) or \p{N} (Qwen2)
  if (unicode_is_number(c)) return std::min(max_digits, run_of(t, i, unicode_is_number));
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  size_t k = 0;
  if (c == ' ' && has_next && is_other(t.cp[i + 1])) {
    k = 1 + run_of(t, i + 1, is_other);
  } else if (is_other(c)) {
    k = run_of(t, i, is_other);
  }
  if (k) return k + run_of(t, i + k, is_crlf);
  // \s*[\r\n]+: the whitespace run up to its last line break.
  const size_t r = run_of(t, i, unicode_is_space);
  for (size_t p = i + r; p > i; --p)
    if (is_crlf(t.cp[p - 1])) return p - i;
  return match_space_run(t, i);
}

}  // namespace

const char* split_regex_pattern(SplitRegex re) {
  switch (re) {
    case SplitRegex::kGpt2:
      return kGpt2Pattern;
    case SplitRegex::kLlama3:
      return kLlama3Pattern;
    case SplitRegex::kQwen2:
      return kQwen2Pattern;
  }
  return "";
}

void pretokenize_regex(SplitRegex re, std::string_view text, std::vector<size_t>& lengths) {
  const CodePoints t = code_points(text);
  size_t gap_begin = 0;
  for (size_t i = 0; i < t.size();) {
    size_t n = 0;
    if (re == SplitRegex::kGpt2) {
      n = match_gpt2(t, i);
    } else {
      n = match_llama3(t, i, re == SplitRegex::kLlama3 ? 3 : 1);
    }
    if (n == 0) {  // no match here: part of a gap piece
      ++i;
      continue;
    }
    if (gap_begin < i) lengths.push_back(t.off[i] - t.off[gap_begin]);
    lengths.push_back(t.off[i + n] - t.off[i]);
    i += n;
    gap_begin = i;
  }
  if (gap_begin < t.size()) lengths.push_back(t.off[t.size()] - t.off[gap_begin]);
}

}  // namespace relapse::model
