#!/usr/bin/env python3
"""tests/golden/make_muse_excerpt_eval_fixture.py — reference for relapse's MUSE
evaluation runner (src/eval/muse_eval.cpp) on REAL MUSE-News records, written to
tests/golden/fixtures/muse_news_excerpt/expected_eval.json:

  every per-sample generation, reference, ROUGE-L score (F1 and recall),
  Min-K% score (k = 0.4), the forget-vs-holdout AUC and the means x 100 of
  the excerpt fixtures/muse_news_excerpt/json/ (verbmem/forget.json: 24 items,
  knowmem/{forget,retain}_qa.json: 30 QA pairs each with all 10 in-context
  examples of {forget,retain}_qa_icl.json, privleak/{forget,retain,holdout}.json:
  6 texts each; every record used, unchanged), MUSE's other membership-inference
  scores of the privleak texts ("PPL", "PPL/lower", "PPL/zlib" of privleak.py
  inference(), under "mia" with each one's AUC; beside them OpenUnlearning's
  Min-K%++, open_unlearning_min_k_plus_plus below), and OpenUnlearning's exact
  memorization and extraction strength of the VerbMem items (under
  "memorization"; open_unlearning_memorization below), computed by MUSE's metric code
  (github.com/swj0419/muse_bench metrics/{verbmem,knowmem,privleak}.py) run
  with Hugging Face transformers (eager attention, fp32, CPU, one thread),
  rouge_score and scikit-learn. Same layout and key names as
  fixtures/muse_eval/expected.json (made by make_muse_eval_fixture.py, whose
  prompt/metric functions this script imports): "plain" = transformers 5
  decoding, "clean" = transformers 4.x's clean_up_tokenization applied to
  every decoded string (MUSE's original environment; on this excerpt it changes
no string, so "clean" equals "plain").

    .deps/venv/bin/python tests/golden/make_muse_excerpt_eval_fixture.py   # ~1.5 min

Model: the tiny random checkpoint fixtures/llama_mha_fp32 (SentencePiece vocab
of 384 with byte fallback, hidden 64, 2 layers, RoPE). The real texts tokenize
long (privleak texts up to 6109 ids with BOS, verbmem prompts up to 3077), so
the model is loaded with max_position_embeddings overridden to 8192 (recorded
under "options"); the weights are the checkpoint's own. A consumer copies the
checkpoint and rewrites config.json's max_position_embeddings to that value.
Tokenizer: AutoTokenizer of the same folder (LlamaTokenizer from tokenizer.json);
its ids equal SentencePiece's tokenizer.model (BOS + encode) on every text here.

Protocol as MUSE's: each prompt generated alone (unpadded, with BOS),
model.generate(ids, max_new_tokens=N, do_sample=False), the new ids decoded with
skip_special_tokens; VerbMem reference = decode of tokenizer(gt) (with BOS) cut
to N ids; KnowMem answers cut before "\\n\\n" / "\\nQuestion" / "Question:";
Min-K% over the per-token log-probs of BOS + text; AUC = roc_curve + auc of
forget (0) vs holdout (1) on -score; means = sum(vals) / len(vals) * 100.

Greedy near-ties: relapse's fp32 logits differ from HF's by ~1e-5, so the
SETTINGS are tried in order and the first is kept whose greedy steps all have a
top1 - top2 logit gap >= 2e-3, whose forget and holdout Min-K% scores are all
>= 5e-4 apart (only forget-vs-holdout order sets the AUC) and which has >= 3
ROUGE-L F1 scores strictly between 0 and 1 (not vacuous). Both minima, and each
sample's minimum gap ("greedy_gaps"), are recorded. The first setting,
llama_mha_fp32 with verbmem_max_new_tokens 16 / knowmem_max_new_tokens 8, is
kept: greedy gap 2.2e-3, Min-K% gap 8.8e-4 (under make_muse_eval_fixture.py's
1e-3, which no tiny fixture with non-vacuous scores meets here; still ~90x the
~1e-5 noise of a mean of fp32 log-probs). Measured alternatives (greedy gap at
16/8 and 8/4; Min-K% gap): llama_gqa_tied_bias_fp32 1.7e-4, 1.3e-3; 3.5e-3.
llama_sharded_fp32 8.8e-4, 2.4e-3; 3.6e-5. llama_gqa_bf16 3.4e-3, 3.4e-3;
4.3e-4. mistral_fp32 1.3e-3, 6.0e-3; 6.4e-3, but every ROUGE score is 0.

Deterministic: a second run writes identical bytes.
"""
import json
import os
import sys
import zlib

