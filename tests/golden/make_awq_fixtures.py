#!/usr/bin/env python3
# tests/golden/make_awq_fixtures.py — PyTorch reference for relapse's AWQ
# building blocks (src/quant/awq.cpp), written from the published code of
# AutoAWQ (casper-hansen/AutoAWQ, awq/quantize/quantizer.py: pseudo_quantize_tensor,
# _search_best_scale, _compute_best_scale, _compute_loss, _compute_best_clip;
# awq/quantize/scale.py: scale_ln_fcs, scale_fc_fc, apply_clip), the version
# with duo_scaling and the chunked fp32 x_mean / loss (v0.2.x mainline). The
# formulas are the same; the differences are relapse's documented ones:
#  - everything in float32 (AutoAWQ runs the layer in fp16), the activation
#    mean summed in float64, the loss (squared error) summed in float64;
#  - group_size -1 means one group of the whole input row (AutoAWQ's search
#    would fail on view(-1, -1));
#  - the clip search's output-channel batching (256 or 64 rows, an assert that
#    out % 64 == 0) is dropped: rows are independent, the result is the same.
#
#   /work/venv/bin/python tests/golden/make_awq_fixtures.py
#
# writes tests/golden/fixtures/awq/awq_cases.safetensors (deterministic bytes;
# the inputs hold bfloat16-representable values stored as float32 or bf16):
#   pq/w                                 f32 [16,128]  pseudo-quantize input (edge rows:
#                                        constant group, zero row, negative-only row)
#   pq/zp<0|1>/b<bits>/g<group>/codes    u8 (zp1) | i8 (zp0) [16,128]
#   pq/.../scales f32 [16,G]; pq/.../zeros u8 [16,G] (zp1); pq/zp1/b4/g32/dequant f32
#   in/x_qkv bf16 [T,64]  input of q/k/v (4 outlier channels ×25)
#   in/q, in/k, in/v      bf16 [64,64], [32,64], [32,64]
#   in/x_mlp f32 [T,64]   input of gate/up (RMSNorm output; outlier channels)
#   in/h bf16 [T,64], in/norm f32 [64]  the RMSNorm input and weight (eps in meta)
#   in/gate, in/up bf16 [96,64]; in/down bf16 [64,96]
#   scale/<case>/{x_mean f32 [in], w_mean f32 [in], losses f64 [n_grid], best f64 [2]
#                 (index, ratio), scales f32 [in]}
#       cases: qkv_g32 (duo), qkv_g32_noduo, qkv_gm1 (group -1), mlp_g32 (gate/up,
#       inspect the MLP output), down_g32 (down inspected directly, its input
#       silu(gate x)·(up x) computed here, stored as in/x_down f32 [T,96])
#   clip/<case>/{max_val f32 [out,G], err f32 [n_shrink,out,G], step i64 [1]}
#       cases: gate_g32 (n_sample_token 512), gate_g32_s24 (n_sample_token 24:
#       step 2), gate_gm1, q_g32_sym (zero_point off)
import json
import os

import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "awq")
T, D, I = 64, 64, 96
EPS = 1e-5


def pseudo_quantize(w, bits, group, zero_point):
    """AutoAWQ pseudo_quantize_tensor in float32; returns (dequant, codes, scales, zeros)."""
    shape = w.shape
    gs = shape[-1] if group == -1 else group
    assert shape[-1] % gs == 0
    x = w.reshape(-1, gs)
    if zero_point:
        mx = x.amax(dim=1, keepdim=True)
        mn = x.amin(dim=1, keepdim=True)
        max_int, min_int = 2**bits - 1, 0
        scales = (mx - mn).clamp(min=1e-5) / max_int
        zeros = (-torch.round(mn / scales)).clamp_(min_int, max_int)
        q = torch.clamp(torch.round(x / scales) + zeros, min_int, max_int)
        deq = (q - zeros) * scales
        codes = q.to(torch.uint8)
        zeros = zeros.view(shape[0], -1).to(torch.uint8)
    else:
        mx = x.abs().amax(dim=1, keepdim=True).clamp(min=1e-5)
        max_int, min_int = 2 ** (bits - 1) - 1, -(2 ** (bits - 1))
        scales = mx / max_int
        q = torch.clamp(torch.round(x / scales), min_int, max_int)
        deq = q * scales
        codes = q.to(torch.int8)
        zeros = None
    return deq.reshape(shape), codes.reshape(shape), scales.view(shape[0], -1), zeros


