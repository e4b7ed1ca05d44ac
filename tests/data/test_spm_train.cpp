// tests/data/test_spm_train.cpp — tokenizer training through Debian's
// spm_train (installed by launch/setup.sh, so nothing is skipped): the model
// loads in relapse::model::Tokenizer with Llama's special ids, round-trips
// text, splits digits, falls back to bytes, gives the same ids as the
// reference encoder spm_encode (SentencePiece's own CLI), and training is
// deterministic (same text → same bytes).
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>

#include "relapse/core/error.h"
#include "relapse/data/spm_train.h"
#include "relapse/data/synth.h"
#include "relapse/model/tokenizer.h"
#include "test_util.h"

using relapse::test::expect_input_error;

using namespace relapse::data;
using relapse::model::Tokenizer;

namespace {

std::vector<std::string> corpus_texts() {
  static const std::vector<std::string> t = synth_tokenizer_texts(synth_corpus({3, "small"}));
  return t;
}

// Trained once per test program (spm_train takes a few seconds here).
const std::string& model_path() {
  static const std::string p = [] {
    const std::string path = relapse::test::scratch_dir("spm") + "/tokenizer.model";
    spm_train_model(corpus_texts(), path, SpmTrainOptions{});
    return path;
  }();
  return p;
}

}  // namespace

TEST(SpmTrain, ModelLoadsWithLlamaSpecialIds) {
  Tokenizer tok(model_path());
  EXPECT_EQ(tok.vocab_size(), 1024);
  EXPECT_EQ(tok.unk_id(), 0);
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.eos_id(), 2);
  EXPECT_EQ(tok.pad_id(), -1);
  EXPECT_EQ(tok.id_to_piece(0), "<unk>");
  EXPECT_EQ(tok.id_to_piece(1), "<s>");
  EXPECT_EQ(tok.id_to_piece(2), "</s>");
  EXPECT_EQ(tok.id_to_piece(3), "<0x00>");  // byte_fallback pieces follow the specials
  EXPECT_EQ(tok.id_to_piece(3 + 0x0A), "<0x0A>");
}

TEST(SpmTrain, RoundTripsTextDigitsAndUnseenCharacters) {
  Tokenizer tok(model_path());
  // (No text starts with a space: HF's decode strips one leading space there,
  // as for Llama-2 itself; tests/model/test_tokenizer covers that case.)
  const std::vector<std::string> texts = {
      "The clockmaker was born in 1873.", "Question: Who founded it?\nAnswer: 1901\n\n",
      "Unseen: café 東京 🙂 ß", "inner  double spaces and\ttab",
      corpus_texts()[1].substr(0, 2000)};
  for (const auto& t : texts) {
    const auto ids = tok.encode(t, true);
    ASSERT_FALSE(ids.empty());
    EXPECT_EQ(ids[0], 1);
    EXPECT_EQ(tok.decode(ids), t);
  }
  // split_digits: every digit its own piece.
  const auto ids = tok.encode("1873", false);
  std::string pieces;
  for (auto id : ids) pieces += tok.id_to_piece(id) + "|";
  EXPECT_EQ(pieces, "▁|1|8|7|3|");
  // Characters outside the training text go through byte pieces, not <unk>.
  for (auto id : tok.encode("東", false)) EXPECT_NE(id, tok.unk_id());
}

TEST(SpmTrain, IdsMatchSentencePiecesOwnEncoder) {
  // spm_encode (the reference implementation, same package as spm_train) on
  // lines that do not start with a space: there HF's ids (what Tokenizer
  // produces) equal SentencePiece's (tests/golden/README.md).
  const std::string dir = relapse::test::scratch_dir("spm-enc");
  const std::vector<std::string> lines = {"Brai Stoumer was born in Dranholm in 1901.",
                                          "Question: What did Tovar Belnd work as?",
                                          "An unseen word: Quixotic zebra, café 1234567."};
  std::string input;
  for (const auto& l : lines) input += l + "\n";
  relapse::test::write_file(dir + "/in.txt", input);
  const std::string cmd = "spm_encode --model=" + model_path() + " --output_format=id < " + dir +
                          "/in.txt > " + dir + "/out.txt 2> " + dir + "/err.txt";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << relapse::test::read_file(dir + "/err.txt");
  std::istringstream out(relapse::test::read_file(dir + "/out.txt"));
  Tokenizer tok(model_path());
  for (const auto& l : lines) {
    std::string row;
    ASSERT_TRUE(std::getline(out, row)) << "spm_encode gave too few lines";
    std::istringstream ids_in(row);
    std::vector<int64_t> want;
    for (int64_t id; ids_in >> id;) want.push_back(id);
    EXPECT_EQ(tok.encode(l, false), want) << l;
  }
}

TEST(SpmTrain, DeterministicBytes) {
  const std::string again = spm_train_bytes(corpus_texts(), SpmTrainOptions{});
  EXPECT_EQ(again, relapse::test::read_file(model_path()));
  SpmTrainOptions other;
  other.vocab_size = 900;
  EXPECT_NE(spm_train_bytes(corpus_texts(), other), again);
}

TEST(SpmTrain, ErrorsAreClear) {
  SpmTrainOptions missing;
  missing.executable = "/nonexistent/spm_train";
  expect_input_error([&] { spm_train_bytes({"some text"}, missing); }, "cannot run");
  SpmTrainOptions huge;
  huge.vocab_size = 50000;  // far more pieces than a two-line text has
  expect_input_error([&] { spm_train_bytes({"tiny text\nsecond line"}, huge); },
                     "spm_train failed");
  expect_input_error([&] { spm_train_bytes({"\n\n"}, SpmTrainOptions{}); }, "no training text");
}
