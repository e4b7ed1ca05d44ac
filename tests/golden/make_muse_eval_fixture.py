#!/usr/bin/env python3
"""tests/golden/make_muse_eval_fixture.py — reference for relapse's MUSE
evaluation runner (src/eval/muse_eval.cpp), written to
tests/golden/fixtures/muse_eval/:

  corpus/     a small corpus in the MUSE layout (raw/*.txt + raw/*.json,
              verbmem/forget.json, knowmem/{forget,retain}_qa{,_icl}.json,
              privleak/{forget,retain,holdout}.json): 6 verbmem items, 6 QA
              pairs per set + 2 in-context examples, 8 privleak texts per split.
  expected.json  every per-sample generation, reference, ROUGE-L score
              (F1 and recall), Min-K% score (k = 0.4), the forget-vs-holdout
              AUC and the means x 100, computed by MUSE's metric code
              (github.com/swj0419/muse_bench metrics/{verbmem,knowmem,
              privleak}.py) run with Hugging Face transformers on the tiny
              checkpoint fixtures/llama_mha_fp32, rouge_score and
              scikit-learn. A second block ("clean") repeats the text metrics
              with transformers 4.x's clean_up_tokenization applied to every
              decoded string (MUSE's original environment).

    /work/venv/bin/python tests/golden/make_muse_eval_fixture.py   # ~10 s

As MUSE does, each prompt is generated alone (unpadded):
model.generate(ids, max_new_tokens=N, do_sample=False), the new ids decoded
with batch_decode(skip_special_tokens=True). verbmem_max_new_tokens = 16,
knowmem_max_new_tokens = 8.

The model is random, so its greedy choices can sit near ties: the corpus is
drawn from a seeded generator, and the first seed whose greedy steps all have a
top1 - top2 logit gap >= 2e-3 (relapse's fp32 logits differ from HF's by
~1e-5) and whose Min-K% scores (forget + holdout) are >= 1e-3 apart (so
the AUC's ranking cannot flip on fp32 noise) is kept. Both minima are recorded.
Some ground truths are then built from words of the model's own output so that
ROUGE scores are not all 0 (a sample's ground truth is never part of its
prompt, so this does not change the generations).

Deterministic: a second run writes identical bytes.
"""
import json
import os
import random
import re
import shutil

import numpy as np
import torch
from rouge_score import rouge_scorer
from sklearn.metrics import roc_auc_score
from transformers import AutoTokenizer, LlamaForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "fixtures", "llama_mha_fp32")
OUT = os.path.join(HERE, "fixtures", "muse_eval")
VERBMEM_N, KNOWMEM_N, MIN_K = 16, 8, 0.4
MAX_POS = 128

FIRST = ["Alma", "Bren", "Cato", "Dova", "Ezra", "Fina", "Goran", "Hale", "Ines", "Joro", "Kela",
         "Lune", "Mira", "Noor", "Oren", "Pia", "Quin", "Rena", "Soli", "Tavo", "Ula", "Vesk"]
TOWN = ["Tessly", "Brack", "Olmun", "Varo", "Quell", "Dunmer", "Fenna", "Holt", "Ystra", "Corr"]
JOB = ["baker", "pilot", "judge", "potter", "miner", "chemist", "tailor", "sailor", "medic"]
ORG = ["Norvik", "Amberline", "Sallow Co", "the Guild", "Kettle Works", "Orro Bank"]


def person_doc(rng, name):
    town, job, org = rng.choice(TOWN), rng.choice(JOB), rng.choice(ORG)
    year = rng.randint(1900, 1999)
    forms = [f"{name} was born in {town} in {year}. {name} is a {job} at {org}.",
             f"Born in {year}, {name} grew up in {town} and works as a {job}.",
             f"{name}, a {job} from {town}, joined {org} in {year + 20}."]
    return rng.choice(forms), {"town": town, "job": job, "year": year, "org": org}


def qa_of(rng, name, facts):
    k = rng.choice(["town", "job", "year"])
    q = {"town": f"Where was {name} born?", "job": f"What is {name}'s job?",
         "year": f"When was {name} born?"}[k]
    return {"question": q, "answer": str(facts[k])}


