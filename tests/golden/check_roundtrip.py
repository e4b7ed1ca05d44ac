#!/usr/bin/env python3
"""tests/golden/check_roundtrip.py — loads a model directory written by relapse
with Hugging Face transformers and compares its logits with the golden ones.

    /work/venv/bin/python tests/golden/check_roundtrip.py MODEL_DIR GOLDEN_DIR [--tol 1e-5]

Runs `input_ids` from GOLDEN_DIR/golden.safetensors through
LlamaForCausalLM.from_pretrained(MODEL_DIR) (eager attention, eval mode, the
dtype of MODEL_DIR's config.json) and prints the max abs difference of the
float32-cast logits against the stored `logits`. Exit 0 when it is <= tol, 1
when above, 2 on a usage or load error. The default tolerance 1e-5 fits a
directory that holds the same weights as GOLDEN_DIR's checkpoint: then the two
forward passes are the same computation and the difference is ~0.
"""
import argparse
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("golden_dir")
    ap.add_argument("--tol", type=float, default=1e-5)
    args = ap.parse_args()

    import torch
    from safetensors.torch import load_file
    from transformers import LlamaForCausalLM

    golden_path = os.path.join(args.golden_dir, "golden.safetensors")
    try:
        golden = load_file(golden_path)
        model = LlamaForCausalLM.from_pretrained(args.model_dir, dtype="auto", attn_implementation="eager").eval()
    except Exception as e:  # noqa: BLE001 — report any load failure as exit 2
        print(f"check_roundtrip: cannot load {args.model_dir} / {golden_path}: {e}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    with torch.no_grad():
        logits = model(input_ids=golden["input_ids"]).logits.float()
    ref = golden["logits"]
    if logits.shape != ref.shape:
        print(f"check_roundtrip: logits shape {tuple(logits.shape)} != golden {tuple(ref.shape)}")
        return 1
    diff = (logits - ref).abs().max().item()
    ok = diff <= args.tol
    print(f"check_roundtrip: {args.model_dir} dtype={model.dtype} max_abs_diff={diff:.3e} tol={args.tol:g} "
          f"{'OK' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
