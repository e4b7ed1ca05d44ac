#!/usr/bin/env python3
"""tests/golden/make_family_fixtures.py — writes tiny random Qwen2, Qwen3 and
Mistral checkpoints with golden outputs, in exactly the format of the llama_*
fixtures of make_fixtures.py (see tests/golden/README.md).

    OMP_NUM_THREADS=1 .deps/venv/bin/python tests/golden/make_family_fixtures.py   # ~15 s on one core

Writes (each directory is removed and rewritten):
  fixtures/qwen2_fp32/    Qwen2ForCausalLM: q/k/v biases (no o_proj bias), tied embeddings,
                          rope_theta 1e6, eps 1e-6, no sliding window; the Qwen2 byte-level BPE
                          tokenizer of fixtures/tokenizer_json/qwen2/ (vocab 2604, no BOS,
                          eos <|endoftext|> = 2600)
  fixtures/qwen3_fp32/    Qwen3ForCausalLM: q_norm/k_norm over head_dim, head_dim 32 (!= 64/4),
                          no biases, untied, rope_theta 1e6, same tokenizer
  fixtures/mistral_fp32/  MistralForCausalLM: sliding_window None (Mistral v0.2+), untied,
                          rope_theta 1e6; the SentencePiece tokenizer of fixtures/llama_mha_fp32/
                          (vocab 384, bos 1, eos 2)
each with config.json + model.safetensors as `save_pretrained` writes them (transformers-5
form: rope_parameters, dtype; generation_config.json is not kept), the copied tokenizer files
and golden.safetensors (same keys, dtypes and shapes as the llama_* fixtures, vocab aside).
All: fp32, 2 layers, hidden 64, intermediate 160, 4 heads / 2 KV heads (TP 2 splits the KV
heads, TP 4 replicates them), max positions 128, initializer_range 0.3, SiLU. At the end it
prints a JSON summary (seed, margin, config highlights, the tensors of model.safetensors).

It reuses make_fixtures.py (COMMON, MIN_MARGIN, SEQ/NEW_TOKENS/PROMPT_LENS/PAD_ROW1_LEN,
greedy) and has family-generic versions of the functions that hard-code LlamaConfig /
LlamaForCausalLM, VOCAB_SIZE, BOS 1 or EOS 2 (model_build, gen_inputs, greedy_all, model_pick,
golden_compute, model_make). Conventions kept: one CPU thread, deterministic algorithms, eager
attention, RMSNorm weights (incl. Qwen3's q_norm/k_norm) set to 1 + 0.2*N(0,1) and biases to
0.1*N(0,1), the first seed whose greedy runs have top1-top2 gap >= MIN_MARGIN (0.05 fp32),
no EOS (the fixture's eos id) among the generated tokens and batched == single-prompt output;
golden values computed from the directory as re-loaded with from_pretrained.
Qwen has no BOS: its prompts/inputs start with the ordinary token id 3 instead of 1. Random ids
are drawn from [3, n) with n the tokenizer's vocabulary without added tokens (2600 for Qwen:
no <|endoftext|>/<|im_start|>... inside the inputs; 384 for Mistral, as for Llama).

Versions used: torch 2.11.0, transformers 5.17.0, tokenizers 0.23.3, safetensors 0.8.0
(the .deps/venv of this repository). Deterministic: fixed seeds, one thread, no timestamps;
a second run writes identical bytes (checked with sha256sum). make_fixtures.py imports
sentencepiece at module level for its tokenizer section, which nothing here uses: when the
package is missing (as in .deps/venv) an empty stand-in module is registered for the import.
Never a runtime dependency of relapse: only the tests read what this writes.
"""
import hashlib
import json
import os
import shutil
import sys
import types
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import safetensors  # noqa: E402
import tokenizers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import (AutoModelForCausalLM, AutoTokenizer, GenerationConfig, LlamaConfig,  # noqa: E402
                          LlamaForCausalLM, MistralConfig, MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM,
                          Qwen3Config, Qwen3ForCausalLM)
from transformers.utils import is_sentencepiece_available  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
if is_sentencepiece_available():  # (lru-cached: transformers keeps this answer)
    import make_fixtures as mf  # noqa: E402
