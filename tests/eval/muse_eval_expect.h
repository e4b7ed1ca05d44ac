// tests/eval/muse_eval_expect.h — relapse's MUSE evaluation against a block of
// a reference written by MUSE's metric code on transformers
// (tests/golden/make_muse_eval_fixture.py, make_muse_excerpt_eval_fixture.py):
// the checks test_muse_eval.cpp and test_muse_eval_excerpt.cpp share.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "relapse/data/muse.h"
#include "relapse/eval/muse_eval.h"

namespace relapse::test {

// Text metrics against one block ("plain" / "clean") of the reference, with
// the per-sample score key "f1" or "recall". Generations must be the same
// strings (the references' greedy steps all have a top1 - top2 logit gap >=
// 2e-3, while relapse's fp32 logits differ from HF's by ~1e-5); ROUGE-L is
// computed by the same operations as rouge_score, so the scores are equal, not
// close. The means are sums / n × 100 (sequential for < 8 values; numpy's
// pairwise order beyond): equal up to 4 ulps.
inline void expect_muse_text_metrics(const eval::MuseEvalResult& r, const data::MuseCorpus& c,
                                     const nlohmann::json& e, const std::string& score) {
  using strings = std::vector<std::string>;
  using doubles = std::vector<double>;
  const std::string mean_key = "mean_" + score;
  ASSERT_TRUE(r.has_verbmem);
  ASSERT_TRUE(r.has_knowmem);
  strings prompts;
  for (const auto& v : c.verbmem_forget) prompts.push_back(v.prompt);
  EXPECT_EQ(r.verbmem_prompts, prompts);
  EXPECT_EQ(r.verbmem_references, e["verbmem"]["references"].get<strings>());
  EXPECT_EQ(r.verbmem_generations, e["verbmem"]["generations"].get<strings>());
  EXPECT_EQ(r.verbmem_scores, e["verbmem"][score].get<doubles>()) << score;
  EXPECT_DOUBLE_EQ(r.verbmem_forget, e["verbmem"][mean_key].get<double>());
  struct Set {
    const eval::KnowmemResult& k;
    const std::vector<data::QaPair>& qa;
    const char* key;
  };
  for (const Set& s : {Set{r.knowmem_forget, c.knowmem_forget_qa, "knowmem_forget"},
                       Set{r.knowmem_retain, c.knowmem_retain_qa, "knowmem_retain"}}) {
    ASSERT_EQ(s.k.questions.size(), s.qa.size()) << s.key;
    for (size_t i = 0; i < s.qa.size(); ++i) {
      EXPECT_EQ(s.k.questions[i], s.qa[i].question);
      EXPECT_EQ(s.k.answers[i], s.qa[i].answer);
    }
    EXPECT_EQ(s.k.generations, e[s.key]["generations"].get<strings>()) << s.key;
    EXPECT_EQ(s.k.scores, e[s.key][score].get<doubles>()) << s.key << " " << score;
    EXPECT_DOUBLE_EQ(s.k.mean, e[s.key][mean_key].get<double>()) << s.key;
  }
}

// Min-K% scores: HF's and relapse's fp32 logits differ by ~1e-5, and a score
// is a mean of log-probs of magnitude ~10, so 1e-4 relative bounds that noise
// with a margin while a wrong token, position or k would be off by far more.
inline void expect_mink_close(const std::vector<double>& got, const nlohmann::json& want,
                              const char* what, double rel = 1e-4) {
  const std::vector<double> w = want.get<std::vector<double>>();
  ASSERT_EQ(got.size(), w.size()) << what;
  for (size_t i = 0; i < w.size(); ++i)
    EXPECT_NEAR(got[i], w[i], rel * std::abs(w[i])) << what << " " << i;
}

}  // namespace relapse::test
