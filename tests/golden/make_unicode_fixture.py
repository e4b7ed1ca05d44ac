#!/usr/bin/env python3
"""tests/golden/make_unicode_fixture.py — goldens of tests/core/test_unicode.cpp, written by the
Hugging Face `tokenizers` library (0.23.3) that relapse's tokenizer.json reader must agree with.

    python3 -m venv /tmp/univenv && /tmp/univenv/bin/pip install tokenizers==0.23.3
    /tmp/univenv/bin/python tests/golden/make_unicode_fixture.py [--random N] [--out DIR]

Writes (deterministic: fixed seed, sorted keys; a second run writes identical bytes):

* `fixtures/unicode/classes.json` — {"letter", "number", "space"}: sorted [first, last] code
  point ranges that `pre_tokenizers.Split(Regex(r"\\p{L}" | r"\\p{N}" | r"\\s"))` matches, found
  by running it over every code point (surrogates skipped). The test checks unicode_is_letter /
  _number / _space on every code point 0..0x10FFFF against them.
* `fixtures/unicode/nfc.json` — {"cases": [[input, NFC output], ...]}, output by
  `normalizers.NFC().normalize_str`: every code point whose NFC is not itself (1120), cases that
  touch every table entry (each canonical decomposition of Python's unicodedata, and each such
  code point followed by U+0323; each combining mark among one mark of every class; every 37th
  Hangul syllable's jamo), hand-picked cases (Hangul L V T arithmetic and its edges, singletons U+212B U+2126, exclusions U+0958
  U+0F73 U+0344, blocking, reordering, Vietnamese, marks newer than tokenizers' Unicode 9.0 data)
  and N (default 3000) random strings mixing letters, precomposed Latin / Greek / Vietnamese,
  combining marks, Hebrew, Arabic and Indic points, two-part Indic vowels, Tibetan, kana voicing,
  Hangul syllables and conjoining jamo, CJK compatibility ideographs and astral code points.
  The test checks unicode_nfc on each, and unicode_nfc(c) == c for every other code point.

Where Python's `unicodedata` (14.0.0 in Python 3.11) disagrees with tokenizers (its NFC data is
Unicode 9.0.0: U+11938 and marks added since 9.0 differ, see src/core/gen_unicode_tables.py), the
golden holds what tokenizers does; the run prints how many cases disagree and a few of them.
"""
import argparse
import json
import os
import random
import unicodedata

from tokenizers import Regex, normalizers, pre_tokenizers

HERE = os.path.dirname(os.path.abspath(__file__))
CPS = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
NFC = normalizers.NFC()


def regex_ranges(pattern):
    split = pre_tokenizers.Split(Regex(pattern), behavior="removed")
    matched = []
    for k in range(0, len(CPS), 1 << 15):
        chunk = CPS[k:k + (1 << 15)]
        text = "".join(map(chr, chunk))
        kept = set()
        for piece, (a, b) in split.pre_tokenize_str(text):
            assert text[a:b] == piece
            kept.update(range(a, b))
        matched += [chunk[i] for i in range(len(chunk)) if i not in kept]
    out = []
    for c in matched:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def r(a, b):
    return list(range(a, b + 1))


