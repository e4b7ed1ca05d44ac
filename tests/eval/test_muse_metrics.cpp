// tests/eval/test_muse_metrics.cpp — relapse::eval's MUSE pieces against a
// Python rendering of MUSE's code (metrics/privleak.py, knowmem.py,
// verbmem.py) in tests/golden/fixtures/eval/muse.json
// (tests/golden/make_eval_fixtures.py). Min-K% scores are compared exactly
// (same float->double widening, sort, and numpy pairwise mean); the sweep AUC
// to 1e-12 (see test_auc.cpp); strings exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/eval/muse_metrics.h"
#include "relapse/model/tokenizer.h"
#include "test_util.h"

using relapse::test::expect_input_error;

using json = nlohmann::json;
namespace ev = relapse::eval;

namespace {

json fixture_load() {
  const std::string path = relapse::test::fixture_path("eval/muse.json");
  const std::string text = relapse::test::read_file(path);
  EXPECT_FALSE(text.empty()) << "missing " << path;
  return json::parse(text);
}

}  // namespace

TEST(MinK, MatchesMusePrivleakInference) {
  const json fx = fixture_load();
  size_t checked = 0;
  for (const json& c : fx["min_k"]) {
    std::vector<float> lp;
    for (double v : c["logprobs"].get<std::vector<double>>()) lp.push_back(static_cast<float>(v));
    for (const auto& [ratio, want] : c["scores"].items()) {
      const double got = ev::min_k_percent_score(lp, std::stod(ratio));
      SCOPED_TRACE("n=" + std::to_string(lp.size()) + " ratio=" + ratio);
      if (want.is_null()) {
        EXPECT_TRUE(std::isnan(got)) << got;  // k_length == 0: numpy mean of nothing
      } else {
        EXPECT_EQ(got, want.get<double>());
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 100u);
}

TEST(MinK, DefinitionOnSmallInput) {
  // 10 log-probs, k = 0.4 -> the 4 lowest: -5, -4, -3, -2 -> score 3.5.
  const std::vector<float> lp{-1, -5, -0.5f, -4, -3, -0.1f, -2, -0.2f, -0.3f, -0.4f};
  EXPECT_DOUBLE_EQ(ev::min_k_percent_score(lp), 3.5);
  EXPECT_DOUBLE_EQ(ev::min_k_percent_score(lp, 0.1), 5.0);
  EXPECT_TRUE(std::isnan(ev::min_k_percent_score({-1.0f, -2.0f})));       // int(2 * 0.4) == 0
  EXPECT_DOUBLE_EQ(ev::min_k_percent_score({-1.0f, -2.0f, -3.0f}), 3.0);  // int(1.2) == 1
  expect_input_error([] { ev::min_k_percent_score({-1.0f}, 0.0); }, "k must be");
  expect_input_error([] { ev::min_k_percent_score({-1.0f}, 1.5); }, "k must be");
}

TEST(PrivLeak, AucMatchesMuseSweep) {
  const json fx = fixture_load();
  for (const json& c : fx["privleak_auc"]) {
    const auto f = c["forget"].get<std::vector<double>>();
    const auto h = c["holdout"].get<std::vector<double>>();
    EXPECT_NEAR(ev::privleak_auc(f, h), c["auc"].get<double>(), 1e-12);
  }
}

TEST(PrivLeak, DirectionAndNormalisation) {
  // A model that memorised the forget set gives forget texts LOWER Min-K%
  // (loss-like) scores than holdout texts -> AUC 0; a retrain model ~0.5.
  EXPECT_DOUBLE_EQ(ev::privleak_auc({1.0, 1.5, 1.2}, {3.0, 2.9, 4.0}), 0.0);
  EXPECT_DOUBLE_EQ(ev::privleak_auc({3.0, 2.9, 4.0}, {1.0, 1.5, 1.2}), 1.0);
  EXPECT_DOUBLE_EQ(ev::privleak_auc({2.0}, {2.0}), 0.5);
  const json fx = fixture_load();
  for (const json& c : fx["privleak_normalise"]) {
    EXPECT_EQ(ev::privleak_normalise(c["auc"], c["auc_retrain"]), c["privleak"].get<double>());
  }
  EXPECT_DOUBLE_EQ(ev::privleak_normalise(0.0, 0.5), -100.0);
  expect_input_error([] { ev::privleak_normalise(0.3, 0.0); }, "auc_retrain > 0");
  expect_input_error([] { ev::privleak_normalise(NAN, 0.5); }, "finite");
  expect_input_error([] { ev::privleak_auc({}, {1.0}); }, "0 forget");
  expect_input_error([] { ev::privleak_auc({NAN}, {1.0}); }, "finite");
}

TEST(KnowMem, PromptFormat) {
  const json fx = fixture_load();
  for (const json& c : fx["knowmem_prompt"]) {
    std::vector<ev::QA> icl;
    for (const json& q : c["icl"]) icl.push_back({q["question"], q["answer"]});
    EXPECT_EQ(ev::knowmem_prompt(icl, c["question"]), c["prompt"].get<std::string>());
  }
  EXPECT_EQ(ev::knowmem_prompt({{"Q1?", "A1"}}, "Q2?"),
            "Question: Q1?\nAnswer: A1\n\nQuestion: Q2?\nAnswer: ");
}

TEST(KnowMem, TruncateAnswer) {
  const json fx = fixture_load();
  for (const json& c : fx["knowmem_truncate"]) {
    const std::string g = c["generated"];
    EXPECT_EQ(ev::knowmem_truncate_answer(g), c["answer"].get<std::string>()) << json(g).dump();
  }
  EXPECT_EQ(ev::knowmem_truncate_answer(" Paris\n\nQuestion: x"), " Paris");  // no strip
}

TEST(Decode, CleanUpTokenization) {
  const json fx = fixture_load();
  for (const json& c : fx["clean_up_tokenization"]) {
    EXPECT_EQ(ev::hf_clean_up_tokenization(c["text"]), c["clean"].get<std::string>());
  }
}

TEST(VerbMem, ReferenceTruncationCountsBos) {
  EXPECT_EQ(ev::verbmem_truncate_reference({1, 5, 6, 7}, 3), (std::vector<int64_t>{1, 5, 6}));
  EXPECT_EQ(ev::verbmem_truncate_reference({1, 5}, 128), (std::vector<int64_t>{1, 5}));
  EXPECT_TRUE(ev::verbmem_truncate_reference({1, 5}, 0).empty());
  expect_input_error([] { ev::verbmem_truncate_reference({1}, -1); }, "max_tokens");
}

TEST(VerbMem, ReferenceMatchesHfWithTokenizerFixture) {
  // ids = tokenizer(gt, add_special_tokens=True).input_ids[:, :max_new_tokens]
  // and their decode(skip_special_tokens=True), from transformers.
  const json fx = fixture_load();
  ASSERT_FALSE(fx["verbmem"].empty());
  relapse::model::Tokenizer tok(relapse::test::fixture_path("tokenizer") + "/tokenizer.model");
  for (const json& c : fx["verbmem"]) {
    const std::string gt = c["gt"];
    const auto ids = ev::verbmem_truncate_reference(tok.encode(gt, true), c["max_new_tokens"]);
    EXPECT_EQ(ids, c["ids"].get<std::vector<int64_t>>()) << gt;
    EXPECT_EQ(tok.decode(ids, true), c["gt_short"].get<std::string>()) << gt;
  }
}

// MUSE's loss-based attack pieces (privleak.py inference()). The zlib lengths
// are Python's: len(zlib.compress(s.encode("utf-8"))) for these strings
// (python3 -c 'import zlib; print(len(zlib.compress(b"...")))').
TEST(Mia, PplIsTheMeanNll) {
  EXPECT_DOUBLE_EQ(ev::muse_ppl_score({-1.0f, -2.0f, -3.0f}), 2.0);
  EXPECT_TRUE(std::isnan(ev::muse_ppl_score({})));
}

// OpenUnlearning's compute_score by hand: -np.mean(sorted(z)[:max(1, int(n * k))]),
// 0 for a text with no scored position (unlike Min-K%'s int(n * k) = 0 → NaN).
TEST(Mia, MinKPlusPlusTakesAtLeastOnePosition) {
  const std::vector<float> z = {3.0f, 1.0f, 2.0f, -1.0f, 0.0f};
  EXPECT_DOUBLE_EQ(ev::min_k_plus_plus_score(z, 0.4), 0.5);  // int(2.0) = 2: -1, 0
  EXPECT_DOUBLE_EQ(ev::min_k_plus_plus_score(z, 0.1), 1.0);  // int(0.5) = 0 → 1: -1
  EXPECT_DOUBLE_EQ(ev::min_k_plus_plus_score(z, 1.0), -1.0);
  EXPECT_DOUBLE_EQ(ev::min_k_plus_plus_score({}, 0.4), 0.0);
  EXPECT_TRUE(std::isnan(ev::min_k_percent_score({-1.0f, -2.0f}, 0.4)));
}

TEST(Mia, ZlibLengthMatchesPython) {
  EXPECT_EQ(ev::zlib_compressed_size(""), 8);
  EXPECT_EQ(ev::zlib_compressed_size("hello hello hello hello"), 16);
  std::string news;
  for (int i = 0; i < 20; ++i) news += "The council voted on the budget on Tuesday. ";
  EXPECT_EQ(ev::zlib_compressed_size(news), 58);
}

TEST(Mia, LowercaseAsPython) {
  // Python: "ÀÉÎ Ölçü ĀĞŁŽ Ÿ ΑΒΓ ДЖЯ Ѐ İ ǅ x".lower() — all but İ (two code
  // points in Python) and ǅ (Latin Extended-B: kept) map.
  EXPECT_EQ(ev::muse_lowercase("The CAT, Ölçü!"), "the cat, ölçü!");
  EXPECT_EQ(ev::muse_lowercase("ÀÉÎ ĀĞŁŽ Ÿ ΑΒΓ ДЖЯ Ѐ"), "àéî āğłž ÿ αβγ джя ѐ");
  EXPECT_EQ(ev::muse_lowercase("İ ǅ ×"), "İ ǅ ×");
  EXPECT_EQ(ev::muse_lowercase(std::string("A\xff"
                                           "B")),
            std::string("a\xff"
                        "b"));
}

// OpenUnlearning's memorization.py on hand-made hit rows, with its quirks:
// no matching suffix gives 1/N (the loop ends at k = N - 1), nothing scored
// gives ES 0 and EM None (NaN); the span drops the prompt and the last label.
TEST(Memorization, ExactMemorizationAndExtractionStrength) {
  EXPECT_DOUBLE_EQ(ev::exact_memorization({1, 0, 1, 1}), 0.75);
  EXPECT_TRUE(std::isnan(ev::exact_memorization({})));
  EXPECT_DOUBLE_EQ(ev::extraction_strength({1, 1, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(ev::extraction_strength({0, 1, 1, 1}), 0.75);  // k = 1
  EXPECT_DOUBLE_EQ(ev::extraction_strength({1, 0, 0, 1}), 0.25);  // k = 3
  EXPECT_DOUBLE_EQ(ev::extraction_strength({1, 0, 0, 0}), 0.25);  // none: k = N - 1
  EXPECT_DOUBLE_EQ(ev::extraction_strength({}), 0.0);
  // 10 ids, the first 4 the prompt's (BOS included): labels 4..9, the last
  // dropped, so positions 3..7 predict ids 4..8.
  EXPECT_EQ(ev::memorization_span(10, 4), (std::pair<int64_t, int64_t>{3, 8}));
  EXPECT_EQ(ev::memorization_span(5, 4).second - ev::memorization_span(5, 4).first, 0);
  EXPECT_EQ(ev::memorization_span(4, 4).second - ev::memorization_span(4, 4).first, 0);
}
