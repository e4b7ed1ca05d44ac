// tests/eval/test_bootstrap.cpp — relapse::eval bootstrap intervals against an
// independent Python rendering (tests/golden/make_bootstrap_fixture.py ->
// tests/golden/fixtures/eval/bootstrap.json: the index stream in pure Python
// ints, np.mean, np.percentile, sklearn's roc_auc_score).
// Tolerances: the index stream is compared exactly (integers); means and
// their intervals exactly, because eval::np_mean is numpy's pairwise sum bit
// for bit and np_percentile_linear performs numpy's double operations; the
// PrivLeak intervals to 1e-12 absolute (ratios of order 1), the AUC's
// tolerance in test_auc.cpp: roc_auc performs sklearn's steps and they agree
// bit for bit today (checked with exact comparison), but sklearn's internals
// may change between versions.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/core/rng.h"
#include "relapse/eval/auc.h"
#include "relapse/eval/bootstrap.h"
#include "relapse/eval/muse_metrics.h"
#include "test_util.h"

using json = nlohmann::json;
using relapse::eval::bootstrap_draw;
using relapse::eval::bootstrap_mean;
using relapse::eval::bootstrap_paired_diff;
using relapse::eval::bootstrap_privleak;
using relapse::eval::bootstrap_privleak_diff;
using relapse::eval::BootstrapOptions;
using relapse::eval::Interval;
using relapse::test::expect_input_error;

namespace {

const json& fixture() {
  static const json fx = [] {
    const std::string path = relapse::test::fixture_path("eval/bootstrap.json");
    const std::string text = relapse::test::read_file(path);
    EXPECT_FALSE(text.empty()) << "missing " << path;
    return json::parse(text);
  }();
  return fx;
}

BootstrapOptions options_of(const json& c) {
  BootstrapOptions o;
  o.resamples = c["resamples"].get<int64_t>();
  o.level = c["level"].get<double>();
  o.seed = c["seed"].get<uint64_t>();
  return o;
}

std::vector<double> vec(const json& j) {
  return j.get<std::vector<double>>();
}

std::vector<double> gather_draws(uint64_t& state, const std::vector<double>& x) {
  std::vector<double> out(x.size());
  for (double& v : out) v = x[bootstrap_draw(state, x.size())];
  return out;
}

}  // namespace

TEST(Bootstrap, IndexStreamMatchesPython) {
  for (const json& c : fixture()["stream"]) {
    const uint64_t seed = c["seed"].get<uint64_t>();
    // z = splitmix64 output sequence from `seed` (state advanced by golden).
    uint64_t state = seed;
    for (const json& z : c["z"]) {
      EXPECT_EQ(relapse::rng_splitmix64(state), z.get<uint64_t>()) << "seed " << seed;
      state += 0x9e3779b97f4a7c15ULL;
    }
    state = seed;
    const uint64_t n = c["n"].get<uint64_t>();
    for (const json& i : c["idx"]) EXPECT_EQ(bootstrap_draw(state, n), i.get<uint64_t>());
  }
}

