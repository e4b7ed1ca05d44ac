#!/usr/bin/env python3
# tests/golden/make_method_fixtures.py — reference values of the forget terms
# beyond the paper's (SimNPO, WGA, SatImp, UNDIAL; RMU's activation loss) for
# tests/unlearn, written as
# OpenUnlearning computes them (github.com/locuslab/open-unlearning:
# src/trainer/utils.py compute_batch_nll / compute_wga_loss / compute_satimp_loss /
# compute_undial_loss, src/trainer/unlearn/simnpo.py and rmu.py), on the fixed fp64 logits,
# reference logits and batch of
# fixtures/unlearn/losses.json (read, not regenerated, so both fixtures hold
# the same inputs).
#   .deps/venv/bin/python tests/golden/make_method_fixtures.py
import json
import os

import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "unlearn")


def batch_nll(logits, labels):
    # compute_batch_nll: summed token CE per row, ignore_index -100.
    shifted_labels = labels[..., 1:].contiguous()
    lg = logits[..., :-1, :].contiguous()
    loss = nn.CrossEntropyLoss(ignore_index=-100, reduction="none")(lg.transpose(-1, -2), shifted_labels)
    return loss.sum(dim=-1)


def simnpo(logits, labels, beta, delta):
    # SimNPO.compute_loss's forget part (gamma applied by the caller).
    loss_mask = labels[..., 1:] != -100
    forget_loss = batch_nll(logits, labels) / loss_mask.sum(-1) - delta
    return -F.logsigmoid(beta * forget_loss).mean() * 2 / beta


def token_ce(logits, labels):
    shift_logits = logits[..., :-1, :].contiguous()
    shift_labels = labels[..., 1:].contiguous()
    lm = nn.CrossEntropyLoss(ignore_index=-100, reduction="none")(
        shift_logits.view(-1, shift_logits.size(-1)), shift_labels.view(-1))
    return lm, shift_labels.view(-1) != -100


def wga(logits, labels, beta):
    lm, valid = token_ce(logits, labels)
    w = ((-lm).exp().detach()) ** beta
    return -(w * lm)[valid].mean()


def satimp(logits, labels, beta1, beta2):
    lm, valid = token_ce(logits, labels)
    p = (-lm).exp().detach()
    return -((p ** beta1) * ((1 - p) ** beta2) * lm)[valid].mean()


def undial(logits, ref_logits, labels, beta):
    # compute_undial_loss as OpenUnlearning writes it: the teacher's logit of
    # each shifted label lowered by beta, soft-target cross-entropy, mean over
    # every shifted position (no ignore mask).
    shift_labels = labels[..., 1:].contiguous()
    shift_logits = logits[..., :-1, :].contiguous()
    shift_teacher = ref_logits[..., :-1, :].contiguous()
    mask = torch.zeros_like(shift_teacher)
    batch_idx = torch.arange(mask.shape[0]).view(-1, 1, 1)
    seq_idx = torch.arange(mask.shape[1]).view(1, -1, 1)
    mask[batch_idx, seq_idx, shift_labels.unsqueeze(-1)] = 1.0
    soft_label = F.softmax(shift_teacher - mask * beta, dim=-1)
    V = shift_logits.size(-1)
    loss = nn.CrossEntropyLoss(reduction="none")(shift_logits.view(-1, V), soft_label.view(-1, V))
    return loss


def undial_valid(logits, ref_logits, labels, beta):
    # relapse's stated departure: the same per-position loss, averaged over
    # the valid labels only (OpenUnlearning's own function on the unpadded row
    # is checked separately, where both agree).
    loss = undial(logits, ref_logits, labels.clamp_min(0), beta)
    valid = (labels[..., 1:] != -100).reshape(-1)
    return loss[valid].mean()


def activation_loss(act1, act2, mask):
    # RMU.compute_activation_loss (OpenUnlearning src/trainer/unlearn/rmu.py).
    squared_diff = F.mse_loss(act1, act2, reduction="none")
    expanded_mask = mask.unsqueeze(-1).expand_as(squared_diff)
    squared_diff_sum = (squared_diff * expanded_mask).mean(dim=2).sum(dim=(1))
    num_tokens = mask.sum(dim=-1, keepdim=True)
    return (squared_diff_sum / num_tokens).mean()


