// tests/data/test_chunking.cpp — muse_chunk / muse_chunk_text against a Python
// rendering of MUSE's DefaultDataset chunking (tests/golden/fixtures/data/
// chunking.json, written by tests/golden/make_data_fixtures.py with torch and
// transformers). Token ids are compared exactly.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/data/chunking.h"
#include "relapse/model/tokenizer.h"
#include "test_util.h"

using json = nlohmann::json;
using relapse::data::muse_chunk;
using relapse::data::muse_chunk_text;

namespace {

json fixture() {
  const std::string text =
      relapse::test::read_file(relapse::test::fixture_path("data/chunking.json"));
  EXPECT_FALSE(text.empty()) << "missing fixtures/data/chunking.json";
  return json::parse(text);
}

using Chunks = std::vector<std::vector<int64_t>>;

}  // namespace

TEST(Chunking, MatchesMuseDefaultDatasetOnTokenLists) {
  const json doc = fixture();
  ASSERT_GE(doc["cases"].size(), 90u);
  int with_short_last = 0;
  for (const auto& c : doc["cases"]) {
    const auto tokens = c["tokens"].get<std::vector<int64_t>>();
    const int64_t max_len = c["max_len"].get<int64_t>();
    const bool add_bos = c["add_bos"].get<bool>();
    const Chunks want = c["chunks"].get<Chunks>();
    const Chunks got = muse_chunk(tokens, max_len, c["bos"].get<int64_t>(), add_bos);
    EXPECT_EQ(got, want) << "n=" << tokens.size() << " max_len=" << max_len
                         << " add_bos=" << add_bos;
    if (static_cast<int64_t>(want.back().size()) < max_len) ++with_short_last;
  }
  // The fixture exercises MUSE's quirk: a single short chunk wrapped onto itself
  // can stay shorter than max_len.
  EXPECT_GT(with_short_last, 0);
}

TEST(Chunking, MatchesMuseOnTextTokenizedByHf) {
  const json doc = fixture();
  relapse::model::Tokenizer tok(relapse::test::fixture_path("tokenizer"));
  ASSERT_FALSE(doc["text_cases"].empty());
  for (const auto& c : doc["text_cases"]) {
    const std::string text = c["text"].get<std::string>();
    const int64_t max_len = c["max_len"].get<int64_t>();
    EXPECT_EQ(tok.encode(text, false), c["ids"].get<std::vector<int64_t>>());
    EXPECT_EQ(muse_chunk_text(tok, text, max_len), c["chunks"].get<Chunks>()) << text;
  }
}

TEST(Chunking, WrapsLastChunkWithFirstChunkIncludingBos) {
  // 5 tokens, max_len 4: [1,a,b,c] [1,d,e] -> last + first = [1,d,e,1,a,b,c][:4]
  const Chunks got = muse_chunk({10, 11, 12, 13, 14}, 4, 1, true);
  EXPECT_EQ(got, (Chunks{{1, 10, 11, 12}, {1, 13, 14, 1}}));
}

TEST(Chunking, RejectsBadInput) {
  auto expect_input = [](auto fn, const std::string& needle) {
    try {
      fn();
      ADD_FAILURE() << "no error; expected one naming " << needle;
    } catch (const relapse::Error& e) {
      EXPECT_EQ(e.code(), relapse::ExitCode::kInput) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_input([] { muse_chunk({}, 8, 1, true); }, "no tokens");
  expect_input([] { muse_chunk({5}, 1, 1, true); }, "max_len");
  expect_input([] { muse_chunk({5}, 4, -1, true); }, "BOS");
  EXPECT_EQ(muse_chunk({5, 6}, 1, -1, false), (Chunks{{5}, {6}}));
}
