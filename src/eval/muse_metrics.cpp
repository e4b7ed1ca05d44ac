// src/eval/muse_metrics.cpp — MUSE's Min-K%, PrivLeak AUC/normalisation,
// KnowMem prompt/truncation and VerbMem reference truncation.
#include "relapse/eval/muse_metrics.h"

#include <algorithm>
#include <cmath>

#include <zlib.h>

#include "relapse/core/error.h"
#include "relapse/eval/auc.h"

namespace relapse::eval {

double min_k_percent_score(const std::vector<float>& token_logprobs, double k) {
  RELAPSE_CHECK_INPUT(k > 0.0 && k <= 1.0, "min_k_percent_score: k must be in (0, 1], got ", k);
  // int(len(all_prob) * ratio): one double multiply, truncated.
  const size_t k_length = static_cast<size_t>(static_cast<double>(token_logprobs.size()) * k);
  std::vector<double> sorted(token_logprobs.begin(), token_logprobs.end());
  std::sort(sorted.begin(), sorted.end());
  return -np_mean(sorted.data(), k_length);
}

double min_k_plus_plus_score(const std::vector<float>& z, double k) {
  RELAPSE_CHECK_INPUT(k > 0.0 && k <= 1.0, "min_k_plus_plus_score: k must be in (0, 1], got ", k);
  if (z.empty()) return 0.0;  // OpenUnlearning: `if len(target_prob) == 0: return 0`
  // max(1, int(len(scores) * self.k)), then -np.mean(sorted(scores)[:num_k]).
  const size_t num_k = std::max<size_t>(1, static_cast<size_t>(static_cast<double>(z.size()) * k));
  std::vector<double> sorted(z.begin(), z.end());
  std::sort(sorted.begin(), sorted.end());
  return -np_mean(sorted.data(), num_k);
}

double muse_ppl_score(const std::vector<float>& token_logprobs) {
  std::vector<double> nll(token_logprobs.begin(), token_logprobs.end());
  for (double& v : nll) v = -v;
  return np_mean(nll.data(), nll.size());
}

int64_t zlib_compressed_size(const std::string& text) {
  uLongf n = compressBound(static_cast<uLong>(text.size()));
  std::vector<Bytef> out(n);
  const int rc = compress2(out.data(), &n, reinterpret_cast<const Bytef*>(text.data()),
                           static_cast<uLong>(text.size()), Z_DEFAULT_COMPRESSION);
  RELAPSE_CHECK(rc == Z_OK, "zlib compress2 failed (", rc, ")");
  return static_cast<int64_t>(n);
}

namespace {

// The lower-case code point of `cp` for the ranges muse_lowercase maps.
uint32_t lower_code_point(uint32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 32;
  // Latin Extended-A: capital/small pairs, even/odd from U+0100 to U+0137 and
  // from U+014A to U+0177, odd/even from U+0139 to U+0148 and U+0179 to U+017E.
  if (cp == 0x130) return cp;  // İ: Python gives two code points (i + U+0307); kept
  if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177)) return cp | 1;
  if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E)) return cp % 2 ? cp + 1 : cp;
  if (cp == 0x178) return 0xFF;
  if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) return cp + 32;  // Greek
  if (cp >= 0x410 && cp <= 0x42F) return cp + 32;                 // Cyrillic А-Я
  if (cp >= 0x400 && cp <= 0x40F) return cp + 80;                 // Cyrillic Ѐ-Џ
  return cp;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

std::string muse_lowercase(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    // Only 1- and 2-byte sequences hold a mapped capital (all below U+0800).
    if (b0 < 0x80) {
      out += static_cast<char>(lower_code_point(b0));
      ++i;
    } else if ((b0 & 0xE0) == 0xC0 && i + 1 < text.size() &&
               (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80) {
      const uint32_t cp = ((b0 & 0x1Fu) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3Fu);
      append_utf8(out, lower_code_point(cp));
      i += 2;
    } else {
      out += text[i];
      ++i;
    }
  }
  return out;
}