def activation_loss_per_row(act1, act2, mask):
    # What compute_activation_loss means: per row, the token mean over its real
    # tokens of the feature-mean squared difference, then the mean over rows.
    # OpenUnlearning's code divides a [B] tensor by a [B,1] one (num_tokens has
    # keepdim=True), so it averages s_i / n_j over every pair (i, j): the same
    # when every row has as many real tokens, not with pads.
    sq = ((act1 - act2) ** 2).mean(dim=2)
    return ((sq * mask).sum(dim=1) / mask.sum(dim=1)).mean()


def activation_cases():
    # Fixed activations [3,4,5], against another set and against a broadcast
    # control vector (RMU's retain and forget terms): without pads through
    # OpenUnlearning's function itself, with pads (a row with two) through the
    # per-row mean it means.
    g = torch.Generator().manual_seed(7)
    x = torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
    y = torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
    c = torch.rand(1, 1, 5, generator=g, dtype=torch.float64)
    c = c / torch.norm(c) * 2.0
    full = torch.ones(3, 4, dtype=torch.int64)
    padded = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 0]])
    out = []
    for name, target in [("pairwise", y), ("control", c.expand_as(x))]:
        for mask, fn in [(full, activation_loss), (padded, activation_loss_per_row)]:
            out.append({"name": name, "x": x.flatten().tolist(), "y": target.flatten().tolist(),
                        "mask": mask.flatten().tolist(), "shape": list(x.shape),
                        "value": fn(x, target, mask.to(x.dtype)).item()})
    # The pair-averaging of OpenUnlearning's code differs on the padded batch
    # (kept as a record, not compared).
    out_record = activation_loss(x, y, padded.to(x.dtype)).item()
    assert abs(out_record - activation_loss_per_row(x, y, padded.to(x.dtype)).item()) > 1e-3
    return out


def main():
    with open(os.path.join(HERE, "losses.json")) as f:
        j = json.load(f)
    B, T, V = j["B"], j["T"], j["V"]
    logits = torch.tensor(j["logits"], dtype=torch.float64).reshape(B, T, V)
    ids = torch.tensor(j["input_ids"]).reshape(B, T)
    mask = torch.tensor(j["attention_mask"]).reshape(B, T)
    labels = ids.masked_fill(mask == 0, -100)
    cases = []
    for beta, delta in [(4.5, 0.0), (0.7, 0.5), (2.0, 1.5)]:
        cases.append({"method": "simnpo", "beta": beta, "delta": delta,
                      "value": simnpo(logits, labels, beta, delta).item()})
    for beta in [1.0, 0.0, 2.5]:
        cases.append({"method": "wga", "beta": beta, "value": wga(logits, labels, beta).item()})
    for b1, b2 in [(5.0, 1.0), (1.0, 0.0), (0.5, 2.0)]:
        cases.append({"method": "satimp", "beta1": b1, "beta2": b2,
                      "value": satimp(logits, labels, b1, b2).item()})
    ref_logits = torch.tensor(j["ref_logits"], dtype=torch.float64).reshape(B, T, V)
    full_rows = [b for b in range(B) if bool(mask[b].all())]
    assert full_rows, "losses.json needs a row without pads"
    r = full_rows[0]
    for beta in [10.0, 1.0, 0.0]:
        # OpenUnlearning's function itself on a row without pads ...
        cases.append({"method": "undial", "beta": beta, "row": r,
                      "value": undial(logits[r:r + 1], ref_logits[r:r + 1], labels[r:r + 1],
                                      beta).mean().item()})
        # ... and on the padded batch, averaged over the valid labels.
        cases.append({"method": "undial", "beta": beta, "row": -1,
                      "value": undial_valid(logits, ref_logits, labels, beta).item()})
    out = {"inputs": "losses.json", "cases": cases, "activation_cases": activation_cases(),
           "generated_by": "tests/golden/make_method_fixtures.py",
           "versions": {"torch": torch.__version__.split("+")[0]}}
    with open(os.path.join(HERE, "methods.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