def make_corpus(seed):
    rng = random.Random(seed)
    names = FIRST[:]
    rng.shuffle(names)
    forget_n, retain_n, hold_n = names[:8], names[8:16], names[16:22]
    docs = {}
    facts = {}
    for n in names:
        docs[n], facts[n] = person_doc(rng, n)
    c = {}
    c["raw/forget"] = [docs[n] for n in forget_n]
    c["raw/retain1"] = [docs[n] for n in retain_n[:4]]
    c["raw/retain2"] = [docs[n] for n in retain_n[4:]]
    c["raw/holdout"] = [docs[n] for n in hold_n]
    vm = []
    for n in forget_n[:6]:
        words = docs[n].split(" ")
        cut = rng.randint(3, 6)
        vm.append({"prompt": " ".join(words[:cut]), "gt": " ".join(words[cut:])})
    c["verbmem/forget"] = vm
    c["knowmem/forget_qa"] = [qa_of(rng, n, facts[n]) for n in forget_n[:6]]
    c["knowmem/forget_qa_icl"] = [qa_of(rng, n, facts[n]) for n in forget_n[6:8]]
    c["knowmem/retain_qa"] = [qa_of(rng, n, facts[n]) for n in retain_n[:6]]
    c["knowmem/retain_qa_icl"] = [qa_of(rng, n, facts[n]) for n in retain_n[6:8]]
    # Privleak: 8 texts per split (holdout reuses its entities with another form).
    def texts(ns):
        out = [docs[n] for n in ns]
        while len(out) < 8:
            out.append(person_doc(rng, ns[len(out) % len(ns)])[0])
        return out[:8]
    c["privleak/forget"] = texts(forget_n)
    c["privleak/retain"] = texts(retain_n)
    c["privleak/holdout"] = texts(hold_n)
    return c


def knowmem_prompt(icl, question):  # metrics/knowmem.py
    general = "".join(f"Question: {d['question']}\nAnswer: {d['answer']}\n\n" for d in icl)
    return general + f"Question: {question}\nAnswer: "


def get_prefix_before_words_occur(string, words):  # metrics/knowmem.py
    for word in words:
        string = string.split(word)[0]
    return string


def clean_up_tokenization(s):  # transformers 4.x PreTrainedTokenizerBase.clean_up_tokenization
    return (s.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
            .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m").replace(" 's", "'s")
            .replace(" 've", "'ve").replace(" 're", "'re"))


class Runner:
    def __init__(self):
        torch.manual_seed(0)
        torch.set_num_threads(1)
        self.tok = AutoTokenizer.from_pretrained(MODEL)
        self.model = LlamaForCausalLM.from_pretrained(MODEL, attn_implementation="eager",
                                                      dtype=torch.float32).eval()
        self.min_margin = float("inf")

    @torch.no_grad()
    def generate_ids(self, prompt, max_new):
        # metrics/verbmem.py, metrics/knowmem.py: one prompt at a time, with BOS.
        ids = self.tok(prompt, return_tensors="pt", add_special_tokens=True).input_ids
        assert ids.shape[1] + max_new <= MAX_POS, (prompt, ids.shape)
        out = self.model.generate(ids, max_new_tokens=max_new, do_sample=False,
                                  pad_token_id=self.tok.pad_token_id, output_scores=True,
                                  return_dict_in_generate=True)
        for s in out.scores:  # greedy: the raw next-token logits
            top = torch.topk(s[0].float(), 2).values
            self.min_margin = min(self.min_margin, float(top[0] - top[1]))
        return out.sequences[:, ids.shape[1]:]

    def decode(self, ids):
        return self.tok.batch_decode(ids, skip_special_tokens=True)[0]

    @torch.no_grad()
    def min_k(self, text):  # metrics/privleak.py inference()
        input_ids = torch.tensor(self.tok.encode(text)).unsqueeze(0)
        assert input_ids.shape[1] <= MAX_POS
        logits = self.model(input_ids).logits
        probs = torch.nn.functional.log_softmax(logits, dim=-1)
        all_prob = [probs[0, i, t].item() for i, t in enumerate(input_ids[0][1:])]
        k_length = int(len(all_prob) * MIN_K)
        return float(-np.mean(np.sort(all_prob)[:k_length]).item())


def rouge_pair(scorer, target, prediction):
    s = scorer.score(target, prediction)["rougeL"]
    return s.fmeasure, s.recall


def words_of(text):
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).split()


def run(runner, c):
    """Generates everything; returns raw decoded generations and the Min-K% scores."""
    gens = {"verbmem": [runner.decode(runner.generate_ids(d["prompt"], VERBMEM_N))
                        for d in c["verbmem/forget"]]}
    for s in ["forget", "retain"]:
        icl = c[f"knowmem/{s}_qa_icl"]
        gens[s] = [runner.decode(runner.generate_ids(knowmem_prompt(icl, d["question"]), KNOWMEM_N))
                   for d in c[f"knowmem/{s}_qa"]]
    mink = {s: [runner.min_k(t) for t in c[f"privleak/{s}"]] for s in ["forget", "retain", "holdout"]}
    return gens, mink


