#!/usr/bin/env python3
"""tests/golden/make_tokenizer_json_fixtures.py — writes tests/golden/fixtures/tokenizer_json/:
golden reference data for a C++ reader of Hugging Face `tokenizer.json` files, produced by the
Python `tokenizers` library (the Rust implementation transformers' "fast" tokenizers run).

What it makes (all deterministic: fixed seeds, sorted keys, no timestamps or paths; a second run
writes identical bytes):

  fixtures/tokenizer_json/
    texts.json                 ≥ 1200 test strings (categories i–viii below, each ≤ 400 chars)
    README.md                  what each directory mimics, regexes, versions, how it was made
    <name>/tokenizer.json      `Tokenizer.save(path, pretty=True)` — the library's own serialization
    <name>/tokenizer_config.json, <name>/special_tokens_map.json   (transformers-style)
    <name>/golden.json         for every text: ids / ids_plain / decoded / decoded_keep, plus 300
                               seeded random id sequences and their decodings (compact JSON)

  with <name> one of five small tokenizers trained here with `tokenizers.trainers.BpeTrainer`
  (vocabularies of 2000–3300) on a corpus made of text from this repository — README.md,
  configs/*.yaml, comments of src/**/*.cpp, strings of tests/golden/fixtures/**/*.json and *.txt
  (never this script's own output directory, never any `tokenizer.json`), all read with `git show`
  from the pinned commit CORPUS_COMMIT, not from the working tree; ../shared/DESIGN.md when it is
  the pinned version (DESIGN_SHA256) — plus the multilingual sentences in TRAIN_MULTILINGUAL:

    llama3         byte-level BPE set up exactly as Meta-Llama-3's tokenizer.json
                   (Split(Llama-3 regex) + ByteLevel(use_regex=False), ignore_merges=True,
                   7 special tokens after the BPE vocabulary, BOS template post-processor);
                   plus a few whole-word pieces no merge reaches (LLAMA3_ORPHAN_WORDS) so that
                   ignore_merges changes ids, as it does for the real tiktoken-derived vocabulary
    qwen2          byte-level BPE as Qwen2/2.5 (NFC normalizer, Qwen regex with single digits,
                   3 special tokens + the NON-special added token "<tool_call>")
    gpt2           byte-level BPE as GPT-2 (ByteLevel(use_regex=True) pre-tokenizer,
                   one special "<|endoftext|>" after the vocabulary)
    mistral        SentencePiece-style BPE with byte fallback as transformers' current conversion
                   writes Llama-2 / Mistral: <unk>,<s>,</s> = 0,1,2, <0x00>..<0xFF> = 3..258,
                   Metaspace(prepend_scheme="first", split=False) pre-tokenizer
    llama2_legacy  the same vocab/merges in the older meta-llama/Llama-2-7b-hf format
                   (normalizer Prepend("▁") + Replace(" ", "▁"), no pre-tokenizer)

golden.json keys (one entry per text of texts.json, same order):
    ids          tok.encode(text, add_special_tokens=True).ids
    ids_plain    tok.encode(text, add_special_tokens=False).ids
    decoded      tok.decode(ids, skip_special_tokens=True)
    decoded_keep tok.decode(ids, skip_special_tokens=False)
  plus random_ids (300 sequences, lengths 0–20: 150 uniform over the whole vocabulary including
  added tokens, 150 "byte-heavy" ones made mostly of single-byte tokens — byte-level characters of
  bytes ≥ 0x80, or <0xXX> byte-fallback pieces — so that invalid and truncated UTF-8 arises),
  random_decoded (skip_special_tokens=True), random_decoded_keep (False), vocab_size
  (tok.get_vocab_size(with_added_tokens=True)), tokenizers_version, texts_sha256 (of texts.json's
  bytes), corpus_sha256 (of the training corpus; identical as long as CORPUS_COMMIT and
  DESIGN.md are available — git must be able to read that commit).

Run (about 3 seconds; needs only `tokenizers`, git and the standard library):

    python3 -m venv /tmp/tokvenv && /tmp/tokvenv/bin/pip install tokenizers==0.23.3
    /tmp/tokvenv/bin/python tests/golden/make_tokenizer_json_fixtures.py

Exact versions used for the committed files: Python 3.11.7, tokenizers 0.23.3 (PyPI wheel;
its dependency huggingface-hub is not used). No transformers, no torch. The script warns when
another tokenizers version is found (outputs would then carry that version string).

Never a runtime dependency of relapse; the C++ tests only read the files it writes.
"""
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import tokenizers  # noqa: E402
from tokenizers import (  # noqa: E402
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

EXPECTED_TOKENIZERS = "0.23.3"

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
OUT = HERE / "fixtures" / "tokenizer_json"

# The repository texts of the training corpus are read from this commit (git show), not from the
# working tree, so the vocabularies stay the same while the repository changes. ../shared/DESIGN.md
# (outside the repository) is used only when its sha256 is this one.
CORPUS_COMMIT = "a9bf1e4f6b3969f0aaa847c404a55e61582882a7"
DESIGN_SHA256 = "59e6091b3d00512de874b620a3338a6a31c5893093ca986373ae2706d0d65f8c"

# Llama-3 (tiktoken cl100k-style) and Qwen2 pre-tokenization regexes, verbatim from their
# tokenizer.json files. The only difference: Llama-3 groups digits by up to 3, Qwen2 by 1.
LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Trained-vocabulary sizes (BpeTrainer's vocab_size: alphabet + merges, before added tokens).
VOCAB = {"llama3": 3000, "qwen2": 2600, "gpt2": 2000, "mistral_trained": 2941}

LLAMA3_SPECIALS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
]
QWEN2_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
QWEN2_NONSPECIAL = "<tool_call>"
GPT2_SPECIAL = "<|endoftext|>"
SP_SPECIALS = ["<unk>", "<s>", "</s>"]
SPIECE = "\u2581"  # "▁"

# Model max length Meta / Mistral ship in tokenizer_config.json (int(1e30) as a Python int;
# it does not fit 64 bits — a JSON reader must cope with it).
VERY_LARGE_INTEGER = int(1e30)

N_RANDOM_IDS = 300

# Whole-word entries appended to llama3's trained vocabulary WITHOUT any merge producing them.
# A trained BPE vocabulary is always reachable through its own merges (so ignore_merges would
# change nothing); tiktoken-converted vocabularies such as Meta-Llama-3's are not, and there
# ignore_merges=True emits a pre-token that is itself in the vocabulary as that one token.
# These words occur in the test texts as whole pre-tokens (prose and Unicode sentences).
LLAMA3_ORPHAN_WORDS = [
    " bridge", " galaxy", " inflation", " rooftops", " retirement", " timetables",
    " Scientists", " passengers", " мягких", " Café", "'RE",
]


# ──────────────────────────────────────────────────────────────────────────────────────────────
# Training corpus
# ──────────────────────────────────────────────────────────────────────────────────────────────

# Multilingual training sentences (written for this script; the test texts below are different).
TRAIN_MULTILINGUAL = [
    # Latin with accents
    "Le conseil municipal a voté à l'unanimité la rénovation de la bibliothèque publique.",
    "Les élèves ont présenté leurs expériences de physique devant un jury très exigeant.",
    "Die Bürgerinnen und Bürger können ihre Stimme bis Sonntag um achtzehn Uhr abgeben.",
    "Über die Brücke fährt täglich ein Güterzug mit schweren Containern nach Süden.",
    "El gobierno anunció nuevas medidas para reducir el consumo de energía en invierno.",
    "La niña encontró un pájaro herido junto al río y lo llevó a la clínica veterinaria.",
    "O ministério da saúde confirmou que a campanha de vacinação começa na próxima semana.",
    "Příliš žluťoučký kůň úpěl ďábelské ódy a všichni se smáli.",
    "Zażółć gęślą jaźń — powiedział nauczyciel i zapisał zdanie na tablicy.",
    "Ørsted og Ålborg ligger i Danmark, hvor vejret ofte er blæsende.",
    "Bu sabah İstanbul'da yoğun kar yağışı nedeniyle uçuşlar iptal edildi.",
    "Hà Nội là thủ đô của Việt Nam, nổi tiếng với phở và những hồ nước đẹp.",
    # Greek
    "Η κυβέρνηση ανακοίνωσε νέα μέτρα για τη στήριξη των μικρών επιχειρήσεων.",
    "Οι αρχαίοι Έλληνες φιλόσοφοι συζητούσαν για τη φύση του κόσμου και της γνώσης.",
    "Το πλοίο αναχώρησε από τον Πειραιά νωρίς το πρωί με προορισμό την Κρήτη.",
    # Cyrillic
    "Правительство объявило о новых мерах поддержки малого бизнеса в регионах.",
    "Студенты университета провели эксперимент и опубликовали результаты в журнале.",
    "Київ — столиця України, одне з найстаріших міст Східної Європи.",
    "Београд се налази на ушћу Саве у Дунав и има богату историју.",
    # Arabic
    "أعلنت الحكومة عن خطة جديدة لتطوير التعليم في المدارس الحكومية.",
    "يعيش في المدينة أكثر من مليون نسمة ويعمل معظمهم في التجارة والخدمات.",
    "اللغة العربية من أكثر اللغات انتشارا في العالم.",
    # Hebrew
    "הממשלה הודיעה על תוכנית חדשה לשיפור התחבורה הציבורית בערים הגדולות.",
    "ירושלים היא עיר עתיקה עם היסטוריה ארוכה ומגוונת.",
    # Devanagari
    "सरकार ने छोटे व्यवसायों की सहायता के लिए नई योजना की घोषणा की है।",
    "भारत एक विशाल देश है जहाँ अनेक भाषाएँ बोली जाती हैं।",
    "विद्यार्थियों ने विज्ञान प्रदर्शनी में अपने प्रयोग प्रस्तुत किए।",
    # Thai
    "รัฐบาลประกาศมาตรการใหม่เพื่อช่วยเหลือธุรกิจขนาดเล็กในช่วงเศรษฐกิจชะลอตัว",
    "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทยและมีประชากรหนาแน่น",
    # CJK: Chinese, Japanese
    "政府宣布了支持小型企业的新措施，以应对经济放缓。",
    "北京是中国的首都，有着悠久的历史和丰富的文化遗产。",
    "学生们在科学展览会上展示了他们的实验结果。",
    "東京は日本の首都であり、世界で最も人口の多い都市の一つです。",
    "政府は中小企業を支援するための新しい対策を発表しました。",
    "きょうは とても いい てんき ですね。カタカナ の テキスト も あります。",
    # Hangul
    "정부는 소상공인을 지원하기 위한 새로운 대책을 발표했습니다.",
    "서울은 대한민국의 수도이며 인구가 가장 많은 도시입니다.",
    "학생들은 과학 전시회에서 자신들의 실험 결과를 발표했다.",
    # emoji
    "Great job team 🎉🎉 see you tomorrow 😀👍",
    "Weather today: ☀️ then 🌧️ and later ⛈️ — stay safe ❤️",
    "Family trip 👨‍👩‍👧 to the beach 🏖️ was fun 😂😂",
]
TRAIN_MULTILINGUAL_REPEAT = 4


def _git(*args) -> bytes:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True).stdout


