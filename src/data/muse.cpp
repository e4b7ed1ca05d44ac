// src/data/muse.cpp — MUSE corpus layout reader/writer (see relapse/data/muse.h).
#include "relapse/data/muse.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/core/fs.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace relapse::data {

bool operator==(const QaPair& a, const QaPair& b) {
  return a.question == b.question && a.answer == b.answer;
}
bool operator==(const VerbmemItem& a, const VerbmemItem& b) {
  return a.prompt == b.prompt && a.gt == b.gt;
}
bool operator==(const RawSplit& a, const RawSplit& b) {
  return a.text == b.text && a.docs == b.docs;
}
bool operator==(const MuseCorpus& a, const MuseCorpus& b) {
  return a.forget == b.forget && a.retain1 == b.retain1 && a.retain2 == b.retain2 &&
         a.holdout == b.holdout && a.verbmem_forget == b.verbmem_forget &&
         a.knowmem_forget_qa == b.knowmem_forget_qa && a.knowmem_retain_qa == b.knowmem_retain_qa &&
         a.knowmem_forget_qa_icl == b.knowmem_forget_qa_icl &&
         a.knowmem_retain_qa_icl == b.knowmem_retain_qa_icl &&
         a.privleak_forget == b.privleak_forget && a.privleak_retain == b.privleak_retain &&
         a.privleak_holdout == b.privleak_holdout && a.world == b.world;
}

std::string muse_join_docs(const std::vector<std::string>& docs) {
  std::string out;
  for (size_t i = 0; i < docs.size(); ++i) {
    if (i) out += "\n\n";
    out += docs[i];
  }
  return out;
}

namespace {

// `rel` (e.g. "knowmem/forget_qa.json") names the file in every message: it is
// what a user recognises from MUSE's layout; `dir` is added once.
struct Reader {
  fs::path dir;

  std::string where(const std::string& rel) const { return (dir / rel).string(); }

  std::string read_text(const std::string& rel) const {
    const fs::path p = dir / rel;
    std::error_code ec;
    RELAPSE_CHECK_INPUT(fs::is_regular_file(p, ec), "MUSE corpus: missing file ", p.string());
    return fs_read_file(p.string(), "MUSE corpus file");
  }

  json read_list(const std::string& rel) const {
    const std::string text = read_text(rel);
    json j;
    try {
      j = json::parse(text);
    } catch (const json::exception& e) {
      RELAPSE_THROW(ExitCode::kInput, "MUSE corpus: ", where(rel), ": not valid JSON: ", e.what());
    }
    RELAPSE_CHECK_INPUT(j.is_array(), "MUSE corpus: ", where(rel), ": expected a JSON list, got ",
                        j.type_name());
    return j;
  }

  std::vector<std::string> strings(const std::string& rel, bool nonempty) const {
    const json j = read_list(rel);
    std::vector<std::string> out;
    out.reserve(j.size());
    for (size_t i = 0; i < j.size(); ++i) {
      RELAPSE_CHECK_INPUT(j[i].is_string(), "MUSE corpus: ", where(rel), ": element ", i, " is a ",
                          j[i].type_name(), ", expected a string");
      out.push_back(j[i].get<std::string>());
    }
    RELAPSE_CHECK_INPUT(!nonempty || !out.empty(), "MUSE corpus: ", where(rel),
                        ": empty forget set (the list has no elements)");
    return out;
  }

  // Each element an object with string fields `f1`, `f2`.
  template <typename T>
  std::vector<T> records(const std::string& rel, const char* f1, const char* f2,
                         bool nonempty) const {
    const json j = read_list(rel);
    std::vector<T> out;
    out.reserve(j.size());
    for (size_t i = 0; i < j.size(); ++i) {
      const json& e = j[i];
      RELAPSE_CHECK_INPUT(e.is_object(), "MUSE corpus: ", where(rel), ": element ", i, " is a ",
                          e.type_name(), ", expected an object with fields \"", f1, "\" and \"", f2,
                          "\"");
      std::string v[2];
      const char* names[2] = {f1, f2};
      for (int k = 0; k < 2; ++k) {
        auto it = e.find(names[k]);
        RELAPSE_CHECK_INPUT(it != e.end(), "MUSE corpus: ", where(rel), ": element ", i,
                            ": field \"", names[k], "\" is missing");
        RELAPSE_CHECK_INPUT(it->is_string(), "MUSE corpus: ", where(rel), ": element ", i,
                            ": field \"", names[k], "\" is a ", it->type_name(),
                            ", expected a string");
        v[k] = it->get<std::string>();
      }
      out.push_back(T{v[0], v[1]});
    }
    RELAPSE_CHECK_INPUT(!nonempty || !out.empty(), "MUSE corpus: ", where(rel),
                        ": empty forget set (the list has no elements)");
    return out;
  }

  RawSplit raw(const std::string& stem, bool is_forget, bool required) const {
    RawSplit s;
    const std::string txt = stem + ".txt", js = stem + ".json";
    std::error_code ec;
    if (!required && !fs::exists(dir / txt, ec)) return s;
    s.text = read_text(txt);
    if (fs::exists(dir / js, ec)) s.docs = strings(js, is_forget);
    if (is_forget) {
      RELAPSE_CHECK_INPUT(s.text.find_first_not_of(" \t\r\n") != std::string::npos,
                          "MUSE corpus: ", where(txt), ": empty forget set (no text)");
    }
    return s;
  }
};

// ordered_json keeps MUSE's field order ("question" before "answer").
using ojson = nlohmann::ordered_json;

std::string json_text(const ojson& j) {
  try {
    return j.dump(2) + "\n";
  } catch (const json::exception& e) {  // invalid UTF-8 in a string
    RELAPSE_THROW(ExitCode::kInput, "muse_write: cannot encode JSON: ", e.what());
  }
}

ojson qa_json(const std::vector<QaPair>& v) {
  ojson j = ojson::array();
  for (const auto& q : v) j.push_back({{"question", q.question}, {"answer", q.answer}});
  return j;
}

void file_write(const fs::path& p, const std::string& bytes) {
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  RELAPSE_CHECK_INPUT(!ec, p.parent_path().string(), ": cannot create directory: ", ec.message());
  fs_write_file_atomic(p.string(), bytes);  // a full disk: exit 5 naming the file
}

}  // namespace

