#!/usr/bin/env python3
# tests/results/check_archive.py — reads a relapse run archive (layout in
# include/relapse/results/archive.h) with h5py + pandas, as a user would, and
# checks its structure and that the numbers agree with each other:
#   /summary as a DataFrame (the recipe of include/relapse/archive/h5.h) with
#   the documented columns and dtypes; each row's /models/<model>/<precision>
#   group exists and its attributes equal the row; per-sample string datasets
#   decode as UTF-8 and have as many entries as their rouge scores; metrics are
#   NaN or in range; curve / stages / code_change tables load.
# Not run by CTest (CI has no Python); run by hand:
#   /work/venv/bin/python tests/results/check_archive.py runs/quickstart/relapse.h5
import math
import sys

import h5py
import numpy as np
import pandas as pd

STR_COLS = ["model", "kind", "method", "variant", "lr_regime", "precision", "scheme"]
F64_COLS = ["lr", "alpha", "beta"]
I64_COLS = ["bits", "group_size", "steps"]
MET_COLS = ["verbmem_f", "knowmem_f", "knowmem_r", "privleak", "privleak_auc",
            "codes_changed_frac", "mean_dw_over_delta", "wall_s"]
# Added with issue 6 (SURE, seeds, bootstrap intervals, paired differences).
NEW_COLS = ["group", "seed", "saliency"] + [
    c for m in ("verbmem_f", "knowmem_f", "knowmem_r", "privleak")
    for c in (f"{m}_lo", f"{m}_hi", f"d_{m}", f"d_{m}_lo", f"d_{m}_hi")]
SUMMARY_COLS = STR_COLS + F64_COLS + I64_COLS + MET_COLS + NEW_COLS


def read_table(g):
    assert g.attrs["layout"] in ("table", b"table"), g.name
    cols = [c.decode() if isinstance(c, bytes) else c for c in g.attrs["columns"]]
    df = pd.DataFrame({c: (g[c].asstr()[()] if g[c].dtype.kind == "O" else g[c][()])
                       for c in cols})
    assert len(df) == int(g.attrs["nrows"]), g.name
    return df


def same(a, b):
    a, b = float(a), float(b)
    return (math.isnan(a) and math.isnan(b)) or a == b


def check(path, check_means=True):
    f = h5py.File(path, "r")
    for name in ("provenance", "stages", "summary", "models"):
        assert name in f, f"/{name} missing"
    prov = dict(f["provenance"].attrs)
    for k in ("run_name", "config_yaml", "total_wall_s"):
        assert k in prov, f"/provenance@{k} missing"
    stages = read_table(f["stages"])
    assert list(stages.columns) == ["stage", "wall_s"]

    df = read_table(f["summary"])
    assert list(df.columns) == SUMMARY_COLS, list(df.columns)
    for c in I64_COLS:
        assert df[c].dtype == np.int64, (c, df[c].dtype)
    for c in F64_COLS + MET_COLS + NEW_COLS[3:]:
        assert df[c].dtype == np.float64, (c, df[c].dtype)
    assert df["seed"].dtype == np.int64
    for c in ("verbmem_f", "knowmem_f", "knowmem_r"):
        v = df[c].dropna()
        assert ((v >= 0) & (v <= 100)).all(), c
    v = df["codes_changed_frac"].dropna()
    assert ((v >= 0) & (v <= 1)).all()

    n_strings = 0
    for _, row in df.iterrows():
        mg = f["models"][row["model"]]
        assert mg.attrs["kind"] == row["kind"] and mg.attrs["method"] == row["method"]
        assert int(mg.attrs["steps"]) == row["steps"]
        if "group" in mg.attrs:
            assert mg.attrs["group"] == row["group"] and int(mg.attrs["seed"]) == row["seed"]
        if "saliency_mask" in mg:
            sm = mg["saliency_mask"]
            off = sm["offsets"][()]
            assert off[0] == 0 and off[-1] == len(sm["selected_steps"])
            assert len(off) == len(sm["names"]) + 1
            assert (sm["selected_steps"][()] <= sm.attrs["steps"]).all()
        if "curve" in mg:
            curve = read_table(mg["curve"])
            assert list(curve.columns) == ["step", "tokens", "lr", "loss", "forget_term",
                                           "retain_term", "grad_norm"]
        g = mg[row["precision"]]
        assert g.attrs["scheme"] == row["scheme"]
        assert int(g.attrs["bits"]) == row["bits"]
        for c in ("verbmem_f", "knowmem_f", "knowmem_r", "privleak", "privleak_auc", "wall_s"):
            assert same(g.attrs[c], row[c]), (row["model"], row["precision"], c)
        for sect, fields in (("verbmem", ("prompt", "reference", "generation")),
                             ("knowmem_forget", ("question", "answer", "generation")),
                             ("knowmem_retain", ("question", "answer", "generation"))):
            if sect not in g:
                continue
            n = len(g[sect]["rouge"])
            for fld in fields:
                s = g[sect][fld].asstr()[()]
                assert len(s) == n, (g.name, sect, fld)
                n_strings += len(s)
            if check_means and n:  # the metric is the mean per-sample ROUGE-L × 100
                attr = {"verbmem": "verbmem_f", "knowmem_forget": "knowmem_f",
                        "knowmem_retain": "knowmem_r"}[sect]
                mean = 100 * g[sect]["rouge"][()].mean()
                assert abs(mean - g.attrs[attr]) < 1e-9 * max(1.0, mean), (g.name, sect)
        if "ci_metrics" in g.attrs:
            for m in g.attrs["ci_metrics"]:
                m = m.decode() if isinstance(m, bytes) else m
                if m in ("verbmem_f", "knowmem_f", "knowmem_r", "privleak"):
                    assert same(g.attrs[m + "_lo"], row[m + "_lo"]), (g.name, m)
        if "vs_full" in g:
            vs = read_table(g["vs_full"])
            for _, d in vs.iterrows():
                assert same(d["mean"], row["d_" + d["metric"]]), (g.name, d["metric"])
        if "code_change" in g:
            cc = g["code_change"]
            assert same(cc.attrs["frac_codes_changed"], row["codes_changed_frac"])
            assert same(cc.attrs["mean_ratio"], row["mean_dw_over_delta"])
            layers = read_table(cc["layers"])
            assert layers["n_weights"].sum() == cc.attrs["n_weights"]
            assert layers["n_codes_changed"].sum() == cc.attrs["n_codes_changed"]
            assert cc["hist"][()].sum() == cc.attrs["n_weights"]
            assert len(cc["bin_edges"]) == len(cc["hist"])
        else:
            assert math.isnan(row["codes_changed_frac"])
    print(df[["model", "precision", "verbmem_f", "knowmem_f", "knowmem_r", "privleak",
              "codes_changed_frac"]].to_string(index=False))
    print(f"OK: {path}: {len(df)} summary rows, {len(stages)} stages, "
          f"{n_strings} per-sample strings, run_name={prov['run_name']!r}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--no-means"]
    if len(args) != 1:
        sys.exit("usage: check_archive.py [--no-means] ARCHIVE.h5\n"
                 "  --no-means: skip metric == mean(per-sample rouge) × 100 "
                 "(synthetic test archives)")
    check(args[0], check_means="--no-means" not in sys.argv)
