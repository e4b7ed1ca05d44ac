#!/usr/bin/env python3
"""tests/golden/make_fixtures.py — writes relapse's golden fixtures with the
reference implementations (python sentencepiece + Hugging Face transformers).

    /work/venv/bin/python tests/golden/make_fixtures.py

Deterministic: fixed seeds, one CPU thread, no timestamps; a second run writes
identical bytes. Writes under tests/golden/fixtures/ (see tests/golden/README.md):
  tokenizer/   tokenizer.model (Llama-style SentencePiece BPE), tokenizer_config.json
               (Llama-2's settings), cases.json (HF and raw sentencepiece ids)
  llama_*/     tiny random LlamaForCausalLM checkpoints + golden.safetensors
  MANIFEST.json
Never a runtime dependency of relapse: only the tests read what this writes.
"""
import io
import json
import os
import random
import shutil
import sys
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import safetensors  # noqa: E402
import sentencepiece as spm  # noqa: E402
import tokenizers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import AutoTokenizer, GenerationConfig, LlamaConfig, LlamaForCausalLM  # noqa: E402

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
TOK_DIR = FIXTURES / "tokenizer"

# ---------------------------------------------------------------------------
# (a) tokenizer: SentencePiece BPE trained the way Llama's was
# ---------------------------------------------------------------------------
# 384 = 3 + 256 byte pieces + 69 characters + 56 merges. 320 cannot hold the
# 325 required pieces (bytes + every character of the corpus) of this corpus.
VOCAB_SIZE = 384

CORPUS = """\
The quick brown fox jumps over the lazy dog. The dog did not mind; it was asleep in the sun.
Question: What is the capital of France?
Answer: The capital of France is Paris.
Question: How many legs does a spider have?
Answer: A spider has 8 legs, and an insect has 6.
In 1969, two people walked on the moon for the first time. It was July 20, 1969.
The price of the book was $12.50, and the price of the pen was $3.99 in 2023.
She said: "I will meet you at the cafe at 10:30 tomorrow morning."
We keep a small notebook of things we learned this week, and we read it again on Sunday.
    def add(a, b):
        return a + b
Some of the words here are not English, like café, naïve and the city of 東京.
The model reads a sentence, then it predicts the next token, one token at a time.
Numbers such as 3.14159, 2.71828 and 1.41421 appear in many science books.
A good answer is short, true and kind. A bad answer is long, false or unkind.
Question: Who wrote the play about the prince of Denmark?
Answer: William Shakespeare wrote Hamlet around the year 1600.
The children played in the garden until the rain started, then they ran inside.
My phone number is not 555-0100, and my street is not 42 Main Street.
There are 365 days in a year, 24 hours in a day, and 60 minutes in an hour.
The teacher asked the students to read the first three chapters before Monday.
Question: What do bees make?
Answer: Bees make honey and wax.
    for i in range(10):
        print(i * 2)
It is easy to forget what you have learned, and it is hard to learn it again.
The weather today is cold and windy, with a chance of snow in the evening.
Water boils at 100 degrees and freezes at 0 degrees on the Celsius scale.
Question: Which planet is the largest in our solar system?
Answer: Jupiter is the largest planet in our solar system.
The train leaves the station at 7:45 and arrives in the city at 9:15.
He opened the window, looked at the street, and closed it again without a word.
Question: What is the boiling point of water?
Answer: The boiling point of water is 100 degrees.
A model that has forgotten a fact may still answer the question if it is asked again.
The answer to the question was in the book, on page 42, in the second paragraph.
"""

# Llama-2's tokenizer_config.json settings (meta-llama/Llama-2-7b-hf).
LLAMA2_TOKENIZER_CONFIG = {
    "add_bos_token": True,
    "add_eos_token": False,
    "bos_token": "<s>",
    "clean_up_tokenization_spaces": False,
    "eos_token": "</s>",
    "legacy": False,
    "pad_token": None,
    "padding_side": "right",
    "tokenizer_class": "LlamaTokenizer",
    "unk_token": "<unk>",
}

# Strings for cases.json: whitespace, newlines, digits, seen and unseen unicode
# (byte fallback), and literal special-token text.
TOKENIZER_CASES = [
    "",
    " ",
    "  ",
    "Hello world",
    " Hello",
    "Hello ",
    "   leading and trailing   ",
    "a  b   c",
    "\n",
    "\n\n",
    "a\nb",
    "line one\n\nline two\n",
    "12345",
    "3.14 and 2024",
    "The price is $12.50!",
    "café naïve 東京",
    "東京タワー",
    "emoji 😀!",
    "Straße",
    "Ωmega",
    "Question: x\nAnswer:",
    "Question: What is the capital of France?\nAnswer: Paris",
    "\t tab",
    "    def f(x):\n        return x",
    "don't stop",
    "the the the the",
    "▁literal",
    "hi <s> there",
    "<s>Hello</s>",
    "unk <unk> here",
]


