// relapse/data/muse.h — the MUSE corpus layout (github.com/swj0419/muse_bench
// data/<corpus>/...): the same file names and JSON fields, read and written.
//
//   raw/{forget,retain1,retain2,holdout}.txt   training text (MUSE trains on the .txt)
//   raw/{forget,retain1,retain2,holdout}.json  the same documents as a JSON list of strings;
//                                              the .txt is '\n\n'.join(list), as MUSE's
//                                              data/load_data.py writes it
//   verbmem/forget.json                        [{"prompt": str, "gt": str}, ...]
//   knowmem/{forget_qa,retain_qa}.json         [{"question": str, "answer": str}, ...]
//   knowmem/{forget_qa_icl,retain_qa_icl}.json in-context examples, same fields
//   privleak/{forget,retain,holdout}.json      [str, ...]
//   world/pretrain.{txt,json}                  relapse's extra, optional: pretraining text
//                                              about other entities (the synthetic corpus)
//   scal/forget_{1..4}.{txt,json}              MUSE-News's scalability folds (nested) and
//   sust/forget_{1..4}.{txt,json}              sustainability folds (disjoint), optional: read
//                                              only when named (muse_load_forget_request)
//
// Loading: every file above is required except raw/*.json (MUSE's released data
// ships only the .txt) and world/*. A missing file, a JSON value that is not a
// list, an element without a field or of the wrong type, and an empty forget set
// (raw/forget.txt blank, or an empty list in raw/forget.json, verbmem/forget.json,
// knowmem/forget_qa.json or privleak/forget.json) throw relapse::Error(kInput)
// naming the file and the element/field ("knowmem/forget_qa.json: element 3:
// field \"answer\" is missing").
#pragma once
#include <string>
#include <vector>

namespace relapse::data {

struct QaPair {
  std::string question, answer;
};
bool operator==(const QaPair& a, const QaPair& b);

struct VerbmemItem {
  std::string prompt, gt;
};
bool operator==(const VerbmemItem& a, const VerbmemItem& b);

// One raw split: its training text (raw/<split>.txt) and, when known, its
// documents (raw/<split>.json). `docs` may be empty (no .json); when both are
// written, text == join(docs, "\n\n").
struct RawSplit {
  std::string text;
  std::vector<std::string> docs;
};

struct MuseCorpus {
  RawSplit forget, retain1, retain2, holdout;
  std::vector<VerbmemItem> verbmem_forget;
  std::vector<QaPair> knowmem_forget_qa, knowmem_retain_qa;
  std::vector<QaPair> knowmem_forget_qa_icl, knowmem_retain_qa_icl;
  std::vector<std::string> privleak_forget, privleak_retain, privleak_holdout;
  // world/pretrain.{txt,json}: not part of MUSE; empty text = not written.
  RawSplit world;
};
bool operator==(const RawSplit& a, const RawSplit& b);
bool operator==(const MuseCorpus& a, const MuseCorpus& b);

// '\n\n'.join(docs), MUSE's raw/<split>.txt from its documents.
std::string muse_join_docs(const std::vector<std::string>& docs);

// Reads the layout under `dir` (see the header comment for what is checked).
MuseCorpus muse_load(const std::string& dir);

// Only the evaluation sets (verbmem/, knowmem/, privleak/; raw/ and world/ are
// not read and stay empty), with the same checks: what MUSE's eval.py reads,
// for evaluating a given model on a directory that holds no training text.
MuseCorpus muse_load_eval(const std::string& dir);

// One removal request: the forget text `name` names under `dir` (a path
// without extension, e.g. "scal/forget_3" or "sust/forget_2", MUSE-News's
// scalability and sustainability folds): NAME.txt, or '\n\n'.join of NAME.json
// when only the JSON list exists (the Hub import writes both). A missing file
// or blank text throws relapse::Error(kInput) naming both paths tried.
RawSplit muse_load_forget_request(const std::string& dir, const std::string& name);

// Writes the layout to dir.partial, then replaces `dir` with it (rename), so a
// crash never leaves a half-written corpus. raw/<split>.json is written when the
// split has docs; world/ when world.text is not empty. JSON is UTF-8, indent 2,
// one trailing newline: the same corpus always gives the same bytes.
// `extra_files` (relative path, content) are written into the same directory
// before the rename (e.g. a metadata file).
void muse_write(const MuseCorpus& corpus, const std::string& dir,
                const std::vector<std::pair<std::string, std::string>>& extra_files = {});

}  // namespace relapse::data
