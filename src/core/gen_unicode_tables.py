#!/usr/bin/env python3
"""src/core/gen_unicode_tables.py — writes src/core/unicode_tables.inc, the Unicode data of
src/core/unicode.cpp, from the Hugging Face `tokenizers` library itself.

Run (a few seconds; deterministic, a second run writes identical bytes):

    python3 -m venv /tmp/univenv && /tmp/univenv/bin/pip install tokenizers==0.23.3
    /tmp/univenv/bin/python src/core/gen_unicode_tables.py        # writes unicode_tables.inc

What `tokenizers` applies is probed, code point by code point (0..0x10FFFF, surrogates skipped),
so the C++ reproduces that library and not whatever Unicode version Python ships:

* letter / number / space: `pre_tokenizers.Split(Regex(r"\\p{L}" | r"\\p{N}" | r"\\s"),
  behavior="removed")` over strings of every code point; the ones removed matched. These are
  Oniguruma's tables (the `onig` crate) as built into tokenizers 0.23.3: **Unicode 16.0.0**.
* NFC data: the `normalizers.NFD()` / `NFC()` of tokenizers (the `unicode-normalization-alignments`
  crate, a fork of `unicode-normalization`): full canonical decomposition of each code point
  (NFD of the code point alone), "not in NFC" (NFC of the code point alone differs), canonical
  combining classes (found by which adjacent pairs NFD reorders: non-zero when the code point
  swaps with U+0334 (ccc 1) or U+0345 (ccc 240); the value is then placed among one known mark
  per class, then checked both ways), and the primary composites (every code point c with
  NFD(c) != c and NFC(c) == c composes from the pair (NFC(NFD(c) minus its last code point),
  last code point); each pair is checked with NFC). Hangul syllables are arithmetic, not tables.
  This data is **Unicode 9.0.0**: it equals Python 3.6's unicodedata (9.0.0) exactly.

Differences found against Python 3.11's `unicodedata` (14.0.0), printed again by every run:

* \\p{L}: Oniguruma matches 9272 more code points (letters assigned in Unicode 15.0, 15.1 and
  16.0, e.g. U+31350.. CJK Ext. H, U+2EBF0.. CJK Ext. I, Kawi, Garay, Todhri ...); none fewer.
* \\p{N}: 120 more (Unicode 15/16 digits, e.g. U+11F50.. Kawi, U+16D70.. Kirat Rai); none fewer.
* \\s: exactly Unicode White_Space (25 code points, same in every version): U+0009..U+000D,
  U+0020, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
  Not U+001C..U+001F (Python's str.isspace and `re`'s \\s take those), not U+180E, U+200B, U+FEFF.
* NFC: tokenizers' data is older than Python's. Python 14.0.0 decomposes U+11938 DIVES AKURU
  VOWEL SIGN O (new in 13.0) into U+11935 U+11930 and composes the pair back; tokenizers does
  neither. 98 code points with a non-zero combining class in 14.0.0 (marks added in 10.0..14.0:
  U+07FD, U+0898.., U+08CA..U+08D3, U+09FE, U+0C3C, U+0D3B, U+0D3C, U+0EBA, U+1ABF..U+1ACE,
  U+1DF6..U+1DFA, U+10D24.., U+10F46.., U+16FF0, U+16FF1, U+1E130.., ...) are starters (ccc 0)
  for tokenizers, so text holding them may reorder and compose differently (e.g. "a U+1DF6
  U+0301": Python gives "á U+1DF6", tokenizers leaves it). Unicode 16.0's 20 new composites
  (Todhri U+105C9 U+105E4, Tulu-Tigalari U+11383..U+113C8, Gurung Khema U+16121..U+16128, Kirat
  Rai U+16D68..U+16D6A) are neither decomposed nor composed. NFC of each single code point is
  the same in both; the run prints the other numbers again.
"""
import os
import sys
import unicodedata

