// tests/pipeline/test_config_check.cpp — the config rules that span sections
// (issue 22, src/pipeline/config_check.cpp): refused while loading when the
// config alone shows them (batch sizes vs the planned DP, LLM.int8 under TP),
// again by the run with the world it was launched with, and against the
// loaded data and the model's context right after the data stage — before
// anything trains. Every refusal is exit 3 naming the key and where its value
// came from (FILE:LINE, the --set, or the defaults).
#include <filesystem>
#include <fstream>

#include <mpi.h>

#include "relapse/dist/runtime.h"
#include "relapse/pipeline/config.h"
#include "relapse/pipeline/run.h"
#include "test_util.h"

using namespace relapse;
using namespace relapse::pipeline;
namespace fs = std::filesystem;

namespace {

// A config file whose line 4 is unlearn.batch_size (the origin the errors name).
std::string write_config(const std::string& tag) {
  const std::string path = test::scratch_dir(tag) + "/run.yaml";
  std::ofstream(path) << "parallel:\n  ranks: 4\nunlearn:\n  batch_size: 2\n";
  return path;
}

RelapseConfig nano_config(const std::string& out, std::vector<std::string> extra) {
  std::vector<std::string> sets = {"run.out_dir=" + out, "model.preset=nano", "pretrain.epochs=1",
                                   "train.epochs=1",     "unlearn.epochs=1",  "unlearn.max_steps=2",
                                   "eval.max_samples=4", "data.max_len=64"};
  sets.insert(sets.end(), extra.begin(), extra.end());
  return config_load(test::source_dir() + "/configs/tour.yaml", sets);
}

}  // namespace

TEST(ConfigCheck, BatchSmallerThanPlannedDpRefusedAtLoad) {
  const std::string path = write_config("cc_load");
  test::expect_error([&] { config_load(path); }, ExitCode::kConfig,
                     {"'unlearn.batch_size'", path + ":4", "DP = 4 ranks / parallel.tp 1 = 4"});
  // A --set names itself; tp 2 halves DP, so a batch of 2 is enough.
  test::expect_error([&] { config_load(path, {"unlearn.batch_size=3"}); }, ExitCode::kConfig,
                     {"'unlearn.batch_size'", "--set unlearn.batch_size=3"});
  EXPECT_NO_THROW(config_load(path, {"parallel.tp=2"}));
  // A loop that does not run has no batch to refuse.
  EXPECT_NO_THROW(config_load(path, {"unlearn.methods=[]"}));
  test::expect_error(
      [&] {
        config_load(path, {"unlearn.batch_size=8", "relearn.steps=2", "relearn.batch_size=1"});
      },
      ExitCode::kConfig, {"'relearn.batch_size'", "--set relearn.batch_size=1"});
}

TEST(ConfigCheck, LlmInt8UnderTensorParallelRefusedAtLoad) {
  test::expect_error(
      [&] {
        config_load("", {"parallel.tp=2", "quantize.bnb.formats=[llm_int8]"});
      },
      ExitCode::kConfig,
      {"'quantize.bnb.formats'", "--set quantize.bnb.formats=[llm_int8]", "parallel.tp = 1"});
  EXPECT_NO_THROW(config_load("", {"parallel.tp=2", "quantize.bnb.formats=[nf4]"}));
}

// relearn.from names a precision the run evaluates: full or a quantize: label.
TEST(ConfigCheck, RelearnFromAPrecisionTheRunDoesNotHaveRefusedAtLoad) {
  test::expect_error(
      [&] {
        config_load("", {"relearn.steps=2", "quantize.bits=[8]", "relearn.from=int4"});
      },
      ExitCode::kConfig, {"'relearn.from'", "--set relearn.from=int4", "(full, int8)"});
  EXPECT_NO_THROW(
      config_load("", {"relearn.steps=2", "quantize.bits=[8, 4]", "relearn.from=int4"}));
  EXPECT_NO_THROW(
      config_load("", {"relearn.steps=2", "quantize.gptq.bits=[4]", "relearn.from=gptq4"}));
  // No attack, nothing to refuse.
  EXPECT_NO_THROW(config_load("", {"quantize.bits=[8]", "relearn.from=int4"}));
}