POOLS = [  # (weight, code points)
    (6, r(0x61, 0x7A) + r(0x41, 0x5A) + [0x20, 0x2E]),
    (3, r(0xC0, 0x17F) + r(0x1E00, 0x1EFF) + r(0x1F00, 0x1FFE)),  # precomposed Latin, Greek
    (6, r(0x300, 0x36F)),  # combining diacritics
    (2, r(0x591, 0x5C7) + r(0x64B, 0x65F) + [0x670]),  # Hebrew, Arabic points
    (2, r(0x915, 0x939) + r(0x958, 0x95F) + [0x93C, 0x94D, 0x93E, 0x940]),  # Devanagari, nukta
    (2, [0x9C7, 0x9BE, 0x9D7, 0x9CB, 0x9CC, 0xB47, 0xB3E, 0xB56, 0xB57, 0xBC6, 0xBBE, 0xBD7,
         0xBC7, 0xC46, 0xC56, 0xCC6, 0xCC2, 0xCD5, 0xCD6, 0xD46, 0xD3E, 0xD57, 0xDD9, 0xDCF,
         0xDCA, 0xDDF, 0x1025, 0x102E, 0x1B05, 0x1B35, 0xBCA, 0xCCA, 0xCCB]),  # two-part vowels
    (2, r(0xF71, 0xF84) + [0xF40, 0xF42, 0xFB5, 0xF90, 0xF92, 0xFB3]),  # Tibetan
    (2, [0x304B, 0x304C, 0x30AB, 0x30AC, 0x3099, 0x309A, 0x309B, 0x30CF, 0x30D1, 0x30F0]),
    (3, r(0xAC00, 0xAC40) + [0xD7A3, 0xB098, 0xB2E4]),  # Hangul syllables
    (5, r(0x1100, 0x1114) + r(0x1160, 0x1177) + r(0x11A6, 0x11C4)),  # conjoining jamo
    (1, [0x212B, 0x2126, 0x212A, 0x340, 0x341, 0x343, 0x344, 0x385, 0x1FEE, 0x387, 0x37E]),
    (1, r(0xF900, 0xF910) + r(0x2F800, 0x2F805) + [0x1D15E, 0x1D15F, 0x1D165, 0x1D16E,
                                                     0x1D1BB, 0x1D1BC]),
    (1, [0x110A5, 0x110BA, 0x1109A, 0x11131, 0x11127, 0x1112E, 0x11347, 0x1133E, 0x11357,
         0x1134B, 0x114B9, 0x114BA, 0x114B0, 0x114BD, 0x115B8, 0x115AF, 0x115BA]),  # Brahmi-likes
    (2, [0x7FD, 0x8D3, 0x9FE, 0xD3B, 0xD3C, 0xEBA, 0x1ABF, 0x1DF6, 0x1DF9, 0x1DFA, 0x16FF0,
         0x1E130, 0x11935, 0x11930, 0x11938, 0x105D2, 0x307, 0x11382, 0x113C9, 0x113C2,
         0x113B8]),  # newer than Unicode 9.0
    (1, [0x1F600, 0x4E00, 0x20000, 0x10FFFF, 0xFFFD, 0x0A, 0x09, 0x3000, 0xFEFF]),
]

SPECIAL = [
    "", "abc", "e\u0301", "E\u0301\u0301", "a\u0323\u0302", "a\u0302\u0323", "\u1EA0\u0302",
    "\u00E1\u0323", "\u00E9\u0316", "\u1E69", "s\u0307\u0323", "s\u0323\u0307", "x\u0345\u0301",
    "\u212B", "A\u030A", "\u2126", "\u212A", "\u0958", "\u0915\u093C", "\u0F73", "\u0F71\u0F72",
    "\u0F75", "\u0F81", "\u0344", "\u0340\u0341", "\u0343", "\u0385", "\u1FEE", "\u0387",
    "\u1100\u1161", "\u1100\u1161\u11A8", "\u1100\u1161\u11A7", "\u1100\u1161\u11C3",
    "\uAC00\u11A7", "\uAC00\u11A8", "\uAC01\u11A8", "\u1112\u1175\u11C2", "\u1113\u1161",
    "\u1100\u1176", "\u1100\u0301\u1161", "\u1100\u1161\u0301\u11A8", "\u1161\u11A8",
    "\u1100\u1100\u1161\u1161\u11A8\u11A8", "\u09C7\u09BE", "\u09C7\u0301\u09BE", "\u0B47\u0B3E",
    "\u0B47\u0B56\u0B3E", "\u304B\u3099", "\u304B\u309B", "\u0061\u1DF6\u0301",
    "\U00011935\U00011930", "\U00011938", "\U000105D2\u0307", "\U00011382\U000113C9",
    "Vi\u1EC7t Nam", "Vie\u0323\u0302t Nam", "Vie\u0302\u0323t Nam", "Ti\u1EBFng Vi\u1EC7t",
    "Tie\u0302\u0301ng Vie\u0323\u0302t", "\u01D5", "U\u0308\u0304", "\u00DC\u0304",
    "\u0041\u0300\u0328", "\u0041\u0328\u0300", "\u05D1\u05BC\u05B7", "\u05D1\u05B7\u05BC",
    "\U0001D15E\U0001D165", "\U0001D15F\U0001D16E", "\uF900", "\U0002F800", "\u0301abc",
    "\u0301\u0300\u0316", "caf\u00E9", "cafe\u0301", "\uFB2C", "\u05E9\u05BC\u05C1",
]


