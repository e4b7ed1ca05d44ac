#!/usr/bin/env python3
"""tests/golden/make_bootstrap_fixture.py — an independent Python rendering of
relapse's bootstrap (include/relapse/eval/bootstrap.h), written to
tests/golden/fixtures/eval/bootstrap.json:

  stream     the first draws of the index stream (splitmix64 in pure Python
             ints, Lemire's (z * n) >> 64) for a few seeds
  mean       bootstrap of np.mean for n = 7, 30, 101, several seeds and
             levels, 200 resamples: the first resampled statistics and the
             interval (np.percentile, default "linear" method)
  paired     bootstrap of np.mean(b - a) with the same indices for a and b
  privleak   MUSE PrivLeak ratio (auc - auc_retrain) / auc_retrain with
             sklearn's roc_auc_score(labels, -scores) (forget = 0,
             holdout = 1), stratified resampling (forget draws, then holdout
             draws), and the full -> quantized PrivLeak difference; resamples
             whose retrain AUC is 0 are dropped (first_stats: null), which
             the small cases (10/12 and 3/3 texts) exercise

    /work/venv/bin/python tests/golden/make_bootstrap_fixture.py   # ~2 s

Deterministic (fixed seeds). Needs numpy and scikit-learn. Python is never a
runtime dependency: the C++ test (tests/eval/test_bootstrap.cpp) only reads
the JSON.
"""
import json
import os

import numpy as np
import sklearn
from sklearn.metrics import roc_auc_score

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "eval", "bootstrap.json")

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
N_FIRST = 5  # resampled statistics stored per case


def splitmix64(x):
    """rng.h: z = x + golden; z = (z ^ z >> 30) * ...; ... (mod 2^64)."""
    z = (x + GOLDEN) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


class Stream:
    def __init__(self, seed):
        self.state = seed & MASK

    def draw(self, n):
        z = splitmix64(self.state)
        self.state = (self.state + GOLDEN) & MASK
        return (z * n) >> 64


def interval(value, stats, level):
    stats = np.asarray(stats, dtype=np.float64)
    return {"value": float(value),
            "lo": float(np.percentile(stats, 100 * (1 - level) / 2)),
            "hi": float(np.percentile(stats, 100 * (1 + level) / 2))}


def boot_mean(x, resamples, level, seed):
    x = np.asarray(x, dtype=np.float64)
    s = Stream(seed)
    stats = []
    for _ in range(resamples):
        idx = [s.draw(len(x)) for _ in range(len(x))]
        stats.append(float(np.mean(x[idx])))
    return stats, interval(np.mean(x), stats, level)


def auc(forget, holdout):
    scores = -np.concatenate([forget, holdout])
    labels = np.array([0] * len(forget) + [1] * len(holdout))
    return float(roc_auc_score(labels, scores))


def boot_privleak(models, resamples, level, seed, stat):
    """models: list of (forget, holdout) arrays, models[0] the retrain model."""
    value = stat([auc(f, h) for f, h in models])
    n_f, n_h = len(models[0][0]), len(models[0][1])
    s = Stream(seed)
    stats = []
    for _ in range(resamples):
        i_f = [s.draw(n_f) for _ in range(n_f)]
        i_h = [s.draw(n_h) for _ in range(n_h)]
        aucs = [auc(f[i_f], h[i_h]) for f, h in models]
        # A retrain AUC of 0 leaves PrivLeak undefined: relapse drops that resample.
        stats.append(stat(aucs) if aucs[0] > 0 else None)
    kept = [x for x in stats if x is not None]
    return stats, {**interval(value, kept, level), "n_kept": len(kept)}


def case(name, inputs, opts, stats, iv):
    return {"name": name, **inputs, "resamples": opts[0], "level": opts[1], "seed": opts[2],
            "first_stats": stats[:N_FIRST], **iv}


