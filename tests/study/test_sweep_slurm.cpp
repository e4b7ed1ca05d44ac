// tests/study/test_sweep_slurm.cpp — `relapse sweep slurm`
// (relapse/study/sweep_slurm.h) for a 2-node, 8-GPU-per-node layout: the
// generated job arrays equal the hand-written scripts in
// tests/golden/fixtures/pipeline/slurm/ (the spec of the sizing: cells of 16
// ranks on 2 nodes, 8 ranks on 1 node, 1-rank cells packed 8 per task and
// 2-rank cells 4 per task), they pass `bash -n`, and run under bash with a
// stand-in `srun` on PATH that prints its arguments, each array task starts
// exactly the relapse command line for its cells. Plus the errors: a cell
// that does not fill whole nodes, a bad slurm setting, and sbatch missing,
// failing or succeeding (a stand-in sbatch).
//
// The specs and cells are built by hand (no sweep file is read): the ids are
// made up, only their grouping into tasks matters here.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "relapse/study/sweep_slurm.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace relapse;
using namespace relapse::study;
using relapse::test::expect_error;
using relapse::test::read_file;
using relapse::test::scratch_dir;
using relapse::test::write_file;

namespace {

SweepCell cell(const std::string& id, int ranks,
               std::vector<std::pair<std::string, std::string>> axis) {
  SweepCell c;
  c.id = id;
  c.ranks = ranks;
  c.axis_values = std::move(axis);
  return c;
}

// The MUSE-News study as a user would set it up: every slurm option set, two
// setup lines, a relapse build elsewhere, and --set values with spaces and quotes.
SweepSpec news_spec() {
  SweepSpec s;
  s.path = "configs/sweeps/muse_news_7b.yaml";
  s.name = "muse_news";
  s.out_dir = "runs/sweeps/muse_news";
  s.slurm.partition = "gpu";
  s.slurm.account = "proj42";
  s.slurm.time = "12:00:00";
  s.slurm.gpus_per_node = 8;
  s.slurm.cpus_per_task = 12;
  s.slurm.mem = "480G";
  s.slurm.max_parallel = 4;
  s.slurm.relapse_bin = "/opt/relapse/bin/relapse";
  s.slurm.setup = {"module load openmpi/4.1 cuda/12.4", "export NCCL_DEBUG=WARN"};
  return s;
}
const std::vector<std::string> kNewsSets = {"data.corpus=/scratch/MUSE News",
                                            "model.tokenizer=/models/Tom's \"llama\" tokenizer"};

std::string hex_id(const std::string& prefix, int i) {
  static const char* digits = "0123456789abcdef";
  return prefix + std::string(1, digits[i]);
}

// 2 cells of 16 ranks (TP 8 × DP 2), 3 of 8, 11 of 1 and 5 of 2, interleaved
// as a product order might give them; within a size the order is kept.
std::vector<SweepCell> news_cells() {
  std::vector<SweepCell> one, two, eight, sixteen;
  for (int i = 0; i < 11; ++i)
    one.push_back(cell(hex_id("c0100000000", i), 1,
                       {{"model", "tiny"}, {"run.seed", std::to_string(i + 1)}}));
  const char* methods[] = {"ga", "ga_gdr", "ga_klr", "npo", "npo_gdr"};
  for (int i = 0; i < 5; ++i)
    two.push_back(
        cell(hex_id("d0200000000", i + 1), 2,
             {{"model", "small"}, {"parallel.tp", "2"}, {"unlearn.methods", methods[i]}}));
  const char* m8[] = {"ga_gdr", "npo_gdr", "ga_klr"};
  for (int i = 0; i < 3; ++i)
    eight.push_back(
        cell(hex_id("b0800000000", i + 1), 8,
             {{"model", "llama2-7b"}, {"parallel.tp", "8"}, {"unlearn.methods", m8[i]}}));
  const char* lrs[] = {"1.0e-5", "5.0e-5"};
  for (int i = 0; i < 2; ++i)
    sixteen.push_back(
        cell(hex_id("a1600000000", i + 1), 16,
             {{"model", "llama2-13b"}, {"parallel.tp", "8"}, {"unlearn.lrs", lrs[i]}}));
  std::vector<SweepCell> all = {one[0], sixteen[0]};
  for (int i = 1; i < 6; ++i) all.push_back(one[i]);
  all.push_back(eight[0]);
  all.push_back(eight[1]);
  for (auto& c : two) all.push_back(c);
  all.push_back(eight[2]);
  all.push_back(sixteen[1]);
  for (int i = 6; i < 11; ++i) all.push_back(one[i]);
  return all;
}

// Defaults everywhere: no optional #SBATCH lines, the default relapse path.
SweepSpec grid_spec() {
  SweepSpec s;
  s.path = "configs/sweeps/paper_grid.yaml";
  s.name = "paper_grid";
  s.out_dir = "runs/sweeps/paper_grid";
  return s;
}
std::vector<SweepCell> grid_cells() {
  std::vector<SweepCell> v;
  const char* m[] = {"ga_gdr", "npo_gdr", "sure"};
  for (int i = 0; i < 3; ++i)
    v.push_back(cell("e0200000000" + std::to_string(i + 1), 2,
                     {{"unlearn.methods", m[i]}, {"quantize.bits", "[4, 8]"}}));
  return v;
}

// Expects `actual` to equal the committed script, reporting the first differing line.
void expect_golden(const std::string& actual, const std::string& name) {
  const std::string path = relapse::test::fixture_path("pipeline/slurm/" + name);
  // RELAPSE_UPDATE_GOLDEN=1 rewrites the fixture (after a deliberate template
  // change; review the diff before committing it).
  if (std::getenv("RELAPSE_UPDATE_GOLDEN")) write_file(path, actual);
  const std::string expected = read_file(path);
  ASSERT_FALSE(expected.empty()) << "missing fixture " << path;
  if (actual == expected) return;
  std::istringstream a(actual), e(expected);
  std::string la, le;
  for (int line = 1;; ++line) {
    const bool ga = static_cast<bool>(std::getline(a, la)),
               ge = static_cast<bool>(std::getline(e, le));
    if (!ga && !ge) break;
    if (ga != ge || la != le) {
      ADD_FAILURE() << name << " differs from " << path << " at line " << line
                    << ":\n  expected: " << (ge ? le : "<end>")
                    << "\n  actual:   " << (ga ? la : "<end>");
      return;
    }
  }
  ADD_FAILURE() << name << " differs from " << path << " (line endings)";
}

int sh(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

void write_exe(const std::string& path, const std::string& text) {
  write_file(path, text);
  ::chmod(path.c_str(), 0755);
}

// A scratch dir with bin/srun (prints its arguments one per line, then the
// thread settings it was started with) and bin/module (records its call).
std::string fake_slurm_dir() {
  const std::string d = scratch_dir("sweep-slurm");
  fs::create_directories(d + "/bin");
  write_exe(d + "/bin/srun",
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n"
            "echo \"env OMP_NUM_THREADS=$OMP_NUM_THREADS RELAPSE_NUM_THREADS=$RELAPSE_NUM_THREADS "
            "SRUN_CPUS_PER_TASK=$SRUN_CPUS_PER_TASK NCCL_DEBUG=${NCCL_DEBUG:-} pwd=$(pwd)\"\n"
            "exit ${FAKE_SRUN_RC:-0}\n");
  write_exe(d + "/bin/module", "#!/bin/sh\necho \"module $*\" >&2\n");
  write_exe(d + "/bin/scontrol", "#!/bin/sh\necho \"scontrol $*\" >&2\n");
  return d;
}

// Runs `script` as array task `task` of a job submitted from `dir`; stdout
// (what srun printed) in `out`, stderr in `err`; returns bash's exit status.
int run_task(const std::string& dir, const std::string& script, const std::string& task,
             std::string& out, std::string& err, const std::string& extra_env = "") {
  write_file(dir + "/task.sh", script);
  const int rc = sh(
      "cd / && env -i PATH='" + dir + "/bin:/usr/bin:/bin' SLURM_ARRAY_TASK_ID=" + task +
      " SLURM_CPUS_PER_TASK=12 SLURM_JOB_NUM_NODES=1 SLURM_SUBMIT_DIR='" + dir + "' " + extra_env +
      " bash '" + dir + "/task.sh' > '" + dir + "/out.txt' 2> '" + dir + "/err.txt'");
  out = read_file(dir + "/out.txt");
  err = read_file(dir + "/err.txt");
  return rc;
}

std::string lines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& l : v) s += l + "\n";
  return s;
}

}  // namespace

