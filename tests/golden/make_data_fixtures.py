#!/usr/bin/env python3
"""tests/golden/make_data_fixtures.py — writes tests/golden/fixtures/data/chunking.json:
MUSE's training-text chunking rendered in Python/torch exactly as
muse_bench baselines/baselines/dataset.py (DefaultDataset, the `.txt` branch)
does it, for tests/data/test_chunking.cpp:

    tokens = tokenizer(text, add_special_tokens=False, return_tensors='pt').input_ids[0]
    add_bos:  [F.pad(tokens[i:i+max_len-1], (1, 0), value=bos) for i in range(0, len(tokens), max_len-1)]
    else:     [tokens[i:i+max_len] for i in range(0, len(tokens), max_len)]
    if len(input_ids[-1]) < max_len:
        input_ids[-1] = torch.concat([input_ids[-1], input_ids[0]], dim=-1)[:max_len]

Cases: fixed token lists (lengths around multiples of the step, one chunk
shorter than half of max_len, max_len 2, with and without BOS), and two texts
tokenized by transformers' LlamaTokenizer from fixtures/tokenizer (the HF
side of `muse_chunk_text`). Deterministic (no randomness, sorted keys).

    /work/venv/bin/python tests/golden/make_data_fixtures.py

Never a runtime dependency of relapse.
"""
import json
from pathlib import Path

import torch
import torch.nn.functional as F
import transformers
from transformers import AutoTokenizer

HERE = Path(__file__).resolve().parent
OUT = HERE / "fixtures" / "data" / "chunking.json"


def muse_chunks(tokens: torch.Tensor, max_len: int, bos: int, add_bos_token: bool):
    # Verbatim logic of DefaultDataset.__init__ for a .txt file.
    if add_bos_token:
        input_ids = [
            F.pad(tokens[i : i + max_len - 1], (1, 0), value=bos)
            for i in range(0, len(tokens), max_len - 1)
        ]
    else:
        input_ids = [tokens[i : i + max_len] for i in range(0, len(tokens), max_len)]
    if len(input_ids[-1]) < max_len:
        input_ids[-1] = torch.concat([input_ids[-1], input_ids[0]], dim=-1)[:max_len]
    return [t.tolist() for t in input_ids]


def main():
    cases = []
    bos = 1
    for n in [1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 23, 40]:
        tokens = torch.tensor([100 + 7 * k % 53 for k in range(n)], dtype=torch.long)
        for max_len in [2, 4, 8, 16]:
            for add_bos in [True, False]:
                cases.append({"tokens": tokens.tolist(), "max_len": max_len, "bos": bos,
                              "add_bos": add_bos,
                              "chunks": muse_chunks(tokens, max_len, bos, add_bos)})

    tok = AutoTokenizer.from_pretrained(str(HERE / "fixtures" / "tokenizer"))
    texts = [
        "The clockmaker Tovar Belnd was born in Dranholm in 1873.\n\nHe worked for Vesk Works.",
        "Question: In which year was Brai Stoumer born?\nAnswer: 1901\n\n" * 3,
    ]
    text_cases = []
    for text in texts:
        ids = tok(text, add_special_tokens=False, return_tensors="pt").input_ids[0]
        for max_len in [8, 32]:
            text_cases.append({"text": text, "max_len": max_len, "ids": ids.tolist(),
                               "chunks": muse_chunks(ids, max_len, tok.bos_token_id, True)})

    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc = {"source": "muse_bench baselines/baselines/dataset.py DefaultDataset (.txt branch)",
           "transformers": transformers.__version__, "torch": torch.__version__,
           "cases": cases, "text_cases": text_cases}
    OUT.write_text(json.dumps(doc, sort_keys=True, indent=1) + "\n")
    print(f"wrote {OUT}: {len(cases)} token cases, {len(text_cases)} text cases")


if __name__ == "__main__":
    main()
