#!/usr/bin/env python3
"""tests/golden/check_h5_readable.py — prints an HDF5 file written by relapse as
h5py sees it (every group, dataset and attribute), as an independent check that
relapse's archives are readable outside relapse. Not run by CI.

    /work/venv/bin/python tests/golden/check_h5_readable.py FILE [--expect-sample]

--expect-sample additionally asserts the exact contents of the sample written by
the test H5Sample.WriteReadBack (tests/archive/test_h5.cpp), including reading
the summary table into a pandas DataFrame the way relapse/archive/h5.h documents:

    RELAPSE_H5_SAMPLE_OUT=/tmp/sample.h5 build/tests/test_h5 --gtest_filter=H5Sample.*
    /work/venv/bin/python tests/golden/check_h5_readable.py /tmp/sample.h5 --expect-sample
"""
import sys

import h5py
import numpy as np

UNICODE = "Grüße, 日本語, 🙂 — ∑"


def show(name, obj):
    if isinstance(obj, h5py.Dataset):
        v = obj.asstr()[()] if obj.dtype.kind == "O" else obj[()]
        print(f"/{name}  dataset {obj.dtype} {obj.shape}: {v!r}"[:400])
    else:
        print(f"/{name}  group")
    for k, a in obj.attrs.items():
        print(f"    @{k} = {a!r}")


def as_str(x):
    return x.decode() if isinstance(x, bytes) else str(x)


def table(g):
    import pandas as pd
    cols = [as_str(c) for c in g.attrs["columns"]]
    return pd.DataFrame({c: (g[c].asstr()[()] if g[c].dtype.kind == "O" else g[c][()]) for c in cols})


def check_sample(f):
    r = f["/"]
    assert r.attrs["title"] == "relapse h5 sample"
    assert r.attrs["version"] == 1 and r.attrs["version"].dtype == np.int64
    assert r.attrs["pi"] == np.pi and r.attrs["pi"].dtype == np.float64
    assert list(r.attrs["ratios"]) == [0.5, 0.25]
    assert [as_str(t) for t in r.attrs["tags"]] == ["x", UNICODE]
    d = f["data"]
    assert d["f32"].dtype == np.dtype("<f4") and d["f32"][()].tolist() == \
        np.array([1.5, -2.25, 3.0e-8], dtype=np.float32).tolist()
    assert d["f64"].dtype == np.dtype("<f8") and d["f64"].shape == (2, 3)
    assert (d["f64"][()] == np.arange(1, 7).reshape(2, 3)).all()
    assert d["i64"].dtype == np.dtype("<i8")
    assert d["i64"][()].tolist() == [np.iinfo(np.int64).min, 0, np.iinfo(np.int64).max]
    assert d["i32"].dtype == np.dtype("<i4") and d["i32"][()].tolist() == [[1, 2], [3, 4]]
    gen = f["text/gen"]
    assert h5py.check_string_dtype(gen.dtype).encoding == "utf-8"
    assert gen.asstr()[()].tolist() == ["hello", "", UNICODE]
    assert gen[()].tolist() == [b"hello", b"", UNICODE.encode()]
    lp = f["logprobs"]
    assert as_str(lp.attrs["layout"]) == "ragged"
    vals, offs = lp["values"][()], lp["offsets"][()]
    rows = [vals[offs[i]:offs[i + 1]].tolist() for i in range(len(offs) - 1)]
    assert rows == [[-0.5, -1.25], [], [-3.0]], rows
    df = table(f["summary"])
    print(df)
    assert list(df.columns) == ["model", "bits", "forget_verbmem"]
    assert df["model"].tolist() == ["target", "unlearned"]
    assert df["bits"].tolist() == [16, 4] and df["bits"].dtype == np.int64
    assert df["forget_verbmem"].tolist() == [0.58, 0.21]
    assert f["summary"].attrs["nrows"] == 2
    print("sample OK")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    with h5py.File(sys.argv[1], "r") as f:
        show("", f)
        f.visititems(show)
        if "--expect-sample" in sys.argv[2:]:
            check_sample(f)


if __name__ == "__main__":
    main()
