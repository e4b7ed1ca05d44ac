#!/usr/bin/env python3
# tests/golden/make_bnb_fixtures.py — reference values for relapse's bitsandbytes
# emulations (src/quant/bnb.cpp), computed with the REAL bitsandbytes library
# (pip bitsandbytes 0.50.2, its CPU backend) plus a numpy transcription of the
# CUDA kernels the paper's code ran on (bitsandbytes csrc/kernels.cu
# dQuantizeFP4 / dQuantizeNF4 decision trees; csrc/ops int8 kInt8VectorQuant and
# kdequant_mm_int32_fp16 with MM_DEQUANT_CONST 6.200012e-05f).
#
#   /work/venv/bin/python tests/golden/make_bnb_fixtures.py
#
# writes tests/golden/fixtures/bnb/bnb_cases.safetensors (deterministic bytes):
#   code/fp4, code/nf4           float32 [16]  bnb.functional.get_4bit_type(...)
#   code/dynamic                 float32 [256] bnb.functional.create_dynamic_map()
#   w4/<in>                      the 4-bit input weight (float32 or bfloat16); <in> is
#                                f32 / bf16 ([12, 256]) and f32_48x80, bf16_48x80,
#                                f32_16x352, bf16_16x352, f32_5x72, bf16_5x72 (in % 64 != 0:
#                                blocks over the flattened tensor span rows; 5x72 = 360
#                                elements also ends in a partial block of 40)
#   w4/<in>/<fmt>/codes_bnb      uint8 [numel/2, 1]  F.quantize_4bit's packed output as is
#                                (high nibble = even element) — real library, CPU; the
#                                codes do not depend on double quant (asserted)
#   w4/<in>/<fmt>/codes_cuda     uint8 [numel/2, 1]  the CUDA decision trees on the same
#                                normalised values (x * (1/absmax), fp32), packed alike
#   w4/<in>/<fmt>/dq<0|1>/absmax float32, the absmax dequantisation uses (double quant:
#                                dequantize_blockwise(qabsmax) + offset), in relapse's
#                                layout: [out, in/64] when in % 64 == 0, else [1, n_blocks]
#   (F.dequantize_4bit's output is not stored: the script asserts it equals
#    (code[codes_bnb] * absmax).to(dtype) bit for bit, so the test rebuilds it exactly)
#   i8/<in>/w, i8/<in>/cb, i8/<in>/scb   weight, F.int8_vectorwise_quant(w.half())
#   i8/<in>/<case>/x, bias       input activations [rows, in] (x dtype) and bias
#   i8/<in>/<case>/t<thr>/y_bnb  bnb.matmul(x, W, state=MatmulLtState(CB, SCB,
#                                threshold, has_fp16_weights=False), bias) — real lib
#   i8/<in>/<case>/t<thr>/y_cuda the same forward transcribed from the CUDA path
#                                (float64 numpy, rounding where CUDA rounds)
import os

import numpy as np
import torch
from safetensors.torch import save_file

import bitsandbytes as bnb
import bitsandbytes.functional as F
from bitsandbytes.autograd._functions import MatmulLtState
from bitsandbytes.backends.default.ops import _dequantize_4bit_compute

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "bnb")
torch.manual_seed(0)
torch.set_num_threads(1)
f32 = np.float32

# --- CUDA decision trees (kernels.cu), thresholds as fp32 literals --------------------------
FP4_T = [f32(v) for v in (0.29166667, 0.583333, 0.8333333, 0.4166667, 0.0859375, 0.20833333, 0.00260417)]
NF4_T = [f32(v) for v in (0.03979014977812767, 0.3893125355243683, 0.6427869200706482,
                         0.8614784181118011, 0.5016634166240692, 0.2035212516784668,
                         0.2920137718319893, 0.1202552504837513, -0.33967943489551544,
                         -0.13791173323988914, -0.045525018125772476, -0.23460740596055984,
                         -0.6106329262256622, -0.4599952697753906, -0.8480964004993439)]