import tokenizers
from tokenizers import Regex, normalizers, pre_tokenizers

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "unicode_tables.inc")
SBASE, SCOUNT = 0xAC00, 11172
CPS = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
NFC, NFD = normalizers.NFC(), normalizers.NFD()


def regex_class(pattern):
    """Code points that `pattern` matches when tokenizers' Split pre-tokenizer runs it."""
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
    return matched


def normalize_each(norm, strs):
    """norm applied to each string alone, batched with "\\n" (a starter that nothing composes with)."""
    out = []
    for k in range(0, len(strs), 4096):
        part = strs[k:k + 4096]
        got = norm.normalize_str("\n".join(part)).split("\n")
        assert len(got) == len(part)
        out += got
    return out


def ranges(cps):
    out = []
    for c in sorted(cps):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def probe_ccc(plain):
    """Canonical combining class of each code point without a decomposition, as NFD reorders."""
    cps = [c for c in plain if c != 0x0A]
    swap1 = normalize_each(NFD, [chr(c) + "\u0334" for c in cps])  # ccc(c) > 1
    swap240 = normalize_each(NFD, ["\u0345" + chr(c) for c in cps])  # 0 < ccc(c) < 240
    nonzero = [c for c, a, b in zip(cps, swap1, swap240)
               if a != chr(c) + "\u0334" or b != "\u0345" + chr(c)]
    reps = {}  # one known mark per class value (Python's value, confirmed below)
    for c in nonzero:
        reps.setdefault(unicodedata.combining(chr(c)), c)
    reps.pop(0, None)
    vals = sorted(reps)
    strs = [chr(c) + chr(reps[k]) for c in nonzero for k in vals]
    got = normalize_each(NFD, strs)
    ccc = {}
    for i, c in enumerate(nonzero):
        ccc[c] = vals[sum(got[i * len(vals) + j] != strs[i * len(vals) + j] for j in range(len(vals)))]
    both = [chr(reps[ccc[c]]) + chr(c) for c in nonzero] + [chr(c) + chr(reps[ccc[c]]) for c in nonzero]
    assert normalize_each(NFD, both) == both, "a combining class outside the known values"
    return ccc


def nfc_data():
    strs = [chr(c) for c in CPS if c != 0x0A]
    nfd = {ord(s): d for s, d in zip(strs, normalize_each(NFD, strs)) if d != s}
    nfc = {ord(s): d for s, d in zip(strs, normalize_each(NFC, strs)) if d != s}
    for s in range(SBASE, SBASE + SCOUNT):  # Hangul: arithmetic, checked here, not tabled
        assert nfd.pop(s) == unicodedata.normalize("NFD", chr(s))
    decomp = {c: [ord(x) for x in d] for c, d in nfd.items()}
    ccc = probe_ccc([c for c in CPS if c not in nfd and not SBASE <= c < SBASE + SCOUNT])
    comps = {}
    for c, d in decomp.items():
        if c in nfc:
            continue
        first = NFC.normalize_str("".join(map(chr, d[:-1])))
        assert len(first) == 1, hex(c)
        comps[(ord(first), d[-1])] = c
    pairs = ["%s%s" % (chr(a), chr(b)) for a, b in comps]
    assert normalize_each(NFC, pairs) == [chr(c) for c in comps.values()]
    return decomp, set(nfc), ccc, comps


