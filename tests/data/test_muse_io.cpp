// tests/data/test_muse_io.cpp — the MUSE corpus layout: write → load round
// trip, the exact file names and JSON fields, atomic replacement, and that
// every bad-input case throws kInput naming the file and the element/field.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/data/muse.h"
#include "test_util.h"

using relapse::test::expect_input_error;

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace relapse::data;
using relapse::test::read_file;
using relapse::test::write_file;

namespace {

MuseCorpus corpus_small() {
  MuseCorpus c;
  c.forget.docs = {"Ada was born in 1901.", "Unicode: café 東京 🙂 \"quoted\"\nnewline"};
  c.forget.text = muse_join_docs(c.forget.docs);
  c.retain1.docs = {"Bo works at Vesk Works."};
  c.retain1.text = muse_join_docs(c.retain1.docs);
  c.retain2.text = "retain2 text without a json list";
  c.holdout.docs = {"Cy lives in Dranholm.", ""};
  c.holdout.text = muse_join_docs(c.holdout.docs);
  c.verbmem_forget = {{"Ada was born", "in 1901."}};
  c.knowmem_forget_qa = {{"When was Ada born?", "1901"}, {"Where?", "Dranholm"}};
  c.knowmem_retain_qa = {{"Where does Bo work?", "Vesk Works"}};
  c.knowmem_forget_qa_icl = {{"Q1", "A1"}};
  c.knowmem_retain_qa_icl = {{"Q2", "A2"}, {"Q3", "A3"}};
  c.privleak_forget = {"Ada was born in 1901."};
  c.privleak_retain = {"Bo works at Vesk Works."};
  c.privleak_holdout = {"Cy lives in Dranholm."};
  return c;
}

}  // namespace

TEST(MuseIo, RoundTrip) {
  const std::string dir = relapse::test::scratch_dir("muse") + "/corpus";
  const MuseCorpus c = corpus_small();
  muse_write(c, dir, {{"extra/meta.json", "{}\n"}});
  EXPECT_TRUE(muse_load(dir) == c);
  EXPECT_EQ(read_file(dir + "/extra/meta.json"), "{}\n");
  EXPECT_FALSE(fs::exists(dir + ".partial"));

  // With a world split too.
  MuseCorpus w = c;
  w.world.docs = {"World doc one.", "World doc two."};
  w.world.text = muse_join_docs(w.world.docs);
  muse_write(w, dir);
  EXPECT_TRUE(muse_load(dir) == w);
}

TEST(MuseIo, FileNamesAndFieldsAreMuses) {
  const std::string dir = relapse::test::scratch_dir("muse") + "/corpus";
  muse_write(corpus_small(), dir);
  for (const char* f : {"raw/forget.txt", "raw/forget.json", "raw/retain1.txt", "raw/retain1.json",
                        "raw/retain2.txt", "raw/holdout.txt", "raw/holdout.json",
                        "verbmem/forget.json", "knowmem/forget_qa.json", "knowmem/retain_qa.json",
                        "knowmem/forget_qa_icl.json", "knowmem/retain_qa_icl.json",
                        "privleak/forget.json", "privleak/retain.json", "privleak/holdout.json"})
    EXPECT_TRUE(fs::is_regular_file(dir + "/" + f)) << f;
  EXPECT_FALSE(fs::exists(dir + "/raw/retain2.json"));  // no docs -> no list
  EXPECT_FALSE(fs::exists(dir + "/world"));
  // raw/<split>.txt is '\n\n'.join(raw/<split>.json), as MUSE's load_data.py writes it.
  const json docs = json::parse(read_file(dir + "/raw/forget.json"));
  EXPECT_EQ(read_file(dir + "/raw/forget.txt"),
            docs[0].get<std::string>() + "\n\n" + docs[1].get<std::string>());
  const json vm = json::parse(read_file(dir + "/verbmem/forget.json"));
  EXPECT_EQ(vm, json::parse(R"([{"prompt": "Ada was born", "gt": "in 1901."}])"));
  const json qa = json::parse(read_file(dir + "/knowmem/forget_qa.json"));
  EXPECT_EQ(qa[1], json::parse(R"({"question": "Where?", "answer": "Dranholm"})"));
  EXPECT_EQ(json::parse(read_file(dir + "/privleak/holdout.json")),
            json::parse(R"(["Cy lives in Dranholm."])"));
}