def fp4_tree(x):
    s = 8 if x < 0 else 0
    a = abs(x)
    t = FP4_T
    if a > t[0]:
        if a > t[1]:
            return (3 if a > t[2] else 2) + s
        return (5 if a > t[3] else 4) + s
    if a > t[4]:
        return (7 if a > t[5] else 6) + s
    return (1 if a > t[6] else 0) + s


def nf4_tree(x):
    # sorted thresholds: code k is chosen when x > thr[k-1] and not > thr[k]
    thr = sorted(NF4_T)
    k = 0
    while k < 15 and x > thr[k]:
        k += 1
    return k


def cuda_codes(w, fmt, bs=64):
    # kQuantizeBlockwise: blocks over the flattened tensor, the last one loaded
    # with valid_items = n - i and padded with 0 (absmax over its own elements).
    x = w.float().reshape(-1).numpy()
    n = x.size
    nb = -(n // -bs)
    xp = np.zeros(nb * bs, f32)
    xp[:n] = x
    xp = xp.reshape(nb, bs)
    am = np.abs(xp).max(1).astype(f32)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = (f32(1) / am).astype(f32)
        xn = (xp * inv[:, None]).astype(f32)  # all-zero block: 0*inf = NaN
    fn = fp4_tree if fmt == "fp4" else nf4_tree
    return np.vectorize(fn, otypes=[np.uint8])(xn).reshape(-1)[:n].reshape(w.shape)


def pack(c):
    c = c.reshape(-1)
    assert c.numel() % 2 == 0
    return ((c[0::2] << 4) | c[1::2]).unsqueeze(1).contiguous()


def unpack(q, shape):
    q = q.reshape(-1)
    out = torch.empty(q.numel() * 2, dtype=torch.uint8)
    out[0::2] = q >> 4
    out[1::2] = q & 15
    return out[: int(np.prod(shape))].reshape(shape)


def weights4():
    out, inn = 12, 256
    w = torch.randn(out, inn) * 0.02
    w[0, 5] = 0.0                      # exact zero
    w[0, 6] = -1e-9                    # tiny negative (FP4: CUDA sign bit -> code 8)
    w[1, 64:128] = 0.0                 # an all-zero block
    w[2, 0] = 0.08                     # block absmax 0.08 with exact-tie neighbours:
    w[2, 1] = 0.08 * 0.0859375         #   FP4 midpoint 11/128 (tie, both signs)
    w[2, 2] = -0.08 * 0.0859375
    w[2, 3] = 0.08 * 0.5               #   exact code value
    w[3, 10] = 0.5                     # a large outlier in a block
    w[4, 128:192] = -torch.rand(64) * 0.01  # negative-only block
    wb = (torch.randn(out, inn) * 0.02).to(torch.bfloat16)
    wb[0, 0] = 0.0
    wb[0, 1] = 0.25                    # bf16 block absmax 0.25, tie values representable
    wb[0, 2] = torch.tensor(0.25 * 0.0859375).to(torch.bfloat16)
    wb[0, 3] = torch.tensor(-0.25 * 0.0859375).to(torch.bfloat16)
    wb[0, 4] = torch.tensor(0.25 * 0.2083333333).to(torch.bfloat16)
    ws = {"f32": w, "bf16": wb}
    # Shapes whose input dimension is not a multiple of 64 (own generator, so the
    # cases above and the LLM.int8 ones keep their values).
    g = torch.Generator().manual_seed(1)
    for out, inn in ((48, 80), (16, 352), (5, 72)):
        a = torch.randn(out, inn, generator=g) * 0.02
        a[0, 70] = 0.3                  # an outlier; for [48, 80] its block 1 spans rows 0-1
        a.view(-1)[384:448] = 0.0       # an all-zero block (spans rows 4-5 for [48, 80])
        a[-1, -2] = -0.2                # the last block (partial for [5, 72]) has its own max
        b = (torch.randn(out, inn, generator=g) * 0.02).to(torch.bfloat16)
        b[0, inn - 1] = 0.25            # a bf16 block spanning rows with absmax 0.25 and ties
        b[1, 0] = torch.tensor(0.25 * 0.0859375).to(torch.bfloat16)
        b[1, 1] = torch.tensor(-0.25 * 0.0859375).to(torch.bfloat16)
        ws[f"f32_{out}x{inn}"] = a
        ws[f"bf16_{out}x{inn}"] = b
    return ws


def main():
    os.makedirs(OUT, exist_ok=True)
    t = {}
    t["code/fp4"] = F.get_4bit_type("fp4", device="cpu").float()
    t["code/nf4"] = F.get_4bit_type("nf4", device="cpu").float()
    t["code/dynamic"] = F.create_dynamic_map().float()
    mism, native_bad = {}, {}
    for name, w in weights4().items():
        t[f"w4/{name}"] = w.contiguous()
        out, inn = w.shape
        nb = -(w.numel() // -64)
        layout = (out, inn // 64) if inn % 64 == 0 else (1, nb)
        for fmt in ("fp4", "nf4"):
            codes = None
            for dq in (0, 1):
                p = f"w4/{name}/{fmt}/dq{dq}"
                q, st = F.quantize_4bit(w, blocksize=64, quant_type=fmt, compress_statistics=bool(dq))
                if dq:
                    am = F.dequantize_blockwise(st.absmax, st.state2) + st.offset
                else:
                    am = st.absmax
                assert am.numel() == nb
                deq = F.dequantize_4bit(q, st)
                # bnb's native CPU dequant kernel (csrc/cpu_ops.cpp dequantizeBlockwise4bitCpu,
                # AVX-512 path: absmax_dim_1 = n / blocksize per row) assumes blocks inside
                # rows, which quantize_4bit does not produce when in % 64 != 0. The
                # library's own flattened dequant (backends/default/ops.py
                # _dequantize_4bit_compute, the CPU fallback for odd widths, like CUDA's
                # kDequantizeBlockwise) is the reference then.
                gen = _dequantize_4bit_compute(q.reshape(-1), am.float(), st.code, 64, w.shape, w.dtype)
                if inn % 64 == 0:
                    assert torch.equal(gen, deq), p
                else:
                    native_bad[p] = int((gen != deq).sum())
                    deq = gen
                if codes is None:
                    codes = q.clone()
                assert torch.equal(codes, q), "codes depend on double quant"
                cb = unpack(q, w.shape)
                rebuilt = (st.code[cb.reshape(-1).long()]
                           * am.float().repeat_interleave(64)[: w.numel()]).to(w.dtype)
                assert torch.equal(rebuilt.reshape(w.shape), deq), f"dequant identity fails for {p}"
                t[p + "/absmax"] = am.float().reshape(layout).contiguous()
                if dq == 0:
                    cc = torch.from_numpy(cuda_codes(w, fmt))
                    t[f"w4/{name}/{fmt}/codes_bnb"] = q.contiguous()
                    t[f"w4/{name}/{fmt}/codes_cuda"] = pack(cc)
                    mism[f"w4/{name}/{fmt}"] = int((cb != cc).sum())
    print("4-bit code mismatches real-bnb(CPU) vs CUDA tree:", mism)
    print("bnb native CPU dequant_4bit vs its flattened dequant (in % 64 != 0):", native_bad)

    # --- LLM.int8 ---------------------------------------------------------------------------
    for name, dt in (("f32", torch.float32), ("bf16", torch.bfloat16), ("f16", torch.float16)):
        out, inn = 24, 64
        w = (torch.randn(out, inn) * 0.05).to(dt)
        cb, scb, _ = F.int8_vectorwise_quant(w.to(torch.float16))
        t[f"i8/{name}/w"] = w
        t[f"i8/{name}/cb"] = cb
        t[f"i8/{name}/scb"] = scb.float()
        bias = (torch.randn(out) * 0.1).to(dt)
        xs = {}
        x = torch.randn(5, inn).to(dt)
        xs["plain"] = x
        x = torch.randn(5, inn)
        x[0, 3] = 9.0                  # outlier column 3 (row 0)
        x[2, 3] = 2.0                  # non-outlier in an outlier column
        x[1, 17] = -6.0                # exactly -threshold: |x| >= 6 is an outlier
        x[3, 40] = 5.99                # just below
        x[4, 50] = 30.0
        xs["outlier"] = x.to(dt)
        for case, x in xs.items():
            t[f"i8/{name}/{case}/x"] = x.contiguous()
            t[f"i8/{name}/{case}/bias"] = bias.clone()
            for thr in (0.0, 6.0):
                st = MatmulLtState()
                st.CB, st.SCB = cb, scb
                st.threshold = thr
                st.has_fp16_weights = False
                st.is_training = False
                with torch.no_grad():
                    y = bnb.matmul(x, w, state=st, bias=bias)
                t[f"i8/{name}/{case}/t{int(thr)}/y_bnb"] = y.contiguous()
                t[f"i8/{name}/{case}/t{int(thr)}/y_cuda"] = int8_cuda(x, cb, scb, thr, bias).contiguous()
    path = os.path.join(OUT, "bnb_cases.safetensors")
    save_file(t, path,
              # ONE metadata key: safetensors writes the metadata map in hash order, so
              # two keys would make the bytes differ from run to run.
              metadata={"versions": f"bitsandbytes {bnb.__version__}; torch {torch.__version__}"})
    print("bitsandbytes", bnb.__version__, "tensors", len(t), "bytes", os.path.getsize(path))


def int8_cuda(x, cb, scb, thr, bias):
    """LLM.int8 forward as the CUDA path computes it (MatMul8bitLt, inference)."""
    dt = x.dtype
    a16 = x.to(torch.float16).float().numpy().astype(np.float64)
    cbn = cb.numpy().astype(np.float64)
    scbn = scb.numpy().astype(f32)
    cols = np.zeros(a16.shape[1], bool)
    if thr > 0:
        cols = (np.abs(a16) >= thr).any(0)
        keep = np.abs(a16) < thr
    else:
        keep = np.ones_like(a16, bool)
    absmax = np.where(keep, np.abs(a16), 0).max(1).astype(f32)
    scale = ((f32(1.0) / absmax).astype(f32) * f32(127.0)).astype(f32)  # __fdividef ~ 127*rcp
    ca = np.rint((a16.astype(f32) * scale[:, None]).astype(f32)).astype(np.float64)
    ca[~keep] = 0
    ca[:, cols] = 0
    acc = ca @ cbn.T  # exact: |acc| <= 64*127*127 < 2^24... and integer in float64
    prod = (acc.astype(f32) * absmax[:, None]).astype(f32) * scbn[None, :]
    prod = prod.astype(f32)
    C = f32(6.200012e-05)
    b = bias.float().numpy().astype(f32) if bias is not None else np.zeros(cb.shape[0], f32)
    if bias is not None and bias.dtype == torch.float16:
        y16 = (prod.astype(np.float64) * np.float64(C) + b.astype(np.float64)).astype(f32)  # fmaf
        y16 = y16.astype(np.float16)
    else:
        y16 = (prod.astype(np.float64) * np.float64(C)).astype(f32).astype(np.float16)
        if bias is not None:
            y16 = (y16.astype(f32) + b).astype(np.float16)
    y = torch.from_numpy(y16.astype(f32)).to(torch.float16).to(dt)
    if cols.any():
        sub_a = x.float().numpy().astype(np.float64)[:, cols]
        # int8_vectorwise_dequant (bitsandbytes/_ops.py, the only registration): (CB * SCB) * (1/127)
        sub_b = ((cb.float() * scb.view(-1, 1)) * 7.874015718698502e-3).to(dt).float().numpy()
        sub_b = sub_b.astype(np.float64)[:, cols]
        y = torch.from_numpy((y.float().numpy().astype(np.float64) + sub_a @ sub_b.T)).to(dt)
    return y


if __name__ == "__main__":
    main()
