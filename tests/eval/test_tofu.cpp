// tests/eval/test_tofu.cpp — relapse::eval::ks_2samp against scipy.stats.ks_2samp
// and TOFU's forget quality / model utility against aggregate_eval_stat.py's
// formulas, on excerpts of TOFU's own Llama-2-7B evaluation logs
// (tests/golden/fixtures/eval/tofu, tests/golden/make_tofu_fixtures.py).
// Tolerances: the KS statistic is h / lcm(m, n) on both sides (1e-15
// relative); the p-value comes from a different exact recursion than scipy's
// (first-exit mass of the path chain against scipy's Hodges / Viehmann
// recursions), each a double-precision sum of positive terms: 1e-9 relative,
// which keeps TOFU's 1e-21 forget quality to nine digits. Utility parts are
// numpy means of exp() of the same numbers: 1e-12 absolute (numpy's SIMD exp
// and glibc's may differ in the last bit).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/eval/ks_test.h"
#include "relapse/eval/tofu.h"
#include "test_util.h"

namespace relapse::eval {
namespace {

using json = nlohmann::json;
using test::expect_input_error;

std::string fixture(const std::string& name) {
  return test::fixture_path("eval/tofu/" + name);
}

json expected() {
  return json::parse(test::read_file(fixture("expected.json")));
}

void expect_rel(double got, double want, double rel, const std::string& what) {
  EXPECT_LE(std::fabs(got - want), rel * std::fabs(want) + 1e-300)
      << what << ": got " << got << ", scipy " << want;
}

TEST(KsTest, EqualsScipyKs2samp) {
  const json e = expected();
  ASSERT_GE(e["ks_2samp"].size(), 7u);
  for (const json& c : e["ks_2samp"]) {
    const std::string name = c["name"];
    const KsResult r =
        ks_2samp(c["a"].get<std::vector<double>>(), c["b"].get<std::vector<double>>());
    expect_rel(r.statistic, c["statistic"].get<double>(), 1e-15, name + " statistic");
    expect_rel(r.pvalue, c["pvalue"].get<double>(), 1e-9, name + " pvalue");
  }
}

TEST(KsTest, SymmetricAndRefusesBadSamples) {
  const std::vector<double> a = {0.1, 0.5, 0.9, 1.3}, b = {0.2, 0.4, 2.0, 3.0, 4.0, 5.0};
  const KsResult ab = ks_2samp(a, b), ba = ks_2samp(b, a);
  EXPECT_EQ(ab.statistic, ba.statistic);
  EXPECT_NEAR(ab.pvalue, ba.pvalue, 1e-15);
  expect_input_error([] { ks_2samp({}, {1.0}); }, "sample a is empty");
  expect_input_error([] { ks_2samp({1.0}, {NAN}); }, "sample b has a NaN");
  expect_input_error([] { ks_2samp(std::vector<double>(10001, 1.0), {1.0}); }, "exact range");
}

TEST(Tofu, ForgetQualityAndModelUtilityEqualTofusAggregation) {
  const json e = expected();
  const TofuEvalLog retain = tofu_eval_log_read(fixture("llama2-7b_retain90_wd0.01.json"));
  for (const auto& [model, want] : e["forget_quality"].items()) {
    const KsResult fq = tofu_forget_quality(tofu_eval_log_read(fixture(model + ".json")), retain);
    expect_rel(fq.statistic, want["statistic"].get<double>(), 1e-15, model + " KS statistic");
    expect_rel(fq.pvalue, want["pvalue"].get<double>(), 1e-9, model + " forget quality");
  }
  // The full model knows the forget set; the other retain90 model does not.
  EXPECT_LT(e["forget_quality"]["llama2-7b_full_wd0.01"]["pvalue"].get<double>(), 1e-15);
  EXPECT_GT(e["forget_quality"]["llama2-7b_retain90_wd0"]["pvalue"].get<double>(), 0.5);
  for (const auto& [model, want] : e["model_utility"].items()) {
    const TofuUtility u = tofu_model_utility(tofu_eval_log_read(fixture(model + ".json")));
    EXPECT_NEAR(u.model_utility, want["Model Utility"].get<double>(), 1e-12) << model;
    ASSERT_EQ(u.parts.size() + 1, want.size()) << model;
    for (const auto& [part, value] : u.parts)
      EXPECT_NEAR(value, want.at(part).get<double>(), 1e-12) << model << " " << part;
  }
}

TEST(Tofu, BadLogsNameTheFileAndKey) {
  const std::string dir = test::scratch_dir("tofu_bad");
  json full = json::parse(test::read_file(fixture("llama2-7b_full_wd0.01.json")));
  json no_key = full;
  no_key["eval_log.json"].erase("rougeL_recall");
  test::write_file(dir + "/no_key.json", no_key.dump());
  expect_input_error([&] { tofu_eval_log_read(dir + "/no_key.json"); },
                     {"no_key.json", "eval_log.json", "rougeL_recall"});
  json short_list = full;
  short_list["eval_log_forget.json"]["avg_gt_loss"].erase("7");
  test::write_file(dir + "/short.json", short_list.dump());
  expect_input_error([&] { tofu_eval_log_read(dir + "/short.json"); },
                     {"eval_log_forget.json", "avg_gt_loss", "299 samples, expected 300"});
  json no_file = full;
  no_file.erase("eval_real_world_wo_options.json");
  test::write_file(dir + "/no_file.json", no_file.dump());
  expect_input_error([&] { tofu_eval_log_read(dir + "/no_file.json"); },
                     "no 'eval_real_world_wo_options.json'");
  test::write_file(dir + "/not_json.json", "{");
  expect_input_error([&] { tofu_eval_log_read(dir + "/not_json.json"); }, "not JSON");
}

}  // namespace
}  // namespace relapse::eval