TEST(ConfigCheck, TheLaunchedWorldIsCheckedAgainstEveryRule) {
  const std::string path = write_config("cc_world");
  RelapseConfig c = config_load(path, {"parallel.ranks=0"});
  EXPECT_NO_THROW(config_check_across_loaded(c, 2));
  // parallel.ranks = 0: the launched world is the DP size the batch must cover.
  test::expect_error([&] { config_check_across_loaded(c, 4); }, ExitCode::kConfig,
                     {"'unlearn.batch_size'", path + ":4", "DP = 4 ranks"});
  c = config_load("", {"parallel.tp=2"});
  test::expect_error([&] { config_check_across_loaded(c, 3); }, ExitCode::kConfig,
                     {"'parallel.tp'", "--set parallel.tp=2", "does not divide the 3 ranks"});
  c = config_load("", {"parallel.ranks=2"});
  test::expect_error([&] { config_check_across_loaded(c, 4); }, ExitCode::kConfig,
                     {"'parallel.ranks'", "launched with 4 ranks"});
}

// The generations of the evaluation and the training chunks must fit the
// model's context (nano: 512 positions), and the calibration windows the
// calibration text: refused after the data stage, before any model is trained (no models/
// directory), on every rank.
TEST(ConfigCheck, LengthsPastTheContextRefusedBeforeTraining) {
  Runtime& rt = *Runtime::instance();
  const std::string out = test::scratch_dir_shared("cc_context") + "/out";
  RelapseConfig c = nano_config(out, {"eval.verbmem_max_new_tokens=600"});
  test::expect_error([&] { pipeline_run(c, rt, Stage::kEval, "test"); }, ExitCode::kConfig,
                     {"'eval.verbmem_max_new_tokens'", "--set eval.verbmem_max_new_tokens=600",
                      "max_position_embeddings = 512"});
  c = nano_config(out, {"eval.knowmem_max_new_tokens=510"});
  test::expect_error([&] { pipeline_run(c, rt, Stage::kEval, "test"); }, ExitCode::kConfig,
                     {"'eval.knowmem_max_new_tokens'", "longest KnowMem prompt"});
  c = nano_config(out, {"data.max_len=1024"});
  test::expect_error([&] { pipeline_run(c, rt, Stage::kEval, "test"); }, ExitCode::kConfig,
                     {"'data.max_len'", "--set data.max_len=1024", "training chunk"});
  // Calibration windows longer than the calibration text (GPTQ and AWQ need them).
  c = nano_config(out, {"quantize.calibration.n_samples=1", "quantize.calibration.seq_len=100000"});
  test::expect_error(
      [&] { pipeline_run(c, rt, Stage::kEval, "test"); }, ExitCode::kConfig,
      {"'quantize.calibration.seq_len'", "--set quantize.calibration.seq_len=100000", "has only"});
  // A relearning attack on a split the corpus lacks (a copy of the synthesized
  // corpus without its world/ text, as an imported MUSE corpus is).
  const std::string corpus = test::scratch_dir_shared("cc_context") + "/no_world";
  if (rt.rank() == 0) {
    fs::remove_all(corpus);
    fs::copy(out + "/data", corpus, fs::copy_options::recursive);
    fs::remove_all(corpus + "/world");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  c = nano_config(out, {"data.corpus=" + corpus, "relearn.steps=2", "relearn.source=world"});
  test::expect_error([&] { pipeline_run(c, rt, Stage::kEval, "test"); }, ExitCode::kConfig,
                     {"'relearn.source'", "--set relearn.source=world", "world split of"});
  EXPECT_FALSE(fs::exists(out + "/models"));
}