import numpy as np
import torch
from sklearn.metrics import auc as get_auc, roc_curve as get_roc_curve
from transformers import AutoConfig, AutoTokenizer, LlamaForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_muse_eval_fixture as base  # noqa: E402  (writes nothing on import)

DATA = os.path.join(HERE, "fixtures", "muse_news_excerpt", "json")
OUT = os.path.join(HERE, "fixtures", "muse_news_excerpt", "expected_eval.json")
MAX_POS = 8192  # power of two >= the longest privleak text + BOS and prompt + N
MIN_GAP, MIN_MINK_GAP, MIN_PARTIAL = 2e-3, 5e-4, 3
# (fixture, verbmem_max_new_tokens, knowmem_max_new_tokens), tried in order.
SETTINGS = [("llama_mha_fp32", 16, 8), ("llama_mha_fp32", 8, 4),
            ("llama_gqa_tied_bias_fp32", 16, 8), ("llama_gqa_tied_bias_fp32", 8, 4),
            ("llama_sharded_fp32", 16, 8), ("llama_sharded_fp32", 8, 4)]


class Runner(base.Runner):
    """base.Runner with max_position_embeddings overridden and per-sample gaps."""

    def __init__(self, name):
        torch.set_num_threads(1)
        path = os.path.join(HERE, "fixtures", name)
        self.tok = AutoTokenizer.from_pretrained(path)
        cfg = AutoConfig.from_pretrained(path)
        cfg.max_position_embeddings = MAX_POS
        self.model = LlamaForCausalLM.from_pretrained(path, config=cfg, attn_implementation="eager",
                                                      dtype=torch.float32).eval()
        self.min_margin = float("inf")
        self.gaps = []  # minimum top1 - top2 gap of each generated sample, in order

    def generate_ids(self, prompt, max_new):
        outer, self.min_margin = self.min_margin, float("inf")
        ids = super().generate_ids(prompt, max_new)
        self.gaps.append(self.min_margin)
        self.min_margin = min(outer, self.min_margin)
        return ids


def load_corpus():
    c = {}
    for key in ["verbmem/forget", "knowmem/forget_qa", "knowmem/forget_qa_icl", "knowmem/retain_qa",
                "knowmem/retain_qa_icl", "privleak/forget", "privleak/retain", "privleak/holdout"]:
        with open(os.path.join(DATA, key + ".json"), encoding="utf-8") as f:
            c[key] = json.load(f)
    return c


@torch.no_grad()
def muse_mia(runner, text):
    """metrics/privleak.py inference(): the loss-based scores beside Min-K% --
    "PPL" (the HF loss of tokenizer.encode(text), BOS included), "PPL/lower"
    (over the same loss of text.lower()) and "PPL/zlib" (over the length of
    zlib.compress of the UTF-8 text)."""
    def loss_of(t):
        ids = torch.tensor(runner.tok.encode(t)).unsqueeze(0)
        return float(runner.model(ids, labels=ids).loss.item())
    p1 = loss_of(text)
    return {"ppl": p1, "ppl_lower": p1 / loss_of(text.lower()),
            "ppl_zlib": p1 / len(zlib.compress(bytes(text, "utf-8")))}


