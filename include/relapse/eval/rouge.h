// relapse/eval/rouge.h — ROUGE-L exactly as Google's `rouge_score` package
// computes it with RougeScorer(["rougeL"], use_stemmer=False): its tokenizer
// and its LCS-based precision / recall / F-measure.
#pragma once
#include <string>
#include <vector>

namespace relapse::eval {

// rouge_score.tokenize.tokenize(text, stemmer=None) on UTF-8 text:
// Python's str.lower(), every run of characters outside [a-z0-9] becomes a
// space, split on whitespace, keep the non-empty tokens. So a token is a
// maximal run of ASCII letters/digits after lowercasing.
//
// Non-ASCII text: every non-ASCII character is a separator, EXCEPT the only
// two code points whose Python (Unicode 14, full case mapping) lowercase
// contains an ASCII letter or digit — checked over all of U+0000..U+10FFFF by
// tests/golden/make_eval_fixtures.py:
//   U+0130 'İ' -> "i" + U+0307 (so it yields the letter 'i', then a separator)
//   U+212A KELVIN SIGN -> 'k'
// Bytes that are not valid UTF-8 (Python strings cannot hold them) are
// separators too.
std::vector<std::string> rouge_tokenize(const std::string& text);

struct RougeScore {
  double precision = 0.0;
  double recall = 0.0;
  double fmeasure = 0.0;
};

// rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False).score(target,
// prediction)["rougeL"]: with L = LCS length of the token lists,
// precision = L / len(prediction), recall = L / len(target),
// fmeasure = 2*p*r / (p + r) (0 when p + r == 0); all three 0 when either
// token list is empty. The same floating-point operations in the same order,
// so results are bit-identical to the Python package. Note the argument order
// (MUSE calls score(ground_truth, generated_output)).
RougeScore rouge_l(const std::string& target, const std::string& prediction);

// Length of the longest common subsequence of two token lists (O(n·m) time,
// O(min) memory).
size_t rouge_lcs_length(const std::vector<std::string>& a, const std::vector<std::string>& b);

}  // namespace relapse::eval
