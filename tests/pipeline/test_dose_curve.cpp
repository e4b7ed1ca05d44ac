// tests/pipeline/test_dose_curve.cpp — issue 21's reduced dose–response in CI:
// configs/quickstart.yaml cut to a nano model, two learning rates × two seeds
// of ga_gdr and RTN int8/int4, run end to end; then the archive's structure
// (a model per LR × seed with its group and seed, every precision), the
// report's dose section and its figure (one point per LR and precision).
// Under mpirun -np 2 (tests/mpi_tests.cmake) the run is data-parallel and its
// checkpoints are evaluated again by rank 0 alone: every per-LR, per-seed row
// of the curve is the same at one and two ranks, bit for bit.
#include <gtest/gtest.h>

#include <filesystem>

#include "relapse/dist/runtime.h"
#include "relapse/pipeline/config.h"
#include "relapse/pipeline/run.h"
#include "relapse/results/archive.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace relapse;
using namespace relapse::pipeline;
using namespace relapse::results;

namespace {

RelapseConfig dose_config(const std::string& out) {
  return config_load(test::source_dir() + "/configs/quickstart.yaml",
                     {"run.out_dir=" + out,
                      "model.preset=nano",
                      "pretrain.epochs=1",
                      "train.epochs=1",
                      "unlearn.epochs=1",
                      "unlearn.max_steps=2",
                      "unlearn.methods=[ga_gdr]",
                      "unlearn.lrs=[1e-4, 1e-3]",
                      "unlearn.seeds=[1, 2]",
                      "unlearn.large_lrs=[]",
                      "unlearn.sure.lrs=[]",
                      "quantize.gptq.bits=[]",
                      "quantize.awq.bits=[]",
                      "relearn.steps=0",
                      "eval.max_samples=4",
                      "eval.verbmem_max_new_tokens=8",
                      "eval.knowmem_max_new_tokens=8",
                      "data.max_len=64",
                      "train.target=\"\"",
                      "train.retrain=\"\""});
}

size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST(DoseCurve, ReducedCurveWritesItsRowsSectionAndFigure) {
  Runtime& rt = *Runtime::instance();
  const int rank = rt.rank();
  const std::string root = test::scratch_dir_shared("dose_curve");
  const RelapseConfig cfg = dose_config(root + "/run");
  const RunResult r = pipeline_run(cfg, rt, Stage::kEval, "test dose");

  // target, retrain, then ga_gdr at 2 LRs × 2 seeds; each at full, int8, int4.
  const std::vector<SummaryRow> rows = archive_read_summary(pipeline_archive_path(cfg));
  ASSERT_EQ(rows.size(), 6u * 3u);
  int points = 0;
  for (const SummaryRow& s : rows) {
    if (s.kind != "unlearned") continue;
    SCOPED_TRACE(s.model + " @ " + s.precision);
    EXPECT_TRUE(s.group == "ga_gdr_lr0.0001" || s.group == "ga_gdr_lr0.001");
    EXPECT_EQ(s.model, s.group + "_s" + std::to_string(s.seed));
    EXPECT_EQ(s.lr_regime, "small");
    EXPECT_TRUE(std::isfinite(s.knowmem_f));
    if (s.precision != "full") EXPECT_TRUE(std::isfinite(s.band[1].d));  // knowmem_f − full
    ++points;
  }
  EXPECT_EQ(points, 4 * 3);

  if (rank == 0) {
    const std::string report = test::read_file(cfg.run.out_dir + "/report.md");
    EXPECT_NE(report.find("## Dose–response"), std::string::npos);
    EXPECT_NE(report.find("### ga_gdr"), std::string::npos);
    EXPECT_NE(report.find("| 0.0001 | small | 2 |"), std::string::npos) << report;
    EXPECT_NE(report.find("| 0.001 | small | 2 |"), std::string::npos) << report;
    EXPECT_NE(report.find("![Dose–response of ga_gdr"), std::string::npos);
    const std::string svg = test::read_file(cfg.run.out_dir + "/fig_dose_ga_gdr.svg");
    ASSERT_FALSE(svg.empty());
    // full, int8 and int4 at both LRs: one marker each, each naming its seeds.
    EXPECT_EQ(count(svg, "2 seeds, small LR"), 3u * 2u) << svg;
  }

  // Data-parallel: the same checkpoints evaluated by one rank give the same rows.
  if (rt.world_size() < 2) return;
  if (rank == 0) {
    fs::create_directories(root + "/solo");
    for (const char* sub : {"data", "models"})
      fs::copy(root + "/run/" + sub, root + "/solo/" + sub, fs::copy_options::recursive);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Comm solo;
  MPI_Comm_split(MPI_COMM_WORLD, rank == 0 ? 0 : MPI_UNDEFINED, rank, &solo);
  if (rank == 0) {
    const RunResult one =
        pipeline_run(dose_config(root + "/solo"), rt, Stage::kEval, "dose np1", solo);
    MPI_Comm_free(&solo);
    for (const auto& s : one.stages)
      EXPECT_TRUE(s.stage.rfind("train", 0) != 0 && s.stage.rfind("unlearn", 0) != 0 &&
                  s.stage != "pretrain")
          << "stage " << s.stage << " ran again";
    const std::vector<SummaryRow> solo_rows = archive_read_summary(root + "/solo/relapse.h5");
    ASSERT_EQ(solo_rows.size(), rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      SCOPED_TRACE(rows[i].model + " @ " + rows[i].precision);
      EXPECT_EQ(solo_rows[i].model, rows[i].model);
      EXPECT_EQ(solo_rows[i].seed, rows[i].seed);
      EXPECT_EQ(solo_rows[i].lr, rows[i].lr);
      EXPECT_EQ(solo_rows[i].knowmem_f, rows[i].knowmem_f);  // bit for bit
      EXPECT_EQ(solo_rows[i].knowmem_r, rows[i].knowmem_r);
      EXPECT_EQ(solo_rows[i].verbmem_f, rows[i].verbmem_f);
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
}
