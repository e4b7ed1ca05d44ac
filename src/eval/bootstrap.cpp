// src/eval/bootstrap.cpp — the frozen bootstrap index stream and the
// percentile intervals of relapse/eval/bootstrap.h.
#include "relapse/eval/bootstrap.h"

#include <cmath>
#include <limits>
#include <string>

#include "relapse/core/error.h"
#include "relapse/core/rng.h"
#include "relapse/core/stats.h"
#include "relapse/eval/auc.h"
#include "relapse/eval/muse_metrics.h"

namespace relapse::eval {

namespace {

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;

void check_options(const BootstrapOptions& opts, const char* fn) {
  RELAPSE_CHECK_INPUT(opts.resamples >= 1, fn, ": resamples must be >= 1, got ", opts.resamples);
  RELAPSE_CHECK_INPUT(opts.level > 0.0 && opts.level < 1.0, fn, ": level must be in (0, 1), got ",
                      opts.level);
}

void check_finite(const std::vector<double>& x, const char* fn, const char* what) {
  RELAPSE_CHECK_INPUT(!x.empty(), fn, ": ", what, " is empty");
  for (size_t i = 0; i < x.size(); ++i) {
    RELAPSE_CHECK_INPUT(std::isfinite(x[i]), fn, ": ", what, "[", i, "] is ", x[i],
                        " (scores must be finite)");
  }
}

// x[idx[0]], x[idx[1]], ... drawn from the stream (n = x.size() draws).
void draw_sample(uint64_t& state, const std::vector<double>& x, std::vector<size_t>& idx) {
  idx.resize(x.size());
  for (size_t i = 0; i < x.size(); ++i) idx[i] = bootstrap_draw(state, x.size());
}

std::vector<double> gather(const std::vector<double>& x, const std::vector<size_t>& idx) {
  std::vector<double> out(idx.size());
  for (size_t i = 0; i < idx.size(); ++i) out[i] = x[idx[i]];
  return out;
}

// PrivLeak as a ratio (× 1). A retrain AUC of 0 leaves PrivLeak undefined:
// an error on the original sample (as eval::privleak_normalise), NaN in a
// resample (that resample is then left out of the interval).
double privleak_ratio(double auc, double auc_retrain, const char* fn, int64_t resample) {
  if (resample >= 0 && auc_retrain == 0.0) return std::numeric_limits<double>::quiet_NaN();
  RELAPSE_CHECK_INPUT(auc_retrain > 0.0, fn,
                      ": the retrain model's AUC is 0 on the original sample; PrivLeak is "
                      "undefined");
  return (auc - auc_retrain) / auc_retrain;
}

struct PrivleakModel {
  const std::vector<double>& forget;
  const std::vector<double>& holdout;
  const char* name;
};

// The shared body of bootstrap_privleak(_diff): models[0] is the retrain
// model; stat(aucs) combines the per-model AUCs (same order) of one sample.
template <typename Stat>
Interval privleak_bootstrap(const std::vector<PrivleakModel>& models, const BootstrapOptions& opts,
                            const char* fn, Stat stat) {
  check_options(opts, fn);
  const size_t n_f = models[0].forget.size(), n_h = models[0].holdout.size();
  for (const PrivleakModel& m : models) {
    const std::string f = std::string(m.name) + "_forget", h = std::string(m.name) + "_holdout";
    check_finite(m.forget, fn, f.c_str());
    check_finite(m.holdout, fn, h.c_str());
    RELAPSE_CHECK_INPUT(m.forget.size() == n_f && m.holdout.size() == n_h, fn, ": ", m.name,
                        " has ", m.forget.size(), " forget / ", m.holdout.size(),
                        " holdout scores but ", models[0].name, " has ", n_f, " / ", n_h,
                        " (every model must score the same texts)");
  }
  std::vector<double> aucs(models.size());
  for (size_t k = 0; k < models.size(); ++k)
    aucs[k] = privleak_auc(models[k].forget, models[k].holdout);
  const double value = stat(aucs, int64_t{-1});

  std::vector<double> stats;
  stats.reserve(static_cast<size_t>(opts.resamples));
  std::vector<size_t> idx_f, idx_h;
  uint64_t state = opts.seed;
  for (int64_t b = 0; b < opts.resamples; ++b) {
    draw_sample(state, models[0].forget, idx_f);   // forget indices first,
    draw_sample(state, models[0].holdout, idx_h);  // then holdout indices
    for (size_t k = 0; k < models.size(); ++k) {
      aucs[k] = privleak_auc(gather(models[k].forget, idx_f), gather(models[k].holdout, idx_h));
    }
    const double st = stat(aucs, b);
    if (!std::isnan(st)) stats.push_back(st);  // NaN: retrain AUC 0 in this resample
  }
  if (stats.empty()) {  // every resample undefined (only possible with a handful of texts)
    const double nan = std::numeric_limits<double>::quiet_NaN();
    return {value, nan, nan};
  }
  return bootstrap_interval(value, stats, opts.level);
}

}  // namespace

uint64_t bootstrap_draw(uint64_t& state, uint64_t n) {
  const uint64_t z = rng_splitmix64(state);  // mix(state + golden)
  state += kGolden;
  return static_cast<uint64_t>((static_cast<unsigned __int128>(z) * n) >> 64);
}

Interval bootstrap_interval(double value, const std::vector<double>& stats, double level) {
  RELAPSE_CHECK_INPUT(level > 0.0 && level < 1.0,
                      "bootstrap_interval: level must be in (0, 1), got ", level);
  RELAPSE_CHECK_INPUT(!stats.empty(), "bootstrap_interval: no resampled statistics");
  // Same double expressions as the Python reference: 100 * (1 - level) / 2.
  const double q_lo = 100.0 * (1.0 - level) / 2.0;
  const double q_hi = 100.0 * (1.0 + level) / 2.0;
  return {value, np_percentile_linear(stats, q_lo), np_percentile_linear(stats, q_hi)};
}

Interval bootstrap_mean(const std::vector<double>& x, const BootstrapOptions& opts) {
  check_options(opts, "bootstrap_mean");
  check_finite(x, "bootstrap_mean", "x");
  const double value = np_mean(x.data(), x.size());
  std::vector<double> stats(static_cast<size_t>(opts.resamples));
  std::vector<size_t> idx;
  uint64_t state = opts.seed;
  for (int64_t b = 0; b < opts.resamples; ++b) {
    draw_sample(state, x, idx);
    const std::vector<double> xs = gather(x, idx);
    stats[static_cast<size_t>(b)] = np_mean(xs.data(), xs.size());
  }
  return bootstrap_interval(value, stats, opts.level);
}

Interval bootstrap_paired_diff(const std::vector<double>& a, const std::vector<double>& b,
                               const BootstrapOptions& opts) {
  RELAPSE_CHECK_INPUT(a.size() == b.size(), "bootstrap_paired_diff: a has ", a.size(),
                      " samples but b has ", b.size(), " (a paired difference needs one b per a)");
  check_finite(a, "bootstrap_paired_diff", "a");
  check_finite(b, "bootstrap_paired_diff", "b");
  std::vector<double> d(a.size());
  for (size_t i = 0; i < a.size(); ++i) d[i] = b[i] - a[i];
  return bootstrap_mean(d, opts);
}

Interval bootstrap_privleak(const std::vector<double>& model_forget,
                            const std::vector<double>& model_holdout,
                            const std::vector<double>& retrain_forget,
                            const std::vector<double>& retrain_holdout,
                            const BootstrapOptions& opts) {
  const char* fn = "bootstrap_privleak";
  return privleak_bootstrap(
      {{retrain_forget, retrain_holdout, "retrain"}, {model_forget, model_holdout, "model"}}, opts,
      fn, [fn](const std::vector<double>& auc, int64_t b) {
        return privleak_ratio(auc[1], auc[0], fn, b);
      });
}

Interval bootstrap_privleak_diff(const std::vector<double>& full_forget,
                                 const std::vector<double>& full_holdout,
                                 const std::vector<double>& q_forget,
                                 const std::vector<double>& q_holdout,
                                 const std::vector<double>& retrain_forget,
                                 const std::vector<double>& retrain_holdout,
                                 const BootstrapOptions& opts) {
  const char* fn = "bootstrap_privleak_diff";
  return privleak_bootstrap({{retrain_forget, retrain_holdout, "retrain"},
                             {full_forget, full_holdout, "full"},
                             {q_forget, q_holdout, "quantized"}},
                            opts, fn, [fn](const std::vector<double>& auc, int64_t b) {
                              return privleak_ratio(auc[2], auc[0], fn, b) -
                                     privleak_ratio(auc[1], auc[0], fn, b);
                            });
}

}  // namespace relapse::eval
