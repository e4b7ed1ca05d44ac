// src/cli/cmd_run.cpp — `relapse run CONFIG` (every stage: data, train,
// unlearn, quantize + evaluate, archive, report) and the stage subcommands
// `relapse train|unlearn|eval CONFIG`, which run the pipeline up to that stage
// (earlier stages are reused from OUT/ when their config is unchanged).
#include "cli_util.h"
#include "commands.h"
#include "relapse/core/log.h"
#include "relapse/pipeline/config.h"
#include "relapse/pipeline/run.h"

namespace relapse::cli {

namespace {
struct RunArgs {
  std::string file;
  std::vector<std::string> sets;
};

void add_stage_command(CLI::App& app, CommandRun& run, const char* name, const char* help,
                       pipeline::Stage last) {
  auto a = std::make_shared<RunArgs>();
  CLI::App* c = app.add_subcommand(name, help);
  c->add_option("config", a->file, "YAML config file (configs/quickstart.yaml, ...)")->required();
  c->add_option("--set", a->sets, "Override: section.key=value (repeatable; later wins)");
  c->callback([a, &run, last] {
    run = [a, last](Runtime& rt) {
      RelapseConfig cfg = config_load(a->file, a->sets);
      log_set_level(log_level_parse(cfg.run.log_level));
      pipeline::pipeline_run(cfg, rt, last, cli_command_line());
      return 0;
    };
  });
}
}  // namespace

void cmd_run_register(CLI::App& app, CommandRun& run) {
  add_stage_command(app, run, "run",
                    "Run the whole study: data, train, unlearn, quantize, evaluate, archive "
                    "(OUT/relapse.h5) and report (OUT/report.md)",
                    pipeline::Stage::kEval);
}
void cmd_train_register(CLI::App& app, CommandRun& run) {
  add_stage_command(app, run, "train",
                    "Train the target (forget + retain) and retrain (retain) models of CONFIG",
                    pipeline::Stage::kTrain);
}
void cmd_unlearn_register(CLI::App& app, CommandRun& run) {
  add_stage_command(app, run, "unlearn", "Run the unlearning grid of CONFIG (trains what it needs)",
                    pipeline::Stage::kUnlearn);
}
void cmd_eval_register(CLI::App& app, CommandRun& run) {
  add_stage_command(app, run, "eval",
                    "Evaluate every model of CONFIG at every precision and write the archive "
                    "and report (same as run; trained models are reused)",
                    pipeline::Stage::kEval);
}

RELAPSE_REGISTER_COMMAND(5, cmd_run_register);
RELAPSE_REGISTER_COMMAND(6, cmd_train_register);
RELAPSE_REGISTER_COMMAND(7, cmd_unlearn_register);
RELAPSE_REGISTER_COMMAND(8, cmd_eval_register);

}  // namespace relapse::cli
