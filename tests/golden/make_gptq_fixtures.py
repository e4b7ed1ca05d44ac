#!/usr/bin/env python3
# tests/golden/make_gptq_fixtures.py — a PyTorch reference of GPTQ for one linear
# layer, written for relapse's tests from AutoGPTQ's published algorithm
# (AutoGPTQ/AutoGPTQ auto_gptq/quantization/gptq.py GPTQ.fasterquant and
# auto_gptq/quantization/quantizer.py Quantizer.find_params / quantize, with
# perchannel=True, mse=False as AutoGPTQ configures it), and the fixture it writes:
#
#   tests/golden/fixtures/gptq/gptq_cases.safetensors   (deterministic bytes)
#
# Layers (keys "<layer>/..."): "a" W [48, 64], "b" W [32, 96]; "<layer>/w" fp32,
# "<layer>/x" the calibration inputs [samples, seq, in] stored as bfloat16 (the
# values are bf16-exact; relapse reads them as they are), "<layer>/n" int64 [1]
# the sample count, "a/h" fp32 [in, in] (b's H, computed the same way, is not
# stored: size budget) = fp32(2 * sum_tokens x x^T / n)
# with the sum in float64 (relapse's GptqHessian; AutoGPTQ's add_batch rescales
# a running fp32 H per batch instead, which differs from this in the last fp32
# bits only). Inputs have a few outlier channels (x8) and one dead channel
# (all zero, so H_ii = 0: GPTQ zeroes that weight column).
#
# Cases (keys "<layer>/<sym|asym>/b<bits>/g<group>/act<0|1>/st<0|1>/bs<block>/..."):
# codes uint8 [out, in], scales fp32 [out, n_groups], zeros uint8 [out, n_groups],
# g_idx int32 [in], loss float64 [1] (sum of AutoGPTQ's Losses). The dequantized
# weight is scales * (codes - zeros) per group (one fp32 op, asserted here
# against the reference's Q bit for bit), so it is not stored.
#
# Two deliberate deviations from AutoGPTQ: the block-end update uses fp64
# accumulation (see block_update), and the Cholesky factorisations of H and
# H^-1 run in fp64, rounded once to fp32 (see fasterquant). Both make the codes
# independent of the BLAS/LAPACK and its thread count. Everything else is
# AutoGPTQ's fp32 order. Regenerated with torch 2.11.0 (the project's pin).
# The quantizer is the exact AutoGPTQ formula (see find_params): sym forces the
# range to [-max|w|, max|w|] only when the group has a negative value (a group
# with min >= 0 keeps xmin = 0), and sym's zero is (maxq + 1) / 2.
# Ties in act-order's argsort(diag(H), descending) are broken stably (lowest
# column first); AutoGPTQ's unstable argsort leaves them to the backend.
# Run: /work/venv/bin/python tests/golden/make_gptq_fixtures.py
import os

import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "gptq")


def find_params(x, bits, sym):
    """AutoGPTQ Quantizer.find_params(x, weight=True), perchannel, no mse: per row of x."""
    maxq = torch.tensor(2**bits - 1)
    tmp = torch.zeros(x.shape[0])
    xmin = torch.minimum(x.min(1)[0], tmp)
    xmax = torch.maximum(x.max(1)[0], tmp)
    if sym:
        xmax = torch.maximum(torch.abs(xmin), xmax)
        neg = xmin < 0
        xmin[neg] = -xmax[neg]
    both = (xmin == 0) & (xmax == 0)
    xmin[both] = -1
    xmax[both] = +1
    scale = (xmax - xmin) / maxq
    if sym:
        zero = torch.full_like(scale, (maxq + 1) / 2)
    else:
        zero = torch.round(-xmin / scale)
    return scale.reshape(-1, 1), zero.reshape(-1, 1)


def quantize(x, scale, zero, bits):
    """AutoGPTQ quantize(): returns (integer codes as float, dequantized)."""
    maxq = 2**bits - 1
    q = torch.clamp(torch.round(x / scale) + zero, 0, maxq)
    return q, scale * (q - zero)


def block_update(err, hinv):
    """Err1 @ Hinv[i1:i2, i2:] with fp64 products and sums, rounded once to fp32.
    AutoGPTQ uses an fp32 matmul here, whose summation order is the BLAS's own
    (MKL, OpenBLAS and cuBLAS differ in the last bits, and with groups starting
    inside later blocks that flips codes: 6 of 3072 in case b/sym/b4/g32/act1/
    st0/bs16 between this script's MKL and relapse's OpenBLAS). fp64 makes the
    result the same on every BLAS and device (a tie at fp32 rounding after fp64
    sums in different orders is the only way left to differ)."""
    return (err.double() @ hinv.double()).float()


