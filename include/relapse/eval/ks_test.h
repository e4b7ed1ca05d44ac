// relapse/eval/ks_test.h — the two-sample Kolmogorov–Smirnov test as
// scipy.stats.ks_2samp(a, b) computes it with its defaults (two-sided,
// method "auto", which is exact whenever both samples have at most 10,000
// values): TOFU's forget quality is its p-value (relapse/eval/tofu.h).
#pragma once
#include <vector>

namespace relapse::eval {

struct KsResult {
  double statistic = 0;  // D = max |F_a(x) − F_b(x)| over the pooled values
  double pvalue = 1;     // P(D' >= D) for two samples of these sizes from one continuous law
};

// D from the two empirical CDFs evaluated at every pooled value (ties in the
// data count as scipy counts them, via right-sided ranks). The exact p-value
// follows scipy's exact method: D is rounded to h / lcm(m, n) and the p-value is
// the probability that a uniformly random monotone lattice path from (0, 0)
// to (m, n) reaches a point with |i/m − j/n| >= h / lcm(m, n) (Hodges 1958;
// ties in the data are ignored there, as in scipy). It is computed as the
// mass absorbed at the first such point by the path's Markov chain (step
// right with probability (m − i)/(m − i + n − j)): a sum of positive terms,
// so tiny p-values (TOFU's 1e-20 forget qualities) keep their digits.
// Throws relapse::Error(kInput) for an empty sample, a NaN, or a sample
// larger than 10,000 values (scipy switches to its asymptotic
// distribution there, which relapse does not implement).
KsResult ks_2samp(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace relapse::eval