else:
    # make_fixtures imports sentencepiece for its tokenizer section only, which is not used
    # here: give that import an empty module, and take it away again so that nothing else
    # (transformers) takes the stand-in for the real package.
    sys.modules["sentencepiece"] = types.ModuleType("sentencepiece")
    try:
        import make_fixtures as mf  # noqa: E402
    finally:
        del sys.modules["sentencepiece"]

FIXTURES = mf.FIXTURES
QWEN_TOK = FIXTURES / "tokenizer_json" / "qwen2"
LLAMA_TOK = FIXTURES / "llama_mha_fp32"
QWEN_TOK_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
# llama_mha_fp32 has no special_tokens_map.json (make_fixtures' tok.save_pretrained in
# transformers 5 does not write one); the files it has are copied.
LLAMA_TOK_FILES = ("tokenizer.model", "tokenizer.json", "tokenizer_config.json")
TOK_TEXTS = ["Hello world", "The quick brown fox.\nIt jumped 123 times!", "café naïve 東京",
             "Question: x\nAnswer:", "  indented code()"]


def tok_info(src, eos_text):
    """Vocabulary of a tokenizer directory: (size with added tokens, size without, eos id)."""
    tok = tokenizers.Tokenizer.from_file(str(src / "tokenizer.json"))
    return tok.get_vocab_size(with_added_tokens=True), tok.get_vocab_size(with_added_tokens=False), \
        tok.token_to_id(eos_text)


QWEN_VOCAB, QWEN_REGULAR, QWEN_EOS = tok_info(QWEN_TOK, "<|endoftext|>")
LLAMA_VOCAB, LLAMA_REGULAR, LLAMA_EOS = tok_info(LLAMA_TOK, "</s>")
assert (QWEN_VOCAB, QWEN_REGULAR, QWEN_EOS) == (2604, 2600, 2600), (QWEN_VOCAB, QWEN_REGULAR, QWEN_EOS)
assert (LLAMA_VOCAB, LLAMA_REGULAR, LLAMA_EOS) == (384, 384, 2), (LLAMA_VOCAB, LLAMA_REGULAR, LLAMA_EOS)

ATTN = dict(num_attention_heads=4, num_key_value_heads=2, rope_theta=1000000.0)
# name -> spec. first_id: column 0 of every input (BOS, or an ordinary token where there is none);
# ids_hi: random ids are drawn from [3, ids_hi).
FAMILIES = {
    "qwen2_fp32": dict(
        config_cls=Qwen2Config, model_cls=Qwen2ForCausalLM, seed0=5000,
        kwargs=dict(**ATTN, rms_norm_eps=1e-6, tie_word_embeddings=True, use_sliding_window=False),
        vocab=QWEN_VOCAB, ids_hi=QWEN_REGULAR, bos=None, eos=QWEN_EOS, first_id=3,
        tok_src=QWEN_TOK, tok_files=QWEN_TOK_FILES),
    "qwen3_fp32": dict(
        config_cls=Qwen3Config, model_cls=Qwen3ForCausalLM, seed0=6000,
        kwargs=dict(**ATTN, head_dim=32, rms_norm_eps=1e-6, tie_word_embeddings=False, attention_bias=False,
                    use_sliding_window=False),
        vocab=QWEN_VOCAB, ids_hi=QWEN_REGULAR, bos=None, eos=QWEN_EOS, first_id=3,
        tok_src=QWEN_TOK, tok_files=QWEN_TOK_FILES),
    "mistral_fp32": dict(
        config_cls=MistralConfig, model_cls=MistralForCausalLM, seed0=7000,
        kwargs=dict(**ATTN, rms_norm_eps=1e-5, tie_word_embeddings=False, sliding_window=None),
        vocab=LLAMA_VOCAB, ids_hi=LLAMA_REGULAR, bos=1, eos=LLAMA_EOS, first_id=1,
        tok_src=LLAMA_TOK, tok_files=LLAMA_TOK_FILES),
}
DTYPE = torch.float32


