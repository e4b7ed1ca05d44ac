// tests/report/test_recovery_stats.cpp — seed_interval against
// scipy.stats.t.interval (tests/golden/fixtures/pipeline/seed_interval.json,
// written by tests/golden/make_stats_fixture.py) and retention_percent_of on
// hand-made inputs. The mean is numpy's pairwise mean, compared exactly; the
// bounds to 1e-10 of the half-width (the t quantile is a different
// algorithm from scipy's, see tests/core/test_stats.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/report/recovery_stats.h"
#include "test_util.h"

using json = nlohmann::json;
using relapse::report::retention_percent_mean;
using relapse::report::retention_percent_of;
using relapse::report::seed_interval;
using relapse::report::SeedInterval;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double num(const json& j) {
  if (j.is_string()) return j.get<std::string>() == "nan" ? kNaN : std::stod(j.get<std::string>());
  return j.get<double>();
}

}  // namespace

TEST(SeedInterval, MatchesScipyTInterval) {
  const std::string path = relapse::test::fixture_path("pipeline/seed_interval.json");
  const std::string text = relapse::test::read_file(path);
  ASSERT_FALSE(text.empty()) << "missing " << path;
  const json fx = json::parse(text);
  size_t n_cases = 0, n_bounded = 0;
  for (const json& c : fx["cases"]) {
    std::vector<double> v;
    for (const json& x : c["values"]) v.push_back(num(x));
    const double level = c["level"].get<double>();
    SCOPED_TRACE("n = " + std::to_string(v.size()) + " level = " + std::to_string(level));
    const SeedInterval si = seed_interval(v, level);
    EXPECT_EQ(si.n, c["n"].get<int64_t>());
    EXPECT_EQ(si.mean, num(c["mean"]));
    const double lo = num(c["lo"]), hi = num(c["hi"]);
    if (std::isnan(lo)) {
      EXPECT_TRUE(std::isnan(si.lo) && std::isnan(si.hi));
    } else {
      const double tol = 1e-10 * std::max(hi - lo, 1e-300) + 1e-14 * std::fabs(si.mean);
      EXPECT_NEAR(si.lo, lo, tol);
      EXPECT_NEAR(si.hi, hi, tol);
      n_bounded += hi > lo;
    }
    ++n_cases;
  }
  EXPECT_GE(n_cases, 20u);
  EXPECT_GE(n_bounded, 15u);
}

TEST(SeedInterval, EdgesAndErrors) {
  SeedInterval one = seed_interval({3.0, kNaN}, 0.95);
  EXPECT_EQ(one.n, 1);
  EXPECT_EQ(one.mean, 3.0);
  EXPECT_TRUE(std::isnan(one.lo) && std::isnan(one.hi));
  SeedInterval none = seed_interval({kNaN}, 0.95);
  EXPECT_EQ(none.n, 0);
  EXPECT_TRUE(std::isnan(none.mean));
  SeedInterval same = seed_interval({2.0, 2.0, 2.0}, 0.9);
  EXPECT_EQ(same.lo, 2.0);
  EXPECT_EQ(same.hi, 2.0);
  // Two values: mean ± t_{0.975,1}·|a−b|/2 with t_{0.975,1} = tan(0.475π) = 12.7062...
  SeedInterval two = seed_interval({1.0, 3.0}, 0.95);
  EXPECT_NEAR(two.hi - two.mean, 12.706204736174698, 1e-9);
  relapse::test::expect_input_error([] { seed_interval({1, 2}, 1.0); }, "level");
}

TEST(Retention, SumOverMethodsOverCopiesOfTheTarget) {
  // (10 + 20) + (30 + 40) over 2 copies of (50 + 50): 100 / 200.
  EXPECT_DOUBLE_EQ(retention_percent_of({{10, 20}, {30, 40}}, {50, 50}), 50.0);
  // A model with a NaN metric is left out of the sum and of the count.
  EXPECT_DOUBLE_EQ(retention_percent_of({{10, 20}, {kNaN, 40}}, {50, 50}), 30.0);
  EXPECT_TRUE(std::isnan(retention_percent_of({{kNaN, 1}}, {50, 50})));
  EXPECT_TRUE(std::isnan(retention_percent_of({}, {50, 50})));
  EXPECT_TRUE(std::isnan(retention_percent_of({{1, 2}}, {0, 0})));
  EXPECT_TRUE(std::isnan(retention_percent_of({{1, 2}}, {kNaN, 2})));
  // The mean over datasets skips a dataset whose figure is undefined.
  EXPECT_DOUBLE_EQ(retention_percent_mean({{{{10, 20}}, {50, 50}}, {{{30, 70}}, {50, 50}}}), 65.0);
  EXPECT_DOUBLE_EQ(retention_percent_mean({{{{10, 20}}, {50, 50}}, {{{30, 70}}, {0, 0}}}), 30.0);
  EXPECT_TRUE(std::isnan(retention_percent_mean({})));
  // Pooled: (10 + 20 + 30 + 70) / (1·100 + 1·100) vs the mean of 30% and 100%.
  EXPECT_DOUBLE_EQ(
      relapse::report::retention_percent_pooled({{{{10, 20}}, {50, 50}}, {{{30, 70}}, {50, 50}}}),
      65.0);
  EXPECT_DOUBLE_EQ(relapse::report::retention_percent_pooled(
                       {{{{10, 20}, {0, 0}}, {50, 50}}, {{{30, 70}}, {100, 100}}}),
                   100.0 * 130 / (2 * 100 + 200));
  EXPECT_TRUE(std::isnan(relapse::report::retention_percent_pooled({{{}, {1, 1}}})));
}