TEST(SweepSlurm, NewsStudyScriptsMatchGolden) {
  const auto scripts =
      sweep_slurm_scripts(news_spec(), news_cells(), "configs/sweeps/muse_news_7b.yaml", kNewsSets);
  ASSERT_EQ(scripts.size(), 4u);
  const int ranks[] = {1, 2, 8, 16}, nodes[] = {1, 1, 1, 2}, n_tasks[] = {2, 2, 3, 2};
  for (size_t i = 0; i < 4; ++i) {
    const SlurmScript& s = scripts[i];
    const std::string name = "muse_news_r" + std::to_string(ranks[i]) + ".sbatch";
    EXPECT_EQ(s.path, "runs/sweeps/muse_news/slurm/" + name);
    EXPECT_EQ(s.ranks_per_cell, ranks[i]);
    EXPECT_EQ(s.nodes, nodes[i]) << name;
    EXPECT_EQ(s.ntasks_per_node, 8) << name;
    EXPECT_EQ(s.gpus_per_task, 1);
    EXPECT_EQ(s.cpus_per_task, 12);
    EXPECT_EQ(s.time, "12:00:00");
    EXPECT_EQ(static_cast<int>(s.tasks.size()), n_tasks[i]) << name;
    expect_golden(s.text, name);
  }
  // The 11 one-rank cells: 8, then 3; the 2-rank ones: 4, then 1.
  EXPECT_EQ(scripts[0].tasks[0].size(), 8u);
  EXPECT_EQ(scripts[0].tasks[1],
            (std::vector<std::string>{"c01000000008", "c01000000009", "c0100000000a"}));
  EXPECT_EQ(scripts[1].tasks[1], (std::vector<std::string>{"d02000000005"}));
  EXPECT_EQ(scripts[3].tasks[1], (std::vector<std::string>{"a16000000002"}));
}

