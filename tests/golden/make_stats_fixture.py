#!/usr/bin/env python3
"""tests/golden/make_stats_fixture.py — reference values for relapse's small
statistics (src/core/stats.cpp, src/report/recovery_stats.cpp), written to

  tests/golden/fixtures/core/stats.json
      percentile  numpy.percentile(v, q) (default method "linear") on fixed
                  vectors (random, ties, n = 1 and 2, ±inf, integers) and
                  q from 0 to 100 — compared bit for bit.
      t           scipy.stats.t.ppf(p, dof) and t.sf(t, dof) for dof 1..1e6
                  and p from 1e-12 to 1 - 1e-12, and the same computed with
                  mpmath at 40 digits ("ppf_exact", "sf_exact"): scipy's
                  own ppf is off by up to ~1.4e-10 relative at p = 0.5 ± 1e-7.
  tests/golden/fixtures/pipeline/seed_interval.json
      scipy.stats.t.interval(level, n - 1, loc=mean, scale=s / sqrt(n))
      with mean = np.mean, s = np.std(ddof=1) over the non-NaN values.

    /work/venv/bin/python tests/golden/make_stats_fixture.py   # < 1 s

Deterministic (fixed seeds). Needs numpy, scipy and mpmath. Python is never a
runtime dependency: the C++ tests only read these files. NaN / inf are
written as the strings "nan", "inf", "-inf".
"""
import json
import math
import os

import mpmath as mp
import numpy as np
import scipy
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures")


def enc(x):
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def dump(rel, obj):
    path = os.path.join(FIX, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def percentile_cases():
    rng = np.random.default_rng(20261204)
    qs = [0.0, 0.5, 1.0, 2.5, 5.0, 10.0, 12.5, 25.0, 100.0 / 3, 50.0, 200.0 / 3, 75.0, 90.0,
          95.0, 97.5, 99.0, 99.9, 100.0]
    # The bootstrap's own levels: 100 * (1 - level) / 2 and 100 * (1 + level) / 2.
    for level in (0.5, 0.8, 0.9, 0.95, 0.99):
        qs += [100 * (1 - level) / 2, 100 * (1 + level) / 2]
    vectors = [
        [3.5],
        [1.0, 2.0],
        [2.0, -1.0, 7.0, 7.0, 0.25, 1e-3, 5.0],
        rng.normal(size=30).tolist(),
        rng.normal(scale=1e3, size=101).tolist(),
        rng.integers(0, 5, size=64).astype(float).tolist(),  # many ties
        (rng.standard_cauchy(size=200) * 1e-8).tolist(),
        [0.0] * 9,
        [1.0, 2.0, math.inf],
        [-math.inf, 0.0, 1.0, 2.0],
        rng.uniform(size=1000).tolist(),
    ]
    out = []
    for v in vectors:
        arr = np.asarray(v, dtype=np.float64)
        out.append({"v": [enc(x) for x in v], "q": qs,
                    "p": [enc(np.percentile(arr, q)) for q in qs]})
    return out


def t_sf_exact(t, dof):
    t, v = mp.mpf(t), mp.mpf(dof)
    if t == 0:
        return mp.mpf(1) / 2
    tail = mp.betainc(v / 2, mp.mpf(1) / 2, 0, v / (v + t * t), regularized=True) / 2
    return tail if t > 0 else 1 - tail


def t_ppf_exact(p, dof):
    p = mp.mpf(p)
    if p == mp.mpf(1) / 2:
        return mp.mpf(0)
    # Solve sf(t) = 1 - p from scipy's (accurate to ~1e-10) starting point.
    t0 = mp.mpf(stats.t.ppf(float(p), dof))
    return mp.findroot(lambda t: t_sf_exact(t, dof) - (1 - p), t0, tol=mp.mpf(10) ** -35)


def t_cases():
    mp.mp.dps = 40
    dofs = [1, 2, 3, 4, 5, 7, 10, 19, 29, 30, 99, 1000, 10000, 1000000]
    ps = [1e-12, 1e-6, 1e-3, 0.005, 0.025, 0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.49, 0.4999999, 0.5,
          0.5000001, 0.51, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 0.975, 0.995, 0.999, 1 - 1e-6,
          1 - 1e-12]
    ts = [-50.0, -3.0, -1.0, -1e-3, 0.0, 1e-8, 0.5, 1.0, 2.0, 2.5, 10.0, 1e3, 1e8]
    out = []
    for dof in dofs:
        out.append({"dof": dof, "p": ps, "ppf": [enc(stats.t.ppf(p, dof)) for p in ps],
                    "ppf_exact": [enc(t_ppf_exact(p, dof)) for p in ps],
                    "t": ts, "sf": [enc(stats.t.sf(t, dof)) for t in ts],
                    "sf_exact": [enc(t_sf_exact(t, dof)) for t in ts]})
    return out


def seed_interval_cases():
    rng = np.random.default_rng(7)
    samples = [
        [42.0],
        [1.0, 2.0],
        [10.0, 12.5, 11.0],
        [0.3, math.nan, 0.5, 0.4, 0.45],
        rng.normal(30, 5, size=5).tolist(),
        rng.normal(0.2, 0.01, size=12).tolist(),
        [5.0, 5.0, 5.0, 5.0],
        rng.uniform(0, 100, size=40).tolist(),
    ]
    out = []
    for v in samples:
        arr = np.asarray(v, dtype=np.float64)
        x = arr[~np.isnan(arr)]
        n = int(x.size)
        for level in (0.9, 0.95, 0.99):
            mean = float(np.mean(x))
            if n >= 2:
                sem = float(np.std(x, ddof=1)) / math.sqrt(n)
                if sem > 0:
                    lo, hi = stats.t.interval(level, n - 1, loc=mean, scale=sem)
                else:  # scipy rejects scale 0 (nan); relapse gives the zero-width interval
                    lo = hi = mean
            else:
                lo = hi = math.nan
            out.append({"values": [enc(a) for a in v], "level": level, "n": n,
                        "mean": enc(mean), "lo": enc(lo), "hi": enc(hi)})
    return out


def main():
    np.seterr(invalid="ignore")  # the ±inf percentile cases give nan, as intended
    meta = {"numpy": np.__version__, "scipy": scipy.__version__, "mpmath": mp.__version__,
            "script": "tests/golden/make_stats_fixture.py"}
    dump("core/stats.json", {"meta": meta, "percentile": percentile_cases(), "t": t_cases()})
    dump("pipeline/seed_interval.json", {"meta": meta, "cases": seed_interval_cases()})


if __name__ == "__main__":
    main()
