#!/usr/bin/env python3
"""tests/golden/make_muse_news_excerpt.py — a small excerpt of the real
MUSE-News benchmark data (Shi et al. 2024, "MUSE: Machine Unlearning Six-Way
Evaluation for Language Models", BBC news articles collected after August
2023), written to tests/golden/fixtures/muse_news_excerpt/ in two layouts that
hold exactly the same records:

  json/      MUSE's own directory layout, as github.com/swj0419/muse_bench
             load_data.py writes it (json.dump(obj, f) with the defaults,
             raw/*.txt = "\\n\\n".join(list)):
               raw/forget.{json,txt}          first 8 articles of raw/forget
               verbmem/forget.json            first 24 {"prompt","gt"}
               knowmem/forget_qa.json         first 30 {"question","answer"}
               knowmem/retain_qa.json         first 30 (source: retain2_qa.json)
               knowmem/{forget_qa_icl,retain_qa_icl}.json   all 10 each
               privleak/{forget,retain,holdout}.json        first 6 texts each
                                              (retain: source privleak/retain2.json)
               scal/forget_1.json             first 8 articles
               sust/forget_{1,2,3,4}.json     first 8 articles each
             (load_data.py also writes scal/*.txt and sust/*.txt, the same
             "\\n\\n" join; left out to keep the fixture under 1 MB.)
  parquet/   the Hugging Face Hub layout of muse-bench/MUSE-News,
             <config>/<split>-00000-of-00001.parquet, written by pyarrow with
             its defaults (snappy, one row group) and the schema metadata key
             "huggingface" that `datasets` writes; columns in the order of the
             dataset card's dataset_info (knowmem: answer, question; verbmem:
             prompt, gt; the rest: text). Also the legacy split names of older
             Hub revisions: knowmem/retain2_qa, knowmem/retain2_qa_icl,
             privleak/retain2 (same records; knowmem ones with the JSON's
             column order question, answer).

NOT included, because no public GitHub copy of them exists that this was made
from (the only one, below, lost its files of 4 MiB and more): raw/retain1,
raw/retain2, raw/holdout, scal/forget_{2,3,4} and the `train` config. The
json/ layout is therefore NOT a complete MUSE corpus directory (relapse's
muse_load requires raw/{retain1,retain2,holdout}.txt).

Source (the MUSE authors' development repository; its data/bbc is what was
pushed to the Hub by its data/upload_to_hf.py):
  repo    github.com/jaechan-repo/muse_bench
  commit  54719c51f07221dcfbfbe8ae76bb091df77433b2 (branch first_commit, "bug
          fixes", 2024-06-23; the blobs are the same at e0000386 "first
          commit" and on branch temp 9b89f0d9)
  paths   data/bbc/{raw/forget.json, verbmem/forget.json,
          knowmem/{forget_qa,forget_qa_icl,retain2_qa,retain2_qa_icl}.json,
          privleak/{forget,retain2,holdout}.json, scal/forget_1.json,
          sust/forget_{1,2,3,4}.json}; blob ids in SOURCES below.
Every source file's record count and byte sizes equal the dataset card's
dataset_info num_bytes (sum of UTF-8 bytes + 4 per string value) for the
matching Hub split, e.g. knowmem/forget_qa 11019, privleak/retain 808029,
raw/forget 3281546, verbmem/forget 451863.

Licence: the Hub dataset card of muse-bench/MUSE-News says `license: cc-by-4.0`.
The GitHub repositories (jaechan-repo/muse_bench, swj0419/muse_bench) have no
LICENSE file. The texts are BBC news articles; redistribute only as the card's
terms allow.

Run:
    /tmp/pavenv/bin/python tests/golden/make_muse_news_excerpt.py
        offline: reads the saved json/ records, checks them against the
        sha256 digests below, rewrites the .txt files and parquet/.
    /tmp/pavenv/bin/python tests/golden/make_muse_news_excerpt.py \\
        --source /path/to/muse_bench.git
        re-extracts json/ from a git directory of jaechan-repo/muse_bench
        (git cat-file at the commit above, blob ids checked), then as above.
Needs pyarrow (written with 26.0.1). Deterministic: a second run writes
identical bytes.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "muse_news_excerpt")
COMMIT = "54719c51f07221dcfbfbe8ae76bb091df77433b2"

# output (json layout, relative) -> (source path in the repo, git blob id, how many first records)
# None = all records.
SOURCES = {
    "raw/forget.json": ("data/bbc/raw/forget.json", "92c82699e54f04c6d373fea4dfd0d0229e8251cd", 8),
    "verbmem/forget.json": ("data/bbc/verbmem/forget.json", "d149786b3db9f9dafa94b9b9826be2067e24ef51", 24),
    "knowmem/forget_qa.json": ("data/bbc/knowmem/forget_qa.json", "ef52b74ca7a7621b62c4b941a21a0c1c266b55e4", 30),
    "knowmem/retain_qa.json": ("data/bbc/knowmem/retain2_qa.json", "da4fbc85db1c86de8ab8ba8e8905fb1b8f110b73", 30),
    "knowmem/forget_qa_icl.json": ("data/bbc/knowmem/forget_qa_icl.json", "f00fac0e0bd9277324d55d0deb4ab11d19a09399", None),
    "knowmem/retain_qa_icl.json": ("data/bbc/knowmem/retain2_qa_icl.json", "c0b67788f353705ae81f0dc8b663621a0ba64855", None),
    "privleak/forget.json": ("data/bbc/privleak/forget.json", "f8984c2f9f4ba715e5e7846a49cc2a5ba4404d1c", 6),
    "privleak/retain.json": ("data/bbc/privleak/retain2.json", "b7167819f265fd04c8412dbe763c55cee1794c7d", 6),
    "privleak/holdout.json": ("data/bbc/privleak/holdout.json", "19ba28ee1075c9cc6a6dd43811e3fa4e88b24773", 6),
    "scal/forget_1.json": ("data/bbc/scal/forget_1.json", "92c82699e54f04c6d373fea4dfd0d0229e8251cd", 8),
    "sust/forget_1.json": ("data/bbc/sust/forget_1.json", "92c82699e54f04c6d373fea4dfd0d0229e8251cd", 8),
    "sust/forget_2.json": ("data/bbc/sust/forget_2.json", "5a0c2d33f5e475880106e314bea7d0129b302fdf", 8),
    "sust/forget_3.json": ("data/bbc/sust/forget_3.json", "ec9842017d0752f043991296f1e238c18f3d9f51", 8),
    "sust/forget_4.json": ("data/bbc/sust/forget_4.json", "baefc1bb0613ac3b26f4eaf67b862ded7c5b1d05", 8),
}

# sha256 of json.dumps(records) (the json/ file's bytes) for each output file.
DIGESTS = {
    "raw/forget.json": "cd93f09e520c181c4db12ca8c0017b52745a70d0118a4c9ec3a82953ae7e8c0b",
    "verbmem/forget.json": "1cee3f33909df92651c31e1406242567e86ab434229b8e7dccb6466de4a71159",
    "knowmem/forget_qa.json": "ef1389a6344492dff8e6e3053e9b15399f4a0be039bcac6fb5b492d597498032",
    "knowmem/retain_qa.json": "30f0be1cab028185d490cf7e53d082b41e2e73319f193de85eb0ff9a81afa61f",
    "knowmem/forget_qa_icl.json": "6facdf2d346a5e557e8d8239131dd5c5c917702f09ef74cfb7c6e84049540c63",
    "knowmem/retain_qa_icl.json": "bf16a25fa6045a6f4447a1aa6d80f1b48a97ecea822b29a172418e664b04acf0",
    "privleak/forget.json": "4ae839b29be324db106f7de7d77bcac222749d4dd71b3c6c520bc43065b4b67e",
    "privleak/retain.json": "e77064be2d7a83b21ee2b00825aef5b28c74d5fa43dbd1c609a1b1772a989a82",
    "privleak/holdout.json": "a25de6c90a42bde58caece4b56456e0a8dcfdd0c1734adad3d8b34a68b5c343c",
    "scal/forget_1.json": "cd93f09e520c181c4db12ca8c0017b52745a70d0118a4c9ec3a82953ae7e8c0b",
    "sust/forget_1.json": "cd93f09e520c181c4db12ca8c0017b52745a70d0118a4c9ec3a82953ae7e8c0b",
    "sust/forget_2.json": "be64de1bab781e236130e0456c25a6a77de1715713f521561e27439bf8dd4d16",
    "sust/forget_3.json": "dc40ed51a264854b3cd66e34c029e59a6717cf6f4244b9bdf461ef506064d337",
    "sust/forget_4.json": "2d46a0b50062c4a7b3d342669857318bb6b649613e0df9675eadd230acaf9eed",
}

# MUSE's load_data.py also writes "\n\n".join(list) as .txt for raw/*, scal/* and
# sust/*; only raw/forget.txt is kept here (relapse reads raw/*.txt, not scal/sust;
# the others are that join of their .json, left out to stay under 1 MB)
TXT = ["raw/forget"]

# parquet file (Hub layout) -> (json/ file, columns in order)
QA_HUB = ["answer", "question"]     # the dataset card's dataset_info order
QA_JSON = ["question", "answer"]    # the order of MUSE's JSON (older Hub revisions, inferred)
PARQUET = {
    "raw/forget-00000-of-00001.parquet": ("raw/forget.json", ["text"]),
    "verbmem/forget-00000-of-00001.parquet": ("verbmem/forget.json", ["prompt", "gt"]),
    "knowmem/forget_qa-00000-of-00001.parquet": ("knowmem/forget_qa.json", QA_HUB),
    "knowmem/retain_qa-00000-of-00001.parquet": ("knowmem/retain_qa.json", QA_HUB),
    "knowmem/forget_qa_icl-00000-of-00001.parquet": ("knowmem/forget_qa_icl.json", QA_HUB),
    "knowmem/retain_qa_icl-00000-of-00001.parquet": ("knowmem/retain_qa_icl.json", QA_HUB),
    "privleak/forget-00000-of-00001.parquet": ("privleak/forget.json", ["text"]),
    "privleak/retain-00000-of-00001.parquet": ("privleak/retain.json", ["text"]),
    "privleak/holdout-00000-of-00001.parquet": ("privleak/holdout.json", ["text"]),
    "scal/forget_1-00000-of-00001.parquet": ("scal/forget_1.json", ["text"]),
    "sust/forget_1-00000-of-00001.parquet": ("sust/forget_1.json", ["text"]),
    "sust/forget_2-00000-of-00001.parquet": ("sust/forget_2.json", ["text"]),
    "sust/forget_3-00000-of-00001.parquet": ("sust/forget_3.json", ["text"]),
    "sust/forget_4-00000-of-00001.parquet": ("sust/forget_4.json", ["text"]),
    # legacy split names of older Hub revisions (same records)
    "knowmem/retain2_qa-00000-of-00001.parquet": ("knowmem/retain_qa.json", QA_JSON),
    "knowmem/retain2_qa_icl-00000-of-00001.parquet": ("knowmem/retain_qa_icl.json", QA_JSON),
    "privleak/retain2-00000-of-00001.parquet": ("privleak/retain.json", ["text"]),
}


def dump(records):
    return json.dumps(records)  # MUSE utils.write_json: json.dump(obj, f), defaults


def write_bytes(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def extract(git_dir):
    for out, (path, blob, n) in SOURCES.items():
        got = subprocess.run(["git", "--git-dir", git_dir, "rev-parse", f"{COMMIT}:{path}"],
                             check=True, capture_output=True, text=True).stdout.strip()
        if got != blob:
            sys.exit(f"{path}: blob {got} at {COMMIT}, expected {blob}")
        raw = subprocess.run(["git", "--git-dir", git_dir, "cat-file", "blob", blob],
                             check=True, capture_output=True).stdout
        records = json.loads(raw.decode("utf-8"))
        sel = records if n is None else records[:n]
        write_bytes(os.path.join(OUT, "json", out), dump(sel).encode("utf-8"))


def load_checked(print_digests):
    recs = {}
    for out in SOURCES:
        with open(os.path.join(OUT, "json", out), "rb") as f:
            data = f.read()
        d = hashlib.sha256(data).hexdigest()
        if print_digests:
            print(f'    "{out}": "{d}",')
        elif DIGESTS.get(out) != d:
            sys.exit(f"json/{out}: sha256 {d} does not match the recorded digest")
        records = json.loads(data.decode("utf-8"))
        if dump(records).encode("utf-8") != data:
            sys.exit(f"json/{out}: not in json.dump's default form")
        recs[out] = records
    return recs


def hf_metadata(columns):
    feats = {c: {"dtype": "string", "_type": "Value"} for c in columns}
    return {"huggingface": json.dumps({"info": {"features": feats}})}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", help="git directory of jaechan-repo/muse_bench (re-extract json/)")
    ap.add_argument("--print-digests", action="store_true")
    args = ap.parse_args()
    if args.source:
        extract(args.source)
    recs = load_checked(args.print_digests)
    if args.print_digests:
        return

    for stem in TXT:
        text = "\n\n".join(recs[stem + ".json"])
        write_bytes(os.path.join(OUT, "json", stem + ".txt"), text.encode("utf-8"))

    for rel, (src, columns) in PARQUET.items():
        rows = recs[src]
        if columns == ["text"]:
            arrays = {"text": rows}
        else:
            arrays = {c: [r[c] for r in rows] for c in columns}
        schema = pa.schema([pa.field(c, pa.string()) for c in columns], metadata=hf_metadata(columns))
        table = pa.table(arrays, schema=schema)
        path = os.path.join(OUT, "parquet", rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        pq.write_table(table, path)  # defaults: snappy, one row group for these sizes
        back = pq.read_table(path)
        assert back.num_rows == len(rows) and back.column_names == columns
        assert pq.ParquetFile(path).metadata.num_row_groups == 1
        for c in columns:
            want = rows if columns == ["text"] else [r[c] for r in rows]
            assert back.column(c).to_pylist() == want, (rel, c)
    print(f"wrote {OUT} (pyarrow {pa.__version__})")


if __name__ == "__main__":
    main()