def fasterquant(W, H, bits, group, sym, actorder, static_groups, blocksize, percdamp=0.01):
    W = W.clone().float()
    H = H.clone()
    rows, columns = W.shape
    scale0, zero0 = find_params(W, bits, sym)  # "if not quantizer.ready()": whole W, before dead
    cur = (scale0, zero0)
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    scales, zeros_ = [], []
    groups = []
    if static_groups:
        for i in range(0, columns, group):
            s, z = find_params(W[:, i:i + group], bits, sym)
            scales.append(s)
            zeros_.append(z)
            groups.append((s, z))
    perm = invperm = None
    if actorder:
        perm = torch.sort(torch.diag(H), descending=True, stable=True)[1]
        W = W[:, perm]
        H = H[perm][:, perm]
        invperm = torch.argsort(perm)
    Losses = torch.zeros_like(W)
    Q = torch.zeros_like(W)
    C = torch.zeros_like(W)  # codes
    damp = percdamp * torch.mean(torch.diag(H))
    diag = torch.arange(columns)
    H[diag, diag] += damp
    # relapse's second deviation: the factorisations in fp64, rounded once to
    # fp32. In fp32, MKL's cholesky_inverse / cholesky give different last bits
    # with 1 and 2 threads (4231 of 9216 entries of layer b's Hinv), which
    # flipped 6 codes of one case; the fp64 path rounds to the same fp32 Hinv.
    H = torch.linalg.cholesky(H.double())
    H = torch.cholesky_inverse(H)
    Hinv = torch.linalg.cholesky(H, upper=True).float()
    now_idx = 1
    for i1 in range(0, columns, blocksize):
        i2 = min(i1 + blocksize, columns)
        count = i2 - i1
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        C1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        Losses1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        for i in range(count):
            w = W1[:, i]
            d = Hinv1[i, i]
            if group != -1:
                if not static_groups:
                    if (i1 + i) % group == 0:
                        # the outer W: this block's earlier columns' updates are not in it
                        cur = find_params(W[:, (i1 + i):(i1 + i + group)], bits, sym)
                    if ((i1 + i) // group) - now_idx == -1:
                        scales.append(cur[0])
                        zeros_.append(cur[1])
                        now_idx += 1
                else:
                    idx = i1 + i
                    if actorder:
                        idx = int(perm[idx])
                    cur = groups[idx // group]
            c, q = quantize(w.unsqueeze(1), cur[0], cur[1], bits)
            q = q.flatten()
            Q1[:, i] = q
            C1[:, i] = c.flatten()
            Losses1[:, i] = (w - q) ** 2 / d**2
            err1 = (w - q) / d
            W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
            Err1[:, i] = err1
        Q[:, i1:i2] = Q1
        C[:, i1:i2] = C1
        Losses[:, i1:i2] = Losses1 / 2
        W[:, i2:] -= block_update(Err1, Hinv[i1:i2, i2:])
    gs = group if group != -1 else columns
    if static_groups and actorder:
        g_idx = [int(perm[i]) // gs for i in range(columns)]
    else:
        g_idx = [i // gs for i in range(columns)]
    g_idx = torch.tensor(g_idx, dtype=torch.int32)
    if actorder:
        Q = Q[:, invperm]
        C = C[:, invperm]
        g_idx = g_idx[invperm]
    if not scales:
        scales, zeros_ = [cur[0]], [cur[1]]
    scale = torch.cat(scales, dim=1)
    zero = torch.cat(zeros_, dim=1)
    # Q is exactly scale * (code - zero) of each column's group.
    g = g_idx.long()
    assert torch.equal(Q, scale[:, g] * (C - zero[:, g]))
    return C.to(torch.uint8), scale, zero.to(torch.uint8), g_idx, Q, torch.sum(Losses).double()


def make_layer(gen, out, inp, samples, seq, outliers, dead):
    W = torch.randn(out, inp, generator=gen) * 0.05
    W[:, outliers[0]] *= 4.0  # a few large weights too
    x = torch.randn(samples, seq, inp, generator=gen)
    x[:, :, outliers] *= 8.0
    x[:, :, dead] = 0.0
    x = x.to(torch.bfloat16)
    xs = x.float().reshape(-1, inp).double()
    H = (xs.t().matmul(xs) * 2.0 / samples).float()
    return W, x, H


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(20240605)
    layers = {
        "a": make_layer(gen, 48, 64, 6, 16, [3, 17, 40], 11),
        "b": make_layer(gen, 32, 96, 6, 16, [5, 60], 71),
    }
    tensors = {}
    for name, (W, x, H) in layers.items():
        tensors[f"{name}/w"] = W.contiguous()
        tensors[f"{name}/x"] = x.contiguous()
        tensors[f"{name}/n"] = torch.tensor([x.shape[0]], dtype=torch.int64)
        if name == "a":  # (b's H is left out to stay under the fixture size budget)
            tensors[f"{name}/h"] = H.contiguous()
    cases = []
    for sym in (True, False):
        for bits in (4, 8):
            for group in (-1, 32):
                for act in (False, True):
                    cases.append(("a", sym, bits, group, act, False, 128))
        for act in (False, True):
            cases.append(("b", sym, 3, 32, act, False, 128))
        cases.append(("b", sym, 4, 32, True, True, 128))  # static groups + act-order
        cases.append(("b", sym, 4, 32, True, False, 16))  # lazy blocks smaller than a group
        cases.append(("b", sym, 4, -1, False, False, 32))  # lazy blocks, one group
    stats = []
    for (name, sym, bits, group, act, st, bs) in cases:
        W, x, H = layers[name]
        C, s, z, g, Q, loss = fasterquant(W, H, bits, group, sym, act, st, bs)
        key = f"{name}/{'sym' if sym else 'asym'}/b{bits}/g{group}/act{int(act)}/st{int(st)}/bs{bs}"
        tensors[f"{key}/codes"] = C.contiguous()
        tensors[f"{key}/scales"] = s.contiguous()
        tensors[f"{key}/zeros"] = z.contiguous()
        tensors[f"{key}/g_idx"] = g.contiguous()
        tensors[f"{key}/loss"] = loss.reshape(1)
        stats.append((key, float(loss)))
    os.makedirs(OUT, exist_ok=True)
    save_file(tensors, os.path.join(OUT, "gptq_cases.safetensors"),
              metadata={"script": "tests/golden/make_gptq_fixtures.py torch " + torch.__version__})
    for k, l in stats:
        print(f"{k}: loss {l:.6g}")
    print(f"wrote {len(tensors)} tensors, {len(cases)} cases to {OUT}/gptq_cases.safetensors")


if __name__ == "__main__":
    main()