# One mark of each canonical combining class (1, 7, 8, ..., 240) that tokenizers knows.
CLASS_MARKS = [
    0x334, 0x93C, 0x3099, 0x94D, 0x5B0, 0x5B1, 0x5B2, 0x5B3, 0x5B4, 0x5B5, 0x5B6, 0x5B7, 0x5B8,
    0x5B9, 0x5BB, 0x5BC, 0x5BD, 0x5BF, 0x5C1, 0x5C2, 0xFB1E, 0x64B, 0x64C, 0x64D, 0x618, 0x619,
    0x61A, 0x651, 0x652, 0x670, 0x711, 0xC55, 0xC56, 0xE38, 0xE48, 0xEB8, 0xEC8, 0xF71, 0xF72,
    0xF74, 0x321, 0x1DCE, 0x31B, 0x302A, 0x316, 0x59A, 0x302E, 0x1D16D, 0x5AE, 0x300, 0x315,
    0x35C, 0x35D, 0x345]


def systematic():
    """Cases that touch every table entry: each primary composite from its decomposition, each
    decomposable code point before U+0323 (which reorders and recomposes it), each mark among
    one mark per class (placed by its class), and every 37th Hangul syllable from its jamo."""
    out = []
    for c in CPS:
        d = unicodedata.normalize("NFD", chr(c))
        if d != chr(c) and not 0xAC00 <= c <= 0xD7A3:
            out.append(d)
            out.append(chr(c) + "\u0323")
    desc = "".join(map(chr, reversed(CLASS_MARKS)))
    out += [chr(c) + desc for c in CPS
            if unicodedata.combining(chr(c)) and unicodedata.normalize("NFD", chr(c)) == chr(c)]
    out += [unicodedata.normalize("NFD", chr(c)) for c in range(0xAC00, 0xD7A4, 37)]
    return out


def random_string(rng):
    weights = [w for w, _ in POOLS]
    n = rng.randint(1, 12)
    return "".join(chr(rng.choice(rng.choices(POOLS, weights)[0][1])) for _ in range(n))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--random", type=int, default=3000)
    ap.add_argument("--out", default=os.path.join(HERE, "fixtures", "unicode"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    classes = {"letter": regex_ranges(r"\p{L}"), "number": regex_ranges(r"\p{N}"),
               "space": regex_ranges(r"\s")}
    with open(os.path.join(args.out, "classes.json"), "w") as f:
        json.dump(classes, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")
    singles = [chr(c) for c in CPS if NFC.normalize_str(chr(c)) != chr(c)]
    rng = random.Random(1234)
    randoms = [random_string(rng) for _ in range(args.random)]
    inputs = singles + SPECIAL + systematic() + randoms
    cases = [[s, NFC.normalize_str(s)] for s in inputs]
    with open(os.path.join(args.out, "nfc.json"), "w", encoding="utf-8") as f:
        json.dump({"cases": cases}, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    differ = [(s, t) for s, t in cases if unicodedata.normalize("NFC", s) != t]
    changed = sum(s != t for s, t in cases)
    print("%d cases (%d single code points), %d changed by NFC; %d where Python's unicodedata "
          "%s disagrees" % (len(cases), len(singles), changed, len(differ),
                            unicodedata.unidata_version))
    for s, t in differ[:3]:
        print("   %s -> %s" % (" ".join("%04X" % ord(c) for c in s[:8]),
                               " ".join("%04X" % ord(c) for c in t[:8])))


if __name__ == "__main__":
    main()
