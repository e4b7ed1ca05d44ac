// src/cli/cmd_sweep.cpp — `relapse sweep plan|run|report|slurm SWEEP`: a
// study of many runs (relapse/study/sweep.h). plan lists the cells, their
// size and memory and what is done; run runs the cells that are not done
// (resumable, concurrent cells on sub-communicators); report rewrites the
// study's report.md from its study archive; slurm writes (and with --submit
// submits) job arrays that run them on a cluster (study/sweep_slurm.h).
#include <filesystem>
#include <iostream>
#include <sstream>

#include "cli_util.h"
#include "commands.h"
#include "relapse/core/error.h"
#include "relapse/core/log.h"
#include "relapse/study/sweep.h"
#include "relapse/study/sweep_slurm.h"

namespace relapse::cli {

namespace {
struct SweepArgs {
  std::string file;
  std::vector<std::string> sets;
  std::string cells;  // run: comma-separated ids
  std::string out;    // report: output directory
  bool submit = false;
};

void add_common(CLI::App* c, SweepArgs& a) {
  c->add_option("sweep", a.file, "sweep file (configs/sweeps/*.yaml)")->required();
  c->add_option("--set", a.sets,
                "Override for every cell: section.key=value (repeatable; after the file's set:)");
}

std::vector<std::string> split_ids(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string id;
  while (std::getline(ss, id, ','))
    if (!id.empty()) out.push_back(id);
  return out;
}
}  // namespace

void cmd_sweep_register(CLI::App& app, CommandRun& run) {
  auto a = std::make_shared<SweepArgs>();
  CLI::App* sw = app.add_subcommand(
      "sweep", "A study of many runs: the cells of a sweep file (base config x axes)");
  sw->require_subcommand(1, 1);

  CLI::App* plan = sw->add_subcommand(
      "plan", "List the cells: id, axis values, ranks (DP x TP), memory per rank, done or not");
  add_common(plan, *a);
  plan->callback([a, &run] {
    run = [a](Runtime& rt) {
      study::SweepSpec spec = study::sweep_load(a->file, a->sets);
      std::vector<study::SweepCell> cells = study::sweep_expand(spec);
      if (rt.rank() == 0) std::cout << study::sweep_plan_text(spec, cells);
      return 0;
    };
  });

  CLI::App* runc = sw->add_subcommand(
      "run",
      "Run the cells that are not done (OUT/cells/<id>/), committing each to OUT/study.h5; "
      "under mpirun, cells of parallel.ranks ranks run side by side on the world's ranks");
  add_common(runc, *a);
  runc->add_option("--cells", a->cells, "Only these cell ids (comma-separated)");
  runc->callback([a, &run] {
    run = [a](Runtime& rt) {
      study::SweepSpec spec = study::sweep_load(a->file, a->sets);
      std::vector<study::SweepCell> cells = study::sweep_expand(spec);
      if (!cells.empty()) log_set_level(log_level_parse(cells[0].cfg.run.log_level));
      study::sweep_run(spec, cells, split_ids(a->cells), rt, cli_command_line());
      return 0;
    };
  });

  CLI::App* rep = sw->add_subcommand(
      "report",
      "Write the study's report.md and figures (every done cell side by side) from OUT/study.h5");
  add_common(rep, *a);
  rep->add_option("--out", a->out, "Output directory; default: the study directory");
  rep->callback([a, &run] {
    run = [a](Runtime& rt) {
      study::SweepSpec spec = study::sweep_load(a->file, a->sets);
      const std::string h5 = study::sweep_study_archive(spec);
      RELAPSE_CHECK_INPUT(std::filesystem::is_regular_file(h5), "study archive '", h5,
                          "' does not exist (run `relapse sweep run ", a->file, "` first)");
      if (rt.rank() != 0) return 0;
      const std::string dir = a->out.empty() ? spec.out_dir : a->out;
      study::sweep_report_write(h5, dir);
      std::cout << "relapse sweep report: wrote " << dir << "/report.md from " << h5 << "\n";
      return 0;
    };
  });

  CLI::App* slurm = sw->add_subcommand(
      "slurm",
      "Write Slurm job arrays (OUT/slurm/*.sbatch) running the cells that are not done, sized "
      "from the plan; --submit also submits them with sbatch");
  add_common(slurm, *a);
  slurm->add_flag("--submit", a->submit, "Submit every script with sbatch");
  slurm->callback([a, &run] {
    run = [a](Runtime& rt) {
      study::SweepSpec spec = study::sweep_load(a->file, a->sets);
      std::vector<study::SweepCell> cells = study::sweep_expand(spec);
      if (rt.rank() != 0) return 0;
      std::vector<study::SweepCell> todo;
      for (const auto& c : cells)
        if (!study::sweep_cell_done(spec, c)) todo.push_back(c);
      std::vector<std::string> cli_sets(a->sets.begin(), a->sets.end());
      auto scripts = study::sweep_slurm_scripts(spec, todo, a->file, cli_sets);
      study::sweep_slurm_write(scripts);
      for (const auto& s : scripts)
        std::cout << s.path << ": " << s.tasks.size() << " array task(s), " << s.nodes
                  << " node(s) x " << s.ntasks_per_node << " task(s), " << s.ranks_per_cell
                  << " rank(s) per cell, time " << s.time << "\n";
      if (scripts.empty()) std::cout << "every cell of " << a->file << " is done\n";
      if (a->submit)
        for (const auto& id : study::sweep_slurm_submit(scripts))
          std::cout << "submitted batch job " << id << "\n";
      return 0;
    };
  });
}

RELAPSE_REGISTER_COMMAND(20, cmd_sweep_register);

}  // namespace relapse::cli
