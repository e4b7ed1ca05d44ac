// tests/data/test_synth.cpp — the synthetic corpus: determinism (same seed →
// same bytes on disk, another seed → different), disjoint entity splits (no
// split names another split's entities), every QA answer stated in every
// passage of its entity, verbmem / privleak / ICL drawn from the right splits,
// sizes, and `relapse data synth`'s writer (corpus + tokenizer.model).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "relapse/core/error.h"
#include "relapse/data/muse.h"
#include "relapse/data/synth.h"
#include "relapse/model/tokenizer.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace relapse::data;

namespace {

const SynthWorld& world_small() {
  static const SynthWorld w = synth_world(SynthConfig{7, "small"});
  return w;
}

std::map<std::string, std::string> dir_files(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file())
      out[fs::relative(e.path(), dir).string()] = relapse::test::read_file(e.path().string());
  return out;
}

size_t text_bytes(const MuseCorpus& c) {
  return c.forget.text.size() + c.retain1.text.size() + c.retain2.text.size() +
         c.holdout.text.size();
}

}  // namespace

TEST(Synth, SameSeedSameBytesOtherSeedDiffers) {
  const std::string base = relapse::test::scratch_dir("synth");
  muse_write(synth_corpus({7, "small"}), base + "/a");
  muse_write(synth_corpus({7, "small"}), base + "/b");
  muse_write(synth_corpus({8, "small"}), base + "/c");
  const auto a = dir_files(base + "/a"), b = dir_files(base + "/b"), c = dir_files(base + "/c");
  // raw: 4 splits × (.txt, .json); world: 2; verbmem 1; knowmem 4; privleak 3.
  ASSERT_EQ(a.size(), 18u);
  EXPECT_TRUE(a == b);
  ASSERT_EQ(a.size(), c.size());
  for (const auto& [name, bytes] : a) EXPECT_NE(bytes, c.at(name)) << name;
}

TEST(Synth, SplitsAreDisjointAndSelfContained) {
  const SynthWorld& w = world_small();
  std::map<std::string, std::string> split_of;
  std::map<std::string, int> n_of;
  for (const auto& e : w.entities) {
    EXPECT_TRUE(split_of.emplace(e.name, e.split).second) << "duplicate entity " << e.name;
    ++n_of[e.split];
  }
  const SynthCounts k = synth_counts("small");
  EXPECT_EQ(n_of["forget"], k.forget);
  EXPECT_EQ(n_of["retain1"], k.retain1);
  EXPECT_EQ(n_of["retain2"], k.retain2);
  EXPECT_EQ(n_of["holdout"], k.holdout);
  EXPECT_EQ(n_of["world"], k.world);
  // References stay inside the split.
  for (const auto& e : w.entities) {
    for (const auto& [key, value] : e.attributes) {
      if (split_of.count(value)) {
        EXPECT_EQ(split_of[value], e.split) << e.name << " " << key;
      }
    }
  }
  // No text of one split names an entity of another (forget and holdout names
  // checked against every other split's text; substring search, so a name
  // that is part of a longer word would also be caught).
  const MuseCorpus& c = w.corpus;
  const std::map<std::string, const RawSplit*> raw = {{"world", &c.world},
                                                      {"forget", &c.forget},
                                                      {"retain1", &c.retain1},
                                                      {"retain2", &c.retain2},
                                                      {"holdout", &c.holdout}};
  for (const auto& e : w.entities) {
    if (e.split != "forget" && e.split != "holdout") continue;
    for (const auto& [split, r] : raw) {
      const bool found = r->text.find(e.name) != std::string::npos;
      EXPECT_EQ(found, split == e.split) << e.name << " (" << e.split << ") in " << split;
    }
  }
}

TEST(Synth, EveryAnswerIsInEveryPassageOfItsEntity) {
  const SynthWorld& w = world_small();
  std::set<std::string> kinds;
  for (const auto& e : w.entities) {
    kinds.insert(entity_kind_name(e.kind));
    ASSERT_FALSE(e.passages.size() < 2) << e.name;
    std::set<std::string> distinct(e.passages.begin(), e.passages.end());
    EXPECT_EQ(distinct.size(), e.passages.size()) << "paraphrases must differ: " << e.name;
    ASSERT_FALSE(e.qa.empty());
    for (const auto& qa : e.qa) {
      EXPECT_NE(qa.question.find(e.name), std::string::npos) << qa.question;
      EXPECT_FALSE(qa.answer.empty());
      EXPECT_LE(qa.answer.size(), 40u) << qa.answer;  // a year, a town, a name
      for (const auto& p : e.passages)
        EXPECT_NE(p.find(qa.answer), std::string::npos) << qa.answer << " not in: " << p;
    }
  }
  EXPECT_EQ(kinds.size(), 3u);
}

