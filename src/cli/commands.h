// src/cli/commands.h — every `relapse` subcommand registers itself on the CLI11
// app and sets `run` to the function that executes it after parsing.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "relapse/dist/runtime.h"

namespace relapse::cli {

using CommandRun = std::function<int(Runtime&)>;

// A subcommand's registration: adds it to `app`; when it is parsed, sets `run`.
using CommandRegisterFn = void (*)(CLI::App& app, CommandRun& run);

// Each src/cli/cmd_*.cpp registers its subcommand from a static initialiser:
//   RELAPSE_REGISTER_COMMAND(30, cmd_score_register);
// `order` fixes the order in --help (the link order of static initialisers is
// unspecified). main() adds every registered command.
int command_add(int order, CommandRegisterFn fn);
std::vector<CommandRegisterFn> command_list();  // sorted by order
#define RELAPSE_REGISTER_COMMAND(order, fn) \
  static const int relapse_command_##fn [[maybe_unused]] = ::relapse::cli::command_add(order, fn)

// "relapse 0.1.0 (git SHA)" followed by the library versions.
std::string version_text();

}  // namespace relapse::cli
