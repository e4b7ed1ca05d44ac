// tests/core/test_stats.cpp — np_percentile_linear against numpy.percentile
// and student_t_quantile / student_t_sf against scipy.stats.t, from
// tests/golden/fixtures/core/stats.json (tests/golden/make_stats_fixture.py).
// Percentiles are compared bit for bit: the same sort and the same three
// double operations as numpy's _quantile/_lerp are performed. The t values
// are compared with 40-digit mpmath values (1e-12 relative up to dof 1e4,
// 1e-10 at dof 1e6, see below) and with scipy to 1e-10 wherever scipy is
// within 1e-11 of mpmath (scipy's ppf is up to 4e-4 off next to p = 0.5).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/core/stats.h"
#include "test_util.h"

using json = nlohmann::json;
using relapse::np_percentile_linear;
using relapse::student_t_quantile;
using relapse::student_t_sf;
using relapse::test::expect_input_error;

namespace {

json fixture_load() {
  const std::string path = relapse::test::fixture_path("core/stats.json");
  const std::string text = relapse::test::read_file(path);
  EXPECT_FALSE(text.empty()) << "missing " << path;
  return json::parse(text);
}

// The fixture writes NaN / ±inf as strings.
double num(const json& j) {
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
    ADD_FAILURE() << "bad number string " << s;
  }
  return j.get<double>();
}

std::vector<double> nums(const json& j) {
  std::vector<double> out;
  for (const json& x : j) out.push_back(num(x));
  return out;
}

bool same(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || a == b;
}

}  // namespace

TEST(Percentile, MatchesNumpyBitForBit) {
  const json fx = fixture_load();
  size_t n = 0;
  for (const json& c : fx["percentile"]) {
    const std::vector<double> v = nums(c["v"]), q = nums(c["q"]), p = nums(c["p"]);
    for (size_t i = 0; i < q.size(); ++i) {
      const double got = np_percentile_linear(v, q[i]);
      EXPECT_TRUE(same(got, p[i]))
          << "n = " << v.size() << " q = " << q[i] << ": got " << got << ", numpy " << p[i];
      ++n;
    }
  }
  EXPECT_GE(n, 200u);
}

TEST(Percentile, SimpleValuesAndErrors) {
  EXPECT_EQ(np_percentile_linear({3.0, 1.0, 2.0}, 50), 2.0);
  EXPECT_EQ(np_percentile_linear({1.0, 2.0, 3.0, 4.0}, 50), 2.5);
  EXPECT_EQ(np_percentile_linear({1.0, 2.0, 3.0, 4.0}, 0), 1.0);
  EXPECT_EQ(np_percentile_linear({1.0, 2.0, 3.0, 4.0}, 100), 4.0);
  EXPECT_EQ(np_percentile_linear({7.0}, 37), 7.0);
  expect_input_error([] { np_percentile_linear({}, 50); }, "empty");
  expect_input_error([] { np_percentile_linear({1.0, NAN}, 50); }, {"value 1", "NaN"});
  expect_input_error([] { np_percentile_linear({1.0}, 100.5); }, "[0, 100]");
  expect_input_error([] { np_percentile_linear({1.0}, -1); }, "[0, 100]");
  expect_input_error([] { np_percentile_linear({1.0}, NAN); }, "[0, 100]");
}

// Relative error, with an exact 0 compared absolutely.
double rel_err(double got, double want) {
  return want == 0 ? std::fabs(got) : std::fabs(got - want) / std::fabs(want);
}

TEST(StudentT, QuantileAndTailMatchScipyAndMpmath) {
  const json fx = fixture_load();
  size_t n = 0, n_scipy = 0;
  for (const json& c : fx["t"]) {
    const int64_t dof = c["dof"].get<int64_t>();
    // The continued fraction loses a few digits to cancellation when dof/2
    // is large and x = dof/(dof + t²) is near 1: ~3e-11 at dof = 1e6, below
    // 1e-13 up to dof = 1e4 (measured).
    const double tol_exact = dof <= 10000 ? 1e-12 : 1e-10;
    const std::vector<double> p = nums(c["p"]), ppf = nums(c["ppf"]), exact = nums(c["ppf_exact"]);
    for (size_t i = 0; i < p.size(); ++i) {
      const double got = student_t_quantile(p[i], dof);
      EXPECT_LE(rel_err(got, exact[i]), tol_exact)
          << "dof " << dof << " p " << p[i] << ": got " << got << ", mpmath " << exact[i];
      // scipy's ppf is itself off next to p = 0.5 (4e-4 relative at dof 4,
      // p = 0.5 ± 1e-7): compare with it where it agrees with mpmath.
      if (rel_err(ppf[i], exact[i]) < 1e-11) {
        EXPECT_LE(rel_err(got, ppf[i]), 1e-10)
            << "dof " << dof << " p " << p[i] << ": got " << got << ", scipy " << ppf[i];
        ++n_scipy;
      }
      ++n;
    }
    const std::vector<double> t = nums(c["t"]), sf = nums(c["sf"]), sf_exact = nums(c["sf_exact"]);
    for (size_t i = 0; i < t.size(); ++i) {
      const double got = student_t_sf(t[i], dof);
      EXPECT_LE(rel_err(got, sf_exact[i]), tol_exact)
          << "dof " << dof << " t " << t[i] << ": got " << got << ", mpmath " << sf_exact[i];
      if (rel_err(sf[i], sf_exact[i]) < 1e-11) {
        EXPECT_LE(rel_err(got, sf[i]), 1e-10)
            << "dof " << dof << " t " << t[i] << ": got " << got << ", scipy " << sf[i];
      }
    }
  }
  EXPECT_GE(n, 300u);
  EXPECT_GE(n_scipy, 300u);  // scipy and mpmath agree almost everywhere
}

TEST(StudentT, ClosedFormsAndEdges) {
  // dof 1 is Cauchy: tan(π(p − ½)); dof 2: (2p − 1) / sqrt(2p(1 − p)).
  for (double p : {0.01, 0.2, 0.7, 0.975}) {
    EXPECT_NEAR(student_t_quantile(p, 1), std::tan(M_PI * (p - 0.5)),
                1e-13 * std::fabs(std::tan(M_PI * (p - 0.5))));
    const double t2 = (2 * p - 1) / std::sqrt(2 * p * (1 - p));
    EXPECT_NEAR(student_t_quantile(p, 2), t2, 1e-13 * std::fabs(t2));
  }
  EXPECT_EQ(student_t_quantile(0.5, 5), 0.0);
  // 0.75 and 0.25 are exact, so the two sides must mirror exactly.
  EXPECT_EQ(student_t_quantile(0.75, 9), -student_t_quantile(0.25, 9));
  EXPECT_EQ(student_t_quantile(0.875, 4), -student_t_quantile(0.125, 4));
  EXPECT_TRUE(std::isinf(student_t_quantile(1.0, 3)) && student_t_quantile(1.0, 3) > 0);
  EXPECT_TRUE(std::isinf(student_t_quantile(0.0, 3)) && student_t_quantile(0.0, 3) < 0);
  expect_input_error([] { student_t_quantile(0.5, 0); }, "dof");
  expect_input_error([] { student_t_quantile(1.5, 3); }, "[0, 1]");
  expect_input_error([] { student_t_quantile(NAN, 3); }, "[0, 1]");
  expect_input_error([] { student_t_sf(NAN, 3); }, "NaN");
}