def main():
    rng = np.random.default_rng(20261204)
    out = {"meta": {"numpy": np.__version__, "sklearn": sklearn.__version__,
                    "script": "tests/golden/make_bootstrap_fixture.py"}}

    seeds = [0, 1, 12345, 0xDEADBEEFCAFEBABE, MASK]
    stream = []
    for seed in seeds:
        s = Stream(seed)
        zs = []
        for _ in range(8):
            zs.append(splitmix64(s.state))
            s.state = (s.state + GOLDEN) & MASK
        s = Stream(seed)
        stream.append({"seed": seed, "z": zs, "n": 7, "idx": [s.draw(7) for _ in range(16)]})
    out["stream"] = stream

    means = []
    for n in (7, 30, 101):
        x = rng.normal(loc=40.0, scale=15.0, size=n).tolist()
        for seed, level in ((0, 0.95), (42, 0.9), (0xDEADBEEFCAFEBABE, 0.99)):
            stats, iv = boot_mean(x, 200, level, seed)
            means.append(case(f"mean n={n} seed={seed}", {"x": x}, (200, level, seed), stats, iv))
    # ROUGE-like scores in [0, 1] with ties (many zeros and ones).
    x = np.clip(np.round(rng.uniform(-0.3, 1.3, size=30), 2), 0, 1).tolist()
    stats, iv = boot_mean(x, 200, 0.95, 7)
    means.append(case("mean rouge-like n=30", {"x": x}, (200, 0.95, 7), stats, iv))
    out["mean"] = means

    paired = []
    for n, seed in ((7, 3), (30, 99), (101, 2024)):
        a = np.round(rng.uniform(0, 1, size=n), 3)
        b = np.clip(a + np.round(rng.normal(0.1, 0.2, size=n), 3), 0, 1)
        s = Stream(seed)
        d = b - a
        stats = []
        for _ in range(200):
            idx = [s.draw(n) for _ in range(n)]
            stats.append(float(np.mean(d[idx])))
        iv = interval(np.mean(d), stats, 0.95)
        paired.append(case(f"paired n={n}", {"a": a.tolist(), "b": b.tolist()},
                           (200, 0.95, seed), stats, iv))
    out["paired"] = paired

    privleak = []
    for n_f, n_h, seed in ((20, 25, 11), (10, 12, 5), (40, 40, 123456789), (3, 3, 8)):
        # Min-K% scores (positive, loss-like); rounded to create ties. The
        # model memorised the forget set (lower scores), retrain did not.
        ret_f = np.round(rng.normal(3.0, 0.5, size=n_f), 2)
        ret_h = np.round(rng.normal(3.0, 0.5, size=n_h), 2)
        full_f = np.round(rng.normal(2.2, 0.5, size=n_f), 2)
        full_h = np.round(rng.normal(2.9, 0.5, size=n_h), 2)
        q_f = np.round(full_f + rng.normal(0.3, 0.2, size=n_f), 2)
        q_h = np.round(full_h + rng.normal(0.0, 0.2, size=n_h), 2)
        models = [(ret_f, ret_h), (full_f, full_h)]
        stats, iv = boot_privleak(models, 200, 0.95, seed,
                                  lambda a: (a[1] - a[0]) / a[0])
        inputs = {"retrain_forget": ret_f.tolist(), "retrain_holdout": ret_h.tolist(),
                  "full_forget": full_f.tolist(), "full_holdout": full_h.tolist(),
                  "q_forget": q_f.tolist(), "q_holdout": q_h.tolist()}
        privleak.append({"kind": "privleak", **case(f"privleak {n_f}/{n_h}", inputs,
                                                    (200, 0.95, seed), stats, iv)})
        models3 = [(ret_f, ret_h), (full_f, full_h), (q_f, q_h)]
        stats, iv = boot_privleak(models3, 200, 0.9, seed + 1,
                                  lambda a: (a[2] - a[0]) / a[0] - (a[1] - a[0]) / a[0])
        privleak.append({"kind": "privleak_diff", **case(f"privleak_diff {n_f}/{n_h}", inputs,
                                                         (200, 0.9, seed + 1), stats, iv)})
    out["privleak"] = privleak

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