def _repo_files(commit):
    """Paths of the pinned commit that feed the corpus, sorted."""
    names = _git("ls-tree", "-r", "--name-only", commit).decode("utf-8").splitlines()
    keep = []
    for n in names:
        if n == "README.md" or re.fullmatch(r"configs/[^/]*\.yaml", n) or re.fullmatch(r"src/.*\.cpp", n):
            keep.append(n)
        elif re.fullmatch(r"tests/golden/fixtures/.*\.(json|txt)", n):
            # never this script's own output, never a tokenizer.json (vocabulary junk)
            if not n.startswith("tests/golden/fixtures/tokenizer_json/") and not n.endswith("/tokenizer.json"):
                keep.append(n)
    return sorted(keep)


def _read_at(commit, name) -> str:
    try:
        return _git("show", f"{commit}:{name}").decode("utf-8")
    except UnicodeDecodeError:
        return ""


def _chunks_of_lines(text: str, max_lines: int):
    """Split text into paragraphs (blank-line separated), long ones into runs of max_lines lines."""
    out = []
    for para in re.split(r"\n\s*\n", text):
        lines = para.split("\n")
        for k in range(0, len(lines), max_lines):
            chunk = "\n".join(lines[k : k + max_lines])
            if chunk.strip():
                out.append(chunk)
    return out


def _json_strings(obj, out):
    if isinstance(obj, str):
        if len(obj) >= 2:
            out.append(obj)
    elif isinstance(obj, list):
        for v in obj:
            _json_strings(v, out)
    elif isinstance(obj, dict):
        for k in sorted(obj):
            _json_strings(obj[k], out)


def build_corpus():
    """Training sequences in a fixed order: list of (source, text). Repository files are read
    from the pinned commit CORPUS_COMMIT (not the working tree), so later edits to the
    repository do not change the vocabularies."""
    try:
        files = _repo_files(CORPUS_COMMIT)
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"cannot read commit {CORPUS_COMMIT} of {REPO} with git ({e}); the corpus is pinned to it")
    seqs = []
    seqs += [("README.md", c) for c in _chunks_of_lines(_read_at(CORPUS_COMMIT, "README.md"), 30)]
    design = REPO.parent / "shared" / "DESIGN.md"
    try:
        design_bytes = design.read_bytes()
    except OSError:
        design_bytes = b""
    if hashlib.sha256(design_bytes).hexdigest() == DESIGN_SHA256:
        seqs += [("DESIGN.md", c) for c in _chunks_of_lines(design_bytes.decode("utf-8"), 30)]
    else:
        print(f"warning: {design} missing or not the pinned version (sha256 {DESIGN_SHA256[:12]}…); "
              "training without it — the outputs will differ from the committed ones", file=sys.stderr)
    for n in files:
        if n.startswith("configs/"):
            seqs += [(n, c) for c in _chunks_of_lines(_read_at(CORPUS_COMMIT, n), 40)]
    comment_re = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
    for n in files:
        if not n.startswith("src/"):
            continue
        lines = []
        for m in comment_re.finditer(_read_at(CORPUS_COMMIT, n)):
            for ln in m.group(0).split("\n"):
                ln = re.sub(r"^\s*(/\*+|\*+/|//+|\*)", "", ln).rstrip()
                ln = re.sub(r"\*+/$", "", ln).rstrip()
                if ln.strip():
                    lines.append(ln)
        for k in range(0, len(lines), 20):
            seqs.append((n, "\n".join(lines[k : k + 20])))
    for n in files:
        if not n.startswith("tests/golden/fixtures/"):
            continue
        text = _read_at(CORPUS_COMMIT, n)
        if n.endswith(".txt"):
            seqs += [(n, c) for c in _chunks_of_lines(text, 20)]
        else:
            try:
                obj = json.loads(text)
            except ValueError:
                continue
            strs = []
            _json_strings(obj, strs)
            seqs += [(n, s) for s in strs]
    for _ in range(TRAIN_MULTILINGUAL_REPEAT):
        seqs += [("multilingual", s) for s in TRAIN_MULTILINGUAL]
    return seqs


# ──────────────────────────────────────────────────────────────────────────────────────────────
# Test texts (categories i–viii). None of these is used for training.
# ──────────────────────────────────────────────────────────────────────────────────────────────

