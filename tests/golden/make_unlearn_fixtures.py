#!/usr/bin/env python3
# tests/golden/make_unlearn_fixtures.py — reference values for tests/unlearn:
#   fixtures/unlearn/optim.json   torch.optim.AdamW (foreach=False and =True)
#       on a small parameter vector with fixed gradients for 5 steps, the LR
#       from transformers' get_cosine_schedule_with_warmup / constant_with_warmup
#       (LambdaLR), gradients clipped by torch.nn.utils.clip_grad_norm_.
#   fixtures/unlearn/losses.json  the loss primitives on fixed fp64 logits:
#       HF's ForCausalLMLoss, per-sequence log-probs, published NPO and KL, and
#       the released code's expressions (NPO and "KL" on raw logits) verbatim.
# Deterministic: fixed values (no RNG but torch.manual_seed with one thread).
#   /work/venv/bin/python tests/golden/make_unlearn_fixtures.py
import json
import math
import os

import torch
import torch.nn.functional as F
import transformers
from transformers import get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup
from transformers.loss.loss_utils import ForCausalLMLoss

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "unlearn")


def optim_case(schedule, warmup, total, wd, max_norm, foreach):
    p = torch.nn.Parameter(torch.tensor([0.5, -1.25, 2.0, 0.0, -0.03125, 3.0, 1e-3], dtype=torch.float64))
    opt = torch.optim.AdamW([p], lr=2e-2, betas=(0.9, 0.95), eps=1e-8, weight_decay=wd, foreach=foreach)
    if schedule == "cosine":
        sched = get_cosine_schedule_with_warmup(opt, num_warmup_steps=warmup, num_training_steps=total)
    else:
        sched = get_constant_schedule_with_warmup(opt, num_warmup_steps=warmup)
    grads, lrs, params, norms = [], [], [], []
    for k in range(total):
        g = torch.tensor([math.sin(1.0 + 0.7 * k + 0.3 * i) * (1 + i) for i in range(7)], dtype=torch.float64)
        grads.append(g.tolist())
        p.grad = g.clone()
        norms.append(float(torch.nn.utils.clip_grad_norm_([p], max_norm)))
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        params.append(p.detach().tolist())
    return {"schedule": schedule, "warmup": warmup, "total": total, "lr": 2e-2, "beta1": 0.9,
            "beta2": 0.95, "eps": 1e-8, "weight_decay": wd, "max_norm": max_norm,
            "init": [0.5, -1.25, 2.0, 0.0, -0.03125, 3.0, 1e-3], "grads": grads, "lrs": lrs,
            "grad_norms": norms, "params": params}


def optim_fixture():
    cases = [optim_case("cosine", 2, 5, 0.1, 4.0, False), optim_case("constant", 2, 5, 0.01, 1e9, False),
             optim_case("cosine", 0, 5, 0.0, 1.0, False)]
    for c in cases:  # the foreach kernel computes the same formula
        f = optim_case(c["schedule"], c["warmup"], c["total"], c["weight_decay"], c["max_norm"], True)
        assert max(abs(a - b) for x, y in zip(c["params"], f["params"]) for a, b in zip(x, y)) < 1e-12
    # LR factors of a longer schedule: cosine warmup 3 over 10, and constant warmup 3.
    lam = {}
    for name, mk in [("cosine", lambda o: get_cosine_schedule_with_warmup(o, 3, 10)),
                     ("constant", lambda o: get_constant_schedule_with_warmup(o, 3))]:
        o = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        s = mk(o)
        vals = []
        for _ in range(12):
            vals.append(o.param_groups[0]["lr"])
            o.step()
            s.step()
        lam[name] = vals
    return {"cases": cases, "factors_warmup3_total10": lam}


def losses_fixture():
    torch.manual_seed(1234)
    B, T, V, beta = 3, 6, 5, 0.1
    logits = (torch.randn(B, T, V, dtype=torch.float64) * 2).round(decimals=3)
    ref = (logits + torch.randn(B, T, V, dtype=torch.float64) * 0.7).round(decimals=3)
    ids = torch.randint(0, V, (B, T))
    mask = torch.ones(B, T, dtype=torch.long)
    mask[1, 4:] = 0  # right padding in row 1
    mask[2, 5:] = 0
    labels = ids.masked_fill(mask == 0, -100)
    hf_loss = ForCausalLMLoss(logits, labels, vocab_size=V)
    shift = labels[:, 1:]
    lp = F.log_softmax(logits[:, :-1], -1)
    lq = F.log_softmax(ref[:, :-1], -1)
    valid = shift != -100
    tok = lp.gather(-1, shift.clamp_min(0).unsqueeze(-1)).squeeze(-1) * valid
    tok_ref = lq.gather(-1, shift.clamp_min(0).unsqueeze(-1)).squeeze(-1) * valid
    seq_lp, seq_ref = tok.sum(1), tok_ref.sum(1)
    npo = (-2.0 / beta) * F.logsigmoid(-beta * (seq_lp - seq_ref)).mean()
    kl_tok = F.kl_div(lp, lq, reduction="none", log_target=True).sum(-1)
    kl = (kl_tok * valid).sum() / valid.sum()
    # MUSE / paper release, verbatim expressions (baselines/baselines/iterative.py)
    neg_log_ratio = ref - logits
    npo_raw = -F.logsigmoid(beta * neg_log_ratio).mean() * 2 / beta
    kl_raw = F.kl_div(logits, ref, reduction="batchmean", log_target=True)
    return {"B": B, "T": T, "V": V, "beta": beta, "logits": logits.flatten().tolist(),
            "ref_logits": ref.flatten().tolist(), "input_ids": ids.flatten().tolist(),
            "attention_mask": mask.flatten().tolist(), "hf_causal_lm_loss": hf_loss.item(),
            "sequence_logprob": seq_lp.tolist(), "npo_published": npo.item(),
            "kl_published": kl.item(), "npo_raw_logits": npo_raw.item(), "kl_raw_logits": kl_raw.item()}


def main():
    os.makedirs(OUT, exist_ok=True)
    meta = {"torch": torch.__version__.split("+")[0], "transformers": transformers.__version__}
    for name, data in [("optim.json", optim_fixture()), ("losses.json", losses_fixture())]:
        data["generated_by"] = "tests/golden/make_unlearn_fixtures.py"
        data["versions"] = meta
        with open(os.path.join(OUT, name), "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main()
