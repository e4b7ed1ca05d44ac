// src/eval/auc.cpp — sklearn's binary roc_auc_score (roc_curve + trapezoid)
// and numpy's pairwise float64 summation.
#include "relapse/eval/auc.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "relapse/core/error.h"

namespace relapse::eval {

namespace {

// numpy/_core/src/umath/loops_utils.h.src, @TYPE@_pairwise_sum (stride 1).
double pairwise_sum(const double* a, size_t n) {
  if (n < 8) {
    double res = 0.0;
    for (size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (size_t j = 0; j < 8; ++j) r[j] = a[j];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (size_t j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

}  // namespace

double np_sum(const double* a, size_t n) {
  return 0.0 + pairwise_sum(a, n);  // add.reduce starts from the identity 0.0
}

double np_mean(const double* a, size_t n) {
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  return np_sum(a, n) / static_cast<double>(n);
}

double roc_auc(const std::vector<double>& scores, const std::vector<int>& labels) {
  RELAPSE_CHECK_INPUT(scores.size() == labels.size(), "roc_auc: ", scores.size(), " scores but ",
                      labels.size(), " labels");
  size_t n_pos = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    RELAPSE_CHECK_INPUT(labels[i] == 0 || labels[i] == 1, "roc_auc: label ", i, " is ", labels[i],
                        " (labels must be 0 or 1)");
    RELAPSE_CHECK_INPUT(std::isfinite(scores[i]), "roc_auc: score ", i, " is ", scores[i],
                        " (scores must be finite)");
    n_pos += static_cast<size_t>(labels[i]);
  }
  RELAPSE_CHECK_INPUT(n_pos > 0 && n_pos < labels.size(),
                      "roc_auc: only one class is present in the labels (", labels.size(),
                      " samples, ", n_pos, " positive); ROC AUC is not defined in that case");

  // _binary_clf_curve: sort by decreasing score; a threshold at the last index
  // of every run of equal scores; cumulative true / false positives there.
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  std::vector<double> tps, fps;
  double tp = 0.0;
  for (size_t k = 0; k < n; ++k) {
    tp += static_cast<double>(labels[order[k]]);
    if (k + 1 == n || scores[order[k + 1]] != scores[order[k]]) {
      tps.push_back(tp);
      fps.push_back(1.0 + static_cast<double>(k) - tp);
    }
  }
  // roc_curve(drop_intermediate=True): keep the ends and every corner.
  if (fps.size() > 2) {
    std::vector<double> t2{tps.front()}, f2{fps.front()};
    for (size_t i = 1; i + 1 < fps.size(); ++i) {
      const double dfps = fps[i + 1] - 2 * fps[i] + fps[i - 1];
      const double dtps = tps[i + 1] - 2 * tps[i] + tps[i - 1];
      if (dfps != 0 || dtps != 0) {
        t2.push_back(tps[i]);
        f2.push_back(fps[i]);
      }
    }
    t2.push_back(tps.back());
    f2.push_back(fps.back());
    tps.swap(t2);
    fps.swap(f2);
  }
  tps.insert(tps.begin(), 0.0);
  fps.insert(fps.begin(), 0.0);
  const double fmax = fps.back(), tmax = tps.back();
  std::vector<double> fpr(fps.size()), tpr(tps.size());
  for (size_t i = 0; i < fps.size(); ++i) {
    fpr[i] = fps[i] / fmax;
    tpr[i] = tps[i] / tmax;
  }
  // scipy.integrate.trapezoid(tpr, fpr): sum(d * (y[1:] + y[:-1]) / 2.0);
  // fpr is non-decreasing, so sklearn's direction is +1.
  std::vector<double> terms(fpr.size() - 1);
  for (size_t i = 0; i + 1 < fpr.size(); ++i) {
    terms[i] = (fpr[i + 1] - fpr[i]) * (tpr[i + 1] + tpr[i]) / 2.0;
  }
  return np_sum(terms.data(), terms.size());
}

}  // namespace relapse::eval
