#!/usr/bin/env python3
"""tests/golden/make_hidden_states_fixture.py — the decoder layers' outputs of
the llama_mha_fp32 golden checkpoint, as transformers returns them
(output_hidden_states=True: hidden_states[l] is the output of decoder layer
l-1, the last one after the final norm), on the golden input ids; read by
tests/model/test_llama_golden.cpp for LlamaForCausalLM::forward_layers (RMU's
activations). Reads the committed checkpoint and golden.safetensors, writes
tests/golden/fixtures/llama_mha_fp32/hidden_states.safetensors.

    .deps/venv/bin/python tests/golden/make_hidden_states_fixture.py
"""
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from transformers import LlamaForCausalLM  # noqa: E402

DIR = Path(__file__).resolve().parent / "fixtures" / "llama_mha_fp32"


def main():
    torch.set_num_threads(1)
    ids = load_file(str(DIR / "golden.safetensors"))["input_ids"]
    model = LlamaForCausalLM.from_pretrained(str(DIR), dtype=torch.float32,
                                             attn_implementation="eager").eval()
    with torch.no_grad():
        out = model(input_ids=ids, output_hidden_states=True)
    hs = out.hidden_states
    assert len(hs) == model.config.num_hidden_layers + 1
    tensors = {f"hidden_states_{i}": h.contiguous() for i, h in enumerate(hs)}
    save_file(tensors, str(DIR / "hidden_states.safetensors"),
              metadata={"transformers": transformers.__version__,
                        "torch": torch.__version__.split("+")[0],
                        "generated_by": "tests/golden/make_hidden_states_fixture.py"})


if __name__ == "__main__":
    main()
