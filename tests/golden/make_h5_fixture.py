#!/usr/bin/env python3
"""tests/golden/make_h5_fixture.py — writes tests/golden/fixtures/h5py_written.h5
with h5py, an HDF5 writer independent of relapse, for the test
H5.ReadsFileWrittenByH5py (tests/archive/test_h5.cpp). Includes fixed-length
strings, which relapse never writes but must read.

    /work/venv/bin/python tests/golden/make_h5_fixture.py

libver="earliest" (h5py's default) keeps the file readable by HDF5 1.10.
Never a runtime dependency of relapse.
"""
from pathlib import Path

import h5py
import numpy as np

UNICODE = "Grüße, 日本語, 🙂 — ∑"

out = Path(__file__).resolve().parent / "fixtures" / "h5py_written.h5"
with h5py.File(out, "w", libver="earliest", track_order=False) as f:
    f.attrs["title"] = "written by h5py"
    f.attrs["version"] = np.int64(3)
    f.attrs["ratio"] = np.float64(0.25)
    f.attrs["names"] = ["x", "yy"]
    f.create_dataset("f32", data=np.array([1.5, -2.25], dtype="<f4"))
    f.create_dataset("g/f64", data=np.arange(1, 7, dtype="<f8").reshape(2, 3))
    f.create_dataset("i64", data=np.array([-5, 0, 1 << 40], dtype="<i8"))
    f.create_dataset("vlen", data=["a", "", UNICODE], dtype=h5py.string_dtype("utf-8"))
    f.create_dataset("fixed", data=np.array([b"ab", b"", b"abcd"], dtype="S4"))
print(f"wrote {out} ({out.stat().st_size} bytes) with h5py {h5py.__version__}, "
      f"HDF5 {h5py.version.hdf5_version}")