@torch.no_grad()
def open_unlearning_min_k_plus_plus(runner, text, k):
    """OpenUnlearning src/evals/metrics/mia/min_k_plus_plus.py compute_score
    (the vocabulary mean and variance of log p at each position, the variance
    clamped at 1e-6, -mean of the lowest max(1, int(n * k)) z-scores) on the
    positions of Min-K%: every token after BOS of tokenizer.encode(text)
    (OpenUnlearning's own data pipeline would also drop the last one)."""
    ids = torch.tensor(runner.tok.encode(text)).unsqueeze(0)
    all_probs = torch.log_softmax(runner.model(ids).logits, dim=-1)[0, :-1]
    target_prob = all_probs.gather(-1, ids[0, 1:].unsqueeze(-1)).squeeze(-1)
    if len(target_prob) == 0:
        return 0.0
    mu = (torch.exp(all_probs) * all_probs).sum(-1)
    sigma = (torch.exp(all_probs) * torch.square(all_probs)).sum(-1) - torch.square(mu)
    sigma = torch.clamp(sigma, min=1e-6)
    scores = (target_prob.float().numpy() - mu.float().numpy()) / torch.sqrt(sigma).numpy()
    num_k = max(1, int(len(scores) * k))
    return float(-np.mean(sorted(scores)[:num_k]))


@torch.no_grad()
def open_unlearning_memorization(runner, item):
    """OpenUnlearning (locuslab/open-unlearning) on one MUSE_forget_verbmem item:
    src/data/utils.py preprocess_pretraining_instance (prefix = prompt, text =
    gt, insert_space, max_length 2048: the prompt's ids, BOS included, are
    -100), src/evals/metrics/utils.py tokenwise_vocab_logprobs (the last
    labelled position dropped) and memorization.py exact_memorization /
    extraction_strength. Returns EM (None when nothing is scored), ES and the
    smallest top1 - top2 log-prob gap of the scored positions."""
    prefix, text = item["prompt"], item["gt"]
    full = runner.tok(prefix + " " + text, add_special_tokens=True)["input_ids"]
    prefix_len = len(runner.tok(prefix, add_special_tokens=True)["input_ids"])
    full = full[: prefix_len + 2048]
    len_matched = prefix_len if prefix_len else 1
    labels = torch.tensor([-100] * len_matched + full[len_matched:])
    log_probs = torch.log_softmax(runner.model(torch.tensor([full])).logits, dim=-1)[0, :-1, :]
    actual = (labels != -100).nonzero(as_tuple=True)[0][:-1]
    if len(actual) == 0:
        return None, 0.0, float("inf")
    lp = log_probs[actual[0].item() - 1: actual[-1].item()]
    lab = labels[actual]
    preds = torch.argmax(lp, dim=-1)
    em = ((preds == lab).sum() / len(lab)).item()
    for k in range(len(lab)):
        if torch.equal(preds[k:], lab[k:]):
            break
    es = 1 - (k / len(lab))
    top2 = torch.topk(lp, 2, dim=-1).values
    return em, es, float((top2[:, 0] - top2[:, 1]).min())


def muse_auc(forget, holdout):  # privleak.py sweep(): forget (0) vs holdout (1) on -score
    y = np.array([0] * len(forget) + [1] * len(holdout))
    fpr, tpr, _ = get_roc_curve(y, -np.array(forget + holdout))
    return float(get_auc(fpr, tpr))


def muse_mean(vals):  # metrics/logger.py report(): sum(vals) / len(vals); eval.py: * 100
    return sum(vals) / len(vals) * 100


