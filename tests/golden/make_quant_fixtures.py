#!/usr/bin/env python3
# tests/golden/make_quant_fixtures.py — numpy reference for relapse's RTN
# quantization (src/quant/rtn.cpp), written independently of the C++ from the
# formulas: the paper's symmetric absmax Δ = max|w| / 2^(N−1), Q(w) = Δ·round(w/Δ)
# (literal "rtn_sym" and clamped "rtn_sym_clamp"), and AutoGPTQ's asymmetric
# min/max with zero point (quantizer.py find_params, sym=False). All arithmetic
# in float32 in the same operation order; np.round is round-half-to-even.
#
#   /work/venv/bin/python tests/golden/make_quant_fixtures.py
#
# writes tests/golden/fixtures/quant/rtn_cases.safetensors (deterministic bytes):
#   input/<input>                 float32 [out, in]  (the *_bf16 inputs hold
#                                 bfloat16-representable values)
#   <input>/<scheme>/b<bits>/g<group>/codes    int16 | int8 | uint8 [out, in]
#   <input>/<scheme>/b<bits>/g<group>/scales   float32 [out, n_groups]
#   <input>/<scheme>/b<bits>/g<group>/zeros    uint8 [out, n_groups] (asym only)
#   <input>/<scheme>/b<bits>/g<group>/dequant  float32 [out, in], or for *_bf16
#                                 inputs int16 holding the bfloat16 bit patterns
#                                 (fp32 result rounded to nearest-even bf16)
# Only numpy and the safetensors package are used.
import os

import numpy as np
from safetensors.numpy import save_file

F32 = np.float32
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "quant")


def rtn(w, scheme, bits, group):
    out, inn = w.shape
    gs = inn if group == -1 else group
    assert inn % gs == 0
    x = w.astype(F32).reshape(out, inn // gs, gs)
    zeros = None
    if scheme == "rtn_asym":
        maxq = F32(2**bits - 1)
        xmin = np.minimum(x.min(-1, keepdims=True), F32(0))
        xmax = np.maximum(x.max(-1, keepdims=True), F32(0))
        both0 = (xmin == 0) & (xmax == 0)
        xmin = np.where(both0, F32(-1), xmin)
        xmax = np.where(both0, F32(1), xmax)
        scale = (xmax - xmin) / maxq
        zero = np.round(-xmin / scale)
        q = np.clip(np.round(x / scale) + zero, F32(0), maxq)
        deq = scale * (q - zero)
        codes = q.astype(np.uint8)
        zeros = zero.reshape(out, -1).astype(np.uint8)
    else:
        half = F32(2 ** (bits - 1))
        amax = np.abs(x).max(-1, keepdims=True)
        scale = amax / half
        safe = np.where(scale == 0, F32(1), scale)
        q = np.round(x / safe)
        if scheme == "rtn_sym_clamp":
            q = np.clip(q, -half, half - F32(1))
            codes = q.astype(np.int8)
        else:
            codes = q.astype(np.int16)
        deq = scale * q
    for a in (x, scale, q, deq):
        assert a.dtype == F32, a.dtype
    assert np.isfinite(deq).all()
    return codes.reshape(out, inn), scale.reshape(out, -1), zeros, deq.reshape(out, inn)


def bf16_bits(a):
    """float32 -> bfloat16 bit patterns (int16), round to nearest even."""
    u = np.ascontiguousarray(a, dtype=F32).view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return rounded.astype(np.uint16).view(np.int16)


def bf16_values(a):
    b = bf16_bits(a).view(np.uint16).astype(np.uint32) << 16
    return b.view(F32)


def edge_matrix():
    """6 x 64: all-zero row, constant rows, negative-only row, exact .5 ties, positive absmax."""
    w = np.zeros((6, 64), dtype=F32)
    w[1, :] = 0.5                                   # constant positive group
    rng = np.random.default_rng(7)
    w[2, :] = -rng.uniform(0.1, 1.0, 64).astype(F32)  # negative only
    # Ties: -8 and 7 in every 32-group, so sym 4-bit Δ = 1, asym 4-bit scale = 1,
    # zero = 8; the other entries are k + 0.5 (w/Δ exactly halfway).
    ties = np.array([-8, 7, 0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, -3.5, 4.5, -4.5, 5.5, 6.5,
                     -5.5, -6.5, -7.5, 0.25, 0.75, 1.0, -1.0, 3.0, -3.0, 2.0, 6.0, -6.0,
                     0.0, -0.0, 5.0, -5.0, 4.0, -4.0], dtype=F32)
    w[3, :32] = ties
    w[3, 32:] = ties[::-1]
    w[4, :] = -0.25                                 # constant negative group
    row5 = rng.normal(0, 0.3, 64).astype(F32)       # positive absmax in each group
    row5[5], row5[40] = 1.75, 2.0
    w[5, :] = row5
    return w


def main():
    rng = np.random.default_rng(20250101)
    inputs = {
        "random": (rng.standard_normal((4, 128)) * 0.02).astype(F32),
        "edge": edge_matrix(),
        "random_bf16": bf16_values((rng.standard_normal((4, 128)) * 0.05).astype(F32)),
    }
    plans = {
        "random": [(s, b, g) for s in ("rtn_sym", "rtn_sym_clamp", "rtn_asym")
                   for b in (8, 4, 3, 2) for g in (32, 64, 128, -1)],
        "edge": [(s, b, g) for s in ("rtn_sym", "rtn_sym_clamp", "rtn_asym")
                 for b in (8, 4, 3, 2) for g in (32, 64, -1)],
        "random_bf16": [("rtn_sym", 4, 32), ("rtn_asym", 4, 64), ("rtn_sym", 8, -1),
                        ("rtn_sym_clamp", 3, 32), ("rtn_asym", 2, 128)],
    }
    tensors = {}
    saw_top_code = False
    for name, w in inputs.items():
        tensors["input/" + name] = w
        for scheme, bits, group in plans[name]:
            codes, scales, zeros, deq = rtn(w, scheme, bits, group)
            key = f"{name}/{scheme}/b{bits}/g{group}/"
            tensors[key + "codes"] = codes
            tensors[key + "scales"] = scales
            if zeros is not None:
                tensors[key + "zeros"] = zeros
            tensors[key + "dequant"] = bf16_bits(deq) if name.endswith("_bf16") else deq
            if scheme == "rtn_sym" and codes.max() == 2 ** (bits - 1):
                saw_top_code = True
    assert saw_top_code, "no case reaches the +2^(N-1) code of the literal formula"
    # Sanity checks of the edge cases the C++ test relies on.
    c, s, _, d = rtn(inputs["edge"], "rtn_sym", 4, 32)
    assert (s[0] == 0).all() and (c[0] == 0).all() and (d[0] == 0).all()
    assert list(c[3, 2:10]) == [0, 2, 2, 4, 0, -2, -2, -4]  # half-to-even at Δ = 1
    os.makedirs(OUT, exist_ok=True)
    save_file(tensors, os.path.join(OUT, "rtn_cases.safetensors"),
              metadata={"generator": "tests/golden/make_quant_fixtures.py",
                        "numpy": np.__version__})
    print(f"wrote {len(tensors)} tensors to {OUT}/rtn_cases.safetensors")


if __name__ == "__main__":
    main()