TEST(SweepSlurm, DefaultsScriptMatchesGolden) {
  const auto scripts =
      sweep_slurm_scripts(grid_spec(), grid_cells(), "configs/sweeps/paper_grid.yaml", {});
  ASSERT_EQ(scripts.size(), 1u);
  // Fewer cells (3) than fit a node (4): the allocation holds just those 6 ranks.
  EXPECT_EQ(scripts[0].ntasks_per_node, 6);
  EXPECT_EQ(scripts[0].cpus_per_task, 8);
  EXPECT_EQ(scripts[0].time, "04:00:00");
  expect_golden(scripts[0].text, "paper_grid_r2.sbatch");
  EXPECT_TRUE(sweep_slurm_scripts(grid_spec(), {}, "x.yaml", {}).empty());
  // 3-rank cells on 8-GPU nodes: 8 / 3 = 2 cells per task (6 GPUs used); 5 cells → 3 tasks.
  std::vector<SweepCell> threes;
  for (int i = 0; i < 5; ++i) threes.push_back(cell("f0300000000" + std::to_string(i), 3, {}));
  const auto t = sweep_slurm_scripts(grid_spec(), threes, "x.yaml", {});
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].ntasks_per_node, 6);
  EXPECT_EQ(t[0].tasks, (std::vector<std::vector<std::string>>{{"f03000000000", "f03000000001"},
                                                               {"f03000000002", "f03000000003"},
                                                               {"f03000000004"}}));
  EXPECT_NE(t[0].text.find("  2) CELLS=f03000000004; NTASKS=3 ;;\n"), std::string::npos);
  EXPECT_NE(t[0].text.find("#SBATCH --array=0-2\n"), std::string::npos);
}

