// src/cli/commands.h — every `relapse` subcommand registers itself on the CLI11
// app and sets `run` to the function that executes it after parsing.
#pragma once
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "relapse/dist/runtime.h"

namespace relapse::cli {

using CommandRun = std::function<int(Runtime&)>;

// Each adds its subcommand to `app`; when that subcommand is parsed, `run` is set.
void cmd_score_register(CLI::App& app, CommandRun& run);
void cmd_generate_register(CLI::App& app, CommandRun& run);
void cmd_config_register(CLI::App& app, CommandRun& run);
void cmd_convert_register(CLI::App& app, CommandRun& run);

// "relapse 0.1.0 (git SHA)" followed by the library versions.
std::string version_text();

}  // namespace relapse::cli