def model_build(spec, seed):
    """make_fixtures.model_build for any family (fp32 only)."""
    common = dict(mf.COMMON, vocab_size=spec["vocab"], bos_token_id=spec["bos"], eos_token_id=spec["eos"])
    config = spec["config_cls"](**common, **spec["kwargs"], attn_implementation="eager")
    torch.manual_seed(seed)
    model = spec["model_cls"](config)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):  # input/post-attention/final norms, Qwen3's q_norm/k_norm
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
    return model.to(DTYPE).eval()


def gen_inputs(spec):
    """make_fixtures.gen_inputs with the family's first id and id range."""
    g = torch.Generator().manual_seed(7)
    width = max(mf.PROMPT_LENS)
    ids = torch.zeros(len(mf.PROMPT_LENS), width, dtype=torch.int64)
    mask = torch.zeros_like(ids)
    for r, n in enumerate(mf.PROMPT_LENS):
        ids[r, width - n] = spec["first_id"]
        ids[r, width - n + 1:] = torch.randint(3, spec["ids_hi"], (n - 1,), generator=g)
        mask[r, width - n:] = 1
    return ids, mask


def greedy_all(model, spec):
    ids, mask = gen_inputs(spec)
    batch, margins = mf.greedy(model, ids, mask)
    margin = margins.min().item()
    singles = []
    for r, n in enumerate(mf.PROMPT_LENS):
        seq, m = mf.greedy(model, ids[r:r + 1, ids.shape[1] - n:], mask[r:r + 1, ids.shape[1] - n:])
        singles.append(seq)
        margin = min(margin, m.min().item())
    return ids, mask, batch, singles, margin, margins


def model_pick(name, spec):
    seed0 = spec["seed0"]
    for seed in range(seed0, seed0 + 400):
        model = model_build(spec, seed)
        ids, _, batch, singles, margin, _ = greedy_all(model, spec)
        new = batch[:, ids.shape[1]:]
        same = all(torch.equal(batch[r, ids.shape[1]:], s[0, -mf.NEW_TOKENS:]) for r, s in enumerate(singles))
        if margin >= mf.MIN_MARGIN[DTYPE] and not (new == spec["eos"]).any() and same:
            return model, seed, margin
    raise SystemExit(f"{name}: no seed in [{seed0}, {seed0 + 400}) gives margin >= {mf.MIN_MARGIN[DTYPE]}")


@torch.no_grad()
def golden_compute(model, spec):
    g = torch.Generator().manual_seed(11)
    input_ids = torch.randint(3, spec["ids_hi"], (2, mf.SEQ), generator=g)
    input_ids[:, 0] = spec["first_id"]
    logits = model(input_ids=input_ids).logits.float()
    logp = torch.log_softmax(logits, dim=-1)
    token_logprobs = logp[:, :-1].gather(-1, input_ids[:, 1:, None])[..., 0]

    pad_ids = input_ids.clone()
    pad_mask = torch.ones_like(pad_ids)
    pad_ids[1, mf.PAD_ROW1_LEN:] = 0
    pad_mask[1, mf.PAD_ROW1_LEN:] = 0
    pad_logits = model(input_ids=pad_ids, attention_mask=pad_mask).logits.float()
    pad_logits = pad_logits * pad_mask[..., None].float()

    gen_ids, gen_mask, batch, singles, margin, margins = greedy_all(model, spec)
    out = {
        "input_ids": input_ids,
        "logits": logits,
        "token_logprobs": token_logprobs,
        "pad_input_ids": pad_ids,
        "pad_attention_mask": pad_mask,
        "pad_logits": pad_logits,
        "gen_prompt_ids": gen_ids,
        "gen_attention_mask": gen_mask,
        "gen_output_ids": batch,
        "gen_min_margin": torch.tensor([margin], dtype=torch.float32),
        "gen_step_margins": margins.float(),
    }
    for r, s in enumerate(singles):
        out[f"gen_single_output_ids_{r}"] = s
    return {k: v.contiguous() for k, v in out.items()}, margin


def load(out, spec):
    ref = AutoModelForCausalLM.from_pretrained(str(out), dtype=DTYPE, attn_implementation="eager").eval()
    assert type(ref) is spec["model_cls"], type(ref)
    assert ref.config._attn_implementation == "eager"
    return ref


