// relapse/study/sweep_slurm.h — `relapse sweep slurm`: the Slurm job arrays
// that run a sweep's cells on a GPU cluster, written from the template
// launch/slurm/sweep_array.sbatch.in (compiled into relapse) and optionally
// submitted with sbatch.
//
// Sizing (one MPI rank per GPU, spec.slurm.gpus_per_node GPUs per node; cells
// are grouped by their number of ranks R = cell.ranks, one job array per R):
//
//   R >= gpus_per_node  one cell per array task on nodes = R / gpus_per_node
//                       whole nodes (an error naming the cell when R is not a
//                       multiple of gpus_per_node), ntasks_per_node =
//                       gpus_per_node.
//   R <  gpus_per_node  k = gpus_per_node / R cells packed per array task on
//                       one node, run concurrently as sub-communicators of one
//                       `srun` (`relapse sweep run SWEEP --cells id1,id2,...`
//                       splits the world into groups of R ranks, in list
//                       order); ntasks_per_node = k × R when there are at least
//                       k cells, else (n < k cells) n × R.
//
// Array tasks = ceil(n / cells per task), cells assigned in the given order;
// a last, partly filled task runs `srun --ntasks=<its cells × R>`. Every task
// gets --time = spec.slurm.time (one cell's time: a task's cells run
// concurrently), --cpus-per-task = spec.slurm.cpus_per_task (also the CPU
// threads per rank), --gpus-per-task=1, --array=0-(T-1) (%max_parallel when
// > 0); --partition / --account / --qos / --mem only when set; job name
// <name>_r<R>; output OUT/slurm/%x-%A_%a.out.
#pragma once
#include <string>
#include <vector>

#include "relapse/study/sweep.h"

namespace relapse::study {

// One sbatch file = one job array.
struct SlurmScript {
  std::string path;                             // OUT/slurm/<name>_r<ranks>.sbatch
  std::string text;                             // the script
  std::vector<std::vector<std::string>> tasks;  // cell ids per array task
  int nodes = 1, ntasks_per_node = 1, gpus_per_task = 1, cpus_per_task = 1, ranks_per_cell = 1;
  std::string time;  // per array task
};

// The job arrays of `cells` (the caller passes only those not done), one per
// number of ranks per cell, in increasing order of ranks; none for no cells.
// `sweep_arg` is the sweep file as the script names it (relative to the
// submit directory, or absolute); `cli_sets` are the command line's --set
// strings, passed to every `relapse sweep run` (the sweep file's own `set:`
// is read again by it). The relapse executable is $RELAPSE_BIN at run time,
// else spec.slurm.relapse_bin, else build/src/cli/relapse. Bad slurm settings
// (time, gpus_per_node, ...) and a cell that does not fit the sizing rules
// are kConfig errors naming the sweep file and the key or cell id.
std::vector<SlurmScript> sweep_slurm_scripts(const SweepSpec& spec,
                                             const std::vector<SweepCell>& cells,
                                             const std::string& sweep_arg,
                                             const std::vector<std::string>& cli_sets);

// Writes every script to its path (PATH.tmp, then renamed; mode 0755),
// creating OUT/slurm. kInput error naming the file when it cannot.
void sweep_slurm_write(const std::vector<SlurmScript>& scripts);

// Runs `sbatch PATH` for each script, in order, from the current directory
// (sbatch is $RELAPSE_SBATCH when set, else found on PATH) and returns the job
// ids parsed from "Submitted batch job N". Errors: kEnvironment when sbatch is
// not found; kInput when it fails (naming the script, with sbatch's output);
// kInternal when its output has no job id. An error after some submissions
// names the jobs already submitted.
std::vector<std::string> sweep_slurm_submit(const std::vector<SlurmScript>& scripts);

// `s` quoted for bash: as is when it is only [A-Za-z0-9_./:=@%+,-] (and not
// empty), else in single quotes (a ' written as '\'').
std::string sweep_slurm_shell_quote(const std::string& s);

}  // namespace relapse::study
