#!/usr/bin/env python3
"""launch/bench/hf_reference.py — the Hugging Face side of `relapse bench train|score|generate`.

relapse runs this script in the same invocation, right after its own measurement, on the same
model shape (the config.json relapse writes), dtype, batch, sequence length, device and thread
count, and prints relapse's tokens/s divided by the tokens/s printed here. transformers'
LlamaForCausalLM with attn_implementation="sdpa" (its default), PyTorch's AdamW (foreach, the
default) for the pure-bf16 / fp32 training step, model.generate(do_sample=False) for greedy
decoding with exactly --new-tokens tokens. Weights are random: none of the three speeds
depends on the values. Prints one JSON line.
"""
import argparse
import json
import statistics
import time

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, iters, warmup, device):
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True, help="directory with relapse's config.json")
    ap.add_argument("--mode", required=True, choices=["train", "score", "generate"])
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=256, help="sequence (train/score) or prompt length")
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--lr", type=float, default=1e-5)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    device = torch.device(a.device)
    dtype = torch.bfloat16 if a.dtype == "bfloat16" else torch.float32
    cfg = LlamaConfig.from_pretrained(a.config)
    model = LlamaForCausalLM(cfg).to(device=device, dtype=dtype)
    model.config._attn_implementation = "sdpa"
    ids = torch.randint(3, cfg.vocab_size, (a.batch, a.seq), device=device)

    if a.mode == "train":
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.0)

        def step():
            out = model(input_ids=ids, labels=ids)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)

        t = timed(step, a.iters, a.warmup, device)
        tokens = a.batch * a.seq
    elif a.mode == "score":
        model.eval()

        @torch.no_grad()
        def score():
            logits = model(input_ids=ids).logits[:, :-1].float()
            lp = torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None]).squeeze(-1)
            return lp.cpu()

        t = timed(score, a.iters, a.warmup, device)
        tokens = a.batch * a.seq
    else:
        model.eval()
        mask = torch.ones_like(ids)

        @torch.no_grad()
        def gen():
            out = model.generate(input_ids=ids, attention_mask=mask, do_sample=False,
                                 max_new_tokens=a.new_tokens, min_new_tokens=a.new_tokens,
                                 pad_token_id=0)
            return out.cpu()

        t = timed(gen, a.iters, a.warmup, device)
        tokens = a.batch * a.new_tokens
    print(json.dumps({"mode": a.mode, "time_s": t, "tokens_per_s": tokens / t,
                      "torch": torch.__version__, "transformers": transformers.__version__,
                      "threads": torch.get_num_threads(), "attn": "sdpa"}))


if __name__ == "__main__":
    main()
