#!/usr/bin/env python3
# tests/golden/make_saliency_fixtures.py — reference values for SURE's
# threshold (tests/unlearn/test_saliency.cpp): numpy's np.percentile with its
# default method "linear" on fixed vectors (the released SURE code's
# `gamma = np.percentile(grad_norms, self.threshold)`), including P90/P99,
# ties, repeated values around the interpolation point, n = 1, 2, 3, and
# percentiles whose virtual index lands exactly on an element.
# Deterministic: the vectors are closed-form, no RNG.
#   /work/venv/bin/python tests/golden/make_saliency_fixtures.py
import json
import math
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "unlearn")

VECTORS = {
    "one": [0.75],
    "two": [3.0, -1.5],
    "three": [2.0, 0.1, 7.25],
    "ten": [float(i) for i in range(10, 0, -1)],
    # irrational-looking magnitudes, unsorted (like gradient norms)
    "norms37": [abs(math.sin(1.3 * i + 0.4)) * (1.0 + 0.25 * (i % 5)) * 10 ** (-(i % 4)) for i in range(37)],
    # many ties: the interpolation neighbours are equal
    "ties": [0.5] * 12 + [2.0] * 5 + [0.125] * 4 + [3.0],
    # values of very different scales (1e-12 .. 1e3)
    "scales": [10.0 ** (k / 3.0) * (1 + 0.1 * (k % 7)) for k in range(-36, 10)],
    "zeros": [0.0] * 9,
    "large": [math.cos(0.001 * i * i) ** 2 + 1e-3 * i for i in range(200)],
}
PERCENTILES = [0.0, 1.0, 12.5, 25.0, 33.3, 50.0, 66.7, 75.0, 90.0, 95.0, 99.0, 99.9, 100.0]


def main():
    cases = []
    for name, v in VECTORS.items():
        arr = np.asarray(v, dtype=np.float64)
        for q in PERCENTILES:
            cases.append({"name": name, "q": q, "value": float(np.percentile(arr, q))})
    out = {
        "generator": "tests/golden/make_saliency_fixtures.py",
        "numpy": np.__version__,
        "method": "linear (np.percentile default)",
        "vectors": VECTORS,
        "cases": cases,
    }
    os.makedirs(OUT, exist_ok=True)
    # json writes floats with repr(): the shortest string that round-trips.
    with open(os.path.join(OUT, "saliency_percentile.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
