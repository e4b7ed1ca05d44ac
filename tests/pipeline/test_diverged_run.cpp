// tests/pipeline/test_diverged_run.cpp — a diverged unlearning run (issue 22):
// one run of the grid with a learning rate that overflows the weights (1e37:
// AdamW's first update is ~lr, past bf16's range) stops at the first update
// whose gradient norm is not finite, is recorded as diverged (archive attribute,
// report and summary line, no evaluations), while the other run of the grid is
// evaluated as usual; a rerun finds both in the cache. A diverged training of
// the target is an error naming the stage (exit 3: lower its learning rate).
// Under mpirun -np 2 (tests/mpi_tests.cmake) the same holds data-parallel: the
// gradient norm is taken after the DP reduction, so both ranks stop together.
#include <cmath>

#include "relapse/dist/runtime.h"
#include "relapse/pipeline/config.h"
#include "relapse/pipeline/run.h"
#include "relapse/report/report.h"
#include "relapse/results/archive.h"
#include "test_util.h"

using namespace relapse;
using namespace relapse::pipeline;
using namespace relapse::results;

namespace {

RelapseConfig diverging_config(const std::string& out) {
  return config_load(
      test::source_dir() + "/configs/tour.yaml",
      {"run.out_dir=" + out, "model.preset=nano", "pretrain.epochs=1", "train.epochs=1",
       "unlearn.epochs=1", "unlearn.max_steps=4", "unlearn.methods=[ga_gdr]",
       "unlearn.lrs=[1e-4, 1e37]", "unlearn.large_lrs=[]", "unlearn.sure.lrs=[]",
       "eval.max_samples=4", "eval.verbmem_max_new_tokens=8", "eval.knowmem_max_new_tokens=8",
       "data.max_len=64", "quantize.gptq.bits=[]", "quantize.awq.bits=[]", "relearn.steps=0"});
}

}  // namespace

TEST(DivergedRun, RecordedNotEvaluatedAndTheOthersGoOn) {
  Runtime& rt = *Runtime::instance();
  const RelapseConfig cfg = diverging_config(test::scratch_dir_shared("diverged") + "/out");
  for (int pass = 0; pass < 2; ++pass) {  // the second pass reads both runs from the cache
    SCOPED_TRACE(pass == 0 ? "fresh" : "cached");
    const RunResult r = pipeline_run(cfg, rt, Stage::kEval, "test diverged");
    const ModelResult* ok = run_find_model(r, "ga_gdr_lr0.0001");
    const ModelResult* bad = run_find_model(r, "ga_gdr_lr1e+37");
    ASSERT_NE(ok, nullptr);
    ASSERT_NE(bad, nullptr);
    EXPECT_EQ(ok->info.diverged_step, 0);
    EXPECT_EQ(ok->evals.size(), 3u);  // full, int8, int4
    EXPECT_TRUE(std::isfinite(ok->evals[0].metrics.knowmem_forget.mean));
    // Update 1 moves the weights by ~1e37 (finite gradient); update 2's
    // gradient is NaN: stopped there, nothing evaluated.
    EXPECT_EQ(bad->info.diverged_step, 2);
    EXPECT_EQ(bad->info.steps, 2);
    ASSERT_EQ(bad->info.curve.size(), 2u);
    EXPECT_TRUE(std::isfinite(bad->info.curve[0].grad_norm));
    EXPECT_FALSE(std::isfinite(bad->info.curve[1].grad_norm));
    EXPECT_TRUE(bad->evals.empty());
    const std::string table = report::summary_table_text(r);
    EXPECT_NE(table.find("not evaluated): ga_gdr_lr1e+37 at update 2"), std::string::npos) << table;
    // The archive keeps the mark; the run that did not diverge has none.
    if (rt.rank() == 0) {
      const RunResult back = archive_read_run(pipeline_archive_path(cfg));
      EXPECT_EQ(run_find_model(back, "ga_gdr_lr1e+37")->info.diverged_step, 2);
      EXPECT_EQ(run_find_model(back, "ga_gdr_lr0.0001")->info.diverged_step, 0);
      EXPECT_TRUE(run_find_model(back, "ga_gdr_lr1e+37")->evals.empty());
      const std::string md = test::read_file(cfg.run.out_dir + "/report.md");
      EXPECT_NE(md.find("| 2 (diverged) |"), std::string::npos);
    }
  }
}

TEST(DivergedRun, DivergedTargetTrainingIsAnError) {
  Runtime& rt = *Runtime::instance();
  RelapseConfig cfg = diverging_config(test::scratch_dir_shared("diverged_train") + "/out");
  cfg.train.stage.lr = 1e37;
  test::expect_error([&] { pipeline_run(cfg, rt, Stage::kTrain, "test diverged train"); },
                     ExitCode::kConfig, {"train target", "diverged at update", "learning rate"});
}
