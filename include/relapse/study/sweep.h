// relapse/study/sweep.h — a study as the unit of work: a sweep spec (a base
// config plus axes over any config key), its cells (one resolved config each,
// with a stable id), and the study directory they are run into.
//
// Sweep file (YAML; configs/sweeps/*.yaml):
//
//   name: paper_grid                 # the study's name
//   base: ../quickstart.yaml         # base config, relative to this file ("" = defaults)
//   out_dir: runs/sweeps/paper_grid  # the study directory
//   set:                             # overrides of the base (any config key)
//     relearn.steps: 0
//   axes:                            # the cartesian product, first key slowest
//     unlearn.methods: [ga, ga_gdr]  # a scalar for a list key = a one-element list
//     unlearn.lrs: [5.0e-5, 1.5e-4]
//   zip:                             # each entry: keys varied together (same length),
//     - model: [tiny, small]         # one more product dimension after `axes`
//       parallel.ranks: [1, 2]
//   models_dir: ../models            # where `model: NAME` fragments live (default)
//   slurm: {...}                     # see SweepSlurm
//
// The axis key `model` takes a model: a directory with config.json (→
// model.path), a fragment NAME.yaml in models_dir (its keys are applied as
// overrides, e.g. configs/models/llama2-7b.yaml), or a built-in preset name
// (→ model.preset). Any other axis key is a config key (unknown keys are
// errors naming the key and the sweep file).
//
// A cell's id is the first 12 hex digits of FNV-1a 64 over the "key: value"
// lines (sorted by key, values as `relapse config` prints them) of every key
// of its resolved config that differs from relapse's defaults, with run.name,
// run.out_dir, run.cache_dir and run.log_level left out: the same config
// gives the same id on any machine, whatever the axis order, the base file
// it came from or the study's directory; a relapse version that adds config
// keys keeps the ids (and so the done cells) of existing studies. Study
// directory:
//
//   OUT/study.h5                 the study archive (sweep_archive.h)
//   OUT/cells/<id>/relapse.h5    each cell's own archive, renamed into place
//                                when complete: its presence = done (a cell
//                                killed after that but before the study's
//                                commit is added to study.h5 by the next
//                                `sweep run`, not rerun)
//   OUT/cells/<id>/...           the cell's run directory (models, report)
//   OUT/cache/                   run.cache_dir of every cell (shared corpus and
//                                trained base / target / retrain models)
//   OUT/slurm/                   generated Slurm scripts (sweep_slurm.h)
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <mpi.h>

#include "relapse/dist/runtime.h"
#include "relapse/pipeline/config.h"

