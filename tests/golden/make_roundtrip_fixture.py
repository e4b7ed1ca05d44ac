#!/usr/bin/env python3
"""tests/golden/make_roundtrip_fixture.py — the relapse -> transformers round trip.

    /work/venv/bin/python tests/golden/make_roundtrip_fixture.py BUILD_DIR/src/cli/relapse

1. `relapse convert` loads tests/golden/fixtures/llama_mha_fp32 and saves it with
   relapse's writer into tests/golden/fixtures/roundtrip/.
2. transformers' LlamaForCausalLM.from_pretrained loads that directory (eager
   attention) and its logits on a fixed batch go into
   roundtrip/transformers_logits.safetensors (input_ids, logits).
3. The logits must equal those of the original transformers-written checkpoint
   (golden.safetensors) within 1e-5, or this script fails.

4. transformers' AutoTokenizer loads the same directory (relapse writes
   tokenizer.json, tokenizer_config.json and special_tokens_map.json next to
   tokenizer.model, issue 25) and tokenizes every text of
   fixtures/tokenizer/cases.json and fixtures/texts.json (194 texts: Unicode,
   digits, whitespace runs, code-like and special-token text) with and without
   special tokens, and decodes them; the ids and strings go into
   roundtrip/transformers_tokens.json. Given more interpreters (e.g. a venv
   with transformers 4.x), each must give the same ids, or this script fails.

    .deps/venv/bin/python tests/golden/make_roundtrip_fixture.py BUILD/src/cli/relapse [PY4 ...]

tests/model/test_hf_checkpoint.cpp then checks, in CI without Python, that
relapse still writes exactly these bytes, that its logits on this directory
match the ones transformers computed from it, and that relapse's tokenizer
gives transformers' ids and strings on every text.
"""
import json
import os
import shutil
import subprocess
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures")


# Run by each interpreter on the saved directory: prints JSON of the ids.
TOKENIZE = r"""
import json, sys, transformers
from transformers import AutoTokenizer
tok = AutoTokenizer.from_pretrained(sys.argv[1])
texts = json.load(open(sys.argv[2]))
rows = []
for t in texts:
    ids = tok(t).input_ids
    bare = tok(t, add_special_tokens=False).input_ids
    rows.append({"text": t, "ids": ids, "ids_no_special": bare,
                 "decoded": tok.decode(bare), "decoded_skip_special": tok.decode(ids, skip_special_tokens=True)})
print(json.dumps({"transformers": transformers.__version__,
                  "tokenizer_class": type(tok).__name__, "rows": rows}))
"""


def tokenizer_texts():
    with open(os.path.join(FIX, "tokenizer", "cases.json"), encoding="utf-8") as f:
        cases = json.load(f)
    texts = [c["text"] for c in cases["cases"]] + [c["text"] for c in cases["bpe_cases"]]
    with open(os.path.join(FIX, "texts.json"), encoding="utf-8") as f:
        texts += json.load(f)
    return texts


def tokens_fixture(out, interpreters):
    texts_path = os.path.join(out, "texts.tmp.json")
    with open(texts_path, "w", encoding="utf-8") as f:
        json.dump(tokenizer_texts(), f)
    runs = []
    for py in interpreters:
        res = subprocess.run([py, "-c", TOKENIZE, out, texts_path], check=True, capture_output=True,
                             text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        runs.append(json.loads(res.stdout))
    os.remove(texts_path)
    for r in runs[1:]:
        for a, b in zip(runs[0]["rows"], r["rows"]):
            if a["ids"] != b["ids"] or a["decoded"] != b["decoded"]:
                sys.exit(f"transformers {r['transformers']} differs on {a['text']!r}")
    fixture = {"loaded_with": [{"transformers": r["transformers"], "class": r["tokenizer_class"]} for r in runs],
               "rows": runs[0]["rows"]}
    with open(os.path.join(out, "transformers_tokens.json"), "w", encoding="utf-8") as f:
        json.dump(fixture, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"tokenizer: {len(fixture['rows'])} texts, equal ids in {fixture['loaded_with']}")


def main():
    relapse = sys.argv[1]
    src = os.path.join(FIX, "llama_mha_fp32")
    out = os.path.join(FIX, "roundtrip")
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([relapse, "convert", "--model", src, "--out", out], check=True)

    import torch
    from safetensors.torch import load_file, save_file
    from transformers import LlamaForCausalLM

    torch.set_num_threads(1)
    golden = load_file(os.path.join(src, "golden.safetensors"))
    model = LlamaForCausalLM.from_pretrained(out, dtype="auto", attn_implementation="eager").eval()
    with torch.no_grad():
        logits = model(input_ids=golden["input_ids"]).logits.float()
    diff = (logits - golden["logits"]).abs().max().item()
    print(f"transformers on relapse-saved dir vs original: max |dlogits| = {diff:.3e}")
    if diff > 1e-5:
        sys.exit("round trip changed the model")
    save_file({"input_ids": golden["input_ids"].contiguous(), "logits": logits.contiguous()},
              os.path.join(out, "transformers_logits.safetensors"), metadata={"format": "pt"})
    tokens_fixture(out, [sys.executable] + sys.argv[2:])


if __name__ == "__main__":
    main()
