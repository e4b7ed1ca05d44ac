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

tests/model/test_hf_checkpoint.cpp then checks, in CI without Python, that
relapse still writes exactly these bytes and that its logits on this directory
match the ones transformers computed from it.
"""
import os
import shutil
import subprocess
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures")


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


if __name__ == "__main__":
    main()