def emit_ranges(name, rs, per_line=6):
    items = ["{0x%04X, 0x%04X}," % (a, b) for a, b in rs]
    lines = [" ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "static const CpRange %s[] = {\n%s\n};\n" % (name, "\n".join(lines))


def emit_table(decl, items, per_line):
    lines = [" ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "%s = {\n%s\n};\n" % (decl, "\n".join(lines))


def ccc_ranges(ccc):
    out = []
    for c in sorted(ccc):
        if out and out[-1][1] == c - 1 and out[-1][2] == ccc[c]:
            out[-1][1] = c
        else:
            out.append([c, c, ccc[c]])
    return out


def report(letter, number, space, decomp, no, ccc, comps):
    py = unicodedata.unidata_version
    print("tokenizers %s; Python unicodedata %s" % (tokenizers.__version__, py))
    for name, mine, pred in [
        ("\\p{L}", letter, lambda c: unicodedata.category(chr(c)).startswith("L")),
        ("\\p{N}", number, lambda c: unicodedata.category(chr(c)).startswith("N")),
        ("\\s", space, lambda c: chr(c).isspace() and c not in range(0x1C, 0x20))]:
        theirs = {c for c in CPS if pred(c)}
        print("%-6s %6d code points; only tokenizers: %d; only Python: %d" %
              (name, len(mine), len(set(mine) - theirs), len(theirs - set(mine))))
    pyd = {c: [ord(x) for x in unicodedata.normalize("NFD", chr(c))] for c in CPS
           if unicodedata.normalize("NFD", chr(c)) != chr(c) and not SBASE <= c < SBASE + SCOUNT}
    print("decompositions: %d; differ from Python: %s" % (len(decomp), [
        "U+%04X" % c for c in sorted(set(pyd) | set(decomp)) if pyd.get(c) != decomp.get(c)]))
    pyc = {c: unicodedata.combining(chr(c)) for c in CPS if c not in decomp and c not in pyd}
    diff = [c for c in pyc if pyc[c] != ccc.get(c, 0)]
    print("combining classes: %d non-zero; differ from Python: %d (%s)" %
          (len(ccc), len(diff), " ".join("U+%04X" % c for c in diff)))
    print("primary composites: %d; not in NFC: %d" % (len(comps), len(no)))


def main():
    letter, number, space = (regex_class(p) for p in (r"\p{L}", r"\p{N}", r"\s"))
    decomp, no, ccc, comps = nfc_data()
    maybe = {b for (a, b) in comps} | set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))
    # unicode.cpp starts a segment at each starter with quick check Yes: nothing before it may
    # compose with it, so neither may its decomposition's first code point.
    assert not maybe & no and all(d[0] not in maybe and d[0] not in ccc
                                  for c, d in decomp.items() if c not in no)
    flat, index = [], []
    for c in sorted(decomp):
        index.append("{0x%04X, %d, %d}," % (c, len(flat), len(decomp[c])))
        flat += decomp[c]
    parts = [
        "// src/core/unicode_tables.inc — generated by src/core/gen_unicode_tables.py from\n"
        "// tokenizers %s (Oniguruma classes: Unicode 16.0.0; NFC data: Unicode 9.0.0).\n"
        "// Do not edit; rerun the generator. Included by src/core/unicode.cpp only.\n"
        % tokenizers.__version__,
        emit_ranges("kLetter", ranges(letter)),
        emit_ranges("kNumber", ranges(number)),
        emit_ranges("kSpace", ranges(space)),
        emit_ranges("kNfcNo", ranges(no)),
        emit_ranges("kNfcMaybe", ranges(maybe)),
        emit_table("static const CccRange kCcc[]",
                   ["{0x%04X, 0x%04X, %d}," % tuple(r) for r in ccc_ranges(ccc)], 5),
        emit_table("static const Decomp kDecomp[]", index, 6),
        emit_table("static const char32_t kDecompData[]", ["0x%04X," % c for c in flat], 12),
        emit_table("static const Compose kCompose[]",
                   ["{0x%04X, 0x%04X, 0x%04X}," % (a, b, c) for (a, b), c in sorted(comps.items())],
                   4),
    ]
    with open(OUT, "w") as f:
        f.write("\n".join(parts))
    report(letter, number, space, decomp, no, ccc, comps)
    print("wrote %s (%d bytes)" % (OUT, os.path.getsize(OUT)), file=sys.stderr)


if __name__ == "__main__":
    main()