TEST(Bootstrap, MeanMatchesNumpyExactly) {
  size_t n = 0;
  for (const json& c : fixture()["mean"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const std::vector<double> x = vec(c["x"]);
    const BootstrapOptions o = options_of(c);
    const Interval iv = bootstrap_mean(x, o);
    EXPECT_EQ(iv.value, c["value"].get<double>());
    EXPECT_EQ(iv.lo, c["lo"].get<double>());
    EXPECT_EQ(iv.hi, c["hi"].get<double>());
    EXPECT_LT(iv.lo, iv.hi);
    // The first resampled means, from the documented stream by hand.
    uint64_t state = o.seed;
    for (const json& s : c["first_stats"]) {
      const std::vector<double> xs = gather_draws(state, x);
      EXPECT_EQ(relapse::eval::np_mean(xs.data(), xs.size()), s.get<double>());
    }
    ++n;
  }
  EXPECT_GE(n, 10u);
}

TEST(Bootstrap, PairedDiffMatchesNumpyExactly) {
  for (const json& c : fixture()["paired"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const std::vector<double> a = vec(c["a"]), b = vec(c["b"]);
    const Interval iv = bootstrap_paired_diff(a, b, options_of(c));
    EXPECT_EQ(iv.value, c["value"].get<double>());
    EXPECT_EQ(iv.lo, c["lo"].get<double>());
    EXPECT_EQ(iv.hi, c["hi"].get<double>());
  }
}

TEST(Bootstrap, PrivleakMatchesSklearn) {
  size_t n_diff = 0, n_dropped = 0;
  for (const json& c : fixture()["privleak"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const auto rf = vec(c["retrain_forget"]), rh = vec(c["retrain_holdout"]);
    const auto ff = vec(c["full_forget"]), fh = vec(c["full_holdout"]);
    const auto qf = vec(c["q_forget"]), qh = vec(c["q_holdout"]);
    const BootstrapOptions o = options_of(c);
    const bool diff = c["kind"] == "privleak_diff";
    const Interval iv = diff ? bootstrap_privleak_diff(ff, fh, qf, qh, rf, rh, o)
                             : bootstrap_privleak(ff, fh, rf, rh, o);
    EXPECT_NEAR(iv.value, c["value"].get<double>(), 1e-12);
    EXPECT_NEAR(iv.lo, c["lo"].get<double>(), 1e-12);
    EXPECT_NEAR(iv.hi, c["hi"].get<double>(), 1e-12);
    n_diff += diff;
    n_dropped += c["n_kept"].get<int64_t>() < o.resamples;
    // The first resampled statistics: forget draws, then holdout draws, the
    // same indices for every model; null where the retrain AUC is 0.
    uint64_t state = o.seed;
    for (const json& s : c["first_stats"]) {
      std::vector<size_t> i_f(rf.size()), i_h(rh.size());
      for (size_t& i : i_f) i = bootstrap_draw(state, rf.size());
      for (size_t& i : i_h) i = bootstrap_draw(state, rh.size());
      auto auc = [&](const std::vector<double>& f, const std::vector<double>& h) {
        std::vector<double> fb, hb;
        for (size_t i : i_f) fb.push_back(f[i]);
        for (size_t i : i_h) hb.push_back(h[i]);
        return relapse::eval::privleak_auc(fb, hb);
      };
      const double ar = auc(rf, rh), af = auc(ff, fh);
      if (s.is_null()) {
        EXPECT_EQ(ar, 0.0);
        continue;
      }
      const double pf = (af - ar) / ar;
      const double want = diff ? (auc(qf, qh) - ar) / ar - pf : pf;
      EXPECT_NEAR(want, s.get<double>(), 1e-12);
    }
  }
  EXPECT_GE(n_diff, 3u);
  EXPECT_GE(n_dropped, 1u);  // the fixture exercises the dropped-resample rule
}

TEST(Bootstrap, SeedsDecideTheInterval) {
  const std::vector<double> x = fixture()["mean"][3]["x"].get<std::vector<double>>();
  BootstrapOptions o;
  o.resamples = 300;
  o.seed = 99;
  const Interval a = bootstrap_mean(x, o), b = bootstrap_mean(x, o);
  EXPECT_EQ(a.lo, b.lo);
  EXPECT_EQ(a.hi, b.hi);
  o.seed = 100;
  const Interval c = bootstrap_mean(x, o);
  EXPECT_EQ(c.value, a.value);
  EXPECT_TRUE(c.lo != a.lo || c.hi != a.hi);
  // A wider level gives a wider interval on the same resamples.
  o.level = 0.5;
  const Interval narrow = bootstrap_mean(x, o);
  EXPECT_GE(narrow.lo, c.lo);
  EXPECT_LE(narrow.hi, c.hi);
}

TEST(Bootstrap, ConstantSampleGivesZeroWidth) {
  BootstrapOptions o;
  o.resamples = 50;
  const Interval m = bootstrap_mean(std::vector<double>(13, 0.375), o);
  EXPECT_EQ(m.value, 0.375);
  EXPECT_EQ(m.lo, 0.375);
  EXPECT_EQ(m.hi, 0.375);
  const Interval d = bootstrap_paired_diff({1, 2, 3}, {1, 2, 3}, o);
  EXPECT_EQ(d.lo, 0.0);
  EXPECT_EQ(d.hi, 0.0);
  // All scores tied: every AUC is 0.5 and PrivLeak 0 in every resample.
  const std::vector<double> tied(6, 2.5);
  const Interval p = bootstrap_privleak(tied, tied, tied, tied, o);
  EXPECT_EQ(p.value, 0.0);
  EXPECT_EQ(p.lo, 0.0);
  EXPECT_EQ(p.hi, 0.0);
}

TEST(Bootstrap, RejectsBadInput) {
  BootstrapOptions o;
  expect_input_error([&] { bootstrap_paired_diff({1, 2, 3}, {1, 2}, o); }, {"a has 3", "b has 2"});
  expect_input_error([&] { bootstrap_mean({}, o); }, "empty");
  expect_input_error([&] { bootstrap_mean({1.0, NAN}, o); }, {"x[1]", "finite"});
  BootstrapOptions bad = o;
  bad.level = 1.0;
  expect_input_error([&] { bootstrap_mean({1.0}, bad); }, "level");
  bad = o;
  bad.resamples = 0;
  expect_input_error([&] { bootstrap_mean({1.0}, bad); }, "resamples");
  expect_input_error(
      [&] {
        bootstrap_privleak({1, 2}, {3, 4}, {1, 2, 3}, {3, 4}, o);
      },
      {"model has 2 forget", "retrain has 3"});
  expect_input_error(
      [&] {
        bootstrap_privleak({1, 2}, {}, {1, 2}, {3, 4}, o);
      },
      "model_holdout is empty");
  // Retrain AUC 0 on the original sample: every holdout text scored less
  // likely (higher Min-K%) than every forget text.
  expect_input_error(
      [&] {
        bootstrap_privleak({1, 2}, {3, 4}, {1, 2}, {3, 4}, o);
      },
      "retrain model's AUC is 0");
}
