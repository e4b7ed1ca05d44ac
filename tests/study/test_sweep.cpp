// tests/study/test_sweep.cpp — sweep files on fixed specs (issue 7):
// expansion order and resolved configs, zipped axes, the `model` axis
// (preset, fragment, HF directory), stable cell ids (pinned: a change makes
// existing studies lose their done cells), errors naming file and key, the
// plan text, and the study archive built from real cell archives.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

#include "relapse/archive/h5.h"
#include "relapse/core/error.h"
#include "relapse/pipeline/memory_plan.h"
#include "relapse/results/archive.h"
#include "relapse/study/sweep.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace relapse;
using namespace relapse::results;
using namespace relapse::study;
using namespace relapse::pipeline;

namespace {

std::string write(const std::string& dir, const std::string& name, const std::string& text) {
  fs::create_directories(dir);
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

const char* kGrid = R"(name: grid
out_dir: OUT
set:
  unlearn.epochs: 2
axes:
  unlearn.methods: [ga, npo_gdr]
  unlearn.lrs: [1.0e-5, 2.0e-5, 3.0e-5]
zip:
  - model: [nano, tiny]
    parallel.ranks: [1, 2]
)";

std::string grid_file(const std::string& dir) {
  std::string text = kGrid;
  text.replace(text.find("OUT"), 3, dir + "/out");
  return write(dir, "grid.yaml", text);
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kConfig) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

// Cells 1 (tiny) and 8 (nano) of the grid done with the committed small
// run's archive, and the study committed; returns that archive's path.
std::string commit_two_cells(const SweepSpec& spec, const std::vector<SweepCell>& cells) {
  const std::string small = test::source_dir() + "/tests/golden/fixtures/pipeline/small_run.h5";
  for (int i : {1, 8}) {
    fs::create_directories(cells[i].cfg.run.out_dir);
    fs::copy_file(small, sweep_cell_archive(spec, cells[i]));
  }
  sweep_archive_commit(spec, cells);
  return small;
}

}  // namespace

TEST(Sweep, ExpandsTheProductInOrder) {
  const std::string dir = test::scratch_dir("sweep_expand");
  const SweepSpec spec = sweep_load(grid_file(dir));
  EXPECT_EQ(spec.name, "grid");
  ASSERT_EQ(spec.axes.size(), 3u);  // two plain axes, one zip of two keys
  const auto cells = sweep_expand(spec);
  ASSERT_EQ(cells.size(), 2u * 3u * 2u);
  // First axis slowest, the zip fastest.
  const std::vector<std::string> methods = {"ga", "npo_gdr"};
  const std::vector<double> lrs = {1e-5, 2e-5, 3e-5};
  const std::vector<std::string> presets = {"nano", "tiny"};
  for (const auto& c : cells) {
    SCOPED_TRACE(c.index);
    const int i = c.index;
    EXPECT_EQ(c.cfg.unlearn.methods, std::vector<std::string>{methods[i / 6]});
    EXPECT_EQ(c.cfg.unlearn.lrs, std::vector<double>{lrs[(i / 2) % 3]});
    EXPECT_EQ(c.cfg.model.preset, presets[i % 2]);
    EXPECT_EQ(c.ranks, i % 2 + 1);
    EXPECT_EQ(c.cfg.parallel.ranks, i % 2 + 1);
    EXPECT_EQ(c.cfg.unlearn.epochs, 2);  // `set:` reaches every cell
    EXPECT_EQ(c.cfg.run.out_dir, dir + "/out/cells/" + c.id);
    EXPECT_EQ(c.cfg.run.cache_dir, dir + "/out/cache");
    ASSERT_EQ(c.axis_values.size(), 4u);
    EXPECT_EQ(c.axis_values[0].first, "unlearn.methods");
    EXPECT_EQ(c.axis_values[2].first, "model");
    EXPECT_EQ(c.axis_values[2].second, presets[i % 2]);
  }
}

