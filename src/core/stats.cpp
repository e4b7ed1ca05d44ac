// src/core/stats.cpp — numpy's linear percentile and Student's t quantile
// (relapse/core/stats.h).
#include "relapse/core/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "relapse/core/error.h"

namespace relapse {

double np_percentile_linear(std::vector<double> v, double q) {
  RELAPSE_CHECK_INPUT(!v.empty(), "np_percentile_linear: empty sample");
  RELAPSE_CHECK_INPUT(q >= 0.0 && q <= 100.0, "np_percentile_linear: q must be in [0, 100], got ",
                      q);
  for (size_t i = 0; i < v.size(); ++i) {
    RELAPSE_CHECK_INPUT(!std::isnan(v[i]), "np_percentile_linear: value ", i, " of ", v.size(),
                        " is NaN");
  }
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  // numpy: q = true_divide(q, 100); virtual index (n - 1) * q.
  const double qq = q / 100.0;
  const double vi = static_cast<double>(n - 1) * qq;
  size_t i_lo, i_hi;
  double prev;  // numpy's previous_indexes as used for gamma (-1 above the bounds)
  if (vi >= static_cast<double>(n - 1)) {
    i_lo = i_hi = n - 1;
    prev = -1.0;
  } else {
    prev = std::floor(vi);
    i_lo = static_cast<size_t>(prev);
    i_hi = i_lo + 1;
  }
  const double gamma = vi - prev;
  const double a = v[i_lo], b = v[i_hi];
  const double diff = b - a;
  // numpy's _lerp: the form that is exact at the nearer end.
  return gamma >= 0.5 ? b - diff * (1.0 - gamma) : a + diff * gamma;
}

namespace {

// Stirling series remainder: lgamma(x) − [(x − ½)·log x − x + ½·log 2π]
// (the ½·log 2π terms cancel in the differences below)
// (error below 2e-15 for x >= 20).
double stirling_corr(double x) {
  const double r = 1.0 / x, r2 = r * r;
  return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 / 1680)));
}

// log B(a, b). For a large argument B (and any A) lgamma(A + B) − lgamma(B)
// is formed as A·log B + (B + A − ½)·log1p(A / B) − A + Δcorr, avoiding the
// cancellation of two lgamma values of size B·log B (relevant for large dof).
double log_beta(double a, double b) {
  const double big = std::max(a, b), small = std::min(a, b);
  if (big < 20.0) return std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b);
  const double ratio = small * std::log(big) + (big + small - 0.5) * std::log1p(small / big) -
                       small + stirling_corr(big + small) - stirling_corr(big);
  return std::lgamma(small) - ratio;
}

// Continued fraction for the incomplete beta (modified Lentz; Numerical
// Recipes 6.4 betacf), converging for x < (a + 1) / (a + b + 2).
double beta_cf(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  constexpr double kEps = 1e-16;
  const double qab = a + b, qap = a + 1.0, qam = a - 1.0;
  double c = 1.0, d = 1.0 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 200000; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1.0) < kEps) return h;
  }
  RELAPSE_THROW(ExitCode::kInternal,
                "incomplete beta: continued fraction did not converge (a = ", a, ", b = ", b,
                ", x = ", x, ")");
}

// I_x(a, b) with y = 1 − x and both logarithms supplied accurately by the
// caller (x or y may be too close to 1 to be formed as 1 − the other).
double beta_reg(double a, double b, double x, double y, double log_x, double log_y) {
  if (x <= 0.0) return 0.0;
  if (y <= 0.0) return 1.0;
  const double front = std::exp(a * log_x + b * log_y - log_beta(a, b));
  if (x < (a + 1.0) / (a + b + 2.0)) return front * beta_cf(a, b, x) / a;
  return 1.0 - front * beta_cf(b, a, y) / b;
}