# (i) real-world Unicode sentences; ≥ 15 scripts. Several scripts appear ONLY here (Armenian,
# Georgian, Bengali, Tamil, Khmer, Myanmar, Sinhala, Tibetan, Ethiopic, Cherokee, Syllabics,
# Gujarati, Lao, Mongolian), so every trained vocabulary lacks their characters.
UNICODE_SENTENCES = [
    # Latin
    "Où est la gare ? Je dois prendre le train de 8 h 15 pour Genève.",
    "Ça coûte cher, mais la qualité est là : c'est un déjà-vu, n'est-ce pas ?",
    "Größere Straßen führen über die Mühle zum Schloss — äußerst schön.",
    "¿Dónde está el baño? ¡Muchas gracias, señora Muñoz!",
    "A cidade de São Paulo tem um trânsito caótico às seis horas.",
    "Łódź i Kraków to piękne miasta; żółw je źdźbło trawy.",
    "Ekonomi haberlerine göre enflasyon ağustos ayında düştü; ıslak şemsiye.",
    "Tôi yêu tiếng Việt vì nó có nhiều dấu thanh điệu khác nhau.",
    "Þetta er íslenska með ð og þ og æ.",
    "Dobrý den, jak se máte? Děkuji, mám se dobře.",
    "Ærlighed varer længst, sagde bedstemor på Ærø.",
    "Fußgänger überqueren die Straße bei Grün.",
    # Greek
    "Καλημέρα κόσμε! Πώς είσαι σήμερα; Ελπίζω καλά.",
    "Ο Σωκράτης είπε: «ἓν οἶδα ὅτι οὐδὲν οἶδα».",
    # Cyrillic
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Жизнь прекрасна, если не бояться её — так говорил мой дед.",
    "Щастя — це коли тебе розуміють. Ґанок і їжак.",
    "Здраво, како си? Ђорђе и Љиљана живе у Нишу.",
    # Armenian
    "Բարեւ, ինչպե՞ս ես։ Երեւանը Հայաստանի մայրաքաղաքն է։",
    # Georgian
    "გამარჯობა, როგორ ხარ? თბილისი საქართველოს დედაქალაქია.",
    # Hebrew (with and without niqqud)
    "שלום עולם! מה שלומך היום?",
    "בְּרֵאשִׁית בָּרָא אֱלֹהִים אֵת הַשָּׁמַיִם וְאֵת הָאָרֶץ",
    # Arabic, Persian, Urdu
    "مرحبا بالعالم! كيف حالك اليوم؟",
    "مَرْحَبًا، كَيْفَ حَالُكَ؟",
    "سلام دنیا! امروز هوا خیلی خوب است.",
    "یہ اردو زبان کا ایک جملہ ہے۔",
    # Devanagari, Bengali, Gujarati, Tamil, Sinhala
    "नमस्ते दुनिया! आप कैसे हैं? मेरा नाम राहुल है।",
    "संस्कृतम् जगतः एकतमा अतिप्राचीना भाषा अस्ति।",
    "আমি বাংলায় গান গাই। ঢাকা বাংলাদেশের রাজধানী।",
    "કેમ છો? અમદાવાદ ગુજરાતનું સૌથી મોટું શહેર છે.",
    "வணக்கம் உலகம்! தமிழ் ஒரு பழமையான மொழி.",
    "ආයුබෝවන්! කොළඹ ශ්‍රී ලංකාවේ නගරයකි.",
    # Thai, Lao, Khmer, Myanmar, Tibetan
    "สวัสดีครับ วันนี้อากาศดีมาก ไปเที่ยวทะเลกันไหม",
    "ສະບາຍດີ ພາສາລາວ ເປັນພາສາທີ່ສວຍງາມ",
    "សួស្តី ពិភពលោក! ភ្នំពេញជារាជធានីនៃកម្ពុជា។",
    "မင်္ဂလာပါ ကမ္ဘာလောက။ ရန်ကုန်မြို့",
    "བཀྲ་ཤིས་བདེ་ལེགས། ལྷ་ས།",
    # Ethiopic, Cherokee, Canadian syllabics, Mongolian
    "ሰላም ልዑል! አዲስ አበባ የኢትዮጵያ ዋና ከተማ ናት።",
    "ᎣᏏᏲ! ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ ᎠᏍᎦᏯ.",
    "ᐊᐃᓐᖓᐃ! ᐃᓄᒃᑎᑐᑦ ᐅᖃᐅᓯᖅ.",
    "ᠮᠣᠩᠭᠣᠯ ᠪᠢᠴᠢᠭ᠌",
    # CJK
    "你好，世界！今天天气很好，我们去公园散步吧。",
    "臺灣的繁體中文與簡體中文有些不同，例如「體」和「体」。",
    "こんにちは世界！東京タワーは333メートルです。",
    "吾輩は猫である。名前はまだ無い。",
    "ｶﾀｶﾅ（半角）とカタカナ（全角）",
    # Hangul
    "안녕하세요, 세계! 오늘 날씨가 정말 좋네요.",
    "훈민정음은 세종대왕이 만든 문자입니다.",
    # emoji sentences
    "I love it ❤️🔥 so much!!! 😍😍😍",
    "Deploy done ✅ tests green 🟢 coffee ☕ time",
]

# (i) special forms: ZWJ sequences, skin tones, flags, combining marks, NFD/NFC pairs, jamo,
# unusual spaces and line separators, math alphanumerics, control characters.
UNICODE_FORMS = [
    "👩\u200d💻",  # woman technologist (ZWJ)
    "👨\u200d👩\u200d👧\u200d👦",  # family (3 ZWJ)
    "🧑🏿\u200d🚀 astronaut",
    "👍🏻👍🏼👍🏽👍🏾👍🏿",
    "👋🏽 hi",
    "🏳️\u200d🌈 pride flag",
    "🏴\u200d☠️",
    "🇫🇷🇩🇪🇯🇵🇺🇸🇧🇷",
    "flags: 🇺🇦 and 🇨🇦.",
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f Scotland",
    "1️⃣ 2️⃣ #️⃣ *️⃣",
    "❤️ vs ❤ vs ♥",
    "🫠🫶🪿🧌",
    "😀😃😄😁😆😅🤣😂",
    "e\u0301",
    "e\u0301te\u0301",
    "Cafe\u0301 vs Café",
    "A\u030a and \u00c5 and \u212b",
    "n\u0303 ñ",
    "x\u0308\u0301 y\u0323\u0307",
    "Z\u0334\u0321a\u0337l\u0338g\u0335o\u0335 text",
    "\u1112\u1161\u11ab\u1100\u1173\u11af",  # 한글 as conjoining jamo (NFD)
    "\u1100\u1161\u11a8 \uac01",  # 각 as jamo vs precomposed
    "한글 \u1112\u1161\u11ab\u1100\u1173\u11af",
    "\u3131\u314f \u3134",  # compatibility jamo
    "\u2126 ohm vs \u03a9 omega",
    "\ufb01nance \ufb02ow",  # ﬁ ﬂ ligatures
    "\u0958\u0959 \u0915\u093c",  # composition exclusions vs decomposed
    "K\u212a kelvin",
    "ℌ𝔢𝔩𝔩𝔬 𝕎𝕠𝕣𝕝𝕕 𝟘𝟙𝟚",
    "Full\u3000width\u3000space",
    "ＡＢＣ　ｄｅｆ　１２３！？",
    "non\u00a0breaking\u00a0space",
    "line\u2028separator\u2029paragraph",
    "next\u0085line",
    "zero\u200bwidth\u200cnon\u200djoiner",
    "\ufeffBOM at start",
    "thin\u2009space narrow\u202fnbsp ogham\u1680space",
    "em\u2003space en\u2002space",
    "right\u200fto\u200eleft marks",
    "\u202eevil bidi override\u202c",
    "tab\tand\u000bvertical\u000cformfeed",
    "bell\x07 escape\x1b[31mred\x1b[0m del\x7f",
    "nul\x00byte",
    "\ufffd replacement char",
    "private use \ue000\uf8ff",
    "\U0001f9ea\U0001f52c \U00020000\U0002a6d6",
    "ﾊﾝｶｸ ｶﾀｶﾅ",
    "½ ¾ ⅓ ² ³ ⁴ Ⅻ ⅷ ① ⑳",
    "∑∫√∞≠≤≥ ∀x∈ℝ: x²≥0",
    "→ ← ↑ ↓ ⇒ ⇔ ✓ ✗ • · … — – ‐",
    "«quotes» „Anführung“ “curly” ‘single’ ‹›",
    "ʻOkina Hawaiʻi",
    "Ĳ ĳ Ŀ ŀ ŉ ſ",
    "İstanbul ISTANBUL istanbul ıi",
]

PROSE = [
    "City officials said on Tuesday that the new bridge would open to traffic in early spring, "
    "two years later than planned. The project, which cost an estimated $412 million, was delayed "
    "by flooding in 2021 and by a shortage of steel. Residents on both sides of the river have "
    "waited more than a decade for a second crossing.",
    "The central bank left interest rates unchanged at 4.25% on Wednesday, citing signs that "
    "inflation is cooling faster than expected. Markets had priced in a small chance of a cut. "
    "\"We are not there yet,\" the governor told reporters, adding that wage growth remains strong.",
    "Scientists at the observatory reported the discovery of a faint dwarf galaxy about 30 million "
    "light-years away. The galaxy, which contains only a few thousand stars, was found in images "
    "taken over six nights last autumn. Its existence supports models that predict many small "
    "satellites around large spiral galaxies.",
    "Heavy rain caused flooding across the northern region over the weekend, forcing hundreds of "
    "families to leave their homes. Emergency crews rescued 57 people from rooftops and cars. "
    "Forecasters expect the rain to ease by Thursday, though rivers may keep rising for days.",
    "The school board voted 5-2 to extend the academic year by one week, starting in September. "
    "Supporters argued that students lost time during the pandemic; opponents worried about the "
    "cost, which the district's budget office put at $3.6 million.",
    "After a record-breaking season, the club's coach announced her retirement on Friday. She led "
    "the team to three national titles in eleven years and was named coach of the year twice. "
    "\"It's time for someone new,\" she said. \"I'm proud of what we built together.\"",
    "A small software company in the city has released an open-source tool that checks whether "
    "machine-learning models still remember data they were asked to forget. Early tests showed "
    "that compressing a model can bring back some of the removed knowledge, the developers said.",
    "Train services between the two capitals resumed on Monday morning after a three-day strike. "
    "The rail operator warned that timetables would remain reduced until Wednesday and urged "
    "passengers to check their connections online before travelling.",
]

