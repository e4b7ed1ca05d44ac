// src/report/recovery_stats.cpp — the across-seed interval and the paper's
// retention figure (relapse/report/recovery_stats.h).
#include "relapse/report/recovery_stats.h"

#include <cmath>
#include <limits>

#include "relapse/core/error.h"
#include "relapse/core/stats.h"
#include "relapse/eval/auc.h"

namespace relapse::report {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

SeedInterval seed_interval(const std::vector<double>& values, double level) {
  RELAPSE_CHECK_INPUT(level > 0.0 && level < 1.0, "seed_interval: level must be in (0, 1), got ",
                      level);
  std::vector<double> x;
  x.reserve(values.size());
  for (double v : values) {
    if (!std::isnan(v)) x.push_back(v);
  }
  const int64_t n = static_cast<int64_t>(x.size());
  SeedInterval out{eval::np_mean(x.data(), x.size()), kNaN, kNaN, n};
  if (n < 2) return out;
  // np.std(ddof=1): sqrt(sum((x - mean)^2) / (n - 1)), numpy's pairwise sum.
  std::vector<double> sq(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = x[i] - out.mean;
    sq[i] = d * d;
  }
  const double s = std::sqrt(eval::np_sum(sq.data(), sq.size()) / static_cast<double>(n - 1));
  if (s == 0.0) {  // all values equal: a zero-width interval (scipy: NaN)
    out.lo = out.hi = out.mean;
    return out;
  }
  // scipy.stats.t.interval(level, n-1, loc, scale): loc ± ppf((1 + level)/2)·scale.
  const double half = student_t_quantile((1.0 + level) / 2.0, n - 1) * (s / std::sqrt(double(n)));
  out.lo = out.mean - half;
  out.hi = out.mean + half;
  return out;
}

double retention_percent_of(const std::vector<std::pair<double, double>>& unlearned,
                            std::pair<double, double> target) {
  const double per_target = target.first + target.second;
  if (!std::isfinite(per_target) || per_target == 0.0) return kNaN;
  double num = 0.0;
  int64_t m = 0;
  for (const auto& u : unlearned) {
    const double s = u.first + u.second;
    if (std::isnan(s)) continue;  // a metric not computed: leave the model out
    num += s;
    ++m;
  }
  if (m == 0) return kNaN;
  return 100.0 * num / (static_cast<double>(m) * per_target);
}

double retention_percent_mean(const std::vector<RetentionGroup>& datasets) {
  double sum = 0.0;
  int64_t k = 0;
  for (const RetentionGroup& g : datasets) {
    const double r = retention_percent_of(g.unlearned, g.target);
    if (std::isnan(r)) continue;
    sum += r;
    ++k;
  }
  return k == 0 ? kNaN : sum / static_cast<double>(k);
}

double retention_percent_pooled(const std::vector<RetentionGroup>& datasets) {
  double num = 0.0, den = 0.0;
  for (const RetentionGroup& g : datasets) {
    const double per_target = g.target.first + g.target.second;
    if (!std::isfinite(per_target) || per_target == 0.0) continue;
    double sum = 0.0;
    int64_t m = 0;
    for (const auto& u : g.unlearned) {
      const double s = u.first + u.second;
      if (std::isnan(s)) continue;
      sum += s;
      ++m;
    }
    if (m == 0) continue;
    num += sum;
    den += static_cast<double>(m) * per_target;
  }
  return den == 0.0 ? kNaN : 100.0 * num / den;
}

}  // namespace relapse::report
