// relapse/eval/bootstrap.h — seeded percentile-bootstrap confidence intervals
// for per-sample metrics: a mean, a paired difference (full precision vs a
// quantized model on the same samples) and MUSE's PrivLeak. The resampling is
// FROZEN and documented here so a Python script can reproduce every interval
// exactly (tests/golden/make_bootstrap_fixture.py does, in pure Python ints).
//
// Index stream (all arithmetic mod 2^64; splitmix64 as in relapse/core/rng.h,
// where rng_splitmix64(s) = mix(s + 0x9e3779b97f4a7c15)):
//
//   state = seed
//   for b in 0 .. resamples-1:            # one resample after the other
//     for each draw i of that resample:   # see each function for the order
//       z     = rng_splitmix64(state)     # = mix(state + golden)
//       state = state + 0x9e3779b97f4a7c15
//       index = (z * n) >> 64             # 128-bit product: Lemire's map of
//                                         # z to [0, n); bias <= n / 2^64
//
// i.e. the draws are splitmix64's output sequence started at `seed`.
//
// Interval: value = the statistic on the original sample; lo / hi = numpy's
// default (linear) percentiles of the `resamples` resampled statistics at
// q_lo = 100 * (1 - level) / 2 and q_hi = 100 * (1 + level) / 2 (evaluated in
// that order of double operations; relapse::np_percentile_linear).
//
// Units: everything is in the units of its input (× 1). The PrivLeak
// statistics are the ratio (auc - auc_retrain) / auc_retrain, NOT MUSE's
// percentage: multiply by 100 for MUSE's PrivLeak (the product is then
// bit-identical to eval::privleak_normalise). The caller also scales ROUGE
// metrics to percent if it reports them so.
//
// Seeds: the caller derives `seed` from a named stream (RngStreams::seed_of,
// e.g. "bootstrap/<model>/<metric>"); this module only takes the uint64.
#pragma once
#include <cstdint>
#include <vector>

namespace relapse::eval {

struct BootstrapOptions {
  int64_t resamples = 1000;  // >= 1
  double level = 0.95;       // in (0, 1)
  uint64_t seed = 0;
};

struct Interval {
  double value;  // the statistic on the original sample
  double lo;     // percentile 100·(1 − level)/2 of the resampled statistics
  double hi;     // percentile 100·(1 + level)/2
};

// One draw of the index stream above: returns the index in [0, n) and
// advances `state`. n >= 1.
uint64_t bootstrap_draw(uint64_t& state, uint64_t n);

// The interval of `stats` (the resampled statistics) around `value`:
// {value, np.percentile(stats, q_lo), np.percentile(stats, q_hi)}.
// Throws relapse::Error(kInput) when stats is empty or holds a NaN, or level
// is outside (0, 1).
Interval bootstrap_interval(double value, const std::vector<double>& stats, double level);

// Statistic: np.mean(x) (eval::np_mean, numpy's pairwise sum, so bit-identical
// to Python). Resample b draws n = x.size() indices i_0..i_{n-1} from the
// stream and takes np.mean(x[[i_0, ..., i_{n-1}]]) (values in draw order).
// Throws relapse::Error(kInput) when x is empty or holds a NaN / inf, or the
// options are invalid.
Interval bootstrap_mean(const std::vector<double>& x, const BootstrapOptions& opts);

// Paired difference: statistic np.mean(b - a) (elementwise b - a first, then
// the mean), the SAME n indices per resample for both, as bootstrap_mean of
// d = b - a. For per-sample scores of one model at full precision (a) and
// quantized (b) on the same samples. Throws relapse::Error(kInput) naming
// both sizes when they differ, and as bootstrap_mean otherwise.
Interval bootstrap_paired_diff(const std::vector<double>& a, const std::vector<double>& b,
                               const BootstrapOptions& opts);

// PrivLeak. Inputs are Min-K% scores (eval::min_k_percent_score: positive,
// loss-like) of the forget texts and the holdout texts, for the model and for
// the retrained reference; one score per text, the same texts in the same
// order for every model. AUC = eval::privleak_auc(forget, holdout) =
// roc_auc(-[forget, holdout], [0.., 1..]) (MUSE's labels: forget = 0,
// holdout = 1); all scores tied gives AUC 0.5.
//   statistic = (auc(model) - auc(retrain)) / auc(retrain)        (× 1)
// Resample b (stratified): first n_f = forget.size() forget indices, then
// n_h = holdout.size() holdout indices from the stream; the same resampled
// texts are scored for the model and the retrain model.
// A resample whose retrain AUC is 0 (PrivLeak undefined: every resampled
// holdout text scored less likely than every forget text — only seen with a
// handful of texts) is left out: lo / hi are the percentiles of the defined
// resampled statistics, NaN when there is none.
// Throws relapse::Error(kInput) when a side is empty, the model's and the
// retrain model's sizes differ, a score is NaN / inf, the retrain AUC of the
// original sample is 0, or the options are invalid.
Interval bootstrap_privleak(const std::vector<double>& model_forget,
                            const std::vector<double>& model_holdout,
                            const std::vector<double>& retrain_forget,
                            const std::vector<double>& retrain_holdout,
                            const BootstrapOptions& opts);

// The change in PrivLeak from full precision to a quantized model:
//   statistic = privleak(q) - privleak(full)                     (× 1)
// with privleak(m) = (auc(m) - auc(retrain)) / auc(retrain), all three
// models scored on the same resampled texts (stream order as in
// bootstrap_privleak). Same checks as bootstrap_privleak, for all models.
Interval bootstrap_privleak_diff(const std::vector<double>& full_forget,
                                 const std::vector<double>& full_holdout,
                                 const std::vector<double>& q_forget,
                                 const std::vector<double>& q_holdout,
                                 const std::vector<double>& retrain_forget,
                                 const std::vector<double>& retrain_holdout,
                                 const BootstrapOptions& opts);

}  // namespace relapse::eval