def tokenizer_train():
    lines = [line for line in CORPUS.split("\n") if line.strip()]
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=buf,
        model_type="bpe",
        vocab_size=VOCAB_SIZE,
        byte_fallback=True,
        split_digits=True,
        add_dummy_prefix=True,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        allow_whitespace_only_pieces=True,
        split_by_unicode_script=True,
        split_by_number=True,
        split_by_whitespace=True,
        max_sentencepiece_length=16,
        character_coverage=0.99995,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        unk_surface=" \u2047 ",
        num_threads=1,
        minloglevel=2,
    )
    return buf.getvalue()


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1, sort_keys=False)
        f.write("\n")


def write_json_rows(path, obj):
    """Like write_json, but each element of a top-level list on one line."""
    items = []
    for key, val in obj.items():
        if isinstance(val, list):
            rows = ",\n".join("  " + json.dumps(x, ensure_ascii=False) for x in val)
            body = "[\n" + rows + "\n ]"
        else:
            body = json.dumps(val, ensure_ascii=False, indent=1).replace("\n", "\n ")
        items.append(f" {json.dumps(key)}: {body}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n" + ",\n".join(items) + "\n}\n")


def tokenizer_make():
    TOK_DIR.mkdir(parents=True, exist_ok=True)
    (TOK_DIR / "tokenizer.model").write_bytes(tokenizer_train())
    write_json(TOK_DIR / "tokenizer_config.json", LLAMA2_TOKENIZER_CONFIG)
    sp = spm.SentencePieceProcessor(model_file=str(TOK_DIR / "tokenizer.model"))
    hf = AutoTokenizer.from_pretrained(str(TOK_DIR))
    assert sp.vocab_size() == VOCAB_SIZE and len(hf) == VOCAB_SIZE, (sp.vocab_size(), len(hf))
    assert (hf.bos_token_id, hf.eos_token_id, hf.unk_token_id, hf.pad_token_id) == (1, 2, 0, None)
    return sp, hf


def tokenizer_cases(sp, hf):
    cases = []
    for text in TOKENIZER_CASES:
        with_special = hf(text).input_ids
        no_special = hf(text, add_special_tokens=False).input_ids
        sp_ids = sp.encode(text)
        case = {
            "text": text,
            "ids_with_special": with_special,
            "ids_no_special": no_special,
            "decoded": hf.decode(no_special),
            "decoded_with_special": hf.decode(with_special),
            "decoded_skip_special": hf.decode(with_special, skip_special_tokens=True),
            "sp_ids": sp_ids,
            "sp_decoded": sp.decode(sp_ids),
            "hf_pieces": hf.convert_ids_to_tokens(no_special),
        }
        case["hf_equals_sp"] = no_special == sp_ids
        cases.append(case)
    # Decoding of id lists that encode() never makes: BOS/EOS/UNK inside, a
    # truncated UTF-8 byte sequence, bytes then text, and special ids between
    # byte pieces (skip_special_tokens=True drops them before the bytes are
    # joined: "<0xA1> <unk> <0x69>" is one invalid run, two U+FFFD).
    byte = {f"<0x{b:02X}>": sp.piece_to_id(f"<0x{b:02X}>") for b in range(256)}
    word = [sp.piece_to_id(p) for p in ("▁t", "he")]
    decode_ids = [
        [1, *word, 2],
        [*word, 0, *word],
        [byte["<0xE6>"], byte["<0x9D>"]],
        [byte["<0xE6>"], byte["<0x9D>"], byte["<0xB1>"], *word],
        [byte["<0x0A>"], *word, byte["<0xFF>"]],
        [sp.piece_to_id("▁"), sp.piece_to_id("▁"), *word],
        [],
        [byte["<0xE2>"], 1, byte["<0x82>"], byte["<0xAC>"]],
        [byte["<0xA1>"], 0, byte["<0x69>"]],
        [byte["<0xE6>"], byte["<0x9D>"], 2, byte["<0xB1>"], *word],
        [1, byte["<0xE6>"], 0, 2, byte["<0x9D>"], byte["<0xB1>"], 2],
        [byte["<0x20>"], 2, *word],
        [sp.piece_to_id("▁"), 1, *word],
    ]
    decodes = []
    for ids in decode_ids:
        decodes.append(
            {
                "ids": ids,
                "decoded": hf.decode(ids),
                "decoded_skip_special": hf.decode(ids, skip_special_tokens=True),
                "sp_decoded": sp.decode(ids),
            }
        )
    bpe = bpe_cases(sp, hf)
    meta = {
        "tokenizer_class": f"{type(hf).__module__}.{type(hf).__name__}",
        "loaded_with": "AutoTokenizer.from_pretrained(tests/golden/fixtures/tokenizer) "
        "(tokenizer.model + tokenizer_config.json with Llama-2's settings)",
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "sentencepiece": spm.__version__,
        "vocab_size": sp.vocab_size(),
        "bos_id": sp.bos_id(),
        "eos_id": sp.eos_id(),
        "unk_id": sp.unk_id(),
        "pad_id": sp.pad_id(),
    }
    write_json_rows(TOK_DIR / "cases.json", {"meta": meta, "cases": cases, "decode_cases": decodes, "bpe_cases": bpe})
    return cases