// Pinned ids: the id is a function of the resolved config only. If a change
// to relapse moves these, every existing study would rerun all its cells; it
// must be deliberate (and said in the release notes).
TEST(Sweep, CellIdsAreStableAndIgnoreWhereTheyRun) {
  const std::string dir = test::scratch_dir("sweep_ids");
  const auto cells = sweep_expand(sweep_load(grid_file(dir)));
  std::set<std::string> ids;
  for (const auto& c : cells) {
    EXPECT_TRUE(std::regex_match(c.id, std::regex("[0-9a-f]{12}"))) << c.id;
    ids.insert(c.id);
  }
  EXPECT_EQ(ids.size(), cells.size());
  EXPECT_EQ(cells[0].id, sweep_cell_id(cells[0].cfg));
  // Same config from a different file: other axis order, other study
  // directory, the values given as --set instead of axes.
  const std::string other = write(dir + "/b", "other.yaml", R"(name: other
out_dir: elsewhere
axes:
  parallel.ranks: [2]
  unlearn.lrs: [2.0e-5]
  unlearn.methods: [[npo_gdr]]
set:
  model.preset: tiny
)");
  const auto o = sweep_expand(sweep_load(other, {"unlearn.epochs=2"}));
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o[0].id, cells[9].id);  // npo_gdr, 2e-5, tiny, 2 ranks
  // A config that differs in anything that is computed gets another id.
  RelapseConfig c = cells[9].cfg;
  c.unlearn.alpha = 0.5;
  EXPECT_NE(sweep_cell_id(c), cells[9].id);
  c = cells[9].cfg;
  c.run.out_dir = "x";
  c.run.name = "y";
  c.run.cache_dir = "z";
  EXPECT_EQ(sweep_cell_id(c), cells[9].id);
  // Pinned values (see the comment above).
  EXPECT_EQ(sweep_cell_id(config_load("")), "cbf29ce48422");  // FNV-1a of ""
  EXPECT_EQ(cells[0].id, "4fa726d47ed3");
  EXPECT_EQ(cells[9].id, "d7a4638d52a3");
}

TEST(Sweep, ModelAxisTakesPresetsFragmentsAndDirectories) {
  const std::string dir = test::scratch_dir("sweep_models");
  write(dir + "/models", "wide.yaml",
        "model:\n  preset: small\n  dtype: float32\nparallel:\n  tp: 2\n");
  fs::create_directories(dir + "/hf");
  write(dir + "/hf", "config.json", "{}");
  const std::string f = write(dir, "m.yaml",
                              "models_dir: models\naxes:\n  model: [tiny, wide, " + dir +
                                  "/hf]\nset:\n  parallel.ranks: 2\n");
  const auto cells = sweep_expand(sweep_load(f));
  ASSERT_EQ(cells.size(), 3u);
  EXPECT_EQ(cells[0].cfg.model.preset, "tiny");
  EXPECT_EQ(cells[0].cfg.model.path, "");
  EXPECT_EQ(cells[1].cfg.model.preset, "small");
  EXPECT_EQ(cells[1].cfg.model.dtype, "float32");
  EXPECT_EQ(cells[1].cfg.parallel.tp, 2);
  EXPECT_EQ(cells[2].cfg.model.path, dir + "/hf");
  EXPECT_NE(error_of([&] {
              sweep_expand(sweep_load(write(dir, "bad.yaml", "axes:\n  model: [huge]\n")));
            }).find("model 'huge'"),
            std::string::npos);
}

