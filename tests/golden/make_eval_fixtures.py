#!/usr/bin/env python3
"""tests/golden/make_eval_fixtures.py — reference values for relapse's MUSE
metric primitives (src/eval), written to tests/golden/fixtures/eval/*.json:

  rouge.json      ROUGE-L from Google's rouge_score (use_stemmer=False) and its
                  tokenizer on >= 60 pairs, plus the exhaustive list of code
                  points whose Python lowercase holds an ASCII letter/digit.
  auc.json        sklearn roc_auc_score on random data, with and without ties;
                  numpy sums of exactly reproducible arrays (LCG below).
  muse.json       a Python rendering of MUSE's metrics/privleak.py (Min-K%,
                  sweep AUC, normalisation), metrics/knowmem.py (prompt,
                  get_prefix_before_words_occur), verbmem.py reference
                  truncation (with the tokenizer fixture) and transformers
                  4.x clean_up_tokenization.

    /work/venv/bin/python tests/golden/make_eval_fixtures.py   # a few seconds

Deterministic (fixed seeds); needs rouge-score, scikit-learn, numpy,
transformers (only for the verbmem cases). Python is never a runtime
dependency: the C++ tests read these files. NaN is written as null.
"""
import json
import math
import os
import re
import sys
import unicodedata

import numpy as np
import rouge_score
import sklearn
from rouge_score import rouge_scorer, tokenize
from sklearn.metrics import auc as get_auc, roc_auc_score, roc_curve as get_roc_curve

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "eval")


def dump(name, obj):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, allow_nan=False)
        f.write("\n")


def nan_to_none(x):
    return None if isinstance(x, float) and math.isnan(x) else x


# ---- ROUGE ------------------------------------------------------------------

def lowercase_ascii_specials():
    """Code points outside [A-Za-z0-9] whose str.lower() contains [a-z0-9]."""
    out = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        if re.fullmatch(r"[A-Za-z0-9]", c):
            continue
        if re.search(r"[a-z0-9]", c.lower()):
            out.append(cp)
    return out


def rouge_pairs(rng):
    words = ["the", "a", "cat", "sat", "on", "mat", "Paris", "1987", "born", "in", "x2",
             "don't", "U.S.A.", "e-mail", "naïve", "café", "İstanbul", "\u212Aelvin", "ß", "Ω"]
    seps = [" ", "  ", "\n", "\t", ", ", ". ", "-", "—", "/", "'", "!? ", "\u00a0", "\u3000"]
    pairs = [
        ("", ""), ("", "hello"), ("hello", ""), ("   ", "hello"), ("hello", " \n\t "),
        ("!!!", "..."), ("Hello, World!", "hello world"), ("The cat sat.", "the cat sat"),
        ("Born in 1987 in Paris.", "He was born in Paris in 1987."),
        ("abc123def", "ABC123DEF"), ("a1 b2 c3", "a1-b2-c3"), ("3.14159", "3 14159"),
        ("the the the", "the"), ("the", "the the the"), ("a b a b a b", "b a b a"),
        ("don't stop", "do n't stop"), ("don't stop", "dont stop"),
        ("café naïve", "caf na ve"), ("東京 Tokyo", "Tokyo 東京"), ("😀 smile 😀", "smile"),
        ("İstanbul", "i stanbul"), ("İSTANBUL", "istanbul"), ("Kİ", "ki"), ("\u0130\u0130", "i i"),
        ("\u212A", "k"), ("\u212Aelvin 300\u212A", "kelvin 300k"), ("\u212A\u0130", "ki"),
        ("i\u0307", "i"), ("\u0307i", "i"), ("STRASSE straße", "strasse stra e"),
        ("Ω omega ω", "omega"), ("ǅemal", "emal"), ("ﬁne", "fine"), ("Ａ full width", "a full width"),
        ("\u2160 roman", "roman"), ("x²", "x"), ("١٢٣ 123", "123"), ("Σίσυφος", ""),
        ("line1\nline2\r\nline3", "line1 line2 line3"), ("tab\tseparated\tvalues", "tab separated"),
        ("under_score snake_case", "under score snake case"), ("CamelCaseWord", "camelcaseword"),
        ("$100 & 50%", "100 50"), ("email@example.com", "email example com"),
        ("Question: who?\nAnswer: me", "who me"),
        ("a", "a"), ("a", "b"), ("a b", "b a"), ("x y z", "z y x"),
    ]
    # random pairs over the vocabulary above, short and long
    for n in [3, 5, 8, 13, 21, 40, 80, 150, 300]:
        for _ in range(2):
            def text(m):
                parts = []
                for _ in range(m):
                    parts.append(words[rng.integers(len(words))])
                    parts.append(seps[rng.integers(len(seps))])
                return "".join(parts)
            t = text(n)
            p = text(int(rng.integers(1, n + 2)))
            if rng.random() < 0.5:  # a noisy copy: shares a long subsequence
                toks = t.split(" ")
                keep = [w for w in toks if rng.random() < 0.7]
                p = " ".join(keep)
            pairs.append((t, p))
    # pure-ASCII random character soup
    alphabet = "abcXYZ019 .,;:!?'\"-\n\t"
    for _ in range(10):
        t = "".join(alphabet[i] for i in rng.integers(len(alphabet), size=int(rng.integers(0, 60))))
        p = "".join(alphabet[i] for i in rng.integers(len(alphabet), size=int(rng.integers(0, 60))))
        pairs.append((t, p))
    return pairs