@torch.no_grad()
def model_make(name, spec):
    model, seed, pick_margin = model_pick(name, spec)
    out = FIXTURES / name
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    model.save_pretrained(str(out), safe_serialization=True)
    (out / "generation_config.json").unlink(missing_ok=True)
    for f in spec["tok_files"]:
        shutil.copyfile(spec["tok_src"] / f, out / f)
    # The model dir's tokenizer is the source's, with the config's vocabulary and eos.
    tok_src, tok_dir = AutoTokenizer.from_pretrained(str(spec["tok_src"])), AutoTokenizer.from_pretrained(str(out))
    assert len(tok_dir) == spec["vocab"] and tok_dir.eos_token_id == spec["eos"], (len(tok_dir), tok_dir.eos_token_id)
    assert tok_dir.bos_token_id == spec["bos"], tok_dir.bos_token_id
    for text in TOK_TEXTS:
        assert tok_dir(text).input_ids == tok_src(text).input_ids, (name, text)

    # Golden values from the checkpoint as written, the way a user loads it.
    ref = load(out, spec)
    sd_model, sd_ref = model.state_dict(), ref.state_dict()
    assert list(sd_model) == list(sd_ref), (list(sd_model), list(sd_ref))
    for k in sd_model:
        assert torch.equal(sd_model[k], sd_ref[k]), k
    golden, margin = golden_compute(ref, spec)
    assert margin == pick_margin, (name, margin, pick_margin)  # the loaded model is the picked one
    save_file(golden, str(out / "golden.safetensors"), metadata={"fixture": name})

    # Checks: a fresh reload reproduces the stored golden logits exactly; the in-memory model
    # gives the same; real positions of the right-padded row equal the unpadded logits.
    again = load(out, spec)
    with safe_open(str(out / "golden.safetensors"), "pt") as f:
        stored = {k: f.get_tensor(k) for k in f.keys()}
    assert stored.keys() == golden.keys()
    for k in golden:
        assert torch.equal(stored[k], golden[k]), k
    ids = stored["input_ids"]
    reloaded_diff = (again(input_ids=ids).logits.float() - stored["logits"]).abs().max().item()
    memory_diff = (model(input_ids=ids).logits.float() - stored["logits"]).abs().max().item()
    pad_diff = (stored["pad_logits"][1, :mf.PAD_ROW1_LEN] - stored["logits"][1, :mf.PAD_ROW1_LEN]).abs().max().item()
    assert reloaded_diff == 0.0 and memory_diff == 0.0, (reloaded_diff, memory_diff)
    assert pad_diff < 1e-5, pad_diff

    cfg_json = json.loads((out / "config.json").read_text())
    with safe_open(str(out / "model.safetensors"), "pt") as f:
        weights = {k: [str(f.get_slice(k).get_dtype()), list(f.get_slice(k).get_shape())] for k in sorted(f.keys())}
    highlights = ("model_type", "architectures", "vocab_size", "hidden_size", "intermediate_size",
                  "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim", "attention_bias",
                  "rms_norm_eps", "rope_parameters", "rope_theta", "sliding_window", "use_sliding_window",
                  "max_window_layers", "layer_types", "tie_word_embeddings", "bos_token_id", "eos_token_id",
                  "pad_token_id", "dtype")
    return {
        "dir": name,
        "class": type(ref).__name__,
        "seed": seed,
        "gen_min_margin": round(margin, 6),
        "pad_row_max_abs_diff": pad_diff,
        "config": {k: cfg_json[k] for k in highlights if k in cfg_json},
        "state_dict": list(sd_ref),
        "model_safetensors": weights,
        "golden_tensors": {k: [str(v.dtype).replace("torch.", ""), list(v.shape)] for k, v in golden.items()},
        "files": {p.name: [p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest()]
                  for p in sorted(out.iterdir())},
    }


def main():
    transformers.utils.logging.disable_progress_bar()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    summary = {
        "generator": "tests/golden/make_family_fixtures.py",
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__,
                     "tokenizers": tokenizers.__version__, "safetensors": safetensors.__version__},
        "models": {},
    }
    for name, spec in FAMILIES.items():
        info = model_make(name, spec)
        summary["models"][name] = info
        print(f"{name}: seed {info['seed']}, gen_min_margin {info['gen_min_margin']}", file=sys.stderr)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    sys.exit(main())
