// src/cli/cmd_plan.cpp — `relapse plan CONFIG`: the memory plan of a config
// before anything is launched (relapse/pipeline/memory_plan.h), one table per
// stage (training, unlearning, quantization per precision, evaluation) in
// bytes per rank at the chosen DP × TP and precision, against the budget, and
// which stage is the peak. Exits with the config error code (3) naming the
// stage and its numbers when a stage that `relapse run` executes does not fit.
#include <iostream>

#include "commands.h"
#include "relapse/pipeline/config.h"
#include "relapse/pipeline/memory_plan.h"

namespace relapse::cli {

namespace {
struct PlanArgs {
  std::string file;
  std::vector<std::string> sets;
  int ranks = 0;
};
}  // namespace

void cmd_plan_register(CLI::App& app, CommandRun& run) {
  auto a = std::make_shared<PlanArgs>();
  CLI::App* c = app.add_subcommand(
      "plan",
      "Memory per rank of each stage of CONFIG (training, unlearning, quantization per "
      "precision, evaluation) against the budget; exit 3 naming the stage that does not fit");
  c->add_option("config", a->file, "YAML config file (configs/models/llama2-7b.yaml, ...)")
      ->required();
  c->add_option("--set", a->sets, "Override: section.key=value (repeatable; later wins)");
  c->add_option("--ranks", a->ranks,
                "Ranks (DP x TP) to plan for (default: parallel.ranks, else this job's world)")
      ->check(CLI::NonNegativeNumber);
  c->callback([a, &run] {
    run = [a](Runtime& rt) {
      RelapseConfig cfg = config_load(a->file, a->sets);
      const int ranks = a->ranks > 0             ? a->ranks
                        : cfg.parallel.ranks > 0 ? cfg.parallel.ranks
                                                 : rt.world_size();
      const pipeline::MemoryPlan p = pipeline::memory_plan(cfg, ranks, pipeline::Stage::kEval);
      if (rt.rank() == 0) std::cout << pipeline::memory_plan_text(p) << std::flush;
      pipeline::memory_plan_require_fit(p);
      return 0;
    };
  });
}

RELAPSE_REGISTER_COMMAND(9, cmd_plan_register);

}  // namespace relapse::cli