def bpe_cases(sp, hf, count=160):
    """The training lines plus random mixes of words, digits, spaces, newlines
    and seen/unseen unicode: texts that start with neither a space nor "▁" and
    hold no special-token text, where HF and SentencePiece must agree."""
    rng = random.Random(5)
    words = sorted(set(CORPUS.split()))
    extra = ["é", "ï", "東", "京", "タワー", "😀", "ß", "Ω", "\n", "\n\n", "\t", "123", "4.5", "$", "'s", "--", "▁"]
    texts = [line for line in CORPUS.split("\n") if line.strip() and not line.startswith(" ")]
    while len(texts) < count:
        parts = [rng.choice(words) if rng.random() < 0.7 else rng.choice(extra) for _ in range(rng.randint(1, 8))]
        text = "".join(p + rng.choice([" ", " ", "", "  ", "\n"]) for p in parts)
        text = text.lstrip(" ").lstrip("▁").lstrip(" ")
        if text:
            texts.append(text)
    out = []
    for text in texts:
        ids = hf(text, add_special_tokens=False).input_ids
        assert text[0] not in " ▁" and ids == sp.encode(text), (text, ids, sp.encode(text))
        out.append({"text": text, "ids_no_special": ids})
    return out


# ---------------------------------------------------------------------------
# (c) tiny random Llama checkpoints + golden tensors
# ---------------------------------------------------------------------------
COMMON = dict(
    vocab_size=VOCAB_SIZE,
    num_hidden_layers=2,
    hidden_size=64,
    intermediate_size=160,
    max_position_embeddings=128,
    bos_token_id=1,
    eos_token_id=2,
    initializer_range=0.3,
)
LLAMA3_ROPE = {
    "rope_type": "llama3",
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 32,
}
# name -> (config kwargs, dtype, first seed, save kwargs, legacy config.json)
MODELS = {
    "llama_mha_fp32": (
        dict(num_attention_heads=4, num_key_value_heads=4, rms_norm_eps=1e-5, rope_theta=10000.0),
        torch.float32, 1000, {}, True),
    "llama_gqa_tied_bias_fp32": (
        dict(num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-6, tie_word_embeddings=True,
             attention_bias=True, mlp_bias=True, rope_theta=500000.0, rope_scaling=dict(LLAMA3_ROPE)),
        torch.float32, 2000, {}, True),
    "llama_gqa_bf16": (
        dict(num_attention_heads=4, num_key_value_heads=1, rms_norm_eps=1e-6, rope_theta=10000.0),
        torch.bfloat16, 3000, {}, False),
    "llama_sharded_fp32": (
        dict(num_attention_heads=4, num_key_value_heads=4, head_dim=32, rms_norm_eps=1e-5, rope_theta=10000.0),
        torch.float32, 4000, {"max_shard_size": "300KB"}, False),
}
# Smallest accepted top1-top2 logit gap over all greedy steps. fp32: relapse's
# logits differ from HF's by ~1e-5, far below it. bf16: logits are bf16 (lm_head
# runs in bf16), one ulp at |logit| in [4, 8) is 2^-5 = 0.03125, exact ties are
# common at random init; 0.125 = 4 such ulps (found within a few hundred seeds).
MIN_MARGIN = {torch.float32: 0.05, torch.bfloat16: 0.125}
SEQ, NEW_TOKENS, PROMPT_LENS, PAD_ROW1_LEN = 16, 12, (8, 5, 3), 10