CODE_SNIPPETS = [
    "#include <vector>\n\nint main() {\n    std::vector<int> v{1, 2, 3};\n    for (auto& x : v) {\n        x *= 2;\n    }\n    return 0;\n}\n",
    "template <typename T>\nT clamp(T x, T lo, T hi) {\n\treturn x < lo ? lo : (x > hi ? hi : x);\n}",
    "namespace relapse::model {\n// Reads tokenizer.json.\nclass Tokenizer final {\n public:\n  explicit Tokenizer(const std::string& path);\n  std::vector<int32_t> encode(std::string_view text) const;\n};\n}  // namespace relapse::model",
    "if (ptr == nullptr && count >= 0x7fffffff) { throw std::runtime_error(\"overflow\"); }",
    "auto it = std::find_if(xs.begin(), xs.end(), [&](const auto& p) { return p.second > 3; });",
    "def merge(pairs, vocab):\n    out = {}\n    for (a, b), n in pairs.items():\n        if a + b in vocab:\n            out[a + b] = out.get(a + b, 0) + n\n    return out\n",
    "class Foo:\n    \"\"\"Docstring.\"\"\"\n\n    def __init__(self, x: int = 42) -> None:\n        self.x = x\n\n    def __repr__(self):\n        return f\"Foo(x={self.x!r})\"\n",
    "import numpy as np\nx = np.arange(12).reshape(3, 4)\nprint(x[:, 1::2].sum(axis=0))  # [ 6 18]",
    "    return [t for t in tokens if t not in stop_words]  \n",
    "lambda x: x**2 if x > 0 else -x // 3",
    '{\n  "model": {\n    "type": "BPE",\n    "dropout": null,\n    "vocab": {"a": 0, "b": 1},\n    "merges": [["a", "b"]]\n  }\n}',
    '{"name":"relapse","version":"0.1.0","tags":["llm","quant"],"ok":true,"n":-1.5e-3}',
    '[\n\t{"id": 1, "text": "caf\\u00e9"},\n\t{"id": 2, "text": "\\n\\t"}\n]',
    "#!/usr/bin/env bash\nset -euo pipefail\nfor f in *.json; do\n  echo \"$f: $(wc -c < \"$f\")\"\ndone\n",
    "mpirun -np 8 --bind-to core ./build/relapse run configs/quickstart.yaml 2>&1 | tee log.txt",
    "export CUDA_VISIBLE_DEVICES=0,1 && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j16",
    "grep -rn 'TODO' src/ | awk -F: '{print $1}' | sort | uniq -c | sort -rn | head",
    "model:\n  name: llama-7b\n  dtype: bfloat16\nquant:\n  - {method: gptq, bits: 4, group: 128}\n  - {method: rtn, bits: 8}\n",
    "SELECT id, name FROM users WHERE created_at >= '2024-01-01' ORDER BY id DESC LIMIT 10;",
    "all: build\n\nbuild:\n\tcmake --build build\n\nclean:\n\trm -rf build\n",
    "<div class=\"note\"><p>Hello &amp; welcome</p></div>",
    "fn main() {\n    let s = String::from(\"héllo\");\n    println!(\"{}\", s.len());\n}",
    "x = 1;\r\ny = 2;\r\nz = x + y;\r\n",
    "    \n    \n",
    "\t\tif (a) {\n\t\t\tb();\n\t\t}\n",
]

CONTRACTIONS = [
    "it's", "It's", "IT'S", "iT'S", "it'S", "We'Ll", "we'll", "WE'LL", "they'RE", "They're",
    "THEY'RE", "I'D", "I'd", "i'd", "you've", "YOU'VE", "You'Ve", "I'm", "I'M", "i'm",
    "don't", "DON'T", "Don'T", "can't", "won't", "shan't", "ain't", "y'all", "o'clock",
    "'s", "'S", "'t", "'T", "'re", "'RE", "'Re", "'ve", "'VE", "'m", "'M", "'ll", "'LL", "'lL",
    "'d", "'D", "'", "''", "'''", "' ", " '", " ' ", "'s'", "'s's", "x's'", "'' s",
    "'ſ", "it'ſ", "'ſt", "IT'ſ", "'ſ'ſ", "ſ's", "'ſ 's",
    "'1", "'99", "'123456", "back in '69 and '70", "'0'", "'12'", "'4ever",
    "rock 'n' roll", "O'Neil's dog", "the '80s", "students' books", "James' car",
    "it’s curly", "don’t", "‘quoted’", "l'homme", "aujourd'hui", "dell'arte",
    "He said, 'I'll go.' She said, 'You'd better.'",
    "'Tis the season; 'twas the night.",
    "I'd've thought they'd've known.",
    "WE'VE GOT IT'S OWN I'M I'LL YOU'D THEY'RE",
    "it's\nit's\tit's  it's",
]

SPECIAL_FRAGMENTS = [
    "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>",
    "<|end_header_id|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>",
    "<s>", "</s>", "<unk>",
]
NEAR_MISSES = [
    "<|begin_of_text|", "|begin_of_text|>", "<|begin_of_text >", "< s>", "<s >", "</ s>", "<S>",
    "<unk", "unk>", "<|endoftext|", "<|endoftext||>", "<|im_start>", "<tool_call", "<tool call>",
    "<|eot_id>", "<<s>>", "<|<|eot_id|>|>", "<|reserved_special_token_2|>", "<0x41>", "<0xZZ>",
]
SPECIAL_HANDWRITTEN = [
    "<|begin_of_text|>Hello world",
    "Hello world<|end_of_text|>",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
    "<|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>",
    "hello <|eot_id|> world",
    "hello  <|eot_id|>  world",
    "hello<|eot_id|>world",
    "<|eot_id|><|eot_id|><|eot_id|>",
    " <|eot_id|> ",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n",
    "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>",
    "text<|endoftext|>more text<|endoftext|>",
    "<|endoftext|>",
    " <|endoftext|>",
    "<|endoftext|> ",
    "<s>Hello</s>",
    "<s> Hello </s>",
    "hi <s> there",
    "unk <unk> here",
    "<unk><unk><unk>",
    "</s></s>",
    "<s><s>text",
    "a<s>b</s>c<unk>d",
    "<tool_call>",
    " <tool_call> ",
    "call<tool_call>now",
    "<|begin_of_text|",
    "< s> not a special",
    "<|begin_of_text|><|begin_of_text|>",
    "end with special <|end_of_text|>",
    "<|start_header_id|> spaced <|end_header_id|>",
    "\n<|eot_id|>\n",
    "\t<s>\t",
    "<|im_end|>\n\n<|im_start|>",
    "é<s>é",
    "日本<|eot_id|>語",
    "12<|endoftext|>34",
]

PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
RANDOM_ALPHABET = (
    [chr(c) for c in range(ord("a"), ord("z") + 1)] * 3
    + [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    + list("0123456789") * 2
    + PUNCT
    + [" "] * 12 + ["  ", "\t", "\n", "\r\n", "\n\n", "   "]
    + list("'''")
    + list("éèàçñüößøåæœłśżčřğışÉÀÑÜ")
    + list("αβγδεζηθλμπσςωΑΒΓΩάέή")
    + list("абвгдежзиклмнопрстуфхцчшщыэюяЖЩЁё")
    + list("的一是不了人我在有他这中大来上国个到说们")
    + list("あいうえおかきくけこアイウエオン")
    + list("가나다라마바사아자차카타파하한글")
    + list("กขคงจฉชซ่้")
    + list("مرحباسلام")
    + list("שלוםעולם")
    + list("नमस्तेकखग")
    + ["😀", "👍", "🏽", "\u200d", "👩", "💻", "🇫", "🇷", "❤", "\ufe0f", "🎉"]
    + ["\u0301", "\u0308", "\u0323", "\u3000", "\u00a0", "\u0085", "\u2028", "\u200b"]
    + ["▁", "Ġ", "Ċ", "ſ", "K", "ﬁ", "½", "²", "٣", "１", "Ⅻ"]
    + ["<", ">", "|", "<s>", "</s>", "<|eot_id|>", "<|endoftext|>", "<unk>", "<tool_call>"]
)


def make_texts():
    """Returns (texts, category_of_each) in a fixed order."""
    rng = random.Random(20240613)
    texts, cats = [], []

    def add(cat, s):
        assert isinstance(s, str)
        s = s[:400]
        texts.append(s)
        cats.append(cat)

    # (i) Unicode sentences and forms, plus NFC/NFD variants and deterministic combinations.
    for s in UNICODE_SENTENCES:
        add("unicode", s)
    for s in UNICODE_FORMS:
        add("unicode", s)
    for s in UNICODE_SENTENCES + UNICODE_FORMS:
        for form in ("NFD", "NFC", "NFKC"):
            t = unicodedata.normalize(form, s)
            if t != s:
                add("unicode", t)
    pool = UNICODE_SENTENCES + UNICODE_FORMS
    seps = [" ", "\n", "  ", "\t", "\u3000", "\u00a0", "", "\r\n", " — ", "\u2028", "\u0085"]
    for _ in range(120):
        k = rng.randint(2, 4)
        parts = [rng.choice(pool) for _ in range(k)]
        add("unicode", rng.choice(seps).join(parts))
    for _ in range(40):  # substrings (cut anywhere, including inside grapheme clusters)
        s = rng.choice(pool)
        a = rng.randint(0, len(s))
        b = rng.randint(a, len(s))
        add("unicode", s[a:b])

    # (ii) code with indentation.
    for s in CODE_SNIPPETS:
        add("code", s)
    all_lines = [ln for s in CODE_SNIPPETS for ln in s.split("\n")]
    for _ in range(100):
        a = rng.randrange(len(all_lines))
        b = min(len(all_lines), a + rng.randint(1, 6))
        indent = rng.choice(["", "", "    ", "\t", "  ", "        "])
        add("code", "\n".join(indent + ln for ln in all_lines[a:b]))
    for s in CODE_SNIPPETS[:10]:
        add("code", s.replace("    ", "\t"))
        add("code", s.replace("\n", "\r\n"))

    # (iii) digits and numbers.
    digits = "0123456789"
    for n in range(1, 13):
        run = "".join(rng.choice(digits) for _ in range(n))
        add("digits", run)
        add("digits", " " + run)
        add("digits", "x" + run + "y")
        add("digits", "1234567890"[:n] if n <= 10 else "1234567890" + "12"[: n - 10])
        add("digits", "0" * n)
        add("digits", run + " " + run[::-1])
    for s in [
        "1,234,567", "1.234.567,89", "3.14159", "-0.001", "+1-555-0100", "1 000 000", "12'345'678",
        "2024-06-13T12:34:56Z", "192.168.0.1", "0xDEADBEEF", "0b1010_1010", "1e-9", "6.022e23",
        "$1,299.99", "€ 45,00", "¥10,000", "50%", "№ 7", "v1.2.3-rc.4", "ISO 8601", "3/4 + 1/2",
        "10:30 am", "(555) 123-4567", "1st 2nd 3rd 4th 21st 101st", "99.9999%", "1,2,3,4,5,6,7",
        "٠١٢٣٤٥٦٧٨٩", "०१२३४५६७८९", "１２３４５", "¹²³", "ⅠⅡⅢⅣ", "①②③", "𝟙𝟚𝟛", "一二三四五",
        "١٢,٣٤٥", "12٣45", "३.१४", "0.5 ½ 0.75 ¾",
    ]:
        add("digits", s)
    for s in [
        "abc123def", "x86_64", "H2O", "COVID-19", "A1B2C3D4E5", "mp3 mp4 h264", "4K 1080p 60fps",
        "UTF-8 UTF-16LE", "gpt-4o llama-3.1-8b qwen2.5-7b", "1a2b3c", "a1234b56789c", "B52s",
        "area51", "7eleven", "24/7", "3D", "2FA", "user_42@example.com", "file_0001.txt",
        "Table 3.2.1", "id=12345678901&page=2",
    ]:
        add("digits", s)
    for _ in range(60):
        parts = []
        for _ in range(rng.randint(1, 6)):
            r = rng.random()
            if r < 0.5:
                parts.append("".join(rng.choice(digits) for _ in range(rng.randint(1, 12))))
            elif r < 0.8:
                parts.append(rng.choice(["a", "bc", "Z", "km", "x", "é", "日", "ß", "Ω"]))
            else:
                parts.append(rng.choice([" ", ",", ".", "-", "_", ":", "/", "\u00a0", "'"]))
        add("digits", "".join(parts))

    # (iv) whitespace.
    for s in [
        "", " ", "  ", "   ", "    ", "        ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n",
        "\r\n\r\n", "\r", " \n", "\n ", " \t\n\r ", "\u3000", "\u00a0", "\u2028", "\u0085",
        "\u3000\u3000", " \u00a0 ", "\u2029", "\v", "\f",
        "a  b", "a   b", "a    b", "a\tb", "a\t\tb", "a\nb", "a\n\nb", "a\n\n\nb", "a\r\nb",
        "a \nb", "a\n b", "a \n b", "a\r\n\r\nb", "trailing ", "trailing   ", "trailing\t",
        "trailing\n", " leading", "   leading", "\tleading", "\nleading", "  both  ",
        "word \n\n\n  word", "x\u3000y", "x\u00a0y", "x \u00a0y", "x\u2028y", "x\u0085y",
        "multiple   spaces   between   words", "line one\nline two\n\nline four\n",
        "\n\n\nHeading\n\n\n", "   \n   \n   ", " .", "  .", "   ,", "\t#", "\n\n#",
    ]:
        add("whitespace", s)
    ws_alpha = [" ", " ", " ", "\t", "\n", "\r\n", "\r", "\u3000", "\u00a0", "a", "b", ".", "é"]
    for _ in range(45):
        add("whitespace", "".join(rng.choice(ws_alpha) for _ in range(rng.randint(1, 16))))

    # (v) contractions.
    for s in CONTRACTIONS:
        add("contractions", s)
    words = ["it", "IT", "We", "they", "I", "you", "She", "x", "ſ", "日本", "é", "7", ""]
    suffixes = ["'s", "'S", "'t", "'T", "'re", "'RE", "'Re", "'ve", "'VE", "'m", "'M", "'ll",
                "'LL", "'Ll", "'lL", "'d", "'D", "'ſ", "'", "'1", "'42", "’s", "'x", "'sa"]
    for _ in range(70):
        s = " ".join(rng.choice(words) + rng.choice(suffixes) for _ in range(rng.randint(1, 4)))
        add("contractions", s)

    # (vi) special-token text in the middle, at the ends, spaced, back to back, near misses.
    for s in SPECIAL_HANDWRITTEN:
        add("special", s)
    for s in SPECIAL_FRAGMENTS + NEAR_MISSES:
        add("special", s)
        add("special", " " + s + " ")
        add("special", "a" + s + "b")
    fill = ["hello", " world", " ", "  ", "\n", "x", "日本", "é", "12", "'s", "▁", "text "]
    for _ in range(110):
        parts = []
        for _ in range(rng.randint(1, 7)):
            r = rng.random()
            if r < 0.4:
                parts.append(rng.choice(SPECIAL_FRAGMENTS))
            elif r < 0.5:
                parts.append(rng.choice(NEAR_MISSES))
            else:
                parts.append(rng.choice(fill))
        add("special", "".join(parts))

    # (vii) random strings over a mixed alphabet.
    for _ in range(300):
        n = rng.randint(0, 60)
        add("random", "".join(rng.choice(RANDOM_ALPHABET) for _ in range(n)))

    # (viii) English prose paragraphs, their sentences, and a few joined pairs.
    for p in PROSE:
        add("prose", p)
    sentences = [s for p in PROSE for s in re.split(r"(?<=[.!?\"])\s+", p) if s]
    for s in sentences:
        add("prose", s)
    for _ in range(20):
        a = rng.choice(PROSE)
        b = rng.choice(sentences)
        add("prose", (b + "\n\n" + a)[:400])
    for p in PROSE[:4]:
        add("prose", p.upper()[:400])
        add("prose", p.lower()[:400])

    return texts, cats


# ──────────────────────────────────────────────────────────────────────────────────────────────
# Tokenizers
# ──────────────────────────────────────────────────────────────────────────────────────────────


def bytes_to_unicode():
    """GPT-2's byte → printable-character table (what pre_tokenizers.ByteLevel uses)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_CHAR = bytes_to_unicode()


def added_token_json(tid, content, special, normalized=False):
    return {
        "id": tid,
        "content": content,
        "single_word": False,
        "lstrip": False,
        "rstrip": False,
        "normalized": normalized,
        "special": special,
    }


def template(bos):
    return {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [
            {"SpecialToken": {"id": bos, "type_id": 0}},
            {"Sequence": {"id": "A", "type_id": 0}},
            {"SpecialToken": {"id": bos, "type_id": 1}},
            {"Sequence": {"id": "B", "type_id": 1}},
        ],
        "special_tokens": {bos: {"id": bos, "ids": None, "tokens": [bos]}},  # ids set by caller
    }


def byte_level(add_prefix_space, trim_offsets, use_regex):
    return {
        "type": "ByteLevel",
        "add_prefix_space": add_prefix_space,
        "trim_offsets": trim_offsets,
        "use_regex": use_regex,
    }


def split_regex(pattern):
    return {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False}


def train_bytelevel(corpus, pre_tokenizer, normalizer, vocab_size):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    m = json.loads(tok.to_str())["model"]
    return m["vocab"], m["merges"]


def bpe_model(vocab, merges, *, unk=None, fuse_unk=False, byte_fallback=False, ignore_merges=False):
    return {
        "type": "BPE",
        "dropout": None,
        "unk_token": unk,
        "continuing_subword_prefix": None,
        "end_of_word_suffix": None,
        "fuse_unk": fuse_unk,
        "byte_fallback": byte_fallback,
        "ignore_merges": ignore_merges,
        "vocab": vocab,
        "merges": merges,
    }


def assemble(model, added, normalizer, pre_tokenizer, post_processor, decoder):
    d = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": normalizer,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": post_processor,
        "decoder": decoder,
        "model": model,
    }
    return Tokenizer.from_str(json.dumps(d, ensure_ascii=False))


def build_llama3(corpus):
    pre = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
        ]
    )
    vocab, merges = train_bytelevel(corpus, pre, None, VOCAB["llama3"])
    for w in LLAMA3_ORPHAN_WORDS:
        piece = "".join(BYTE_CHAR[b] for b in w.encode("utf-8"))
        if piece not in vocab:
            vocab[piece] = len(vocab)
    n = len(vocab)
    added = [added_token_json(n + i, s, True) for i, s in enumerate(LLAMA3_SPECIALS)]
    post = template("<|begin_of_text|>")
    post["special_tokens"]["<|begin_of_text|>"]["ids"] = [n]
    tok = assemble(
        bpe_model(vocab, merges, ignore_merges=True),
        added,
        None,
        {
            "type": "Sequence",
            "pretokenizers": [split_regex(LLAMA3_PATTERN), byte_level(False, True, False)],
        },
        {"type": "Sequence", "processors": [byte_level(True, False, True), post]},
        byte_level(True, True, True),
    )
    cfg = {
        "add_bos_token": True,
        "add_eos_token": False,
        "bos_token": "<|begin_of_text|>",
        "eos_token": "<|end_of_text|>",
        "unk_token": None,
        "pad_token": None,
        "clean_up_tokenization_spaces": True,
        "model_input_names": ["input_ids", "attention_mask"],
        "model_max_length": VERY_LARGE_INTEGER,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }
    stm = {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"}
    return tok, added, cfg, stm


def build_qwen2(corpus):
    pre = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    vocab, merges = train_bytelevel(corpus, pre, normalizers.NFC(), VOCAB["qwen2"])
    n = len(vocab)
    added = [added_token_json(n + i, s, True) for i, s in enumerate(QWEN2_SPECIALS)]
    added.append(added_token_json(n + len(QWEN2_SPECIALS), QWEN2_NONSPECIAL, False))
    tok = assemble(
        bpe_model(vocab, merges, ignore_merges=False),
        added,
        {"type": "NFC"},
        {
            "type": "Sequence",
            "pretokenizers": [split_regex(QWEN2_PATTERN), byte_level(False, False, False)],
        },
        byte_level(False, False, False),
        byte_level(False, False, False),
    )
    cfg = {
        "add_bos_token": False,
        "add_eos_token": False,
        "add_prefix_space": False,
        "bos_token": None,
        "eos_token": "<|endoftext|>",
        "unk_token": None,
        "pad_token": "<|endoftext|>",
        "clean_up_tokenization_spaces": False,
        "errors": "replace",
        "model_max_length": 32768,
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
    }
    plain = {"lstrip": False, "normalized": False, "rstrip": False, "single_word": False}
    stm = {
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "eos_token": dict(content="<|endoftext|>", **plain),
        "pad_token": dict(content="<|endoftext|>", **plain),
    }
    return tok, added, cfg, stm


def build_gpt2(corpus):
    pre = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    vocab, merges = train_bytelevel(corpus, pre, None, VOCAB["gpt2"])
    n = len(vocab)
    # GPT-2's own tokenizer.json marks <|endoftext|> as normalized=true.
    added = [added_token_json(n, GPT2_SPECIAL, True, normalized=True)]
    tok = assemble(
        bpe_model(vocab, merges, ignore_merges=False),
        added,
        None,
        byte_level(False, True, True),
        byte_level(True, False, True),
        byte_level(True, True, True),
    )
    cfg = {
        "add_bos_token": False,
        "add_eos_token": False,
        "add_prefix_space": False,
        "bos_token": GPT2_SPECIAL,
        "eos_token": GPT2_SPECIAL,
        "unk_token": GPT2_SPECIAL,
        "pad_token": None,
        "clean_up_tokenization_spaces": True,
        "model_max_length": 1024,
        "tokenizer_class": "GPT2Tokenizer",
    }
    stm = {"bos_token": GPT2_SPECIAL, "eos_token": GPT2_SPECIAL, "unk_token": GPT2_SPECIAL}
    return tok, added, cfg, stm


def build_sentencepiece_vocab(corpus):
    """Trains a "▁"-piece BPE and lays it out as Llama-2's vocabulary:
    <unk> <s> </s> (0,1,2), <0x00>..<0xFF> (3..258), merged pieces in merge order, then the
    single characters (most frequent first). Returns (vocab, merges)."""
    # One sequence per line, as SentencePiece's trainer reads lines; control characters
    # (tab, CR, ...) are left to byte fallback, as in Llama-2's vocabulary.
    lines = []
    for s in corpus:
        for ln in s.split("\n"):
            ln = "".join(" " if unicodedata.category(c) == "Cc" else c for c in ln).strip(" ")
            if ln:
                lines.append(ln)
    tok = Tokenizer(models.BPE())
    # Words = a run of "▁" plus what follows up to the next "▁" (SentencePiece-like pieces,
    # whitespace-only runs allowed).
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=SPIECE, prepend_scheme="always", split=False),
            pre_tokenizers.Split(Regex(SPIECE + "+[^" + SPIECE + "]*|[^" + SPIECE + "]+"), behavior="isolated"),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB["mistral_trained"], min_frequency=2, show_progress=False, special_tokens=[]
    )
    tok.train_from_iterator(lines, trainer=trainer)
    m = json.loads(tok.to_str())["model"]
    trained_vocab, merges = m["vocab"], m["merges"]

    char_count = {}
    for ln in lines:
        for c in SPIECE + ln.replace(" ", SPIECE):
            char_count[c] = char_count.get(c, 0) + 1

    vocab = {s: i for i, s in enumerate(SP_SPECIALS)}
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    fixed = set(vocab)
    merged = []
    for a, b in merges:
        if a + b not in vocab:
            merged.append(a + b)
            vocab[a + b] = len(vocab)
    singles = [p for p in trained_vocab if p not in vocab]
    assert all(len(p) == 1 for p in singles), "every non-merged trained piece is one character"
    singles.sort(key=lambda c: (-char_count.get(c, 0), ord(c)))
    for c in singles:
        vocab[c] = len(vocab)
    assert len(vocab) == 3 + 256 + len(trained_vocab), "no trained piece collides with a special/byte piece"
    assert not (fixed & set(trained_vocab))
    return vocab, merges


SP_DECODER = {
    "type": "Sequence",
    "decoders": [
        {"type": "Replace", "pattern": {"String": SPIECE}, "content": " "},
        {"type": "ByteFallback"},
        {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0},
    ],
}


def sp_cfg(old_style):
    toks = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
    if old_style:  # meta-llama/Llama-2-7b-hf's tokenizer_config.json spells them as AddedToken dicts
        toks = {
            k: {"__type": "AddedToken", "content": v, "lstrip": False, "normalized": False,
                "rstrip": False, "single_word": False}
            for k, v in toks.items()
        }
    cfg = dict(toks)
    cfg.update(
        {
            "add_bos_token": True,
            "add_eos_token": False,
            "pad_token": None,
            "clean_up_tokenization_spaces": False,
            "legacy": False,
            "model_max_length": VERY_LARGE_INTEGER,
            "sp_model_kwargs": {},
            "spaces_between_special_tokens": False,
            "tokenizer_class": "LlamaTokenizer",
            "use_default_system_prompt": False,
        }
    )
    if old_style:
        cfg["padding_side"] = "right"
        del cfg["spaces_between_special_tokens"], cfg["use_default_system_prompt"]
    plain = {"lstrip": False, "normalized": False, "rstrip": False, "single_word": False}
    stm = {k: dict(content=v, **plain) for k, v in
           {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}.items()}
    return cfg, stm


def build_mistral(sp_vocab, sp_merges):
    added = [added_token_json(i, s, True) for i, s in enumerate(SP_SPECIALS)]
    post = template("<s>")
    post["special_tokens"]["<s>"]["ids"] = [1]
    tok = assemble(
        bpe_model(sp_vocab, sp_merges, unk="<unk>", fuse_unk=True, byte_fallback=True, ignore_merges=False),
        added,
        None,
        {"type": "Metaspace", "replacement": SPIECE, "prepend_scheme": "first", "split": False},
        post,
        SP_DECODER,
    )
    cfg, stm = sp_cfg(old_style=False)
    return tok, added, cfg, stm


def build_llama2_legacy(sp_vocab, sp_merges):
    added = [added_token_json(i, s, True) for i, s in enumerate(SP_SPECIALS)]
    post = template("<s>")
    post["special_tokens"]["<s>"]["ids"] = [1]
    tok = assemble(
        bpe_model(sp_vocab, sp_merges, unk="<unk>", fuse_unk=True, byte_fallback=True, ignore_merges=False),
        added,
        {
            "type": "Sequence",
            "normalizers": [
                {"type": "Prepend", "prepend": SPIECE},
                {"type": "Replace", "pattern": {"String": " "}, "content": SPIECE},
            ],
        },
        None,
        post,
        SP_DECODER,
    )
    cfg, stm = sp_cfg(old_style=True)
    return tok, added, cfg, stm


# ──────────────────────────────────────────────────────────────────────────────────────────────
# Goldens
# ──────────────────────────────────────────────────────────────────────────────────────────────


def random_id_sequences(tok, name, is_byte_level):
    rng = random.Random("random_ids/" + name)
    V = tok.get_vocab_size(with_added_tokens=True)
    vocab = tok.get_vocab(with_added_tokens=True)
    special_ids = sorted(
        tid for tid, t in tok.get_added_tokens_decoder().items() if t.special
    )
    added_ids = sorted(tok.get_added_tokens_decoder())

    if is_byte_level:
        def byte_id(b):
            return vocab[BYTE_CHAR[b]]
    else:
        def byte_id(b):
            return vocab["<0x%02X>" % b]

    seqs = []
    for _ in range(N_RANDOM_IDS // 2):
        seqs.append([rng.randrange(V) for _ in range(rng.randint(0, 20))])
    sample_chars = "é€😀日ß\u0301한🇫\u200d"
    for _ in range(N_RANDOM_IDS - N_RANDOM_IDS // 2):
        n = rng.randint(0, 20)
        s = []
        while len(s) < n:
            r = rng.random()
            if r < 0.45:  # a lone byte ≥ 0x80 (continuation or lead byte)
                s.append(byte_id(rng.randrange(0x80, 0x100)))
            elif r < 0.6:  # a whole valid multibyte character, byte by byte
                s += [byte_id(b) for b in rng.choice(sample_chars).encode("utf-8")]
            elif r < 0.7:  # a truncated multibyte character
                bs = rng.choice(sample_chars).encode("utf-8")
                s += [byte_id(b) for b in bs[: rng.randint(1, max(1, len(bs) - 1))]]
            elif r < 0.78:  # an ASCII byte (space, newline, letter) as a single-byte token
                s.append(byte_id(rng.choice([0x20, 0x0A, 0x41, 0x7A, 0x00, 0x7F])))
            elif r < 0.88:
                s.append(rng.randrange(V))
            else:
                s.append(rng.choice(special_ids + added_ids))
        seqs.append(s[:20])
    return seqs


def golden_for(tok, name, texts, texts_sha, corpus_sha, is_byte_level):
    ids, ids_plain, dec, dec_keep = [], [], [], []
    for t in texts:
        e = tok.encode(t, add_special_tokens=True).ids
        p = tok.encode(t, add_special_tokens=False).ids
        ids.append(e)
        ids_plain.append(p)
        dec.append(tok.decode(e, skip_special_tokens=True))
        dec_keep.append(tok.decode(e, skip_special_tokens=False))
    rids = random_id_sequences(tok, name, is_byte_level)
    return {
        "name": name,
        "tokenizers_version": tokenizers.__version__,
        "vocab_size": tok.get_vocab_size(with_added_tokens=True),
        "texts_sha256": texts_sha,
        "corpus_sha256": corpus_sha,
        "n_texts": len(texts),
        "ids": ids,
        "ids_plain": ids_plain,
        "decoded": dec,
        "decoded_keep": dec_keep,
        "random_ids": rids,
        "random_decoded": [tok.decode(r, skip_special_tokens=True) for r in rids],
        "random_decoded_keep": [tok.decode(r, skip_special_tokens=False) for r in rids],
    }


def dump_compact(obj):
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


def dump_pretty(obj):
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def write(path: Path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def config_with_decoder(cfg, added):
    cfg = dict(cfg)
    cfg["added_tokens_decoder"] = {
        str(a["id"]): {k: a[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
        for a in added
    }
    return cfg


# ──────────────────────────────────────────────────────────────────────────────────────────────
# Checks and statistics (printed, and some go into README.md)
# ──────────────────────────────────────────────────────────────────────────────────────────────


def check_coverage(name, tok, texts, is_byte_level):
    """Every vocabulary must miss some characters of the test texts, and have merges of many
    lengths. Returns a dict of statistics."""
    vocab = tok.get_vocab(with_added_tokens=False)
    chars = sorted(set("".join(texts)))
    if is_byte_level:
        missing = [c for c in chars if "".join(BYTE_CHAR[b] for b in c.encode("utf-8")) not in vocab]
    else:
        missing = [c for c in chars if c not in vocab and c != " "]
    lengths = {}
    for piece in vocab:
        n = len(piece)
        lengths[n] = lengths.get(n, 0) + 1
    assert len(missing) >= 50, (name, len(missing))
    assert max(lengths) >= 8 and len(lengths) >= 8, (name, lengths)
    return {"missing_chars": len(missing), "piece_lengths": dict(sorted(lengths.items()))}


def main():
    if tokenizers.__version__ != EXPECTED_TOKENIZERS:
        print(f"warning: tokenizers {tokenizers.__version__}, expected {EXPECTED_TOKENIZERS}",
              file=sys.stderr)

    texts, cats = make_texts()
    assert len(texts) >= 1200, len(texts)
    assert all(len(t) <= 400 for t in texts)
    for t in texts:
        t.encode("utf-8")  # no lone surrogates

    corpus_items = build_corpus()
    test_set = set(texts)
    corpus = [s for _, s in corpus_items if s not in test_set]  # never a test text verbatim
    corpus_sha = hashlib.sha256("\x00".join(corpus).encode("utf-8")).hexdigest()

    texts_json = dump_pretty(texts).replace("\n  ", "\n ")  # one text per line
    texts_sha = hashlib.sha256(texts_json.encode("utf-8")).hexdigest()
    assert json.loads(texts_json) == texts

    sp_vocab, sp_merges = build_sentencepiece_vocab(corpus)
    builders = [
        ("llama3", lambda: build_llama3(corpus), True),
        ("qwen2", lambda: build_qwen2(corpus), True),
        ("gpt2", lambda: build_gpt2(corpus), True),
        ("mistral", lambda: build_mistral(sp_vocab, sp_merges), False),
        ("llama2_legacy", lambda: build_llama2_legacy(sp_vocab, sp_merges), False),
    ]

    OUT.mkdir(parents=True, exist_ok=True)
    write(OUT / "texts.json", texts_json)
    stats = {}
    for name, build, is_bl in builders:
        tok, added, cfg, stm = build()
        d = OUT / name
        d.mkdir(parents=True, exist_ok=True)
        tok.save(str(d / "tokenizer.json"), pretty=True)
        # Reload what was written: goldens come from the file as a C++ reader will see it.
        tok = Tokenizer.from_file(str(d / "tokenizer.json"))
        write(d / "tokenizer_config.json", dump_pretty(config_with_decoder(cfg, added)))
        write(d / "special_tokens_map.json", dump_pretty(stm))
        g = golden_for(tok, name, texts, texts_sha, corpus_sha, is_bl)
        write(d / "golden.json", dump_compact(g))
        st = check_coverage(name, tok, texts, is_bl)
        st["vocab_size"] = g["vocab_size"]
        st["merges"] = len(json.loads(tok.to_str())["model"]["merges"])
        st["roundtrip_texts"] = sum(1 for t, x in zip(texts, g["decoded"]) if t == x)
        if name == "llama3":
            # What ignore_merges=True changes: the same file with ignore_merges=False.
            dd = json.loads(tok.to_str())
            dd["model"]["ignore_merges"] = False
            t2 = Tokenizer.from_str(json.dumps(dd))
            st["ignore_merges_changed_texts"] = sum(
                1 for t, e in zip(texts, g["ids_plain"]) if t2.encode(t, add_special_tokens=False).ids != e
            )
            assert st["ignore_merges_changed_texts"] > 0
        if name == "qwen2":
            st["nfc_changed_texts"] = sum(1 for t in texts if unicodedata.normalize("NFC", t) != t)
        stats[name] = st
        print(name, json.dumps(st, sort_keys=True))

    write(OUT / "README.md", readme(texts, cats, stats))
    for p in sorted(OUT.rglob("*")):
        if p.is_file():
            print(f"{p.stat().st_size:>9}  {p.relative_to(REPO)}")


def readme(texts, cats, stats):
    counts = {}
    for c in cats:
        counts[c] = counts.get(c, 0) + 1
    cat_line = ", ".join(f"{k} {v}" for k, v in counts.items())
    rows = "\n".join(
        f"| `{n}` | {s['vocab_size']} | {s['merges']} | {s['missing_chars']} | {s['roundtrip_texts']} |"
        for n, s in stats.items()
    )
    return f"""# fixtures/tokenizer_json — Hugging Face `tokenizer.json` goldens

Written by `tests/golden/make_tokenizer_json_fixtures.py` (deterministic; rerun gives identical
bytes) with Python 3.11.7 and **tokenizers {tokenizers.__version__}** only:

    python3 -m venv /tmp/tokvenv && /tmp/tokvenv/bin/pip install tokenizers=={tokenizers.__version__}
    /tmp/tokvenv/bin/python tests/golden/make_tokenizer_json_fixtures.py

Five small BPE tokenizers trained with `BpeTrainer` on this repository's own text (README, DESIGN,
configs, C++ comments, fixture strings) plus multilingual sentences from the script. Each
directory holds `tokenizer.json` (the library's `Tokenizer.save(path, pretty=True)`),
`tokenizer_config.json`, `special_tokens_map.json` and `golden.json`.

| dir | mimics | normalizer | pre-tokenizer | model | post-processor | decoder |
| --- | --- | --- | --- | --- | --- | --- |
| `llama3` | Meta-Llama-3 | none | Sequence[Split(Regex P3, Isolated), ByteLevel(prefix false, trim true, regex false)] | BPE, ignore_merges **true** | Sequence[ByteLevel(trim false), Template `<\\|begin_of_text\\|> $A`] | ByteLevel |
| `qwen2` | Qwen2 / 2.5 | NFC | Sequence[Split(Regex PQ, Isolated), ByteLevel(prefix false, trim false, regex false)] | BPE | ByteLevel (adds nothing) | ByteLevel |
| `gpt2` | GPT-2 | none | ByteLevel(prefix false, regex **true**) | BPE | ByteLevel | ByteLevel |
| `mistral` | Llama-2 / Mistral as transformers converts them today | none | Metaspace("▁", prepend_scheme first, split false) | BPE, byte_fallback, fuse_unk, unk `<unk>` | Template `<s> $A` | Replace("▁"," "), ByteFallback, Fuse, Strip(" ",1,0) |
| `llama2_legacy` | meta-llama/Llama-2-7b-hf's file | Sequence[Prepend("▁"), Replace(" ","▁")] | none | as `mistral` (same vocab/merges) | as `mistral` | as `mistral` |

Added tokens: `llama3` 7 specials after the BPE vocabulary (`<|begin_of_text|>`, `<|end_of_text|>`,
`<|reserved_special_token_0|>`, `<|reserved_special_token_1|>`, `<|start_header_id|>`,
`<|end_header_id|>`, `<|eot_id|>`); `qwen2` `<|endoftext|>`, `<|im_start|>`, `<|im_end|>` (special)
then `<tool_call>` (**not** special: kept by `skip_special_tokens`); `gpt2` `<|endoftext|>` (special,
`normalized: true` as GPT-2's file has it); `mistral`/`llama2_legacy` `<unk>` `<s>` `</s>` = 0, 1, 2
(also in the model vocab), then `<0x00>`..`<0xFF>` = 3..258, merged pieces in merge order, single
characters last (most frequent first) — ids do not follow merge ranks for the single characters.

Regexes (verbatim from the real files):

    P3 = (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{{L}}\\p{{N}}]?\\p{{L}}+|\\p{{N}}{{1,3}}| ?[^\\s\\p{{L}}\\p{{N}}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+
    PQ = (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{{L}}\\p{{N}}]?\\p{{L}}+|\\p{{N}}| ?[^\\s\\p{{L}}\\p{{N}}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+

| dir | vocab_size (with added) | merges | test-text chars not in vocab | texts decoding back to themselves |
| --- | --- | --- | --- | --- |
{rows}

`texts.json`: {len(texts)} strings ({cat_line}), each ≤ 400 characters — Unicode sentences in
30+ scripts (several never seen in training), ZWJ emoji, skin tones, flags, NFD/NFC/NFKC variants,
conjoining jamo, U+3000, U+00A0, U+2028, U+0085, control characters; code; digit runs 1–12 and
numbers; whitespace runs (incl. the empty string); contractions in all cases, `'ſ`; special-token
text and near misses; seeded random strings; English news prose.

`golden.json` (compact JSON, keys sorted), per text i of `texts.json`:
`ids[i]` = `tok.encode(text, add_special_tokens=True).ids`, `ids_plain[i]` = `...(add_special_tokens=False)`,
`decoded[i]` = `tok.decode(ids[i], skip_special_tokens=True)`, `decoded_keep[i]` = `...(False)`;
`random_ids` (300 seeded sequences, half uniform over the whole vocabulary, half built mostly of
single-byte tokens so that invalid/truncated UTF-8 arises) with `random_decoded` /
`random_decoded_keep`; `vocab_size`, `tokenizers_version`, `texts_sha256` (of `texts.json`),
`corpus_sha256`, `n_texts`. `tok` is `Tokenizer.from_file(<dir>/tokenizer.json)`; transformers is
not involved (its `clean_up_tokenization_spaces` is **not** applied to `decoded`).

`llama3`: its vocabulary also holds {len(LLAMA3_ORPHAN_WORDS)} whole-word pieces that no merge produces
(`LLAMA3_ORPHAN_WORDS`, e.g. "Ġbridge", "'RE", ids right after the trained ones), as
tiktoken-converted vocabularies have; a BPE-trained vocabulary alone would make `ignore_merges`
a no-op. ignore_merges=True changes the ids of {stats.get('llama3', {}).get('ignore_merges_changed_texts')} texts
compared with the same file with ignore_merges=False. `qwen2`: NFC changes
{stats.get('qwen2', {}).get('nfc_changed_texts')} of the texts before tokenization.

Behaviours these goldens pin down (all seen in them):
- Added tokens are cut out of the raw text first (`lstrip`/`rstrip` false: neighbouring spaces
  stay in the text pieces, e.g. llama3 "hello <|eot_id|> world" → `hello`,`Ġ`,`<|eot_id|>`,`Ġworld`);
  each remaining piece is normalized and pre-tokenized on its own. Metaspace `prepend_scheme:
  first` puts "▁" only before the piece at offset 0 (mistral "hi <s> there" → `▁h i ▁ <s> ▁there`);
  the legacy `Prepend` normalizer puts it before every non-empty piece (`... ▁ <s> ▁ ▁there`).
- Byte-level decode joins the bytes of all kept tokens, then decodes lossily with one U+FFFD per
  maximal invalid subsequence (Rust `from_utf8_lossy`): C3 A9 80 → "é\\ufffd", E2 82 41 →
  "\\ufffdA"; bytes on both sides of a skipped special token join (C3 <|eot_id|> A9 → "é").
- ByteFallback decodes each run of consecutive `<0xXX>` tokens as a whole and, when the run is
  not valid UTF-8, gives one U+FFFD per byte of the run: C3 A9 80 → 3 × U+FFFD, E2 82 41 → 3 ×
  U+FFFD. Then `Fuse` and `Strip(" ", 1, 0)` remove one leading space of the whole string (also
  one that came from `<0x20>`): mistral decodes " Hello" to "Hello" and " " to "".
- The Llama-3/Qwen2 regexes run under Oniguruma with case folding: `(?i:'s)` matches "'ſ" (long s):
  "'ſt" → `'ſ`,`t`. GPT-2's regex is case-sensitive ("IT'S" → `IT`,`'`,`S`).
- `\\s+(?!\\S)` backtracks: "a\\u3000\\u3000b" → `a`,`\\u3000`,`\\u3000b`; U+2028, U+0085 and U+00A0
  are not `[\\r\\n]`, so they prefix the following letters (`[^\\r\\n\\p{{L}}\\p{{N}}]?\\p{{L}}+`).
- qwen2's NFC changes ids and `decoded` is the NFC text ("e\\u0301" → "é", conjoining jamo →
  syllables, U+212B → U+00C5); the others keep NFD input as is (byte fallback / bytes).
- `<tool_call>` (qwen2) is matched as an added token but is not special: kept by
  `skip_special_tokens=True`. mistral/legacy keep `<unk>` as "<unk>" text in `decoded_keep`.

The training corpus is read from the pinned commit `CORPUS_COMMIT` ({CORPUS_COMMIT[:12]}) with
`git show`, and DESIGN.md only in its pinned version, so later edits to the repository do not
change these files; `corpus_sha256` in each golden identifies the corpus.
"""


if __name__ == "__main__":
    main()