TEST(Sweep, ErrorsNameTheFileAndTheKey) {
  const std::string dir = test::scratch_dir("sweep_errors");
  auto msg = error_of(
      [&] { sweep_expand(sweep_load(write(dir, "a.yaml", "axes:\n  unlearn.lr: [1]\n"))); });
  EXPECT_NE(msg.find("a.yaml"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'unlearn.lr'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'unlearn.lrs'"), std::string::npos) << msg;
  msg = error_of([&] {
    sweep_load(write(dir, "b.yaml", "zip:\n  - unlearn.lrs: [1, 2]\n    unlearn.alpha: [1]\n"));
  });
  EXPECT_NE(msg.find("b.yaml:3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'unlearn.alpha' has 1 values"), std::string::npos) << msg;
  msg = error_of([&] { sweep_load(write(dir, "c.yaml", "axis:\n  unlearn.lrs: [1]\n")); });
  EXPECT_NE(msg.find("unknown key 'axis'"), std::string::npos) << msg;
  msg = error_of(
      [&] { sweep_expand(sweep_load(write(dir, "d.yaml", "axes:\n  parallel.tp: [1, 0]\n"))); });
  EXPECT_NE(msg.find("cell 1 (parallel.tp=0)"), std::string::npos) << msg;
  msg = error_of([&] {
    sweep_expand(sweep_load(write(dir, "e.yaml", "axes:\n  unlearn.alpha: [1, 1.0]\n")));
  });
  EXPECT_NE(msg.find("cells 0 and 1 resolve to the same config"), std::string::npos) << msg;
  msg = error_of([&] {
    sweep_expand(
        sweep_load(write(dir, "f.yaml", "axes:\n  parallel.ranks: [3]\n  parallel.tp: [2]\n")));
  });
  EXPECT_NE(msg.find("parallel.ranks"), std::string::npos) << msg;
}

TEST(Sweep, PlanListsCellsSizesMemoryAndWhatIsDone) {
  const std::string dir = test::scratch_dir("sweep_plan");
  const SweepSpec spec = sweep_load(grid_file(dir));
  const auto cells = sweep_expand(spec);
  // Cell 3 is done: its archive exists (renamed into place when complete).
  write(cells[3].cfg.run.out_dir, "relapse.h5", "");
  EXPECT_TRUE(sweep_cell_done(spec, cells[3]));
  const std::string text = sweep_plan_text(spec, cells);
  EXPECT_NE(text.find("12 cells, 1 done, 11 to run"), std::string::npos) << text;
  std::istringstream is(text);
  std::string line;
  std::getline(is, line);
  std::getline(is, line);  // header
  EXPECT_NE(line.find("mem/rank GiB"), std::string::npos) << line;
  int n = 0;
  const std::regex row(
      R"(\s*(\d+)  ([0-9a-f]{12})  (done|todo)\s+(\d+)\s+(\d+)\s+(\d+)\s+([0-9.]+)\s+(yes|NO)\s+(.*))");
  while (std::getline(is, line)) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, row)) << line;
    const auto& c = cells[n];
    EXPECT_EQ(std::stoi(m[1]), c.index);
    EXPECT_EQ(m[2], c.id);
    EXPECT_EQ(m[3], n == 3 ? "done" : "todo");
    EXPECT_EQ(std::stoi(m[4]), c.ranks);
    EXPECT_EQ(std::stoi(m[5]) * std::stoi(m[6]), c.ranks);  // DP x TP
    EXPECT_GT(std::stod(m[7]), 0.0);
    EXPECT_EQ(m[9], "unlearn.methods=" + c.axis_values[0].second + "  unlearn.lrs=" +
                        c.axis_values[1].second + "  model=" + c.axis_values[2].second +
                        "  parallel.ranks=" + c.axis_values[3].second);
    ++n;
  }
  EXPECT_EQ(n, 12);
}

