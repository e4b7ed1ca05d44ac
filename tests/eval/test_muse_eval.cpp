// tests/eval/test_muse_eval.cpp — relapse::eval::muse_evaluate against MUSE's
// metric code run with Hugging Face transformers, rouge_score and scikit-learn
// (tests/golden/make_muse_eval_fixture.py) on the tiny checkpoint
// fixtures/llama_mha_fp32 and the MUSE-layout corpus fixtures/muse_eval/corpus.
// Runs with the world communicator as the data-parallel group, so the same
// program checks DP evaluation when started under mpiexec (muse_eval_np2 in
// tests/mpi_tests.cmake): every rank must get exactly the single-rank result.
#include <gtest/gtest.h>

#include <mpi.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "eval/muse_eval_expect.h"
#include "relapse/data/muse.h"
#include "relapse/dist/communicator.h"
#include "relapse/eval/muse_eval.h"
#include "relapse/model/hf_checkpoint.h"
#include "test_util.h"

using namespace relapse;
using json = nlohmann::json;
namespace rt = relapse::test;

namespace {

struct Fixture {
  model::LlamaForCausalLM m{nullptr};
  std::unique_ptr<model::Tokenizer> tok;
  data::MuseCorpus corpus;
  json exp;
  std::unique_ptr<Communicator> world;
};

Fixture& fx() {
  static Fixture* f = [] {
    auto* f = new Fixture;
    f->m = model::hf_load(rt::fixture_path("llama_mha_fp32"));
    f->tok = std::make_unique<model::Tokenizer>(rt::fixture_path("llama_mha_fp32"));
    f->corpus = data::muse_load(rt::fixture_path("muse_eval/corpus"));
    f->exp = json::parse(rt::read_file(rt::fixture_path("muse_eval/expected.json")));
    f->world = comm_mpi_create(MPI_COMM_WORLD);
    return f;
  }();
  return *f;
}

eval::MuseEvalOptions fixture_options() {
  const json& o = fx().exp["options"];
  eval::MuseEvalOptions opts;
  opts.verbmem_max_new_tokens = o["verbmem_max_new_tokens"].get<int64_t>();
  opts.knowmem_max_new_tokens = o["knowmem_max_new_tokens"].get<int64_t>();
  opts.min_k = o["min_k"].get<double>();
  opts.batch_size = 3;
  return opts;
}

eval::MuseEvalResult evaluate(const eval::MuseEvalOptions& opts, bool use_world = true) {
  return eval::muse_evaluate(fx().m, *fx().tok, fx().corpus, opts,
                             use_world ? fx().world.get() : nullptr);
}

void expect_text_metrics(const eval::MuseEvalResult& r, const std::string& block,
                         const std::string& score) {
  test::expect_muse_text_metrics(r, fx().corpus, fx().exp[block], score);
}

void expect_close(const std::vector<double>& got, const json& want, const char* what) {
  test::expect_mink_close(got, want, what);
}

void expect_same(const eval::MuseEvalResult& a, const eval::MuseEvalResult& b) {
  EXPECT_EQ(a.verbmem_references, b.verbmem_references);
  EXPECT_EQ(a.verbmem_generations, b.verbmem_generations);
  EXPECT_EQ(a.verbmem_scores, b.verbmem_scores);
  EXPECT_EQ(a.verbmem_forget, b.verbmem_forget);
  for (auto [x, y] : {std::pair{&a.knowmem_forget, &b.knowmem_forget},
                      std::pair{&a.knowmem_retain, &b.knowmem_retain}}) {
    EXPECT_EQ(x->questions, y->questions);
    EXPECT_EQ(x->generations, y->generations);
    EXPECT_EQ(x->scores, y->scores);
    EXPECT_EQ(x->mean, y->mean);
  }
  // Min-K% comes from the fp32 logits of a forward pass whose batch shape
  // differs (batch size, padding to the batch's longest text, the DP shard),
  // so the matmuls sum in another order: a few fp32 ulps of the log-probs,
  // ~1e-6 of a score of ~10. 1e-5 relative bounds that; the order of the
  // scores (>= 1e-3 apart) and so the AUC are unchanged.
  const std::pair<const std::vector<double>*, const std::vector<double>*> mk[] = {
      {&a.mink_forget, &b.mink_forget},
      {&a.mink_retain, &b.mink_retain},
      {&a.mink_holdout, &b.mink_holdout}};
  for (const auto& [x, y] : mk) {
    ASSERT_EQ(x->size(), y->size());
    for (size_t i = 0; i < x->size(); ++i) EXPECT_NEAR((*x)[i], (*y)[i], 1e-5 * std::abs((*y)[i]));
  }
  EXPECT_EQ(a.privleak_auc, b.privleak_auc);
}

TEST(MuseEval, MatchesHfReference) {
  eval::MuseEvalResult r = evaluate(fixture_options());
  expect_text_metrics(r, "plain", "f1");
  ASSERT_TRUE(r.has_privleak);
  expect_close(r.mink_forget, fx().exp["mink_forget"], "mink_forget");
  expect_close(r.mink_retain, fx().exp["mink_retain"], "mink_retain");
  expect_close(r.mink_holdout, fx().exp["mink_holdout"], "mink_holdout");
  // The fixture's forget + holdout scores are >= 1e-3 apart (min_mink_gap), far
  // above the noise, so the AUC (a function of their order) is equal.
  EXPECT_EQ(r.privleak_auc, fx().exp["privleak_auc"].get<double>());
  // The fixture is not vacuous: some ROUGE scores are neither 0 nor 1.
  int partial = 0;
  for (double s : r.verbmem_scores) partial += s > 0 && s < 1;
  for (double s : r.knowmem_forget.scores) partial += s > 0 && s < 1;
  EXPECT_GE(partial, 3);
}

TEST(MuseEval, CleanUpTokenizationMatchesTransformers4) {
  eval::MuseEvalOptions opts = fixture_options();
  opts.clean_up_tokenization = true;
  opts.privleak = false;
  eval::MuseEvalResult r = evaluate(opts);
  expect_text_metrics(r, "clean", "f1");
  // The fixture has references that the clean-up changes (" ," -> ",").
  EXPECT_NE(fx().exp["clean"]["verbmem"]["references"], fx().exp["plain"]["verbmem"]["references"]);
}

TEST(MuseEval, RecallScores) {
  eval::MuseEvalOptions opts = fixture_options();
  opts.rouge = "recall";
  opts.privleak = false;
  eval::MuseEvalResult r = evaluate(opts);
  expect_text_metrics(r, "plain", "recall");
  EXPECT_NE(fx().exp["plain"]["verbmem"]["recall"], fx().exp["plain"]["verbmem"]["f1"]);
}

TEST(MuseEval, BatchSizeDoesNotChangeResults) {
  eval::MuseEvalOptions opts = fixture_options();
  opts.batch_size = 1;
  eval::MuseEvalResult one = evaluate(opts);
  opts.batch_size = 3;
  eval::MuseEvalResult three = evaluate(opts);
  opts.batch_size = 64;  // everything in one padded batch
  eval::MuseEvalResult all = evaluate(opts);
  expect_same(one, three);
  expect_same(one, all);
}

// The data-parallel result equals every rank evaluating everything alone (at
// np 1 both calls are single-rank; under mpiexec the first is sharded).
TEST(MuseEval, DataParallelEqualsSingleRank) {
  eval::MuseEvalResult sharded = evaluate(fixture_options(), /*use_world=*/true);
  eval::MuseEvalResult alone = evaluate(fixture_options(), /*use_world=*/false);
  expect_same(sharded, alone);
}

TEST(MuseEval, MaxSamplesTakesTheFirstN) {
  // batch_size 1: the same forward shapes in both runs, so Min-K% is exact.
  eval::MuseEvalOptions opts = fixture_options();
  opts.batch_size = 1;
  eval::MuseEvalResult full = evaluate(opts);
  opts.max_samples = 2;
  eval::MuseEvalResult r = evaluate(opts);
  auto first2 = [](const auto& v) { return std::vector(v.begin(), v.begin() + 2); };
  EXPECT_EQ(r.verbmem_prompts, first2(full.verbmem_prompts));
  EXPECT_EQ(r.verbmem_generations, first2(full.verbmem_generations));
  EXPECT_EQ(r.verbmem_scores, first2(full.verbmem_scores));
  EXPECT_DOUBLE_EQ(r.verbmem_forget, (full.verbmem_scores[0] + full.verbmem_scores[1]) / 2 * 100);
  EXPECT_EQ(r.knowmem_forget.generations, first2(full.knowmem_forget.generations));
  EXPECT_EQ(r.knowmem_retain.scores, first2(full.knowmem_retain.scores));
  EXPECT_EQ(r.mink_forget, first2(full.mink_forget));
  EXPECT_EQ(r.mink_retain, first2(full.mink_retain));
  EXPECT_EQ(r.mink_holdout, first2(full.mink_holdout));
}

TEST(MuseEval, DisabledMetricsStayEmpty) {
  eval::MuseEvalOptions opts = fixture_options();
  opts.verbmem = false;
  opts.privleak = false;
  eval::MuseEvalResult r = evaluate(opts);
  EXPECT_FALSE(r.has_verbmem);
  EXPECT_FALSE(r.has_privleak);
  EXPECT_TRUE(r.has_knowmem);
  EXPECT_TRUE(r.verbmem_prompts.empty() && r.verbmem_references.empty() &&
              r.verbmem_generations.empty() && r.verbmem_scores.empty());
  EXPECT_TRUE(r.mink_forget.empty() && r.mink_retain.empty() && r.mink_holdout.empty());
  EXPECT_EQ(r.knowmem_forget.generations.size(), fx().corpus.knowmem_forget_qa.size());

  opts.knowmem = false;
  opts.privleak = true;
  r = evaluate(opts);
  EXPECT_FALSE(r.has_knowmem);
  EXPECT_TRUE(r.has_privleak);
  EXPECT_TRUE(r.knowmem_forget.questions.empty() && r.knowmem_forget.generations.empty() &&
              r.knowmem_forget.scores.empty() && r.knowmem_retain.scores.empty());
  EXPECT_EQ(r.mink_holdout.size(), fx().corpus.privleak_holdout.size());
}

TEST(MuseEval, RestoresTrainingModeAndRejectsBadOptions) {
  fx().m->train();
  eval::MuseEvalOptions opts = fixture_options();
  opts.max_samples = 1;
  evaluate(opts);
  EXPECT_TRUE(fx().m->is_training());
  fx().m->eval();
  opts.rouge = "f2";
  rt::expect_error([&] { evaluate(opts); }, ExitCode::kConfig, {"rouge", "f2"});
  opts = fixture_options();
  opts.batch_size = 0;
  rt::expect_error([&] { evaluate(opts); }, ExitCode::kConfig, {"batch_size"});
}

}  // namespace