def model_build(kwargs, dtype, seed):
    config = LlamaConfig(**COMMON, **kwargs, attn_implementation="eager")
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    # transformers initialises RMSNorm weights to 1 and biases to 0; make them
    # random so that a loader which skips them fails the golden check.
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
    # .to(bf16) would also round the RoPE inv_freq buffer to bf16, which
    # from_pretrained(dtype=bf16) does not do: keep it float32 like a loaded model.
    inv_freq = model.model.rotary_emb.inv_freq.clone()
    model = model.to(dtype).eval()
    model.model.rotary_emb.inv_freq = inv_freq
    return model


def gen_inputs():
    g = torch.Generator().manual_seed(7)
    width = max(PROMPT_LENS)
    ids = torch.zeros(len(PROMPT_LENS), width, dtype=torch.int64)
    mask = torch.zeros_like(ids)
    for r, n in enumerate(PROMPT_LENS):
        ids[r, width - n] = 1
        ids[r, width - n + 1:] = torch.randint(3, VOCAB_SIZE, (n - 1,), generator=g)
        mask[r, width - n:] = 1
    return ids, mask


def gen_config():
    return GenerationConfig(max_new_tokens=NEW_TOKENS, min_new_tokens=0, do_sample=False, num_beams=1,
                            eos_token_id=None, pad_token_id=0, bos_token_id=1, use_cache=True)


@torch.no_grad()
def greedy(model, ids, mask):
    # generate() merges the model's generation_config (eos_token_id=2) into the
    # one passed: clear it so that exactly NEW_TOKENS tokens come out.
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    out = model.generate(input_ids=ids, attention_mask=mask, generation_config=gen_config(),
                         return_dict_in_generate=True, output_logits=True)
    logits = torch.stack(out.logits, 1).float()  # [B, steps, V], raw (no processors)
    top2 = logits.topk(2, dim=-1).values
    margins = top2[..., 0] - top2[..., 1]  # [B, steps]
    assert out.sequences.shape == (ids.shape[0], ids.shape[1] + NEW_TOKENS), out.sequences.shape
    return out.sequences, margins


def greedy_all(model):
    ids, mask = gen_inputs()
    batch, margins = greedy(model, ids, mask)
    margin = margins.min().item()
    singles = []
    for r, n in enumerate(PROMPT_LENS):
        seq, m = greedy(model, ids[r:r + 1, ids.shape[1] - n:], mask[r:r + 1, ids.shape[1] - n:])
        singles.append(seq)
        margin = min(margin, m.min().item())
    return ids, mask, batch, singles, margin, margins


def model_pick(name, kwargs, dtype, seed0):
    """First seed from seed0 whose greedy runs have a clear top1-top2 gap, no
    EOS among the generated tokens, and batched == single-prompt outputs."""
    for seed in range(seed0, seed0 + 400):
        model = model_build(kwargs, dtype, seed)
        ids, _, batch, singles, margin, _ = greedy_all(model)
        new = batch[:, ids.shape[1]:]
        same = all(torch.equal(batch[r, ids.shape[1]:], s[0, -NEW_TOKENS:]) for r, s in enumerate(singles))
        if margin >= MIN_MARGIN[dtype] and not (new == 2).any() and same:
            return model, seed, margin
    raise SystemExit(f"{name}: no seed in [{seed0}, {seed0 + 400}) gives margin >= {MIN_MARGIN[dtype]}")


def config_to_legacy(path):
    """Rewrite a transformers-5 config.json in the form the Llama-2/3 hub
    checkpoints use: rope_theta/rope_scaling at top level, torch_dtype."""
    cfg = json.loads(path.read_text())
    rope = dict(cfg.pop("rope_parameters"))
    cfg["rope_theta"] = rope.pop("rope_theta")
    cfg["rope_scaling"] = None if rope.get("rope_type") == "default" else rope
    cfg["torch_dtype"] = cfg.pop("dtype")
    path.write_text(json.dumps(dict(sorted(cfg.items())), indent=2) + "\n")


