#!/usr/bin/env python3
"""tests/golden/make_tofu_fixtures.py — reference values for relapse's
two-sample KS test and TOFU aggregation (src/eval/ks_test.cpp, src/eval/tofu.cpp),
written to tests/golden/fixtures/eval/tofu/:

  <model>.json     excerpts of TOFU's own evaluation logs (github.com/locuslab/tofu
                   at commit 8c49eee, data/ft_epoch5_lr1e-05_llama2-7b_*/eval_results/
                   ds_size300/eval_log_aggregated.json: Llama-2-7B fine-tuned on
                   all of TOFU (full) and on retain90, weight decay 0.01 and 0),
                   in their layout, keeping the four per-sample keys the
                   aggregation reads (avg_gt_loss, average_perturb_loss,
                   avg_paraphrased_loss, rougeL_recall) and dropping the others
                   (generated text, per-token losses).
  expected.json    scipy.stats.ks_2samp on fixed samples (unequal sizes, ties,
                   tiny and large p-values), and forget quality / model utility
                   of the excerpts computed with the formulas of TOFU's
                   aggregate_eval_stat.py (rendered below with numpy and
                   scipy: ks_2samp, hmean).

    .deps/venv/bin/python tests/golden/make_tofu_fixtures.py TOFU_CHECKOUT

TOFU_CHECKOUT is a clone of locuslab/tofu (the files are read at commit 8c49eee
with `git show`). Deterministic: fixed seeds, sorted keys. Needs numpy, scipy.
Python is never a runtime dependency: the C++ tests read these files.
"""
import json
import os
import subprocess
import sys

import numpy as np
import scipy
from scipy.stats import hmean, ks_2samp

TOFU_COMMIT = "8c49eee7da2b96b2b718c41c66f4e21331c89189"
MODELS = {
    "llama2-7b_full_wd0.01": "ft_epoch5_lr1e-05_llama2-7b_full_wd0.01",
    "llama2-7b_retain90_wd0.01": "ft_epoch5_lr1e-05_llama2-7b_retain90_wd0.01",
    "llama2-7b_retain90_wd0": "ft_epoch5_lr1e-05_llama2-7b_retain90_wd0",
}
KEYS = ["avg_gt_loss", "average_perturb_loss", "avg_paraphrased_loss", "rougeL_recall"]
TASKS = {
    "eval_real_author_wo_options.json": "Real Authors",
    "eval_real_world_wo_options.json": "Real World",
    "eval_log.json": "Retain",
    "eval_log_forget.json": "Forget",
}
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "eval", "tofu")


def tofu_log(checkout, run):
    path = f"data/{run}/eval_results/ds_size300/eval_log_aggregated.json"
    text = subprocess.check_output(["git", "-C", checkout, "show", f"{TOFU_COMMIT}:{path}"])
    full = json.loads(text)
    return {f: {k: full[f][k] for k in KEYS} for f in TASKS}


def truth_ratio(split):
    para = np.array(list(split["avg_paraphrased_loss"].values()))
    pert = np.array(list(split["average_perturb_loss"].values())).mean(axis=-1)
    return np.exp(pert - para)


def forget_quality(model, retain):
    r = ks_2samp(truth_ratio(model["eval_log_forget.json"]),
                 truth_ratio(retain["eval_log_forget.json"]))
    return {"pvalue": float(r.pvalue), "statistic": float(r.statistic)}


def model_utility(log):
    out = {}
    for f, task in TASKS.items():
        s = log[f]
        gt = np.exp(-np.array(list(s["avg_gt_loss"].values())))
        if "eval_log" in f:
            prob = np.mean(gt)
        else:
            false = np.exp(-np.array(list(s["average_perturb_loss"].values())))
            allp = np.concatenate([gt[:, None], false], axis=1).sum(-1)
            prob = np.mean(gt / allp)
        out[f"Prob. {task}"] = float(prob)
        out[f"ROUGE {task}"] = float(np.array(list(s["rougeL_recall"].values())).mean())
        r = truth_ratio(s)
        tr = np.mean(np.minimum(r, 1 / r)) if "forget" in f else np.mean(np.maximum(0, 1 - 1 / r))
        out[f"Truth Ratio {task}"] = float(tr)
    out["Model Utility"] = float(hmean([v for k, v in out.items() if "Forget" not in k]))
    return out


def ks_cases():
    rng = np.random.default_rng(20241)
    cases = []

    def add(name, a, b):
        r = ks_2samp(a, b)
        cases.append({"name": name, "a": [float(x) for x in a], "b": [float(x) for x in b],
                      "statistic": float(r.statistic), "pvalue": float(r.pvalue)})

    add("unequal_sizes_with_ties", np.round(rng.normal(0, 1, 37), 1),
        np.round(rng.normal(0.5, 1, 53), 1))
    add("equal_sizes_same_law", rng.normal(0, 1, 40), rng.normal(0, 1, 40))
    add("tiny_pvalue", rng.normal(0, 1, 300), rng.normal(1.5, 1, 300))
    add("one_against_seven", rng.normal(0, 1, 1), rng.normal(0, 1, 7))
    same = rng.normal(0, 1, 25)
    add("identical_samples", same, same.copy())
    add("coprime_sizes_mild_shift", rng.normal(0, 1, 211), rng.normal(0.2, 1, 149))
    add("disjoint", np.arange(12, dtype=float), np.arange(12, 30, dtype=float))
    return cases


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    os.makedirs(OUT, exist_ok=True)
    logs = {}
    for name, run in MODELS.items():
        logs[name] = tofu_log(sys.argv[1], run)
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(logs[name], f, sort_keys=True)
    retain = logs["llama2-7b_retain90_wd0.01"]
    expected = {
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__},
        "tofu_commit": TOFU_COMMIT,
        "ks_2samp": ks_cases(),
        # Forget quality against the retain90 (wd 0.01) model: the full model
        # (knows the forget set: tiny p) and the other retain90 model (large p).
        "forget_quality": {m: forget_quality(logs[m], retain)
                           for m in ["llama2-7b_full_wd0.01", "llama2-7b_retain90_wd0"]},
        "model_utility": {m: model_utility(logs[m]) for m in MODELS},
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