TEST(Synth, EvaluationSetsComeFromTheRightSplits) {
  const SynthWorld& w = world_small();
  const MuseCorpus& c = w.corpus;
  std::map<std::string, std::set<std::string>> qa_split;  // "q\ta" -> splits
  std::map<std::string, std::string> passage_split;
  for (const auto& e : w.entities) {
    for (const auto& qa : e.qa) qa_split[qa.question + "\t" + qa.answer].insert(e.split);
    for (const auto& p : e.passages) passage_split[p] = e.split;
  }
  auto from = [&](const std::vector<QaPair>& v, const std::string& split) {
    ASSERT_FALSE(v.empty()) << split;
    for (const auto& qa : v)
      EXPECT_EQ(qa_split[qa.question + "\t" + qa.answer], std::set<std::string>{split})
          << qa.question;
  };
  const SynthCounts k = synth_counts("small");
  from(c.knowmem_forget_qa, "forget");
  from(c.knowmem_retain_qa, "retain2");
  from(c.knowmem_forget_qa_icl, "retain1");
  from(c.knowmem_retain_qa_icl, "retain1");
  EXPECT_EQ(c.knowmem_forget_qa.size(), static_cast<size_t>(k.forget * k.qa_per_entity));
  EXPECT_EQ(c.knowmem_forget_qa_icl.size(), static_cast<size_t>(k.icl_examples));
  std::set<std::string> icl_f, icl_r;
  for (const auto& q : c.knowmem_forget_qa_icl) icl_f.insert(q.question);
  for (const auto& q : c.knowmem_retain_qa_icl) icl_r.insert(q.question);
  for (const auto& q : icl_f) EXPECT_EQ(icl_r.count(q), 0u) << q;

  ASSERT_EQ(c.verbmem_forget.size(), static_cast<size_t>(k.forget));
  for (const auto& v : c.verbmem_forget) {
    EXPECT_FALSE(v.prompt.empty());
    EXPECT_FALSE(v.gt.empty());
    EXPECT_EQ(passage_split[v.prompt + " " + v.gt], "forget") << v.prompt;
  }
  auto all_in = [&](const std::vector<std::string>& v, const std::string& split) {
    ASSERT_FALSE(v.empty());
    for (const auto& t : v) EXPECT_EQ(passage_split[t], split) << t;
  };
  all_in(c.privleak_forget, "forget");
  all_in(c.privleak_retain, "retain2");
  all_in(c.privleak_holdout, "holdout");
  EXPECT_EQ(c.privleak_forget.size(), c.privleak_holdout.size());
  // raw/<split>.txt is MUSE's '\n\n' join of the documents.
  for (const RawSplit* r : {&c.forget, &c.retain1, &c.retain2, &c.holdout, &c.world})
    EXPECT_EQ(r->text, muse_join_docs(r->docs));
  // raw/forget.json: the forget passages and QA documents holding every
  // question of every forget entity once, four to a document.
  size_t n_questions = 0, n_forget_questions = 0;
  for (const auto& e : w.entities)
    if (e.split == "forget") n_forget_questions += e.qa.size();
  for (const auto& d : c.forget.docs) {
    if (d.rfind("Question: ", 0) == 0) {
      size_t n = 0;
      for (size_t at = d.find("Question: "); at != std::string::npos;
           at = d.find("Question: ", at + 1))
        ++n;
      EXPECT_LE(n, 4u) << d;
      n_questions += n;
      continue;
    }
    EXPECT_EQ(passage_split[d], "forget");
  }
  const SynthCounts counts = synth_counts("small");
  EXPECT_EQ(n_questions, n_forget_questions * static_cast<size_t>(counts.qa_docs));
  for (const auto& qa : c.knowmem_forget_qa)
    EXPECT_NE(c.forget.text.find("Question: " + qa.question + "\nAnswer: " + qa.answer),
              std::string::npos)
        << qa.question;
  // The world split teaches the QA format on other entities.
  EXPECT_NE(c.world.text.find("Question: "), std::string::npos);
}

TEST(Synth, SizesAndPresets) {
  const MuseCorpus& s = world_small().corpus;
  const size_t small = text_bytes(s);
  EXPECT_GE(small, 100u * 1024) << small;
  EXPECT_LE(small, 300u * 1024) << small;
  const MuseCorpus m = synth_corpus({7, "medium"});
  const double ratio = static_cast<double>(text_bytes(m)) / static_cast<double>(small);
  EXPECT_GT(ratio, 3.5);
  EXPECT_LT(ratio, 4.5);
  EXPECT_GT(m.world.text.size(), 3 * s.world.text.size());
  try {
    synth_counts("large");
    ADD_FAILURE() << "no error for size large";
  } catch (const relapse::Error& e) {
    EXPECT_EQ(e.code(), relapse::ExitCode::kConfig);
    EXPECT_NE(std::string(e.what()).find("large"), std::string::npos);
  }
}

TEST(Synth, WriteProducesLoadableCorpusAndTokenizer) {
  const std::string dir = relapse::test::scratch_dir("synth") + "/corpus";
  SynthConfig cfg{7, "small", 0};
  const MuseCorpus c = synth_write(cfg, dir);
  EXPECT_TRUE(muse_load(dir) == c);
  EXPECT_TRUE(c == world_small().corpus);
  EXPECT_TRUE(fs::is_regular_file(dir + "/synth.json"));
  relapse::model::Tokenizer tok(dir + "/tokenizer.model");
  EXPECT_EQ(tok.vocab_size(), 1024);
  for (const auto& v : c.verbmem_forget) {
    const auto ids = tok.encode(v.prompt + " " + v.gt, false);
    EXPECT_EQ(tok.decode(ids), v.prompt + " " + v.gt);
  }
  const std::string first = relapse::test::read_file(dir + "/tokenizer.model");
  synth_write(cfg, dir);  // rewrite in place: same bytes
  EXPECT_EQ(relapse::test::read_file(dir + "/tokenizer.model"), first);
}
