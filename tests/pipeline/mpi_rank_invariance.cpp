// tests/pipeline/mpi_rank_invariance.cpp — issue 4's "the quickstart at -np 2
// and -np 4 gives the same per-sample evaluation scores as -np 1 for the same
// checkpoints (identical, not approximately)". Run under mpiexec -n 4 only
// (tests/mpi_tests.cmake): the reduced quickstart runs on all 4 ranks; its
// model directories are copied, and the evaluation stage reruns on the copies
// with 2 ranks (two halves of the world, each its own sub-communicator, as a
// sweep would run cells) and with 1 rank (rank 0 alone, with 2 intra-op
// threads instead of 1, so the thread count changes too). Every per-sample
// generation, ROUGE score and Min-K% value must be equal bit for bit.
#include <gtest/gtest.h>

#include <filesystem>

#include "relapse/dist/runtime.h"
#include "relapse/pipeline/config.h"
#include "relapse/pipeline/run.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace relapse;
using namespace relapse::pipeline;
using namespace relapse::results;

namespace {

RelapseConfig reduced_config(const std::string& out) {
  return config_load(
      test::source_dir() + "/configs/tour.yaml",
      {"run.out_dir=" + out, "model.preset=nano", "pretrain.epochs=1", "train.epochs=1",
       "unlearn.epochs=1", "unlearn.max_steps=2", "unlearn.lrs=[1e-4]", "unlearn.large_lrs=[]",
       "eval.max_samples=10", "eval.batch_size=3", "eval.verbmem_max_new_tokens=8",
       "eval.knowmem_max_new_tokens=8", "data.max_len=64", "quantize.calibration.n_samples=6",
       "quantize.calibration.seq_len=32", "quantize.awq.n_sample_token=64",
       // The evaluation is what must not depend on the rank count; the
       // relearning attack trains at each rank count (DP reduction order).
       "relearn.steps=0", "unlearn.sure.lrs=[]"});
}

// Rank 0's scratch directory, broadcast so every rank uses the same paths.
std::string shared_dir() {
  return test::scratch_dir_shared("rank_invariance");
}

void copy_run(const std::string& from, const std::string& to) {
  fs::create_directories(to);
  for (const char* sub : {"data", "models"})
    fs::copy(from + "/" + sub, to + "/" + sub, fs::copy_options::recursive);
}

void expect_same_doubles(const std::vector<double>& a, const std::vector<double>& b,
                         const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i])) {
      EXPECT_TRUE(std::isnan(b[i])) << what << " sample " << i;
    } else {
      EXPECT_EQ(a[i], b[i]) << what << " sample " << i;  // bit-identical, no tolerance
    }
  }
}

void expect_same_results(const RunResult& a, const RunResult& b, const std::string& label) {
  ASSERT_EQ(a.models.size(), b.models.size()) << label;
  int compared = 0;
  for (size_t i = 0; i < a.models.size(); ++i) {
    const ModelResult &ma = a.models[i], &mb = b.models[i];
    ASSERT_EQ(ma.info.name, mb.info.name) << label;
    ASSERT_EQ(ma.evals.size(), mb.evals.size()) << label;
    for (size_t j = 0; j < ma.evals.size(); ++j) {
      const std::string what = label + " " + ma.info.name + " @ " + ma.evals[j].precision;
      const auto &x = ma.evals[j].metrics, &y = mb.evals[j].metrics;
      EXPECT_EQ(x.verbmem_generations, y.verbmem_generations) << what;
      expect_same_doubles(x.verbmem_scores, y.verbmem_scores, what + " verbmem");
      EXPECT_EQ(x.knowmem_forget.generations, y.knowmem_forget.generations) << what;
      expect_same_doubles(x.knowmem_forget.scores, y.knowmem_forget.scores, what + " knowmem_f");
      EXPECT_EQ(x.knowmem_retain.generations, y.knowmem_retain.generations) << what;
      expect_same_doubles(x.knowmem_retain.scores, y.knowmem_retain.scores, what + " knowmem_r");
      expect_same_doubles(x.mink_forget, y.mink_forget, what + " mink forget");
      expect_same_doubles(x.mink_retain, y.mink_retain, what + " mink retain");
      expect_same_doubles(x.mink_holdout, y.mink_holdout, what + " mink holdout");
      EXPECT_EQ(x.privleak_auc, y.privleak_auc) << what;
      EXPECT_EQ(ma.evals[j].code_change.n_codes_changed, mb.evals[j].code_change.n_codes_changed)
          << what;
      ++compared;
    }
  }
  // target, retrain, ga_gdr, npo_gdr at full, int8 and int4.
  EXPECT_EQ(compared, 4 * 5) << label;  // 4 models x full, int8, int4, gptq4, awq4
}

// The rerun must evaluate the copied checkpoints, not train new ones.
void expect_nothing_trained(const RunResult& r, const std::string& label) {
  for (const auto& s : r.stages)
    EXPECT_TRUE(s.stage.rfind("train", 0) != 0 && s.stage.rfind("unlearn", 0) != 0 &&
                s.stage != "pretrain")
        << label << ": stage " << s.stage << " ran again";
}

}  // namespace

TEST(RankInvariance, PerSampleScoresEqualAtOneTwoAndFourRanks) {
  Runtime& rt = *Runtime::instance();
  ASSERT_EQ(rt.world_size(), 4) << "run under mpiexec -n 4";
  const int rank = rt.rank();
  const std::string root = shared_dir();

  const RunResult r4 = pipeline_run(reduced_config(root + "/np4"), rt, Stage::kEval, "test np4");
  if (rank == 0) {
    copy_run(root + "/np4", root + "/np2_a");
    copy_run(root + "/np4", root + "/np2_b");
    copy_run(root + "/np4", root + "/np1");
  }
  MPI_Barrier(MPI_COMM_WORLD);

  // Two ranks: {0, 1} and {2, 3}, each half on its own copy.
  MPI_Comm half;
  MPI_Comm_split(MPI_COMM_WORLD, rank / 2, rank, &half);
  const std::string half_dir = root + (rank / 2 == 0 ? "/np2_a" : "/np2_b");
  const RunResult r2 = pipeline_run(reduced_config(half_dir), rt, Stage::kEval, "test np2", half);
  MPI_Comm_free(&half);
  expect_nothing_trained(r2, "np2");
  expect_same_results(r4, r2, "np4 vs np2");

  // One rank, with two intra-op threads (np 4 on this machine runs one each).
  MPI_Comm solo;
  MPI_Comm_split(MPI_COMM_WORLD, rank == 0 ? 0 : MPI_UNDEFINED, rank, &solo);
  if (rank == 0) {
    const int threads = torch::get_num_threads();
    torch::set_num_threads(2);
    const RunResult r1 =
        pipeline_run(reduced_config(root + "/np1"), rt, Stage::kEval, "test np1", solo);
    torch::set_num_threads(threads);
    MPI_Comm_free(&solo);
    expect_nothing_trained(r1, "np1");
    expect_same_results(r4, r1, "np4 vs np1");
  }
  MPI_Barrier(MPI_COMM_WORLD);
}
