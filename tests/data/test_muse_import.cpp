// tests/data/test_muse_import.cpp — `relapse data import` on a real excerpt of
// MUSE-News (tests/golden/fixtures/muse_news_excerpt: the same records in the
// Hub's parquet layout and in MUSE's JSON layout, from the MUSE authors'
// repository; make_muse_news_excerpt.py): every imported file equals the JSON
// layout's, record for record; the older Hub split names import alike; and
// bad input — a missing column, a file that is not parquet, a directory that
// is not the Hub's layout, a corpus missing a split — is refused naming the
// file and the field.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/data/muse.h"
#include "relapse/data/muse_import.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace relapse;
using relapse::test::expect_input_error;

namespace {

std::string excerpt(const std::string& layout) {
  return test::fixture_path("muse_news_excerpt/" + layout);
}

nlohmann::json json_at(const std::string& path) {
  return nlohmann::json::parse(test::read_file(path));
}

// A scratch Hub directory holding the given files of the excerpt.
std::string hub_with(const std::string& tag, const std::vector<std::string>& files) {
  const std::string dir = test::scratch_dir(tag) + "/hub";
  for (const auto& f : files) {
    fs::create_directories(fs::path(dir + "/" + f).parent_path());
    fs::copy_file(excerpt("parquet/" + f), dir + "/" + f);
  }
  return dir;
}

}  // namespace

TEST(MuseImport, RealExcerptEqualsTheJsonLayout) {
  if (!data::parquet_available()) {
    // The stub says what to install (exit 3), and the real check cannot run.
    test::expect_error([] { data::muse_import(excerpt("parquet"), "/nonexistent"); },
                       ExitCode::kConfig, {"without parquet support", "pyarrow"});
    GTEST_SKIP() << "built without parquet support (RELAPSE_WITH_PARQUET off)";
  }
  const std::string out = test::scratch_dir("muse_import") + "/news";
  const data::MuseImportReport r = data::muse_import(excerpt("parquet"), out);
  int compared = 0;
  for (const std::string& rel : r.written) {
    SCOPED_TRACE(rel);
    if (fs::path(rel).extension() == ".txt") {  // '\n\n'.join of the .json beside it
      std::vector<std::string> docs;
      for (const auto& d : json_at(out + "/" + rel.substr(0, rel.size() - 4) + ".json"))
        docs.push_back(d.get<std::string>());
      EXPECT_EQ(test::read_file(out + "/" + rel), data::muse_join_docs(docs));
      continue;
    }
    ASSERT_TRUE(fs::exists(excerpt("json/" + rel)));
    EXPECT_EQ(json_at(out + "/" + rel), json_at(excerpt("json/" + rel)));
    ++compared;
  }
  EXPECT_EQ(
      compared,
      14);  // every .json of the excerpt (raw 1, verbmem 1, knowmem 4, privleak 3, scal 1, sust 4)
  EXPECT_EQ(test::read_file(out + "/raw/forget.txt"),
            test::read_file(excerpt("json/raw/forget.txt")));
  // What the excerpt lacks (the raw retain and holdout splits, scal 2-4) is
  // reported, and the loader refuses the incomplete corpus naming the file.
  EXPECT_NE(std::find(r.absent.begin(), r.absent.end(), "raw/retain1-00000-of-00001.parquet"),
            r.absent.end());
  expect_input_error([&] { data::muse_load(out); }, "raw/retain1.txt");
}

TEST(MuseImport, OlderSplitNamesImportAlike) {
  if (!data::parquet_available()) GTEST_SKIP() << "built without parquet support";
  const std::string hub = hub_with(
      "muse_import_legacy",
      {"raw/forget-00000-of-00001.parquet", "knowmem/retain2_qa-00000-of-00001.parquet",
       "knowmem/retain2_qa_icl-00000-of-00001.parquet", "privleak/retain2-00000-of-00001.parquet"});
  const std::string out = test::scratch_dir("muse_import_legacy_out") + "/news";
  data::muse_import(hub, out);
  for (const char* rel : {"knowmem/retain_qa.json", "knowmem/retain_qa_icl.json",
                          "privleak/retain.json", "raw/forget.json"})
    EXPECT_EQ(json_at(out + "/" + rel), json_at(excerpt(std::string("json/") + rel))) << rel;
}

