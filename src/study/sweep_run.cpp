// src/study/sweep_run.cpp — `relapse sweep run`: the cells that are not
// done, concurrently on sub-communicators of equal size, each committed to
// the study archive when it ends (relapse/study/sweep.h, sweep_run).
#include <algorithm>
#include <filesystem>
#include <map>

#include "relapse/core/error.h"
#include "relapse/core/fs.h"
#include "relapse/core/log.h"
#include "relapse/dist/communicator.h"
#include "relapse/pipeline/memory_plan.h"
#include "relapse/pipeline/run.h"
#include "relapse/study/sweep.h"

namespace fs = std::filesystem;

namespace relapse::study {

namespace {

// Indices (into `cells`) of the cells to run, decided on rank 0 (one view of
// the file system) and broadcast.
std::vector<int> cells_todo(const SweepSpec& spec, const std::vector<SweepCell>& cells,
                            const std::vector<std::string>& only, int rank, MPI_Comm comm) {
  std::vector<int> todo;
  for (const auto& id : only) {
    const bool known =
        std::any_of(cells.begin(), cells.end(), [&](const SweepCell& c) { return c.id == id; });
    RELAPSE_CHECK_CODE(ExitCode::kUsage, known, "sweep ", spec.path, ": no cell has the id '", id,
                       "' (relapse sweep plan lists them)");
  }
  if (rank == 0)
    for (size_t i = 0; i < cells.size(); ++i) {
      const bool wanted =
          only.empty() || std::find(only.begin(), only.end(), cells[i].id) != only.end();
      if (wanted && !sweep_cell_done(spec, cells[i])) todo.push_back(static_cast<int>(i));
    }
  int n = static_cast<int>(todo.size());
  RELAPSE_MPI_CHECK(MPI_Bcast(&n, 1, MPI_INT, 0, comm));
  todo.resize(n);
  if (n > 0) RELAPSE_MPI_CHECK(MPI_Bcast(todo.data(), n, MPI_INT, 0, comm));
  return todo;
}

// Refuses before anything runs: sizes that do not fit the world, plans that
// do not fit the memory.
void cells_check_fit(const SweepSpec& spec, const std::vector<SweepCell>& cells,
                     const std::vector<int>& todo, int world) {
  for (int i : todo) {
    const SweepCell& c = cells[i];
    RELAPSE_CHECK_CONFIG(c.ranks <= world, "sweep ", spec.path, ": cell ", c.index, " (", c.id,
                         ") needs ", c.ranks, " ranks (parallel.ranks), this job has ", world);
    const pipeline::MemoryPlan mp = pipeline::memory_plan(c.cfg, c.ranks);
    if (!mp.fits) {
      try {
        pipeline::memory_plan_require_fit(mp);
      } catch (const Error& e) {
        throw Error(e.code(),
                    "sweep " + spec.path + ", cell " + std::to_string(c.index) + " (" + c.id +
                        "): " + e.what(),
                    e.where());
      }
    }
  }
}

// The cells of one size, `size` ranks each, side by side on sub-communicators
// of `comm` (rank r in group r / size; ranks past the last full group idle).
void cells_run_size(const SweepSpec& spec, const std::vector<SweepCell>& cells,
                    const std::vector<int>& todo, int size, Runtime& rt,
                    const std::string& command_line, MPI_Comm comm, int rank, int world) {
  std::vector<int> mine_all;
  for (int i : todo)
    if (cells[i].ranks == size) mine_all.push_back(i);
  const int groups = world / size;
  const int group = rank / size < groups ? rank / size : MPI_UNDEFINED;
  MPI_Comm sub = MPI_COMM_NULL;
  RELAPSE_MPI_CHECK(MPI_Comm_split(comm, group, rank, &sub));
  if (rank == 0)
    for (size_t k = 0; k < mine_all.size(); ++k) {
      const SweepCell& c = cells[mine_all[k]];
      const int g = static_cast<int>(k % groups);
      log_info("sweep: cell ", c.index, " (", c.id, ") on ranks ", g * size, "..",
               g * size + size - 1);
    }
  if (group != MPI_UNDEFINED) {
    for (size_t k = group; k < mine_all.size(); k += groups) {
      const SweepCell& c = cells[mine_all[k]];
      int sub_rank = 0;
      RELAPSE_MPI_CHECK(MPI_Comm_rank(sub, &sub_rank));
      // Each cell's rank 0 logs, its lines tagged with the cell.
      log_scope_begin("cell " + c.id, sub_rank, size);
      pipeline::pipeline_run(c.cfg, rt, pipeline::Stage::kEval, command_line, sub);
      if (sub_rank == 0) sweep_archive_commit(spec, cells);
      log_scope_end();
    }
    RELAPSE_MPI_CHECK(MPI_Comm_free(&sub));
  }
  RELAPSE_MPI_CHECK(MPI_Barrier(comm));
}

}  // namespace

int sweep_run(const SweepSpec& spec, const std::vector<SweepCell>& cells,
              const std::vector<std::string>& only, Runtime& rt, const std::string& command_line,
              MPI_Comm comm) {
  int rank = 0, world = 1;
  RELAPSE_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  RELAPSE_MPI_CHECK(MPI_Comm_size(comm, &world));
  const std::vector<int> todo = cells_todo(spec, cells, only, rank, comm);
  cells_check_fit(spec, cells, todo, world);
  if (rank == 0) {
    log_info("sweep ", spec.name, ": ", cells.size(), " cells, ", todo.size(), " to run on ", world,
             " ranks; study archive ", sweep_study_archive(spec));
    // Each cell's resolved config beside its results: `relapse run` of it
    // alone reproduces the cell.
    for (int i : todo) {
      fs::create_directories(cells[i].cfg.run.out_dir);
      fs_write_file_atomic(cells[i].cfg.run.out_dir + "/config.yaml", config_dump(cells[i].cfg));
    }
    sweep_archive_commit(spec, cells);  // the done cells so far (a resumed sweep)
  }
  RELAPSE_MPI_CHECK(MPI_Barrier(comm));

  // Cell sizes in order of first appearance; each size runs on its own split.
  std::vector<int> sizes;
  for (int i : todo)
    if (std::find(sizes.begin(), sizes.end(), cells[i].ranks) == sizes.end())
      sizes.push_back(cells[i].ranks);
  for (int size : sizes)
    cells_run_size(spec, cells, todo, size, rt, command_line, comm, rank, world);
  if (rank == 0) {
    sweep_archive_commit(spec, cells);
    log_info("sweep ", spec.name, ": ", todo.size(), " cells run; study archive ",
             sweep_study_archive(spec));
  }
  RELAPSE_MPI_CHECK(MPI_Barrier(comm));
  return static_cast<int>(todo.size());
}

}  // namespace relapse::study
