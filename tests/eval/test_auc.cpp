// tests/eval/test_auc.cpp — relapse::eval::roc_auc against scikit-learn's
// roc_auc_score and np_sum/np_mean against numpy, from
// tests/golden/fixtures/eval/auc.json (tests/golden/make_eval_fixtures.py).
// AUC tolerance 1e-12: the same integer counts, divisions and numpy pairwise
// trapezoid sum are performed, so results are expected bit-identical; the
// tolerance is far below any meaningful AUC difference (1 / n_pos·n_neg
// >= 4e-6 at n = 500). numpy sums are compared exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/eval/auc.h"
#include "test_util.h"

using relapse::test::expect_input_error;

using json = nlohmann::json;
using relapse::eval::roc_auc;

namespace {

json fixture_load() {
  const std::string path = relapse::test::fixture_path("eval/auc.json");
  const std::string text = relapse::test::read_file(path);
  EXPECT_FALSE(text.empty()) << "missing " << path;
  return json::parse(text);
}

// The fixture's lcg_array: exact double construction from a 64-bit LCG.
std::vector<double> lcg_array(uint64_t seed, size_t n) {
  std::vector<double> out;
  uint64_t state = seed;
  for (size_t i = 0; i < n; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const uint64_t m = state >> 11;
    const int e = static_cast<int>((state >> 3) % 41) - 20;
    out.push_back(std::ldexp(static_cast<double>(m) / 9007199254740992.0 - 0.5, e));
  }
  return out;
}

}  // namespace

TEST(RocAuc, MatchesSklearnWithAndWithoutTies) {
  const json fx = fixture_load();
  size_t n_cases = 0, n_ties = 0;
  for (const json& c : fx["cases"]) {
    const auto scores = c["scores"].get<std::vector<double>>();
    const auto labels = c["labels"].get<std::vector<int>>();
    SCOPED_TRACE(c["kind"].get<std::string>() + " n=" + std::to_string(scores.size()));
    EXPECT_NEAR(roc_auc(scores, labels), c["auc"].get<double>(), 1e-12);
    ++n_cases;
    n_ties += c["kind"] != "continuous";
  }
  EXPECT_GE(n_cases, 60u);
  EXPECT_GE(n_ties, 30u);
}

TEST(RocAuc, HandValues) {
  EXPECT_DOUBLE_EQ(roc_auc({1.0, 1.0}, {0, 1}), 0.5);
  EXPECT_DOUBLE_EQ(roc_auc({0.0, 1.0}, {0, 1}), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc({1.0, 0.0}, {0, 1}), 0.0);
  // One tie between a positive and a negative counts one half: 3.5 / 4.
  EXPECT_DOUBLE_EQ(roc_auc({0.1, 0.5, 0.5, 0.9}, {0, 0, 1, 1}), 0.875);
}

TEST(RocAuc, Errors) {
  expect_input_error([] { roc_auc({1.0, 2.0}, {1, 1}); }, "only one class");
  expect_input_error([] { roc_auc({1.0, 2.0}, {0, 0}); }, "only one class");
  expect_input_error([] { roc_auc({}, {}); }, "only one class");
  expect_input_error([] { roc_auc({1.0}, {0, 1}); }, "labels");
  expect_input_error([] { roc_auc({1.0, 2.0}, {0, 2}); }, "label 1 is 2");
  expect_input_error([] { roc_auc({1.0, NAN}, {0, 1}); }, "score 1");
  expect_input_error([] { roc_auc({INFINITY, 1.0}, {0, 1}); }, "score 0");
}

TEST(NpSum, BitIdenticalToNumpy) {
  const json fx = fixture_load();
  for (const json& c : fx["np_sums"]) {
    const size_t n = c["n"];
    const auto a = lcg_array(c["seed"], n);
    SCOPED_TRACE("n=" + std::to_string(n));
    if (n > 0) {
      ASSERT_EQ(a[0], c["first"].get<double>());  // the array itself is rebuilt exactly
    }
    EXPECT_EQ(relapse::eval::np_sum(a.data(), n), c["sum"].get<double>());
    if (n > 0) {
      EXPECT_EQ(relapse::eval::np_mean(a.data(), n), c["mean"].get<double>());
    } else {
      EXPECT_TRUE(std::isnan(relapse::eval::np_mean(a.data(), 0)));
    }
  }
}
