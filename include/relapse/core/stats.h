// relapse/core/stats.h — small numerical statistics that must agree with the
// Python references: numpy's default percentile and Student's t quantile.
// Used by the SURE saliency threshold, the bootstrap intervals
// (relapse/eval/bootstrap.h) and the across-seed intervals
// (relapse/report/recovery_stats.h). Checked against numpy / scipy in
// tests/core/test_stats.cpp (fixture by tests/golden/make_stats_fixture.py).
#pragma once
#include <cstdint>
#include <vector>

namespace relapse {

// numpy.percentile(v, q) with the default method="linear" (Hyndman & Fan 7),
// q in [0, 100], performed with numpy's own double operations so the result
// is bit-identical (numpy 2.x, lib/_function_base_impl.py `_quantile`):
//   qq = q / 100;  vi = (n - 1) * qq;  lo = floor(vi);  hi = lo + 1
//   vi >= n - 1 -> both ends are the last sorted value (vi < 0 cannot occur)
//   g  = vi - lo
//   result = g >= 0.5 ? v[hi] - (v[hi] - v[lo]) * (1 - g)
//                     : v[lo] + (v[hi] - v[lo]) * g        (numpy's _lerp)
// v is taken by value and sorted. Throws relapse::Error(kInput) when v is
// empty, holds a NaN (numpy would return NaN), or q is NaN / outside [0, 100].
// ±inf values are allowed (the interpolation can then give NaN, as numpy's).
double np_percentile_linear(std::vector<double> v, double q);

// Inverse CDF of Student's t distribution with `dof` degrees of freedom
// (scipy.stats.t.ppf(p, dof)). P(T > t) = I_{dof/(dof+t^2)}(dof/2, 1/2) / 2
// with I the regularized incomplete beta function (Lentz continued fraction,
// log B(a, b) with a Stirling-difference form for large arguments so large
// dof stays accurate); the quantile is found by bisection on t down to
// adjacent doubles. Near the median the central probability P(0 < T < t)
// = I_{t^2/(dof+t^2)}(1/2, dof/2) / 2 is inverted instead, so p - 0.5 never
// loses digits. Relative error against 40-digit mpmath, p in [1e-12,
// 1 - 1e-12]: below 1e-12 up to dof 1e4, ~3e-11 at dof 1e6 (the continued
// fraction's first terms cancel when dof/2 is large); scipy's own t.ppf is
// worse next to the median (4e-4 at dof 4, p = 0.5 + 1e-7). See
// tests/core/test_stats.cpp. p = 0 / 1 give -inf / +inf, p = 0.5
// gives 0. Throws relapse::Error(kInput) when p is NaN or outside [0, 1] or
// dof < 1.
double student_t_quantile(double p, int64_t dof);

// The upper tail P(T > t) of Student's t with `dof` degrees of freedom
// (scipy.stats.t.sf), for t of any sign. Exposed for the test and for
// p-values. Throws relapse::Error(kInput) when t is NaN or dof < 1.
double student_t_sf(double t, int64_t dof);

}  // namespace relapse