// The study archive from real cell archives (the committed small run's,
// tests/golden/fixtures/pipeline/small_run.h5, as two done cells).
TEST(Sweep, StudyArchiveIndexesTheSummaryByTheAxes) {
  const std::string dir = test::scratch_dir("sweep_study");
  const SweepSpec spec = sweep_load(grid_file(dir));
  const auto cells = sweep_expand(spec);
  const std::string small = commit_two_cells(spec, cells);
  const auto rows = archive_read_summary(small);
  archive::H5File f = archive::H5File::open_read(sweep_study_archive(spec));
  archive::H5Group root = f.root();
  EXPECT_EQ(root.open_group("provenance").attr_int("n_done"), 2);
  EXPECT_EQ(
      root.open_group("provenance").attr_strings("axes"),
      (std::vector<std::string>{"unlearn.methods", "unlearn.lrs", "base_model", "parallel.ranks"}));
  // Every cell in the cell table, done or not.
  auto ct = root.read_table("cells_table");
  ASSERT_EQ(std::get<std::vector<int64_t>>(ct[2].values).size(), 12u);
  EXPECT_EQ(std::get<std::vector<int64_t>>(ct[2].values)[8], 1);
  EXPECT_EQ(std::get<std::vector<int64_t>>(ct[2].values)[9], 0);
  // The summary: both cells' rows, led by cell id, index and typed axis columns.
  auto t = root.read_table("summary");
  ASSERT_GE(t.size(), 6u);
  EXPECT_EQ(t[0].name, "cell_id");
  EXPECT_EQ(t[2].name, "unlearn.methods");
  EXPECT_EQ(t[3].name, "unlearn.lrs");
  EXPECT_EQ(t[4].name, "base_model");
  EXPECT_EQ(t[6].name, "params");  // the model's size, from the cell's memory plan
  EXPECT_EQ(t[7].name, "model");   // the cell's own columns follow
  const auto& ids = std::get<std::vector<std::string>>(t[0].values);
  const auto& lr = std::get<std::vector<double>>(t[3].values);  // numbers: float64
  const auto& base = std::get<std::vector<std::string>>(t[4].values);
  const auto& params = std::get<std::vector<int64_t>>(t[6].values);
  const auto& model = std::get<std::vector<std::string>>(t[7].values);
  ASSERT_EQ(ids.size(), 2 * rows.size());
  for (size_t r = 0; r < ids.size(); ++r) {
    const auto& c = cells[r < rows.size() ? 1 : 8];
    EXPECT_EQ(ids[r], c.id);
    EXPECT_EQ(lr[r], c.cfg.unlearn.lrs[0]);
    EXPECT_EQ(base[r], c.cfg.model.preset);
    EXPECT_EQ(params[r], memory_plan(c.cfg, c.ranks).params_total);
    EXPECT_EQ(model[r], rows[r % rows.size()].model);
  }
  EXPECT_GT(params.back(), 0);
  EXPECT_NE(params.front(), params.back());  // tiny and nano
  // Each done cell's whole archive is inside, byte for byte.
  archive::H5File s = archive::H5File::open_read(small);
  for (int i : {1, 8}) {
    archive::H5Group g = root.open_group("cells/" + cells[i].id);
    EXPECT_EQ(g.attr_int("cell"), i);
    EXPECT_EQ(g.children(), s.root().children());
    EXPECT_EQ(g.read_table("summary")[0].values.index(), 2u);
  }
  EXPECT_FALSE(fs::exists(sweep_study_archive(spec) + ".tmp"));
}

// The study report is written with every commit, from the study archive
// alone: the done cells labelled by their axes and placed by their size.
TEST(Sweep, StudyReportReadsTheCellsFromTheStudyArchive) {
  const std::string dir = test::scratch_dir("sweep_study_report");
  const SweepSpec spec = sweep_load(grid_file(dir));
  const auto cells = sweep_expand(spec);
  const std::string small = commit_two_cells(spec, cells);
  const std::string md = test::read_file(spec.out_dir + "/report.md");
  EXPECT_NE(md.find("# Study `grid`"), std::string::npos) << md;
  EXPECT_NE(md.find("2 of 12 cells done"), std::string::npos) << md;
  // The target's forget KnowMem of the fixture, in each cell's row, with
  // the cell's size in millions (two significant digits).
  const RunResult r = archive_read_run(small);
  double t_full = 0;
  for (const auto& m : r.models)
    if (m.info.kind == "target") t_full = m.evals.front().metrics.knowmem_forget.mean;
  for (int i : {1, 8}) {
    const double p = memory_plan(cells[i].cfg, cells[i].ranks).params_total / 1e6;
    const double scale = std::pow(10.0, std::floor(std::log10(p)) - 1);
    char row[256];
    std::snprintf(row, sizeof row,
                  "| `%s` | unlearn.methods=%s, unlearn.lrs=%g, base_model=%s, "
                  "parallel.ranks=%d | %gM | %.1f |",
                  cells[i].id.c_str(), cells[i].cfg.unlearn.methods[0].c_str(),
                  cells[i].cfg.unlearn.lrs[0], cells[i].cfg.model.preset.c_str(), cells[i].ranks,
                  std::round(p / scale) * scale, t_full);
    EXPECT_NE(md.find(row), std::string::npos) << row << "\n" << md;
  }
  // `relapse report study.h5` and `relapse sweep report` write the same.
  sweep_report_write(sweep_study_archive(spec), dir + "/again");
  EXPECT_EQ(test::read_file(dir + "/again/report.md"), md);
  // Not a study archive: the file is named.
  try {
    sweep_report_write(small, dir + "/bad");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("small_run.h5' is not a study archive"), std::string::npos)
        << e.what();
  }
}