def main():
    c = load_corpus()
    for name, vn, kn in SETTINGS:
        base.VERBMEM_N, base.KNOWMEM_N, base.MAX_POS = vn, kn, MAX_POS  # read by base.run/metrics
        runner = Runner(name)
        gens, mink = base.run(runner, c)
        mink_gap = min(abs(a - b) for a in mink["forget"] for b in mink["holdout"])
        plain = base.metrics(runner, c, gens, mink, clean=False)
        partial = sum(0 < x < 1 for v in plain.values() for x in v["f1"])
        print(f"{name} {vn}/{kn}: min greedy gap {runner.min_margin:.4g}, "
              f"min Min-K gap {mink_gap:.4g}, ROUGE-L F1 in (0, 1): {partial}")
        if runner.min_margin >= MIN_GAP and mink_gap >= MIN_MINK_GAP and partial >= MIN_PARTIAL:
            break
    else:
        raise SystemExit("no setting with clear greedy and Min-K% gaps and non-vacuous scores")
    longest = max(len(runner.tok.encode(t)) for s in ["forget", "retain", "holdout"]
                  for t in c[f"privleak/{s}"])
    assert longest <= MAX_POS < 2 * longest, (longest, MAX_POS)

    blocks = {}
    for block, clean in [("plain", False), ("clean", True)]:
        m = base.metrics(runner, c, gens, mink, clean=clean)
        for v in m.values():  # MUSE's mean, not np.mean (pairwise sums differ by ulps)
            v["mean_f1"], v["mean_recall"] = muse_mean(v["f1"]), muse_mean(v["recall"])
        blocks[block] = m
    # metrics/privleak.py sweep(): nonmember = forget (0), member = holdout (1).
    ppl = np.array(mink["forget"] + mink["holdout"])
    y = np.array([0] * len(mink["forget"]) + [1] * len(mink["holdout"]))
    fpr, tpr, _ = get_roc_curve(y, -ppl)
    auc = float(get_auc(fpr, tpr))
    # MUSE's other attacks on the same texts; each one's smallest forget-holdout
    # gap recorded (only their order sets the AUC).
    mia = {}
    for attack in ["ppl", "ppl_lower", "ppl_zlib", "min_k_plus_plus"]:
        mia[attack] = {}
    for side in ["forget", "retain", "holdout"]:
        scores = [muse_mia(runner, t) for t in c[f"privleak/{side}"]]
        for sc, t in zip(scores, c[f"privleak/{side}"]):
            sc["min_k_plus_plus"] = open_unlearning_min_k_plus_plus(runner, t, base.MIN_K)
        for attack in mia:
            mia[attack][side] = [sc[attack] for sc in scores]
    for attack, v in mia.items():
        v["auc"] = muse_auc(v["forget"], v["holdout"])
        v["min_gap"] = min(abs(a - b) for a in v["forget"] for b in v["holdout"])
    mem = [open_unlearning_memorization(runner, d) for d in c["verbmem/forget"]]
    memorization = {"exact_memorization": [m[0] for m in mem],
                    "extraction_strength": [m[1] for m in mem],
                    "min_top1_gap": min(m[2] for m in mem),
                    "exact_memorization_mean": float(np.mean([m[0] for m in mem if m[0] is not None])),
                    "extraction_strength_mean": float(np.mean([m[1] for m in mem]))}
    nv, nf = len(c["verbmem/forget"]), len(c["knowmem/forget_qa"])
    exp = {
        "options": {"verbmem_max_new_tokens": vn, "knowmem_max_new_tokens": kn,
                    "min_k": base.MIN_K, "max_position_embeddings": MAX_POS},
        "model": name, "attn_implementation": "eager",
        "min_greedy_gap": runner.min_margin, "min_mink_gap": mink_gap,
        "greedy_gaps": {"verbmem": runner.gaps[:nv], "knowmem_forget": runner.gaps[nv:nv + nf],
                        "knowmem_retain": runner.gaps[nv + nf:]},
        "plain": blocks["plain"], "clean": blocks["clean"],
        "mink_forget": mink["forget"], "mink_retain": mink["retain"],
        "mink_holdout": mink["holdout"], "privleak_auc": auc,
        "mia": mia, "memorization": memorization,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(exp, f, ensure_ascii=False, indent=1)
        f.write("\n")
    p = exp["plain"]
    scores = [x for k in ["verbmem", "knowmem_forget", "knowmem_retain"] for x in p[k]["f1"]]
    print(f"kept {name} {vn}/{kn}, max_position_embeddings {MAX_POS}: "
          f"VerbMem {p['verbmem']['mean_f1']:.4f}, KnowMem forget {p['knowmem_forget']['mean_f1']:.4f},"
          f" retain {p['knowmem_retain']['mean_f1']:.4f}, AUC {auc:.4f}; ROUGE-L F1 > 0: "
          f"{sum(x > 0 for x in scores)}/{len(scores)}, in (0, 1): {sum(0 < x < 1 for x in scores)}")


if __name__ == "__main__":
    main()