// For t >= 0: r = t²/ν, x = ν/(ν + t²) = 1/(1 + r), y = t²/(ν + t²) = r/(1 + r).
struct TArgs {
  double x, y, log_x, log_y;
};
TArgs t_args(double t, double nu) {
  const double u = t / std::sqrt(nu);
  const double r = u * u;
  TArgs s;
  if (std::isinf(r)) {
    s.x = 0.0;
    s.y = 1.0;
    s.log_x = -2.0 * std::log(u);
    s.log_y = 0.0;
    return s;
  }
  s.x = 1.0 / (1.0 + r);
  s.y = r / (1.0 + r);
  s.log_x = -std::log1p(r);
  s.log_y = r < 1.0 ? std::log(r) - std::log1p(r) : -std::log1p(1.0 / r);
  return s;
}

// P(T > t) for t >= 0 = I_x(ν/2, ½) / 2.
double t_tail(double t, double nu) {
  if (t == 0.0) return 0.5;
  const TArgs s = t_args(t, nu);
  return 0.5 * beta_reg(0.5 * nu, 0.5, s.x, s.y, s.log_x, s.log_y);
}

// P(0 < T < t) for t >= 0 = I_y(½, ν/2) / 2.
double t_central(double t, double nu) {
  if (t == 0.0) return 0.0;
  const TArgs s = t_args(t, nu);
  return 0.5 * beta_reg(0.5, 0.5 * nu, s.y, s.x, s.log_y, s.log_x);
}

// The t >= 0 where f(t) = target for a monotone f (increasing or not),
// by doubling an upper bracket and bisecting to adjacent doubles.
template <typename F>
double t_solve(F f, double target, bool increasing) {
  auto past = [&](double t) { return increasing ? f(t) >= target : f(t) <= target; };
  double lo = 0.0, hi = 1.0;
  while (!past(hi)) {
    lo = hi;
    hi *= 2.0;
    RELAPSE_CHECK(std::isfinite(hi), "student_t_quantile: no bracket for target ", target);
  }
  for (;;) {
    const double mid = lo + (hi - lo) / 2.0;
    if (mid <= lo || mid >= hi) break;
    (past(mid) ? hi : lo) = mid;
  }
  // The bracket [lo, hi] is two adjacent doubles; take the nearer in f.
  return std::fabs(f(lo) - target) < std::fabs(f(hi) - target) ? lo : hi;
}

}  // namespace

double student_t_sf(double t, int64_t dof) {
  RELAPSE_CHECK_INPUT(dof >= 1, "student_t_sf: dof must be >= 1, got ", dof);
  RELAPSE_CHECK_INPUT(!std::isnan(t), "student_t_sf: t is NaN");
  const double nu = static_cast<double>(dof);
  if (t >= 0.0) return t_tail(t, nu);
  return 1.0 - t_tail(-t, nu);
}

double student_t_quantile(double p, int64_t dof) {
  RELAPSE_CHECK_INPUT(dof >= 1, "student_t_quantile: dof must be >= 1, got ", dof);
  RELAPSE_CHECK_INPUT(p >= 0.0 && p <= 1.0, "student_t_quantile: p must be in [0, 1], got ", p);
  if (p == 0.0) return -std::numeric_limits<double>::infinity();
  if (p == 1.0) return std::numeric_limits<double>::infinity();
  if (p == 0.5) return 0.0;
  const double nu = static_cast<double>(dof);
  // Work with the upper half (t > 0) and the exact probability there: for
  // p > ½ the tail 1 − p and p − ½ are exact in double; for p < ½ the tail
  // is p itself and ½ − p is exact.
  const bool upper = p > 0.5;
  const double tail = upper ? 1.0 - p : p;
  double t;
  if (tail < 0.25) {
    t = t_solve([&](double x) { return t_tail(x, nu); }, tail, false);
  } else {
    const double central = upper ? p - 0.5 : 0.5 - p;
    t = t_solve([&](double x) { return t_central(x, nu); }, central, true);
  }
  return upper ? t : -t;
}

}  // namespace relapse