// The committed sweeps load and expand: the paper grid on the embedded
// default, and the MUSE-News 7B study (its checkpoints are not here: the plan
// takes the 7B shape from the preset) fits its 80 GiB per rank.
TEST(Sweep, CommittedSweepsExpandAndFit) {
  const std::string dir = test::source_dir() + "/configs/sweeps/";
  const auto grid = sweep_expand(sweep_load(dir + "paper_grid.yaml"));
  ASSERT_EQ(grid.size(), 12u);
  EXPECT_EQ(grid[11].cfg.unlearn.methods, std::vector<std::string>{"npo_klr"});
  EXPECT_EQ(grid[11].cfg.unlearn.lrs, std::vector<double>{1.5e-4});
  EXPECT_TRUE(grid[11].cfg.unlearn.large_lrs.empty());
  const auto news = sweep_expand(sweep_load(dir + "muse_news_7b.yaml"));
  ASSERT_EQ(news.size(), 24u);
  for (const auto& c : news) {
    EXPECT_EQ(c.ranks, 8);
    EXPECT_EQ(c.cfg.parallel.tp, 8);
    const MemoryPlan p = memory_plan(c.cfg, c.ranks);
    EXPECT_EQ(p.shape.hidden_size, 4096);
    EXPECT_EQ(p.shape.num_hidden_layers, 32);
    EXPECT_TRUE(p.fits) << memory_plan_text(p);
  }
  // The size sweep (issue 21): the main job's protocol at six sizes, the last
  // TinyLlama-1.1B's shape.
  const auto size = sweep_expand(sweep_load(dir + "size.yaml"));
  ASSERT_EQ(size.size(), 6u);
  EXPECT_EQ(size[1].cfg.model.preset, "tiny");
  EXPECT_EQ(size[1].cfg.unlearn.seeds.size(), 3u);
  const MemoryPlan one_b = memory_plan(size[5].cfg, size[5].ranks);
  EXPECT_EQ(one_b.shape.hidden_size, 2048);
  EXPECT_EQ(one_b.shape.num_hidden_layers, 22);
  EXPECT_EQ(one_b.shape.num_key_value_heads, 4);
  // MUSE's scalability and sustainability: 6 methods (with their scripts'
  // epochs, zipped) × 4 folds / request lists, no stopping rule.
  const auto scal = sweep_expand(sweep_load(dir + "muse_news_scal.yaml"));
  const auto sust = sweep_expand(sweep_load(dir + "muse_news_sust.yaml"));
  ASSERT_EQ(scal.size(), 24u);
  ASSERT_EQ(sust.size(), 24u);
  EXPECT_EQ(scal[23].cfg.data.forget_requests, std::vector<std::string>{"scal/forget_4"});
  EXPECT_EQ(sust[23].cfg.data.forget_requests.size(), 4u);
  EXPECT_EQ(sust[23].cfg.data.forget_requests[3], "sust/forget_4");
  for (const auto* cells : {&scal, &sust})
    for (const auto& c : *cells) {
      EXPECT_FALSE(c.cfg.unlearn.stop_rule);
      const std::string& m = c.cfg.unlearn.methods.at(0);
      EXPECT_EQ(c.cfg.unlearn.epochs, m == "ga" || m == "npo" ? 1 : m == "ga_gdr" ? 7 : 10) << m;
    }
}