namespace {

Reader corpus_reader(const std::string& dir) {
  std::error_code ec;
  RELAPSE_CHECK_INPUT(fs::is_directory(dir, ec), "MUSE corpus: ", dir, " is not a directory");
  return Reader{fs::path(dir)};
}

void load_eval_sets(const Reader& r, MuseCorpus& c) {
  c.verbmem_forget = r.records<VerbmemItem>("verbmem/forget.json", "prompt", "gt", true);
  c.knowmem_forget_qa = r.records<QaPair>("knowmem/forget_qa.json", "question", "answer", true);
  c.knowmem_retain_qa = r.records<QaPair>("knowmem/retain_qa.json", "question", "answer", false);
  c.knowmem_forget_qa_icl =
      r.records<QaPair>("knowmem/forget_qa_icl.json", "question", "answer", false);
  c.knowmem_retain_qa_icl =
      r.records<QaPair>("knowmem/retain_qa_icl.json", "question", "answer", false);
  c.privleak_forget = r.strings("privleak/forget.json", true);
  c.privleak_retain = r.strings("privleak/retain.json", false);
  c.privleak_holdout = r.strings("privleak/holdout.json", false);
}

}  // namespace

MuseCorpus muse_load(const std::string& dir) {
  const Reader r = corpus_reader(dir);
  MuseCorpus c;
  c.forget = r.raw("raw/forget", true, true);
  c.retain1 = r.raw("raw/retain1", false, true);
  c.retain2 = r.raw("raw/retain2", false, true);
  c.holdout = r.raw("raw/holdout", false, true);
  load_eval_sets(r, c);
  c.world = r.raw("world/pretrain", false, false);
  return c;
}

MuseCorpus muse_load_eval(const std::string& dir) {
  MuseCorpus c;
  load_eval_sets(corpus_reader(dir), c);
  return c;
}

RawSplit muse_load_forget_request(const std::string& dir, const std::string& name) {
  const Reader r = corpus_reader(dir);
  std::error_code ec;
  if (fs::exists(r.dir / (name + ".txt"), ec)) return r.raw(name, true, true);
  RELAPSE_CHECK_INPUT(fs::exists(r.dir / (name + ".json"), ec), "MUSE corpus: removal request \"",
                      name, "\": neither ", r.where(name + ".txt"), " nor ",
                      r.where(name + ".json"), " exists");
  RawSplit s;
  s.docs = r.strings(name + ".json", true);
  s.text = muse_join_docs(s.docs);
  RELAPSE_CHECK_INPUT(s.text.find_first_not_of(" \t\r\n") != std::string::npos,
                      "MUSE corpus: ", r.where(name + ".json"), ": empty forget set (no text)");
  return s;
}

void muse_write(const MuseCorpus& c, const std::string& dir,
                const std::vector<std::pair<std::string, std::string>>& extra_files) {
  RELAPSE_CHECK_INPUT(c.forget.text.find_first_not_of(" \t\r\n") != std::string::npos,
                      "muse_write: ", dir, ": empty forget set (raw/forget.txt would be blank)");
  fs_write_dir_atomic(dir, [&](const std::string& tmp_dir) {
    const fs::path tmp(tmp_dir);
    auto raw = [&](const std::string& stem, const RawSplit& s) {
      file_write(tmp / (stem + ".txt"), s.text);
      if (!s.docs.empty()) file_write(tmp / (stem + ".json"), json_text(ojson(s.docs)));
    };
    raw("raw/forget", c.forget);
    raw("raw/retain1", c.retain1);
    raw("raw/retain2", c.retain2);
    raw("raw/holdout", c.holdout);
    if (!c.world.text.empty()) raw("world/pretrain", c.world);

    ojson vm = ojson::array();
    for (const auto& v : c.verbmem_forget) vm.push_back({{"prompt", v.prompt}, {"gt", v.gt}});
    file_write(tmp / "verbmem/forget.json", json_text(vm));
    file_write(tmp / "knowmem/forget_qa.json", json_text(qa_json(c.knowmem_forget_qa)));
    file_write(tmp / "knowmem/retain_qa.json", json_text(qa_json(c.knowmem_retain_qa)));
    file_write(tmp / "knowmem/forget_qa_icl.json", json_text(qa_json(c.knowmem_forget_qa_icl)));
    file_write(tmp / "knowmem/retain_qa_icl.json", json_text(qa_json(c.knowmem_retain_qa_icl)));
    file_write(tmp / "privleak/forget.json", json_text(ojson(c.privleak_forget)));
    file_write(tmp / "privleak/retain.json", json_text(ojson(c.privleak_retain)));
    file_write(tmp / "privleak/holdout.json", json_text(ojson(c.privleak_holdout)));
    for (const auto& [rel, bytes] : extra_files) file_write(tmp / rel, bytes);
  });
}

}  // namespace relapse::data
