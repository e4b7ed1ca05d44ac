// tests/eval/test_rouge.cpp — relapse::eval ROUGE-L against Google's
// rouge_score (use_stemmer=False) on tests/golden/fixtures/eval/rouge.json
// (tests/golden/make_eval_fixtures.py). Tokens must match exactly; scores are
// compared to 1e-12 (the C++ performs the same IEEE operations in the same
// order, so in practice they are bit-identical; 1e-12 only allows for a
// compiler contracting 2*p*r into an FMA).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "relapse/eval/rouge.h"
#include "test_util.h"

using json = nlohmann::json;
using relapse::eval::rouge_l;
using relapse::eval::rouge_tokenize;

namespace {

json fixture_load() {
  const std::string path = relapse::test::fixture_path("eval/rouge.json");
  const std::string text = relapse::test::read_file(path);
  EXPECT_FALSE(text.empty()) << "missing " << path;
  return json::parse(text);
}

}  // namespace

TEST(Rouge, MatchesRougeScoreOnFixture) {
  const json fx = fixture_load();
  const json& cases = fx["cases"];
  ASSERT_GE(cases.size(), 60u);
  for (const json& c : cases) {
    const std::string target = c["target"], pred = c["prediction"];
    SCOPED_TRACE("target=" + json(target).dump() + " prediction=" + json(pred).dump());
    EXPECT_EQ(rouge_tokenize(target), c["target_tokens"].get<std::vector<std::string>>());
    EXPECT_EQ(rouge_tokenize(pred), c["prediction_tokens"].get<std::vector<std::string>>());
    const relapse::eval::RougeScore s = rouge_l(target, pred);
    EXPECT_NEAR(s.precision, c["precision"].get<double>(), 1e-12);
    EXPECT_NEAR(s.recall, c["recall"].get<double>(), 1e-12);
    EXPECT_NEAR(s.fmeasure, c["fmeasure"].get<double>(), 1e-12);
  }
}

TEST(Rouge, OnlyTwoCodePointsLowercaseToAscii) {
  // The fixture script scans all of Unicode with Python's str.lower(); the
  // tokenizer special-cases exactly these.
  const json fx = fixture_load();
  EXPECT_EQ(fx["lowercase_ascii_specials"].get<std::vector<int>>(),
            (std::vector<int>{0x130, 0x212A}));
}

TEST(Rouge, UnicodeLowercaseSpecialCases) {
  using V = std::vector<std::string>;
  EXPECT_EQ(rouge_tokenize("\xC4\xB0stanbul"), (V{"i", "stanbul"}));  // İ -> i + U+0307
  EXPECT_EQ(rouge_tokenize("K\xC4\xB0"), (V{"ki"}));
  EXPECT_EQ(rouge_tokenize("\xE2\x84\xAA"
                           "elvin"),
            (V{"kelvin"}));  // KELVIN SIGN -> k
  EXPECT_EQ(rouge_tokenize("300\xE2\x84\xAA"), (V{"300k"}));
  EXPECT_EQ(rouge_tokenize("caf\xC3\xA9 na\xC3\xAFve"), (V{"caf", "na", "ve"}));
  EXPECT_EQ(rouge_tokenize("\xE6\x9D\xB1\xE4\xBA\xAC"), V{});  // 東京
  // Invalid UTF-8 bytes are separators.
  EXPECT_EQ(rouge_tokenize("ab\xFFzz\xC4"), (V{"ab", "zz"}));
}

TEST(Rouge, ScoreEdgeCases) {
  const auto zero = rouge_l("", "hello");
  EXPECT_EQ(zero.precision, 0.0);
  EXPECT_EQ(zero.recall, 0.0);
  EXPECT_EQ(zero.fmeasure, 0.0);
  EXPECT_EQ(rouge_l("hello", "...").fmeasure, 0.0);
  EXPECT_EQ(rouge_l("a b c", "x y").fmeasure, 0.0);  // no overlap: p + r == 0
  const auto s = rouge_l("the cat sat on the mat", "the cat");
  EXPECT_DOUBLE_EQ(s.precision, 1.0);
  EXPECT_DOUBLE_EQ(s.recall, 2.0 / 6.0);
  // Argument order matters: target first.
  const auto r = rouge_l("the cat", "the cat sat on the mat");
  EXPECT_DOUBLE_EQ(r.precision, 2.0 / 6.0);
  EXPECT_DOUBLE_EQ(r.recall, 1.0);
}

TEST(Rouge, LcsLength) {
  using V = std::vector<std::string>;
  EXPECT_EQ(relapse::eval::rouge_lcs_length(V{"a", "b", "c", "b", "d", "a", "b"},
                                            V{"b", "d", "c", "a", "b", "a"}),
            4u);
  EXPECT_EQ(relapse::eval::rouge_lcs_length(V{}, V{"a"}), 0u);
}