TEST(MuseIo, WriteReplacesExistingCorpus) {
  const std::string dir = relapse::test::scratch_dir("muse") + "/corpus";
  MuseCorpus a = corpus_small();
  a.world.text = "w";
  muse_write(a, dir);
  ASSERT_TRUE(fs::exists(dir + "/world/pretrain.txt"));
  const MuseCorpus b = corpus_small();
  muse_write(b, dir);
  EXPECT_FALSE(fs::exists(dir + "/world"));  // no stale files from the old corpus
  EXPECT_TRUE(muse_load(dir) == b);
}

TEST(MuseIo, ErrorsNameFileAndField) {
  const std::string base = relapse::test::scratch_dir("muse");
  int n = 0;
  // Writes a fresh good corpus, applies `edit` to it, expects load to fail.
  auto check = [&](const std::function<void(const std::string&)>& edit,
                   const std::vector<std::string>& needles) {
    const std::string dir = base + "/c" + std::to_string(n++);
    muse_write(corpus_small(), dir);
    edit(dir);
    expect_input_error([&] { muse_load(dir); }, needles);
  };
  auto put = [](const std::string& rel, const std::string& content) {
    return [rel, content](const std::string& d) { write_file(d + "/" + rel, content); };
  };
  auto rm = [](const std::string& rel) {
    return [rel](const std::string& d) { fs::remove(d + "/" + rel); };
  };
  for (const char* f : {"raw/forget.txt", "raw/retain1.txt", "raw/retain2.txt", "raw/holdout.txt",
                        "verbmem/forget.json", "knowmem/forget_qa.json", "knowmem/retain_qa.json",
                        "knowmem/forget_qa_icl.json", "knowmem/retain_qa_icl.json",
                        "privleak/forget.json", "privleak/retain.json", "privleak/holdout.json"})
    check(rm(f), {"missing file", f});
  check(put("knowmem/retain_qa.json", R"({"question": "q", "answer": "a"})"),
        {"knowmem/retain_qa.json", "expected a JSON list"});
  check(put("privleak/retain.json", "[\"ok\", 3]"),
        {"privleak/retain.json", "element 1", "string"});
  check(put("raw/holdout.json", "[\"ok\", null]"), {"raw/holdout.json", "element 1"});
  check(put("knowmem/forget_qa.json", R"([{"question": "q", "answer": "a"}, {"question": "q"}])"),
        {"knowmem/forget_qa.json", "element 1", "\"answer\"", "missing"});
  check(put("knowmem/retain_qa_icl.json", R"([{"question": 1, "answer": "a"}])"),
        {"knowmem/retain_qa_icl.json", "element 0", "\"question\"", "number"});
  check(put("verbmem/forget.json", R"([{"prompt": "p", "gt": "g"}, "text"])"),
        {"verbmem/forget.json", "element 1", "expected an object"});
  check(put("verbmem/forget.json", R"([{"prompt": "p"}])"),
        {"verbmem/forget.json", "\"gt\"", "missing"});
  check(put("privleak/holdout.json", "[\"unterminated"),
        {"privleak/holdout.json", "not valid JSON"});
  // Empty forget set, in each of its forms.
  check(put("raw/forget.txt", " \n\n "), {"raw/forget.txt", "empty forget set"});
  check(put("raw/forget.json", "[]"), {"raw/forget.json", "empty forget set"});
  check(put("verbmem/forget.json", "[]"), {"verbmem/forget.json", "empty forget set"});
  check(put("knowmem/forget_qa.json", "[]"), {"knowmem/forget_qa.json", "empty forget set"});
  check(put("privleak/forget.json", "[]"), {"privleak/forget.json", "empty forget set"});
  // Not a directory at all.
  expect_input_error([&] { muse_load(base + "/nope"); }, {"nope", "not a directory"});
  // Writing an empty forget set is refused too.
  MuseCorpus empty = corpus_small();
  empty.forget = {};
  expect_input_error([&] { muse_write(empty, base + "/w"); }, {"empty forget set"});
}

TEST(MuseIo, RawJsonIsOptionalAsInMusesRelease) {
  const std::string dir = relapse::test::scratch_dir("muse") + "/corpus";
  muse_write(corpus_small(), dir);
  fs::remove(dir + "/raw/forget.json");
  const MuseCorpus c = muse_load(dir);
  EXPECT_TRUE(c.forget.docs.empty());
  EXPECT_EQ(c.forget.text, corpus_small().forget.text);
}