double exact_memorization(const std::vector<uint8_t>& hits) {
  if (hits.empty()) return std::nan("");
  double n = 0;
  for (uint8_t h : hits) n += h ? 1 : 0;
  return n / static_cast<double>(hits.size());
}

double extraction_strength(const std::vector<uint8_t>& hits) {
  const size_t n = hits.size();
  if (n == 0) return 0.0;
  // for k in range(n): if preds[k:] == labels[k:]: break — k stays n-1 when none matches.
  size_t k = 0;
  for (; k < n; ++k)
    if (std::all_of(hits.begin() + k, hits.end(), [](uint8_t h) { return h != 0; })) break;
  if (k == n) k = n - 1;
  return 1.0 - static_cast<double>(k) / static_cast<double>(n);
}

std::pair<int64_t, int64_t> memorization_span(int64_t len, int64_t prefix_len) {
  const int64_t first = std::max<int64_t>(prefix_len, 1) - 1, end = len - 2;
  return end > first ? std::pair{first, end} : std::pair{first, first};
}

double privleak_auc(const std::vector<double>& forget_min_k,
                    const std::vector<double>& holdout_min_k) {
  RELAPSE_CHECK_INPUT(!forget_min_k.empty() && !holdout_min_k.empty(),
                      "privleak_auc: needs forget and holdout scores (got ", forget_min_k.size(),
                      " forget, ", holdout_min_k.size(), " holdout)");
  std::vector<double> scores;
  std::vector<int> labels;
  scores.reserve(forget_min_k.size() + holdout_min_k.size());
  for (double s : forget_min_k) {
    scores.push_back(-s);
    labels.push_back(0);
  }
  for (double s : holdout_min_k) {
    scores.push_back(-s);
    labels.push_back(1);
  }
  return roc_auc(scores, labels);
}

double privleak_normalise(double auc, double auc_retrain) {
  RELAPSE_CHECK_INPUT(std::isfinite(auc) && std::isfinite(auc_retrain) && auc_retrain > 0.0,
                      "privleak_normalise: needs finite AUCs and auc_retrain > 0 (auc = ", auc,
                      ", auc_retrain = ", auc_retrain, ")");
  return (auc - auc_retrain) / auc_retrain * 100;
}

std::string knowmem_prompt(const std::vector<QA>& icl, const std::string& question) {
  std::string out;
  for (const QA& qa : icl) {
    out += "Question: " + qa.question + "\nAnswer: " + qa.answer + "\n\n";
  }
  out += "Question: " + question + "\nAnswer: ";
  return out;
}

std::string knowmem_truncate_answer(const std::string& generated) {
  std::string s = generated;
  for (const char* word : {"\n\n", "\nQuestion", "Question:"}) {
    const size_t pos = s.find(word);
    if (pos != std::string::npos) s.resize(pos);
  }
  return s;
}

std::string hf_clean_up_tokenization(const std::string& text) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  std::string s = text;
  for (const auto& [from, to] : kRules) {
    // str.replace: left to right, non-overlapping, no rescanning of output.
    const std::string f(from), t(to);
    std::string out;
    size_t pos = 0;
    for (size_t hit; (hit = s.find(f, pos)) != std::string::npos; pos = hit + f.size()) {
      out.append(s, pos, hit - pos);
      out += t;
    }
    out.append(s, pos, std::string::npos);
    s.swap(out);
  }
  return s;
}

std::vector<int64_t> verbmem_truncate_reference(const std::vector<int64_t>& gt_ids_with_bos,
                                                int64_t max_tokens) {
  RELAPSE_CHECK_INPUT(max_tokens >= 0, "verbmem_truncate_reference: max_tokens must be >= 0, got ",
                      max_tokens);
  const size_t n = std::min(gt_ids_with_bos.size(), static_cast<size_t>(max_tokens));
  return std::vector<int64_t>(gt_ids_with_bos.begin(), gt_ids_with_bos.begin() + n);
}

}  // namespace relapse::eval