TEST(SweepSlurm, ScriptsAreValidBash) {
  auto scripts =
      sweep_slurm_scripts(news_spec(), news_cells(), "configs/sweeps/muse_news_7b.yaml", kNewsSets);
  auto grid = sweep_slurm_scripts(grid_spec(), grid_cells(), "configs/sweeps/paper_grid.yaml", {});
  scripts.push_back(grid[0]);
  const std::string dir = scratch_dir("sweep-slurm-syntax");
  for (const auto& s : scripts) {
    const std::string p = dir + "/" + fs::path(s.path).filename().string();
    write_file(p, s.text);
    EXPECT_EQ(sh("bash -n '" + p + "'"), 0) << s.path;
  }
  // A broken script fails the same check (the check can fail).
  write_file(dir + "/broken.sbatch", "case x in\n  0) echo ;;\n");
  EXPECT_NE(sh("bash -n '" + dir + "/broken.sbatch' 2>/dev/null"), 0);
}

TEST(SweepSlurm, EachArrayTaskRunsItsCells) {
  const auto scripts =
      sweep_slurm_scripts(news_spec(), news_cells(), "configs/sweeps/muse_news_7b.yaml", kNewsSets);
  const std::string dir = fake_slurm_dir();
  const std::vector<std::string> sets = {"--set", "data.corpus=/scratch/MUSE News", "--set",
                                         "model.tokenizer=/models/Tom's \"llama\" tokenizer"};
  auto expected = [&](int ntasks, const std::string& bin, const std::string& cells) {
    std::vector<std::string> v = {"--mpi=pmix",
                                  "--cpu-bind=cores",
                                  "--ntasks=" + std::to_string(ntasks),
                                  bin,
                                  "sweep",
                                  "run",
                                  "configs/sweeps/muse_news_7b.yaml",
                                  "--cells",
                                  cells};
    v.insert(v.end(), sets.begin(), sets.end());
    v.push_back(
        "env OMP_NUM_THREADS=12 RELAPSE_NUM_THREADS=12 SRUN_CPUS_PER_TASK=12 NCCL_DEBUG=WARN pwd=" +
        dir);
    return lines(v);
  };
  std::string out, err;
  // 1-rank cells, task 1: the last 3 cells on 3 ranks.
  ASSERT_EQ(run_task(dir, scripts[0].text, "1", out, err), 0) << err;
  EXPECT_EQ(out, expected(3, "/opt/relapse/bin/relapse", "c01000000008,c01000000009,c0100000000a"));
  EXPECT_NE(err.find("module load openmpi/4.1 cuda/12.4"), std::string::npos) << err;
  // Task 0: the first 8 cells on the whole node.
  ASSERT_EQ(run_task(dir, scripts[0].text, "0", out, err), 0) << err;
  EXPECT_EQ(
      out, expected(8, "/opt/relapse/bin/relapse",
                    "c01000000000,c01000000001,c01000000002,c01000000003,c01000000004,c01000000005,"
                    "c01000000006,c01000000007"));
  // 2-rank cells, task 0: 4 cells on 8 ranks; $RELAPSE_BIN overrides the default.
  ASSERT_EQ(run_task(dir, scripts[1].text, "0", out, err, "RELAPSE_BIN='/my build/relapse'"), 0)
      << err;
  EXPECT_EQ(
      out, expected(8, "/my build/relapse", "d02000000001,d02000000002,d02000000003,d02000000004"));
  // 16-rank cells, task 1: one cell on both nodes.
  ASSERT_EQ(run_task(dir, scripts[3].text, "1", out, err), 0) << err;
  EXPECT_EQ(out, expected(16, "/opt/relapse/bin/relapse", "a16000000002"));
  // A task id past the array, or no array task at all: exit 2, nothing started.
  EXPECT_EQ(run_task(dir, scripts[2].text, "3", out, err), 2);
  EXPECT_EQ(out, "");
  EXPECT_NE(err.find("no cells for array task '3'"), std::string::npos) << err;
  EXPECT_EQ(run_task(dir, scripts[2].text, "", out, err), 2);
  EXPECT_EQ(out, "");
}

