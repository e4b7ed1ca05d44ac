#!/usr/bin/env python3
"""tests/golden/make_safetensors_fixture.py — writes the safetensors fixtures
read by tests/model/test_safetensors.cpp with the reference implementation
(huggingface safetensors.torch.save_file), and checks files relapse wrote.

  make_safetensors_fixture.py            regenerate tests/golden/fixtures/safetensors/
  make_safetensors_fixture.py --check D  load every *.safetensors in D (written by
                                         relapse, see RELAPSE_TEST_SAFETENSORS_OUT in
                                         the test) with safetensors.safe_open, compare
                                         the values with fixture_tensors(), and check
                                         reference.safetensors is byte-identical to
                                         what Python writes for the same tensors.

Every value is exactly representable in its dtype, so the C++ test can rebuild
the expected tensors itself and compare bit for bit.
"""
import argparse
import json
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "safetensors")


def fixture_tensors():
    return {
        "a.f64": torch.tensor([1.0 / 3.0, -2.5, 1e300], dtype=torch.float64),
        "b.f32": (torch.arange(12, dtype=torch.float32) * 0.25 - 1.0).reshape(3, 4),
        "c.bf16": torch.tensor([[-2.0, -0.0, 1.0, 3.140625], [float("inf"), float("-inf"), 2.0**-133, 65280.0]],
                               dtype=torch.bfloat16),
        "d.f16": torch.tensor([65504.0, -0.0, float("inf"), 2.0**-24, -1.5], dtype=torch.float16),
        "e.i64": torch.tensor([[2**40 + 1, -(2**62)], [0, -1]], dtype=torch.int64),
        "f.i32": torch.tensor([2**31 - 1, -(2**31), 7], dtype=torch.int32),
        "g.i16": torch.tensor([-32768, 32767], dtype=torch.int16),
        "h.i8": torch.tensor([-128, -1, 0, 127], dtype=torch.int8),
        "i.u8": torch.tensor([[0, 1, 127], [128, 254, 255]], dtype=torch.uint8),
        "j.bool": torch.tensor([True, False, False, True, True]),
        "k.empty": torch.zeros(0, 3, dtype=torch.float32),
        "l.scalar": torch.tensor(42.5, dtype=torch.float32),
    }


# reference.safetensors: two metadata keys (values read back by the test).
# reference_pt.safetensors: only {"format": "pt"}, so the header's key order is
# fixed and relapse's writer can be compared with it byte for byte.
META = {"format": "pt", "source": "relapse make_safetensors_fixture.py"}
META_PT = {"format": "pt"}


def generate():
    os.makedirs(OUT, exist_ok=True)
    save_file(fixture_tensors(), os.path.join(OUT, "reference.safetensors"), metadata=META)
    save_file(fixture_tensors(), os.path.join(OUT, "reference_pt.safetensors"), metadata=META_PT)
    for f in sorted(os.listdir(OUT)):
        print(f, os.path.getsize(os.path.join(OUT, f)), "bytes")


def check(d):
    want = fixture_tensors()
    files = sorted(f for f in os.listdir(d) if f.endswith(".safetensors"))
    if not files:
        sys.exit(f"no .safetensors files in {d}")
    for f in files:
        p = os.path.join(d, f)
        with safe_open(p, framework="pt") as sf:
            for k in sf.keys():
                t = sf.get_tensor(k)
                if k in want:
                    w = want[k]
                    assert t.dtype == w.dtype and t.shape == w.shape, (f, k, t.dtype, t.shape)
                    assert t.view(-1).view(torch.uint8).tolist() == w.reshape(-1).view(torch.uint8).tolist() \
                        if t.numel() else True, (f, k)
            print(f"{f}: {len(sf.keys())} tensors load, metadata {sf.metadata()}")
        # Byte identity with Python's writer for the same tensors, in the order
        # relapse wrote them (Python orders by dtype alignment then name itself).
        with safe_open(p, framework="pt") as sf:
            tensors = {k: sf.get_tensor(k) for k in sf.keys()}
            meta = sf.metadata()
        if meta is None or len(meta) <= 1:
            tmp = p + ".py"
            save_file(tensors, tmp, metadata=meta)
            same = open(tmp, "rb").read() == open(p, "rb").read()
            os.remove(tmp)
            print(f"{f}: byte-identical to safetensors.torch.save_file: {same}")
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(idx):
        index = json.load(open(idx))
        for k, f in index["weight_map"].items():
            with safe_open(os.path.join(d, f), framework="pt") as sf:
                assert k in sf.keys(), (k, f)
        print(f"index: {len(index['weight_map'])} tensors, total_size {index['metadata']['total_size']}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", metavar="DIR")
    a = ap.parse_args()
    check(a.check) if a.check else generate()