def make_rouge():
    rng = np.random.default_rng(1234)
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    cases = []
    for target, pred in rouge_pairs(rng):
        s = scorer.score(target, pred)["rougeL"]
        cases.append({
            "target": target, "prediction": pred,
            "target_tokens": tokenize.tokenize(target, None),
            "prediction_tokens": tokenize.tokenize(pred, None),
            "precision": float(s.precision), "recall": float(s.recall),
            "fmeasure": float(s.fmeasure),
        })
    specials = lowercase_ascii_specials()
    assert specials == [0x130, 0x212A], specials
    dump("rouge.json", {
        "meta": {"rouge_score": getattr(rouge_score, "__version__", "0.1.2"),
                 "python": sys.version.split()[0], "unicode": unicodedata.unidata_version},
        "lowercase_ascii_specials": specials,
        "cases": cases,
    })
    return len(cases)


# ---- AUC / numpy sums ----------------------------------------------------------

def lcg_array(seed, n):
    """Doubles built with exact operations only (C++ rebuilds them bit for
    bit): v = (m / 2**53 - 0.5) * 2**e from a 64-bit LCG."""
    state = seed & (2**64 - 1)
    out = []
    for _ in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        m = state >> 11
        e = int((state >> 3) % 41) - 20
        out.append((m / 2.0**53 - 0.5) * 2.0**e)
    return out


def make_auc():
    rng = np.random.default_rng(99)
    cases = []
    sizes = [2, 3, 4, 5, 7, 10, 16, 31, 50, 64, 100, 129, 200, 333, 500]
    for n in sizes:
        for kind in ["continuous", "ties_int", "ties_few", "separable"]:
            while True:
                labels = rng.integers(0, 2, size=n)
                if 0 < labels.sum() < n:
                    break
            if kind == "continuous":
                scores = rng.standard_normal(n) + 0.7 * labels
            elif kind == "ties_int":
                scores = rng.integers(0, 10, size=n).astype(np.float64) + labels * rng.integers(0, 3, size=n)
            elif kind == "ties_few":
                scores = rng.integers(-1, 2, size=n).astype(np.float64)
            else:
                scores = labels * 2.0 + rng.random(n) * 0.5
            auc = float(roc_auc_score(labels, scores))
            fpr, tpr, _ = get_roc_curve(labels, scores)
            assert float(get_auc(fpr, tpr)) == auc
            cases.append({"kind": kind, "scores": [float(s) for s in scores],
                          "labels": [int(l) for l in labels], "auc": auc})
    # hand cases: all tied -> 0.5; perfect; reversed
    for scores, labels in [([1.0, 1.0], [0, 1]), ([0.0, 1.0], [0, 1]), ([1.0, 0.0], [0, 1]),
                           ([-0.0, 0.0, 0.0], [1, 0, 1]), ([5.0] * 6, [0, 1, 0, 1, 1, 0])]:
        cases.append({"kind": "hand", "scores": scores, "labels": labels,
                      "auc": float(roc_auc_score(labels, scores))})
    sums = []
    for seed, n in [(1, 1), (2, 5), (3, 7), (4, 8), (5, 9), (6, 15), (7, 16), (8, 17), (9, 127),
                    (10, 128), (11, 129), (12, 136), (13, 255), (14, 256), (15, 1000), (16, 2049),
                    (17, 5000), (18, 0)]:
        a = np.array(lcg_array(seed, n), dtype=np.float64)
        sums.append({"seed": seed, "n": n, "sum": float(np.sum(a)),
                     "mean": nan_to_none(float(np.mean(a))) if n else None,
                     "first": float(a[0]) if n else None})
    dump("auc.json", {"meta": {"sklearn": sklearn.__version__, "numpy": np.__version__},
                      "cases": cases, "np_sums": sums})
    return len(cases)


# ---- MUSE -------------------------------------------------------------------

def muse_min_k(all_prob, ratio):
    # metrics/privleak.py inference()
    k_length = int(len(all_prob) * ratio)
    topk_prob = np.sort(all_prob)[:k_length]
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(-np.mean(topk_prob).item())


def muse_sweep_auc(ppl, y):
    fpr, tpr, _ = get_roc_curve(y, -ppl)
    return get_auc(fpr, tpr)


def get_prefix_before_words_occur(string, words):
    for word in words:
        string = string.split(word)[0]
    return string


def clean_up_tokenization(out_string):
    # transformers 4.x PreTrainedTokenizerBase.clean_up_tokenization
    return (out_string.replace(" .", ".").replace(" ?", "?").replace(" !", "!")
            .replace(" ,", ",").replace(" ' ", "'").replace(" n't", "n't")
            .replace(" 'm", "'m").replace(" 's", "'s").replace(" 've", "'ve")
            .replace(" 're", "'re"))