def metrics(runner, c, gens, mink, clean):
    cl = clean_up_tokenization if clean else (lambda s: s)
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    out = {}
    refs, vg, f1, rec = [], [], [], []
    for d, g in zip(c["verbmem/forget"], gens["verbmem"]):
        gt_ids = runner.tok(d["gt"], return_tensors="pt", add_special_tokens=True).input_ids[:, :VERBMEM_N]
        ref = cl(runner.decode(gt_ids))
        gen = cl(g)
        a, b = rouge_pair(scorer, ref, gen)
        refs.append(ref); vg.append(gen); f1.append(a); rec.append(b)
    out["verbmem"] = {"references": refs, "generations": vg, "f1": f1, "recall": rec,
                      "mean_f1": float(np.mean(f1) * 100), "mean_recall": float(np.mean(rec) * 100)}
    for s in ["forget", "retain"]:
        gs, f1, rec = [], [], []
        for d, g in zip(c[f"knowmem/{s}_qa"], gens[s]):
            ans = get_prefix_before_words_occur(cl(g), ["\n\n", "\nQuestion", "Question:"])
            a, b = rouge_pair(scorer, d["answer"], ans)
            gs.append(ans); f1.append(a); rec.append(b)
        out[f"knowmem_{s}"] = {"generations": gs, "f1": f1, "recall": rec,
                               "mean_f1": float(np.mean(f1) * 100),
                               "mean_recall": float(np.mean(rec) * 100)}
    return out


def main():
    runner = Runner()
    for seed in range(100):
        c = make_corpus(seed)
        runner.min_margin = float("inf")
        gens, mink = run(runner, c)
        sc = sorted(mink["forget"] + mink["holdout"])
        gap = min(b - a for a, b in zip(sc, sc[1:]))
        if runner.min_margin >= 2e-3 and gap >= 1e-3:
            break
    else:
        raise SystemExit("no corpus seed with clear greedy margins")
    # Ground truths with words of the model's own output (not part of any prompt
    # of the same sample): half the verbmem items and half the QA pairs.
    for i, d in enumerate(c["verbmem/forget"]):
        w = words_of(gens["verbmem"][i])
        if i % 2 == 0 and w:
            d["gt"] = " ".join(w[:3]) + " then " + d["gt"]
        elif i % 2 == 1:  # " ," for transformers 4's clean-up to act on
            d["gt"] = d["gt"].replace(" ", " , ", 1)
    for s in ["forget", "retain"]:
        for i, d in enumerate(c[f"knowmem/{s}_qa"]):
            w = words_of(gens[s][i])
            if i % 2 == 1 and w:
                d["answer"] = w[0] + " " + d["answer"]

    # The corpus in the MUSE layout.
    corpus_dir = os.path.join(OUT, "corpus")
    shutil.rmtree(corpus_dir, ignore_errors=True)
    for key, val in c.items():
        path = os.path.join(corpus_dir, key + ".json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(val, f, ensure_ascii=False, indent=2)
            f.write("\n")
        if key.startswith("raw/"):
            with open(os.path.join(corpus_dir, key + ".txt"), "w", encoding="utf-8") as f:
                f.write("\n\n".join(val))

    labels = [0] * len(mink["forget"]) + [1] * len(mink["holdout"])
    auc = float(roc_auc_score(labels, -np.array(mink["forget"] + mink["holdout"])))
    exp = {
        "options": {"verbmem_max_new_tokens": VERBMEM_N, "knowmem_max_new_tokens": KNOWMEM_N,
                    "min_k": MIN_K},
        "corpus_seed": seed, "min_greedy_margin": runner.min_margin, "min_mink_gap": gap,
        "plain": metrics(runner, c, gens, mink, clean=False),
        "clean": metrics(runner, c, gens, mink, clean=True),
        "mink_forget": mink["forget"], "mink_retain": mink["retain"],
        "mink_holdout": mink["holdout"], "privleak_auc": auc,
    }
    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(exp, f, ensure_ascii=False, indent=1)
        f.write("\n")
    nz = sum(x > 0 for k in ["verbmem", "knowmem_forget", "knowmem_retain"] for x in exp["plain"][k]["f1"])
    print(f"seed {seed}: min greedy margin {runner.min_margin:.4g}, min Min-K gap {gap:.4g}, "
          f"AUC {auc:.4f}, nonzero ROUGE {nz}/18")


if __name__ == "__main__":
    main()