// A task whose ranks were preempted inside training (relapse exits 75 with a
// checkpoint saved) requeues itself and passes 75 on; other failures do not
// requeue.
TEST(SweepSlurm, PreemptedTaskRequeuesItself) {
  const auto s =
      sweep_slurm_scripts(grid_spec(), grid_cells(), "configs/sweeps/paper_grid.yaml", {});
  EXPECT_NE(s[0].text.find("#SBATCH --signal=TERM@300\n#SBATCH --requeue\n"), std::string::npos);
  const std::string dir = fake_slurm_dir();
  std::string out, err;
  EXPECT_EQ(run_task(dir, s[0].text, "0", out, err, "FAKE_SRUN_RC=75 SLURM_JOB_ID=4242"), 75);
  EXPECT_NE(err.find("scontrol requeue 4242"), std::string::npos) << err;
  EXPECT_EQ(run_task(dir, s[0].text, "0", out, err, "FAKE_SRUN_RC=5 SLURM_JOB_ID=4242"), 5);
  EXPECT_EQ(err.find("scontrol"), std::string::npos) << err;
}

TEST(SweepSlurm, DefaultRelapseBinary) {
  const auto s =
      sweep_slurm_scripts(grid_spec(), grid_cells(), "configs/sweeps/paper_grid.yaml", {});
  const std::string dir = fake_slurm_dir();
  std::string out, err;
  ASSERT_EQ(run_task(dir, s[0].text, "0", out, err), 0) << err;
  EXPECT_EQ(
      out,
      lines(
          {"--mpi=pmix", "--cpu-bind=cores", "--ntasks=6", "build/src/cli/relapse", "sweep", "run",
           "configs/sweeps/paper_grid.yaml", "--cells", "e02000000001,e02000000002,e02000000003",
           "env OMP_NUM_THREADS=12 RELAPSE_NUM_THREADS=12 SRUN_CPUS_PER_TASK=12 NCCL_DEBUG= pwd=" +
               dir}));
}

TEST(SweepSlurm, ShellQuote) {
  EXPECT_EQ(sweep_slurm_shell_quote("unlearn.lrs=[1e-5]"), "'unlearn.lrs=[1e-5]'");
  EXPECT_EQ(sweep_slurm_shell_quote("a=b,c:d/e"), "a=b,c:d/e");
  EXPECT_EQ(sweep_slurm_shell_quote(""), "''");
  EXPECT_EQ(sweep_slurm_shell_quote("it's"), "'it'\\''s'");
  // Round trip through bash for the awkward characters.
  const std::string v = "a b 'c' \"d\" $HOME `x` \\ ; * ! \n end";
  const std::string dir = scratch_dir("sweep-slurm-quote");
  write_file(dir + "/q.sh",
             "printf '%s' " + sweep_slurm_shell_quote(v) + " > '" + dir + "/q.out'\n");
  ASSERT_EQ(sh("bash '" + dir + "/q.sh'"), 0);
  EXPECT_EQ(read_file(dir + "/q.out"), v);
}

TEST(SweepSlurm, Errors) {
  // 12 ranks on 8-GPU nodes: not whole nodes.
  auto cells = grid_cells();
  cells.push_back(cell("f12000000001", 12, {{"parallel.tp", "4"}}));
  expect_error([&] { sweep_slurm_scripts(grid_spec(), cells, "s.yaml", {}); }, ExitCode::kConfig,
               {"f12000000001", "12", "gpus_per_node = 8", "configs/sweeps/paper_grid.yaml"});
  SweepSpec bad = grid_spec();
  bad.slurm.time = "4h";
  expect_error([&] { sweep_slurm_scripts(bad, grid_cells(), "s.yaml", {}); }, ExitCode::kConfig,
               {"slurm.time", "4h"});
  bad = grid_spec();
  bad.slurm.gpus_per_node = 0;
  expect_error([&] { sweep_slurm_scripts(bad, grid_cells(), "s.yaml", {}); }, ExitCode::kConfig,
               {"slurm.gpus_per_node"});
  bad = grid_spec();
  bad.slurm.partition = "gpu\"x";
  expect_error([&] { sweep_slurm_scripts(bad, grid_cells(), "s.yaml", {}); }, ExitCode::kConfig,
               {"slurm.partition"});
  // Slurm's other time formats are accepted.
  for (const char* t : {"30", "30:00", "1-00", "1-12:00", "2-00:00:00"}) {
    SweepSpec ok = grid_spec();
    ok.slurm.time = t;
    EXPECT_NO_THROW(sweep_slurm_scripts(ok, grid_cells(), "s.yaml", {})) << t;
  }
}