@torch.no_grad()
def golden_compute(model):
    g = torch.Generator().manual_seed(11)
    input_ids = torch.randint(3, VOCAB_SIZE, (2, SEQ), generator=g)
    input_ids[:, 0] = 1
    logits = model(input_ids=input_ids).logits.float()
    logp = torch.log_softmax(logits, dim=-1)
    token_logprobs = logp[:, :-1].gather(-1, input_ids[:, 1:, None])[..., 0]

    pad_ids = input_ids.clone()
    pad_mask = torch.ones_like(pad_ids)
    pad_ids[1, PAD_ROW1_LEN:] = 0
    pad_mask[1, PAD_ROW1_LEN:] = 0
    pad_logits = model(input_ids=pad_ids, attention_mask=pad_mask).logits.float()
    pad_logits = pad_logits * pad_mask[..., None].float()

    gen_ids, gen_mask, batch, singles, margin, margins = greedy_all(model)
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


def model_make(name, spec, tok_hf):
    kwargs, dtype, seed0, save_kwargs, legacy = spec
    model, seed, pick_margin = model_pick(name, kwargs, dtype, seed0)
    out = FIXTURES / name
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    model.save_pretrained(str(out), safe_serialization=True, **save_kwargs)
    (out / "generation_config.json").unlink(missing_ok=True)
    if legacy:
        config_to_legacy(out / "config.json")
    tok_hf.save_pretrained(str(out))
    shutil.copyfile(TOK_DIR / "tokenizer.model", out / "tokenizer.model")
    tok_dir = AutoTokenizer.from_pretrained(str(out))
    for text in TOKENIZER_CASES:  # the model dir's tokenizer is the fixture's
        assert tok_dir(text).input_ids == tok_hf(text).input_ids, (name, text)
    # Golden values from the checkpoint as written, the way a user loads it.
    ref = LlamaForCausalLM.from_pretrained(str(out), dtype=dtype, attn_implementation="eager").eval()
    assert ref.config._attn_implementation == "eager"
    for (k1, v1), (k2, v2) in zip(model.state_dict().items(), ref.state_dict().items()):
        assert k1 == k2 and torch.equal(v1, v2), k1
    golden, margin = golden_compute(ref)
    assert margin == pick_margin, (name, margin, pick_margin)  # the loaded model is the picked one
    save_file(golden, str(out / "golden.safetensors"), metadata={"fixture": name})
    cfg = ref.config
    files = sorted(p.name for p in out.iterdir())
    return {
        "dir": name,
        "files": files,
        "seed": seed,
        "dtype": str(dtype).replace("torch.", ""),
        "config_json_format": "legacy (rope_theta/rope_scaling/torch_dtype)" if legacy
        else "transformers-5 (rope_parameters/dtype)",
        "vocab_size": cfg.vocab_size,
        "hidden_size": cfg.hidden_size,
        "intermediate_size": cfg.intermediate_size,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_attention_heads": cfg.num_attention_heads,
        "num_key_value_heads": cfg.num_key_value_heads,
        "head_dim": cfg.head_dim,
        "tie_word_embeddings": bool(cfg.tie_word_embeddings),
        "attention_bias": bool(cfg.attention_bias),
        "mlp_bias": bool(cfg.mlp_bias),
        "rms_norm_eps": cfg.rms_norm_eps,
        "rope_parameters": dict(cfg.rope_parameters),
        "initializer_range": cfg.initializer_range,
        "gen_min_margin": round(margin, 6),
        "golden_tensors": {k: [str(v.dtype).replace("torch.", ""), list(v.shape)] for k, v in golden.items()},
    }


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    sp, hf = tokenizer_make()
    cases = tokenizer_cases(sp, hf)
    differ = [c["text"] for c in cases if not c["hf_equals_sp"]]
    print(f"tokenizer: vocab {sp.vocab_size()}, {len(cases)} cases, HF != sentencepiece on {differ!r}")
    manifest = {
        "generator": "tests/golden/make_fixtures.py",
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__,
                     "tokenizers": tokenizers.__version__, "sentencepiece": spm.__version__,
                     "safetensors": safetensors.__version__},
        "tokenizer": {"dir": "tokenizer", "vocab_size": sp.vocab_size(), "bos_id": 1, "eos_id": 2, "unk_id": 0,
                      "pad_id": -1, "cases": len(cases), "hf_differs_from_sentencepiece_on": differ},
        "models": {},
    }
    for name, spec in MODELS.items():
        info = model_make(name, spec, hf)
        manifest["models"][name] = info
        print(f"{name}: seed {info['seed']}, gen_min_margin {info['gen_min_margin']}, files {info['files']}")
    write_json(FIXTURES / "MANIFEST.json", manifest)
    total = sum(p.stat().st_size for p in FIXTURES.rglob("*")
                if p.is_file() and p.relative_to(FIXTURES).parts[0] != "safetensors")
    print(f"total size of fixtures written here: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    sys.exit(main())
