// src/eval/ks_test.cpp — scipy.stats.ks_2samp's statistic and exact two-sided
// p-value (see relapse/eval/ks_test.h).
#include "relapse/eval/ks_test.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>

#include "relapse/core/error.h"

namespace relapse::eval {

namespace {

// scipy's MAX_AUTO_N: above it method "auto" is asymptotic.
constexpr size_t kMaxExactN = 10000;

void check_sample(const std::vector<double>& x, const char* which) {
  RELAPSE_CHECK_INPUT(!x.empty(), "ks_2samp: sample ", which, " is empty");
  RELAPSE_CHECK_INPUT(x.size() <= kMaxExactN, "ks_2samp: sample ", which, " has ", x.size(),
                      " values; relapse computes the exact p-value only (at most ", kMaxExactN,
                      " per sample, scipy's exact range)");
  for (double v : x) RELAPSE_CHECK_INPUT(!std::isnan(v), "ks_2samp: sample ", which, " has a NaN");
}

// max |F_a − F_b| at the pooled values, F from right-sided ranks (searchsorted side="right").
double ks_statistic(std::vector<double> a, std::vector<double> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  const double m = static_cast<double>(a.size()), n = static_cast<double>(b.size());
  double d = 0;
  auto at = [&](double x) {
    const double fa = static_cast<double>(std::upper_bound(a.begin(), a.end(), x) - a.begin()) / m;
    const double fb = static_cast<double>(std::upper_bound(b.begin(), b.end(), x) - b.begin()) / n;
    d = std::max(d, std::fabs(fa - fb));
  };
  for (double x : a) at(x);
  for (double x : b) at(x);
  return std::min(d, 1.0);
}

// P(a random path from (0,0) to (m,n) reaches |i n − j m| >= h g), g = gcd(m, n).
double prob_path_leaves(int64_t m, int64_t n, int64_t h, int64_t g) {
  const int64_t bound = h * g;
  auto outside = [&](int64_t i, int64_t j) { return std::llabs(i * n - j * m) >= bound; };
  std::vector<double> prev(n + 1, 0.0), cur(n + 1, 0.0);
  double leaves = 0;
  for (int64_t i = 0; i <= m; ++i) {
    for (int64_t j = 0; j <= n; ++j) {
      double mass = (i == 0 && j == 0) ? 1.0 : 0.0;
      // From (i-1, j) by a step in a, from (i, j-1) by a step in b.
      if (i > 0)
        mass +=
            prev[j] * static_cast<double>(m - (i - 1)) / static_cast<double>(m - (i - 1) + n - j);
      if (j > 0)
        mass += cur[j - 1] * static_cast<double>(n - (j - 1)) /
                static_cast<double>(m - i + n - (j - 1));
      if (mass != 0 && outside(i, j)) {
        leaves += mass;
        mass = 0;
      }
      cur[j] = mass;
    }
    std::swap(prev, cur);
  }
  return leaves;
}

}  // namespace

KsResult ks_2samp(const std::vector<double>& a, const std::vector<double>& b) {
  check_sample(a, "a");
  check_sample(b, "b");
  KsResult r;
  const int64_t m = static_cast<int64_t>(a.size()), n = static_cast<int64_t>(b.size());
  const int64_t g = std::gcd(m, n), lcm = (m / g) * n;
  const double d = ks_statistic(a, b);
  // scipy: h = round(d * lcm); the p-value is that of h / lcm.
  const auto h = static_cast<int64_t>(std::nearbyint(d * static_cast<double>(lcm)));
  r.statistic = static_cast<double>(h) / static_cast<double>(lcm);  // as scipy returns it
  if (h == 0) return r;                                             // p = 1
  r.pvalue = std::clamp(prob_path_leaves(m, n, h, g), 0.0, 1.0);
  return r;
}

}  // namespace relapse::eval
