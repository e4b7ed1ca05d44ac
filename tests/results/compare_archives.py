#!/usr/bin/env python3
"""tests/results/compare_archives.py — manual check (h5py) that two relapse
archives hold identical per-sample evaluation results: every dataset under
/models (generations, prompts, per-sample ROUGE scores, Min-K% values, code
change tables) and the metric attributes of every model × precision group,
compared exactly (NaN equal to NaN); wall times and checkpoint paths are
skipped.

    python3 tests/results/compare_archives.py A.h5 B.h5

Used for issue 4's "the quickstart at -np 2 and -np 4 gives the same per-sample
evaluation scores as -np 1 for the same checkpoints" on the full quickstart
(CTest checks the same at reduced size: pipeline_rank_invariance_np4)."""
import sys

import h5py
import numpy as np

SKIP_ATTRS = {"wall_s", "checkpoint"}  # timing; the model directory's path


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype.kind != b.dtype.kind:
        return False
    if a.dtype.kind == "f":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def main(pa, pb):
    fa, fb = h5py.File(pa, "r"), h5py.File(pb, "r")
    counts = {"datasets": 0, "attributes": 0, "values": 0}
    bad = []

    def visit(name, obj):
        other = fb["models"].get(name)
        if other is None:
            bad.append(f"missing in B: /models/{name}")
            return
        for k, v in obj.attrs.items():
            if k in SKIP_ATTRS:
                continue
            counts["attributes"] += 1
            if k not in other.attrs or not same(v, other.attrs[k]):
                bad.append(f"attribute /models/{name}@{k}: {v!r} vs {other.attrs.get(k)!r}")
        if isinstance(obj, h5py.Dataset):
            counts["datasets"] += 1
            counts["values"] += obj.size
            if not same(obj[()], other[()]):
                bad.append(f"dataset /models/{name} differs")

    fa["models"].visititems(visit)
    print(f"compared {counts['datasets']} datasets ({counts['values']} values) and "
          f"{counts['attributes']} attributes under /models")
    for b in bad[:20]:
        print("DIFF", b)
    print("IDENTICAL" if not bad else f"{len(bad)} differences")
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