TEST(SweepSlurm, WriteCreatesTheSlurmDir) {
  const std::string dir = scratch_dir("sweep-slurm-write");
  SweepSpec spec = grid_spec();
  spec.out_dir = dir + "/study";
  const auto s = sweep_slurm_scripts(spec, grid_cells(), "g.yaml", {});
  sweep_slurm_write(s);
  EXPECT_EQ(s[0].path, dir + "/study/slurm/paper_grid_r2.sbatch");
  EXPECT_EQ(read_file(s[0].path), s[0].text);
  EXPECT_FALSE(fs::exists(s[0].path + ".tmp"));
  EXPECT_NE(s[0].text.find("#SBATCH --output=" + dir + "/study/slurm/%x-%A_%a.out\n"),
            std::string::npos);
}

TEST(SweepSlurm, Submit) {
  const std::string dir = scratch_dir("sweep-slurm-submit");
  SweepSpec spec = grid_spec();
  spec.out_dir = dir + "/study";
  auto cells = grid_cells();
  cells.push_back(cell("f16000000001", 16, {}));
  const auto s = sweep_slurm_scripts(spec, cells, "g.yaml", {});
  ASSERT_EQ(s.size(), 2u);
  sweep_slurm_write(s);
  const char* old_path = std::getenv("PATH");
  const std::string saved_path = old_path ? old_path : "/usr/bin:/bin";
  ::unsetenv("RELAPSE_SBATCH");

  // No sbatch anywhere: a clear error naming what to do.
  fs::create_directories(dir + "/empty");
  ::setenv("PATH", (dir + "/empty").c_str(), 1);
  expect_error([&] { sweep_slurm_submit(s); }, ExitCode::kEnvironment,
               {"sbatch not found", s[0].path});

  // A stand-in sbatch on PATH: job ids in order; it was given each script.
  fs::create_directories(dir + "/bin");
  write_exe(dir + "/bin/sbatch",
            "#!/bin/sh\necho \"$1\" >> '" + dir +
                "/submitted.txt'\n"
                "n=$(wc -l < '" +
                dir + "/submitted.txt')\necho \"Submitted batch job $((4241 + n))\"\n");
  ::setenv("PATH", (dir + "/bin:" + saved_path).c_str(), 1);
  EXPECT_EQ(sweep_slurm_submit(s), (std::vector<std::string>{"4242", "4243"}));
  EXPECT_EQ(read_file(dir + "/submitted.txt"), s[0].path + "\n" + s[1].path + "\n");

  // $RELAPSE_SBATCH wins over PATH; a failing sbatch names the script and its output.
  write_exe(dir + "/fail.sh",
            "#!/bin/sh\necho \"sbatch: error: invalid partition specified: gpu\" >&2\nexit 1\n");
  ::setenv("RELAPSE_SBATCH", (dir + "/fail.sh").c_str(), 1);
  expect_error([&] { sweep_slurm_submit(s); }, ExitCode::kInput,
               {s[0].path, "invalid partition specified"});
  // One that prints no job id.
  write_exe(dir + "/odd.sh", "#!/bin/sh\necho hello\n");
  ::setenv("RELAPSE_SBATCH", (dir + "/odd.sh").c_str(), 1);
  expect_error([&] { sweep_slurm_submit(s); }, ExitCode::kInternal,
               {"Submitted batch job", "hello"});
  ::setenv("RELAPSE_SBATCH", (dir + "/missing").c_str(), 1);
  expect_error([&] { sweep_slurm_submit(s); }, ExitCode::kEnvironment,
               {"RELAPSE_SBATCH", "missing"});

  ::unsetenv("RELAPSE_SBATCH");
  ::setenv("PATH", saved_path.c_str(), 1);
}
