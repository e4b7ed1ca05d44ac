// src/eval/muse_metrics.cpp — MUSE's Min-K%, PrivLeak AUC/normalisation,
// KnowMem prompt/truncation and VerbMem reference truncation.
#include "relapse/eval/muse_metrics.h"

#include <algorithm>
#include <cmath>

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