namespace relapse::study {

// One dimension of the product: one key (a plain axis) or several keys
// varied together (a zip entry). values[i][k] = YAML text of keys[k] in step i.
struct SweepAxis {
  std::vector<std::string> keys;
  std::vector<std::vector<std::string>> values;
};

// How `relapse sweep slurm` sizes and writes the job arrays.
struct SweepSlurm {
  std::string partition;           // #SBATCH --partition ("" = none)
  std::string account;             // #SBATCH --account ("" = none)
  std::string qos;                 // #SBATCH --qos ("" = none)
  std::string time = "04:00:00";   // wall time of ONE cell (HH:MM:SS or D-HH:MM:SS)
  int gpus_per_node = 8;           // GPUs (= ranks) per node
  int cpus_per_task = 8;           // CPU threads per rank
  std::string mem;                 // #SBATCH --mem ("" = cluster default)
  int max_parallel = 0;            // array throttle: --array=0-N%max_parallel (0 = none)
  std::string relapse_bin;         // relapse executable ("" = build/src/cli/relapse)
  std::vector<std::string> setup;  // shell lines run before srun (module load ...)
};

struct SweepSpec {
  std::string path;  // the sweep file
  std::string name;
  std::string base;               // base config path (resolved against the sweep file's dir)
  std::vector<std::string> sets;  // `set:` as --set strings, then the command line's --set
  std::vector<SweepAxis> axes;    // `axes:` entries, then `zip:` entries
  std::string out_dir;
  std::string models_dir;  // resolved against the sweep file's dir
  SweepSlurm slurm;
};

// One cell: an assignment of every axis, and the config it resolves to.
struct SweepCell {
  int index = 0;   // position in the product (first axis slowest)
  std::string id;  // sweep_cell_id(cfg)
  std::vector<std::pair<std::string, std::string>> axis_values;  // key → YAML text, axis order
  std::vector<std::string> sets;  // every override applied on the base, in order
  RelapseConfig cfg;  // resolved; run.out_dir = OUT/cells/<id>, run.cache_dir = OUT/cache
  int ranks = 1;      // parallel.ranks (1 when 0)
};

// Reads a sweep file; `sets` (the command line's --set) are applied to every
// cell after the file's. Errors (kConfig / kInput) name the file and the key.
SweepSpec sweep_load(const std::string& path, const std::vector<std::string>& sets = {});

// Every cell of the product, in order; every cell's config is loaded (so a bad
// key or value fails here, naming the cell's axis values). Two cells with the
// same id (e.g. an axis listing a value twice) are an error.
std::vector<SweepCell> sweep_expand(const SweepSpec& spec);

// The stable id of a resolved config (see above).
std::string sweep_cell_id(const RelapseConfig& cfg);

// OUT/cells/<id>/relapse.h5 of a cell, and whether it exists (= done; the
// archive is renamed into place only when complete).
std::string sweep_cell_archive(const SweepSpec& spec, const SweepCell& cell);
bool sweep_cell_done(const SweepSpec& spec, const SweepCell& cell);
// OUT/study.h5.
std::string sweep_study_archive(const SweepSpec& spec);

// ---- running (src/study/sweep_run.cpp) ----------------------------------
//
// Runs the cells of `cells` that are not done (only those whose id is in
// `only`, when it is not empty; an unknown id is a kUsage error) on the ranks
// of `comm`. Cells of the same size (ranks) run concurrently on
// sub-communicators (MPI_Comm_split of `comm` into world / ranks groups of
// adjacent ranks; cell k of a size goes to group k mod groups), sizes one
// after another. Every cell is a pipeline_run into OUT/cells/<id>/ (its
// config also written there as config.yaml, rerunnable alone); when it ends,
// its group's rank 0 commits the study archive (sweep_archive_commit). A
// cell whose memory plan does not fit its ranks is refused before any cell
// runs. Returns the number of cells this call ran (the same on every rank).
int sweep_run(const SweepSpec& spec, const std::vector<SweepCell>& cells,
              const std::vector<std::string>& only, Runtime& rt, const std::string& command_line,
              MPI_Comm comm = MPI_COMM_WORLD);

// Rebuilds OUT/study.h5 from the archives of the done cells, atomically
// (written aside, renamed into place) and under an exclusive lock on
// OUT/study.lock, so concurrent committers (sub-communicator cells, Slurm
// array tasks on a shared file system) take turns and a reader always sees a
// complete archive. Layout:
//
//   /provenance   attributes: sweep_name, sweep_file, sweep_yaml (the sweep
//                 file's text), base, out_dir, axes (1-D strings: the axis
//                 columns), n_cells, n_done, relapse_version, git_sha
//   /cells_table  table, one row per cell of the sweep: cell_id (str),
//                 cell (i64 index), done (i64 0/1), ranks, tp, params (i64:
//                 the model's parameters, embeddings included, from its
//                 memory plan), then one column per axis key
//   /summary      table, one row per done cell × model × evaluated precision:
//                 cell_id, cell, the axis columns, params, then every column
//                 of the cell's own /summary (results/archive.h)
//   /cells/<id>/  the cell's whole archive (provenance, summary, models,
//                 stages, ...), copied; attributes cell (index) and the axis
//                 values as text (axis.<key>)
//
// Axis columns are named by their key (`unlearn.lrs`), except the `model`
// axis, whose column is `base_model` (the summary's `model` column names
// the model within a cell: target, retrain, ga_gdr_lr5e-05, ...). A column
// is float64 when every value of the axis is a number, else text.
// After the commit, the study's report is rewritten from it
// (sweep_report_write into OUT; a failure there is logged as a warning, the
// archive being complete). /cells_table's done column and /cells/ list the
// same cells: those done when the commit began.
void sweep_archive_commit(const SweepSpec& spec, const std::vector<SweepCell>& cells);

// ---- the study report (src/study/sweep_report.cpp) -----------------------
//
// Writes DIR/report.md and its figures (relapse/report/report_study.h) from
// a study archive alone: the done cells of /cells_table, each read back from
// /cells/<id>, labelled by its axis values. The figures' x axis: the
// parameter count (millions, log scale) when the done cells differ in it (a
// size sweep), else the one numeric axis when there is exactly one, else
// the cells' order. kInput naming the file when it is not a study archive.
void sweep_report_write(const std::string& study_archive, const std::string& dir);

// The plan of a sweep as text: one line per cell with its index, id, axis
// values, ranks (DP × TP), memory per rank (memory_plan.h) and done / todo.
std::string sweep_plan_text(const SweepSpec& spec, const std::vector<SweepCell>& cells);

}  // namespace relapse::study
