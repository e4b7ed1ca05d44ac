// tests/pipeline/all_methods_grid.cpp — issue 23's reduced grid in CI: every
// unlearning objective relapse has (the paper's six, SimNPO, WGA, SatImp and
// UNDIAL, each with no / GDR / KLR retain term, and RMU on the second layer)
// for one update on a nano model of the embedded default, then RTN int8 / int4 and GPTQ-4 and the
// MUSE evaluation, end to end through the pipeline. Checked: one archive row per method ×
// precision, each method's run named after it, finite metrics, and every unlearned model's int8
// codes moved away from the target's (the update did something). Run at np 2 only
// (tests/CMakeLists.txt): data-parallel unlearning, evaluation and GPTQ calibration shared between
// the ranks.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "relapse/dist/runtime.h"
#include "relapse/pipeline/config.h"
#include "relapse/pipeline/run.h"
#include "relapse/results/archive.h"
#include "relapse/unlearn/losses.h"
#include "test_util.h"

using namespace relapse;
using namespace relapse::pipeline;
using namespace relapse::results;

namespace {

std::string all_methods_list() {
  std::string s = "[";
  for (const std::string& m : unlearn::objective_names()) s += (s.size() > 1 ? ", " : "") + m;
  return s + "]";
}

RelapseConfig all_methods_config(const std::string& out) {
  return config_load(
      test::source_dir() + "/configs/tour.yaml",
      {"run.out_dir=" + out, "model.preset=nano", "pretrain.epochs=1", "train.epochs=1",
       "unlearn.epochs=1", "unlearn.max_steps=1", "unlearn.methods=" + all_methods_list(),
       "unlearn.rmu_layer=1", "unlearn.lrs=[1e-3]", "unlearn.large_lrs=[]", "unlearn.sure.lrs=[]",
       "quantize.awq.bits=[]", "quantize.calibration.n_samples=8",
       "quantize.calibration.seq_len=32", "relearn.steps=0", "eval.max_samples=4",
       "eval.verbmem_max_new_tokens=4", "eval.knowmem_max_new_tokens=4", "data.max_len=64"});
}

}  // namespace

TEST(AllMethods, EveryObjectiveRunsThroughQuantizationAndEvaluation) {
  Runtime& rt = *Runtime::instance();
  const std::string root = test::scratch_dir_shared("all_methods");
  const RelapseConfig cfg = all_methods_config(root + "/run");
  pipeline_run(cfg, rt, Stage::kEval, "test all methods");

  const std::vector<std::string> methods = unlearn::objective_names();
  const std::set<std::string> precisions = {"full", "int8", "int4", "gptq4"};
  std::map<std::string, std::set<std::string>> seen;  // method -> precisions
  std::map<std::string, double> target_verbmem;       // precision -> the target's VerbMem
  std::vector<SummaryRow> rows = archive_read_summary(pipeline_archive_path(cfg));
  for (const SummaryRow& s : rows)
    if (s.kind == "target") target_verbmem[s.precision] = s.verbmem_f;
  for (const SummaryRow& s : rows) {
    if (s.kind != "unlearned") continue;
    SCOPED_TRACE(s.model + " @ " + s.precision);
    EXPECT_EQ(s.model.rfind(s.method + "_lr", 0), 0u) << "a run is named after its method";
    EXPECT_TRUE(precisions.count(s.precision));
    EXPECT_TRUE(std::isfinite(s.verbmem_f) && std::isfinite(s.knowmem_f) &&
                std::isfinite(s.knowmem_r) && std::isfinite(s.privleak_auc));
    // The int8 codes against the target's: one AdamW update at 1e-3 moves
    // every weight with a gradient by ~1e-3, twice int8's bucket on a nano
    // model (|w| ≲ 0.07), so a method whose update did nothing shows 0 here.
    if (s.precision == "int8") EXPECT_GT(s.codes_changed_frac, 0.0);
    seen[s.method].insert(s.precision);
  }
  ASSERT_EQ(seen.size(), methods.size());
  for (const std::string& m : methods) EXPECT_EQ(seen[m], precisions) << m;
  EXPECT_EQ(target_verbmem.size(), precisions.size());
}