def make_muse():
    rng = np.random.default_rng(7)
    min_k = []
    for n in [0, 1, 2, 3, 4, 5, 9, 10, 11, 20, 25, 50, 127, 128, 200, 511, 1024, 2047]:
        lp = (-(rng.exponential(2.0, size=n)) * (rng.random(n) < 0.9)).astype(np.float32)
        if n > 6:
            lp[: n // 5] = lp[0]  # repeated values
        all_prob = [float(x) for x in lp]  # .item() of each: python floats
        vals = {}
        for ratio in [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 1.0]:
            vals[repr(ratio)] = nan_to_none(muse_min_k(all_prob, ratio))
        min_k.append({"logprobs": all_prob, "scores": vals})

    privleak = []
    for nf, nh, shift in [(5, 5, 0.0), (20, 30, 0.5), (50, 50, -1.0), (100, 100, 0.0), (3, 200, 2.0)]:
        forget = list(rng.standard_normal(nf) + 3.0 - shift)
        holdout = list(rng.standard_normal(nh) + 3.0)
        forget[: nf // 3] = [round(x, 1) for x in forget[: nf // 3]]  # some ties
        holdout[: nh // 3] = [round(x, 1) for x in holdout[: nh // 3]]
        ppl = np.array(forget + holdout)
        y = np.array([0] * nf + [1] * nh)
        auc = float(muse_sweep_auc(ppl, y))
        privleak.append({"forget": [float(x) for x in forget], "holdout": [float(x) for x in holdout],
                         "auc": auc})
    normalise = []
    for a, r in [(0.1, 0.5), (0.5, 0.5), (0.9, 0.4772), (0.0, kNews := 0.47719999999999996),
                 (0.33, 0.5392999999999999), (1.0, 0.01)]:
        normalise.append({"auc": a, "auc_retrain": r, "privleak": (a - r) / r * 100})

    icl = [{"question": "Who wrote it?", "answer": "Ann Lee"},
           {"question": "When?\nReally?", "answer": " 1999 "}]
    prompts = []
    for k in [0, 1, 2]:
        for q in ["What is the capital of Veldra?", "", "Question: nested?"]:
            general = "".join(f"Question: {d['question']}\nAnswer: {d['answer']}\n\n" for d in icl[:k])
            prompts.append({"icl": icl[:k], "question": q,
                            "prompt": general + f"Question: {q}\nAnswer: "})
    truncs = []
    for g in ["Paris", " Paris\n\nQuestion: next", "Paris\nQuestion: x", "Paris Question: x",
              "A\nB\nC", "\n\nX", "", "Questions: x", "x\nQuestionnaire", "x Question:\n\ny",
              "ans\n\n\nQuestion:", "  spaced  \n", "Question:", "a\nQuestion\n\nb", "é\n\nß",
              "1987.\nAnswer: 1988\n\nQuestion: who"]:
        truncs.append({"generated": g,
                       "answer": get_prefix_before_words_occur(g, ["\n\n", "\nQuestion", "Question:"])})
    cleanups = []
    for t in ["I do n't know .", "Yes , it is ! Is it ?", "it ' s", "I 'm here , you 're there",
              "we 've  seen  John 's", " . . .", "no change", "a ' b ' c", "don't", " n't n't"]:
        cleanups.append({"text": t, "clean": clean_up_tokenization(t)})

    verbmem = []
    try:
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained(os.path.join(HERE, "fixtures", "tokenizer"))
        texts = json.load(open(os.path.join(HERE, "fixtures", "texts.json"), encoding="utf-8"))
        texts = texts if isinstance(texts, list) else list(texts.values())
        texts = [t for t in texts if isinstance(t, str) and t][:4]
        texts.append("The quick brown fox jumps over the lazy dog. " * 12)
        for gt in texts:
            for max_new in [5, 16, 128]:
                gt_ids = tok(gt, return_tensors="pt", add_special_tokens=True).input_ids[:, :max_new]
                gt_short = tok.batch_decode(gt_ids, skip_special_tokens=True,
                                            clean_up_tokenization_spaces=True)[0]
                verbmem.append({"gt": gt, "max_new_tokens": max_new,
                                "ids": [int(i) for i in gt_ids[0]], "gt_short": gt_short})
    except Exception as e:  # keep the other fixtures if transformers is missing
        print("verbmem cases skipped:", e)
    dump("muse.json", {"min_k": min_k, "privleak_auc": privleak, "privleak_normalise": normalise,
                       "knowmem_prompt": prompts, "knowmem_truncate": truncs,
                       "clean_up_tokenization": cleanups, "verbmem": verbmem})
    return len(min_k), len(verbmem)


if __name__ == "__main__":
    print("rouge cases:", make_rouge())
    print("auc cases:", make_auc())
    print("min_k / verbmem cases:", make_muse())
