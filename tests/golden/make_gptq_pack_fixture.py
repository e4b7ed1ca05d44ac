#!/usr/bin/env python3
# tests/golden/make_gptq_pack_fixture.py — reference for relapse's GPTQ
# checkpoint packing (kernels/cpu/pack_cpu.cpp, src/quant/gptq_export.cpp),
# written independently of the C++ from AutoGPTQ's published code:
#  - packing: QuantLinear.pack in auto_gptq/nn_modules/qlinear/qlinear_cuda_old.py
#    (bits 2/4/8): intweight = codes^T [in, out] as uint32; qweight row r ORs
#    intweight[r*k + j] << (bits*j) for j < k = 32/bits; then `zeros -= 1` and
#    qzeros column c ORs zeros[:, c*k + j] << (bits*j) (the v1 "gptq" format);
#  - unpack + dequantize: the torch forward of auto_gptq/nn_modules/qlinear/
#    qlinear_cuda.py: fields (word >> wf) & (2^bits − 1), zeros + 1, then
#    weight = scales[g_idx] * (q − zeros[g_idx]) in float16 (the checkpoint's
#    dtype); and the same with the scales widened to float32.
#
#   /work/venv/bin/python tests/golden/make_gptq_pack_fixture.py
#
# writes tests/golden/fixtures/quant_export/gptq_pack.safetensors (deterministic):
#   b<bits>/codes      int32 [out, in]      codes in [0, 2^bits − 1] (relapse layout)
#   b<bits>/zeros      int32 [out, n_groups] zero points in [1, 2^bits − 1] (v1
#                      cannot store 0: zero − 1 = −1 would fill the word's high bits)
#   b<bits>/scales     float16 [n_groups, out] (the checkpoint's `scales`)
#   b<bits>/g_idx      int32 [in]            an act-order style permuted grouping
#   b<bits>/qweight    int32 [in*bits/32, out]   expected packed weight
#   b<bits>/qzeros     int32 [n_groups, out*bits/32] expected packed zeros − 1
#   b<bits>/dequant_f16 float16 [out, in]    AutoGPTQ's forward, fp16 arithmetic
#   b<bits>/dequant_f32 float32 [out, in]    the same with fp32 scales
# for bits 2, 4, 8, with out = 32, in = 64, group size 16.
import os

import numpy as np
import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "quant_export")
OUTF, INF, GS = 32, 64, 16


def pack_autogptq(codes, zeros, bits):
    """codes [out, in], zeros [out, ng] (ints) -> qweight, qzeros (int32), per QuantLinear.pack."""
    k = 32 // bits
    intweight = codes.T.astype(np.uint32)  # [in, out]
    qweight = np.zeros((intweight.shape[0] // 32 * bits, intweight.shape[1]), dtype=np.uint32)
    i = 0
    for row in range(qweight.shape[0]):
        for j in range(i, i + k):
            qweight[row] |= intweight[j] << np.uint32(bits * (j - i))
        i += k
    z = (zeros.T.astype(np.int64) - 1).astype(np.uint32)  # [ng, out], zeros -= 1
    qzeros = np.zeros((z.shape[0], z.shape[1] // 32 * bits), dtype=np.uint32)
    i = 0
    for col in range(qzeros.shape[1]):
        for j in range(i, i + k):
            qzeros[:, col] |= z[:, j] << np.uint32(bits * (j - i))
        i += k
    return qweight.astype(np.int32), qzeros.astype(np.int32)


def dequant_autogptq(qweight, qzeros, scales, g_idx, bits):
    """AutoGPTQ's torch forward (qlinear_cuda.py, bits 2/4/8) -> weight [out, in]."""
    wf = torch.tensor(list(range(0, 32, bits)), dtype=torch.int32).unsqueeze(0)
    small = torch.int16 if bits == 8 else torch.int8
    zeros = torch.bitwise_right_shift(
        torch.unsqueeze(qzeros, 2).expand(-1, -1, 32 // bits), wf.unsqueeze(0)).to(small)
    zeros = torch.bitwise_and(zeros, (2**bits) - 1)
    zeros = (zeros + 1).reshape(scales.shape)
    weight = torch.bitwise_right_shift(
        torch.unsqueeze(qweight, 1).expand(-1, 32 // bits, -1), wf.unsqueeze(-1)).to(small)
    weight = torch.bitwise_and(weight, (2**bits) - 1)
    weight = weight.reshape(weight.shape[0] * weight.shape[1], weight.shape[2])
    g = g_idx.long()
    return (scales[g] * (weight - zeros[g])).T.contiguous()  # [out, in]


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240517)
    ng = INF // GS
    tensors = {}
    for bits in (2, 4, 8):
        maxq = 2**bits - 1
        codes = rng.integers(0, maxq + 1, size=(OUTF, INF)).astype(np.int32)
        codes[0, :4] = [0, maxq, 0, maxq]  # both ends of the range
        zeros = rng.integers(1, maxq + 1, size=(OUTF, ng)).astype(np.int32)
        scales = (rng.uniform(1e-3, 2e-2, size=(ng, OUTF))).astype(np.float16)
        perm = rng.permutation(INF)  # desc_act: column perm[i] is the i-th quantized
        g_idx = np.empty(INF, dtype=np.int32)
        g_idx[perm] = np.arange(INF) // GS
        qweight, qzeros = pack_autogptq(codes, zeros, bits)
        tq, tz, ts, tg = (torch.from_numpy(qweight), torch.from_numpy(qzeros),
                          torch.from_numpy(scales), torch.from_numpy(g_idx))
        p = f"b{bits}/"
        tensors[p + "codes"] = torch.from_numpy(codes)
        tensors[p + "zeros"] = torch.from_numpy(zeros)
        tensors[p + "scales"] = ts
        tensors[p + "g_idx"] = tg
        tensors[p + "qweight"] = tq
        tensors[p + "qzeros"] = tz
        tensors[p + "dequant_f16"] = dequant_autogptq(tq, tz, ts, tg, bits)
        tensors[p + "dequant_f32"] = dequant_autogptq(tq, tz, ts.float(), tg, bits)
        assert tensors[p + "dequant_f16"].dtype == torch.float16
        assert tensors[p + "dequant_f32"].dtype == torch.float32
        # Self-check: unpacking gives the codes back.
        direct = ts.float()[tg.long()].T * (torch.from_numpy(codes) -
                                            torch.from_numpy(zeros)[:, tg.long()]).float()
        assert torch.equal(direct, tensors[p + "dequant_f32"])
    save_file(tensors, os.path.join(OUT, "gptq_pack.safetensors"))
    print("wrote", os.path.join(OUT, "gptq_pack.safetensors"))


if __name__ == "__main__":
    main()