def w_mean_of(weights, group):
    weight = torch.cat(weights, dim=0)
    gs = weight.shape[1] if group == -1 else group
    g = weight.view(-1, gs)
    w_scale = g.abs() / (g.abs().amax(dim=1, keepdim=True) + 1e-6)
    return w_scale.view(weight.shape).mean(0)


def x_mean_of(x):
    x = x.reshape(-1, x.shape[-1])
    return (x.abs().double().sum(0) / x.shape[0]).float()


def search_scale(weights, x, forward, bits, group, zero_point, duo, n_grid=20):
    """_search_best_scale + _compute_best_scale: forward(ws) runs the block with weights ws."""
    w_mean = w_mean_of(weights, group)
    x_mean = x_mean_of(x)
    ref = forward(weights)
    losses, best, best_i, best_s = [], float("inf"), -1, None
    for i in range(n_grid):
        ratio = i / n_grid
        if duo:
            s = (x_mean.pow(ratio) / (w_mean.pow(1 - ratio) + 1e-4)).clamp(min=1e-4)
        else:
            s = x_mean.pow(ratio).clamp(min=1e-4).view(-1)
        s = s / (s.max() * s.min()).sqrt()
        s[torch.isinf(s)] = 1
        s[torch.isnan(s)] = 1
        sv = s.view(1, -1)
        ws = [pseudo_quantize(w * sv, bits, group, zero_point)[0] / sv for w in weights]
        out = forward(ws)
        loss = (ref.float() - out.float()).double().pow(2).sum().item() / ref.numel()
        losses.append(loss)
        if loss < best:
            best, best_i, best_s = loss, i, s.clone()
    return dict(x_mean=x_mean, w_mean=w_mean, losses=torch.tensor(losses, dtype=torch.float64),
                best=torch.tensor([best_i, best_i / n_grid], dtype=torch.float64), scales=best_s)


