// src/cli/main.cpp — `relapse`: parses the command line, brings up the MPI
// runtime and runs one subcommand. Any relapse::Error (on any rank) is printed
// with the rank and ends the whole job with its exit code (README, "Exit codes").
#include <cstdio>
#include <iostream>

#include "cli_util.h"
#include "commands.h"
#include "relapse/core/error.h"
#include "relapse/core/log.h"
#include "relapse/dist/runtime.h"

int main(int argc, char** argv) {
  using namespace relapse;
  std::unique_ptr<Runtime> runtime;
  try {
    runtime = std::make_unique<Runtime>(&argc, &argv);
  } catch (const Error& e) {
    runtime_abort(e);
  }
  cli::cli_set_command_line(argc, argv);
  CLI::App app{"relapse — does unlearned knowledge come back after quantization?", "relapse"};
  app.require_subcommand(0, 1);
  bool show_version = false;
  app.add_flag("--version", show_version, "Print the version, git SHA and library versions");
  cli::CommandRun run;
  for (auto fn : cli::command_list()) fn(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; usage errors exit 2 (ExitCode::kUsage).
    int rc = app.exit(e, runtime->rank() == 0 ? std::cout : std::cerr, std::cerr);
    if (rc != 0) rc = static_cast<int>(ExitCode::kUsage);
    runtime.reset();
    return rc;
  }
  try {
    int rc = 0;
    if (show_version) {
      if (runtime->rank() == 0) std::cout << cli::version_text();
    } else if (run) {
      rc = run(*runtime);
    } else {
      if (runtime->rank() == 0) std::cout << app.help();
    }
    runtime.reset();
    return rc;
  } catch (const Error& e) {
    runtime_abort(e);
  } catch (const c10::Error& e) {
    runtime_abort(
        Error(ExitCode::kInternal, std::string("libtorch: ") + e.what_without_backtrace()));
  } catch (const std::exception& e) {
    runtime_abort(Error(ExitCode::kInternal, e.what()));
  }
}