TEST(MuseImport, BadInputIsNamed) {
  if (!data::parquet_available()) GTEST_SKIP() << "built without parquet support";
  const std::string out = test::scratch_dir("muse_import_bad_out") + "/x";
  // raw/forget's file (column "text") where knowmem/forget_qa belongs.
  std::string hub = hub_with("muse_import_col", {"raw/forget-00000-of-00001.parquet"});
  fs::create_directories(hub + "/knowmem");
  fs::copy_file(excerpt("parquet/raw/forget-00000-of-00001.parquet"),
                hub + "/knowmem/forget_qa-00000-of-00001.parquet");
  expect_input_error(
      [&] { data::muse_import(hub, out); },
      {"knowmem/forget_qa-00000-of-00001.parquet", "no column 'question'", "its columns: text"});
  EXPECT_FALSE(fs::exists(out + "/raw/forget.json"));  // nothing written before all is read
  // Not a parquet file.
  hub = hub_with("muse_import_garbage", {});
  fs::create_directories(hub + "/raw");
  test::write_file(hub + "/raw/forget-00000-of-00001.parquet", "PAR1 this is not parquet");
  expect_input_error([&] { data::muse_import(hub, out); },
                     {"raw/forget-00000-of-00001.parquet", "not a parquet file"});
  // Not the Hub's layout at all.
  hub = hub_with("muse_import_empty", {"verbmem/forget-00000-of-00001.parquet"});
  expect_input_error([&] { data::muse_import(hub, out); },
                     {hub, "raw/forget-00000-of-00001.parquet", "MUSE-News"});
}

// The excerpt is no full corpus (no raw retain/holdout), but it holds every
// evaluation set and the scal/sust folds: muse_load_eval reads what MUSE's
// eval.py reads, muse_load_forget_request a fold from its .json alone.
TEST(MuseImport, ExcerptLoadsForEvaluationAndAsRemovalRequests) {
  const data::MuseCorpus c = data::muse_load_eval(excerpt("json"));
  EXPECT_EQ(c.verbmem_forget.size(), 24u);
  EXPECT_EQ(c.knowmem_forget_qa.size(), 30u);
  EXPECT_EQ(c.knowmem_retain_qa.size(), 30u);
  EXPECT_EQ(c.knowmem_forget_qa_icl.size(), 10u);
  EXPECT_EQ(c.privleak_holdout.size(), 6u);
  EXPECT_EQ(c.knowmem_forget_qa[0].question,
            json_at(excerpt("json/knowmem/forget_qa.json"))[0]["question"]);
  EXPECT_TRUE(c.forget.text.empty());  // raw/ is not read
  // Upstream raw/forget, scal/forget_1 and sust/forget_1 are the same records:
  // the folds joined as MUSE's load_data.py writes the .txt equal raw/forget.txt.
  const std::string forget_txt = test::read_file(excerpt("json/raw/forget.txt"));
  for (const std::string fold : {"scal/forget_1", "sust/forget_1"}) {
    const data::RawSplit s = data::muse_load_forget_request(excerpt("json"), fold);
    EXPECT_EQ(s.text, forget_txt) << fold;
    EXPECT_EQ(s.docs.size(), 8u) << fold;
  }
  EXPECT_EQ(data::muse_load_forget_request(excerpt("json"), "raw/forget").text, forget_txt);
  EXPECT_NE(data::muse_load_forget_request(excerpt("json"), "sust/forget_2").text, forget_txt);
  expect_input_error([] { data::muse_load_forget_request(excerpt("json"), "scal/forget_2"); },
                     {"scal/forget_2.txt", "scal/forget_2.json"});
  // A missing evaluation set is named as by muse_load.
  const std::string dir = test::scratch_dir("muse_eval_only") + "/news";
  fs::create_directories(dir);
  fs::copy(excerpt("json"), dir, fs::copy_options::recursive);
  fs::remove(dir + "/privleak/holdout.json");
  expect_input_error([&] { data::muse_load_eval(dir); }, "privleak/holdout.json");
}