def search_clip(w, x, bits, group, zero_point, n_grid=20, max_shrink=0.5, n_sample_token=512):
    """_compute_best_clip, AutoAWQ's broadcast form (input_feat * w).sum(-1)."""
    co, ci = w.shape
    gs = ci if group == -1 else group
    x = x.reshape(-1, ci)
    step = max(1, x.shape[0] // n_sample_token)
    feat = x.reshape(1, x.shape[0], -1, gs)[:, ::step]
    wg = w.reshape(co, 1, -1, gs)
    org_max = wg.abs().amax(dim=-1, keepdim=True)
    best = org_max.clone()
    min_errs = torch.ones_like(org_max) * 1e9
    org_out = (feat * wg).sum(dim=-1)
    errs = []
    for i_s in range(int(max_shrink * n_grid)):
        max_val = org_max * (1 - i_s / n_grid)
        cur = torch.clamp(wg, -max_val, max_val)
        q = pseudo_quantize(cur, bits, group if group != -1 else ci, zero_point)[0]
        cur_out = (feat * q).sum(dim=-1)
        err = (cur_out - org_out).pow(2).mean(dim=1).view(min_errs.shape)
        errs.append(err.view(co, -1).clone())
        idx = err < min_errs
        min_errs[idx] = err[idx]
        best[idx] = max_val[idx]
    return dict(max_val=best.view(co, -1), err=torch.stack(errs),
                step=torch.tensor([step], dtype=torch.int64))


def bf16_values(t):
    return t.to(torch.bfloat16).float()


def main():
    torch.manual_seed(5150)
    torch.set_num_threads(1)
    t = {}

    # --- pseudo_quantize ---
    w = torch.randn(16, 128)
    w[0, :32] = 0.37                  # constant group: max == min -> scale clamp 1e-5
    w[1] = 0.0                        # all-zero row
    w[2] = -w[2].abs() - 0.1          # negative-only row (min/max not forced to contain 0)
    w[3] *= 40.0                      # large range
    t["pq/w"] = w
    for zp in (1, 0):
        for bits in (4, 8):
            for g in (-1, 32):
                deq, codes, scales, zeros = pseudo_quantize(w, bits, g, bool(zp))
                p = f"pq/zp{zp}/b{bits}/g{g}"
                t[p + "/codes"] = codes.contiguous()
                t[p + "/scales"] = scales.contiguous()
                if zeros is not None:
                    t[p + "/zeros"] = zeros.contiguous()
                if zp == 1 and bits == 4 and g == 32:
                    t[p + "/dequant"] = deq.contiguous()

    # --- block inputs with a few large-magnitude input channels ---
    outl = [3, 17, 40, 58]
    x_qkv = torch.randn(T, D)
    x_qkv[:, outl] *= 25.0
    x_qkv = bf16_values(x_qkv)
    q = bf16_values(torch.randn(64, D) * 0.125)
    k = bf16_values(torch.randn(32, D) * 0.125)
    v = bf16_values(torch.randn(32, D) * 0.125)
    h = torch.randn(T, D)
    h[:, outl] *= 20.0
    h = bf16_values(h)
    norm = bf16_values(1.0 + 0.2 * torch.randn(D))
    var = h.pow(2).mean(-1, keepdim=True)
    x_mlp = norm * (h * torch.rsqrt(var + EPS))
    gate = bf16_values(torch.randn(I, D) * 0.125)
    up = bf16_values(torch.randn(I, D) * 0.125)
    down = bf16_values(torch.randn(D, I) * 0.1)
    x_down = torch.nn.functional.silu(x_mlp @ gate.t()) * (x_mlp @ up.t())
    t.update({"in/x_qkv": x_qkv.bfloat16(), "in/q": q.bfloat16(), "in/k": k.bfloat16(),
              "in/v": v.bfloat16(), "in/h": h.bfloat16(), "in/norm": norm, "in/x_mlp": x_mlp, "in/gate": gate.bfloat16(),
              "in/up": up.bfloat16(), "in/down": down.bfloat16(), "in/x_down": x_down})

    def fwd_qkv(ws):
        return torch.cat([x_qkv @ wi.t() for wi in ws], dim=1)

    def fwd_mlp(ws):
        g_, u_ = ws
        return (torch.nn.functional.silu(x_mlp @ g_.t()) * (x_mlp @ u_.t())) @ down.t()

    def fwd_down(ws):
        return x_down @ ws[0].t()

    cases = {
        "qkv_g32": ([q, k, v], x_qkv, fwd_qkv, 32, True),
        "qkv_g32_noduo": ([q, k, v], x_qkv, fwd_qkv, 32, False),
        "qkv_gm1": ([q, k, v], x_qkv, fwd_qkv, -1, True),
        "mlp_g32": ([gate, up], x_mlp, fwd_mlp, 32, True),
        "down_g32": ([down], x_down, fwd_down, 32, True),
    }
    summary = {}
    for name, (ws, x, fwd, g, duo) in cases.items():
        r = search_scale(ws, x, fwd, 4, g, True, duo)
        for key, val in r.items():
            t[f"scale/{name}/{key}"] = val.contiguous()
        summary[name] = {"best_index": int(r["best"][0]), "losses": [f"{l:.6g}" for l in r["losses"]]}

    clips = {
        "gate_g32": (gate, x_mlp, 32, True, 512),
        "gate_g32_s24": (gate, x_mlp, 32, True, 24),
        "gate_gm1": (gate, x_mlp, -1, True, 512),
        "q_g32_sym": (q, x_qkv, 32, False, 512),
    }
    for name, (w_, x, g, zp, nst) in clips.items():
        r = search_clip(w_, x, 4, g, zp, n_sample_token=nst)
        for key, val in r.items():
            t[f"clip/{name}/{key}"] = val.contiguous()
        gs = w_.shape[1] if g == -1 else g
        org = w_.reshape(w_.shape[0], -1, gs).abs().amax(-1)
        summary["clip_" + name] = {"step": int(r["step"][0]),
                                   "shrunk_fraction": float((r["max_val"] < org).float().mean())}

    os.makedirs(OUT, exist_ok=True)
    # One metadata key: safetensors writes a multi-key metadata map in hash order.
    meta = {"awq": json.dumps({"eps": EPS, "torch": torch.__version__, "bits": 4}, sort_keys=True)}
    path = os.path.join(OUT, "awq_cases.safetensors")
    save_file(t, path, metadata=meta)
    print(json.dumps(summary, indent=1))
    print(f"wrote {len(t)} tensors, {os.path.getsize(path)} bytes to {path}")


if __name__ == "__main__":
    main()
