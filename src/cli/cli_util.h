// src/cli/cli_util.h — small helpers shared by the subcommands: reading text
// inputs, resolving a model's tokenizer, writing output files atomically.
#pragma once
#include <string>
#include <vector>

namespace relapse::cli {

// A .json file holding a list of strings (MUSE's raw/*.json, privleak/*.json),
// otherwise one text per non-empty line.
std::vector<std::string> cli_read_texts(const std::string& path);
// --tokenizer if given, else MODEL_DIR/tokenizer.model.
std::string cli_tokenizer_path(const std::string& model_dir, const std::string& tokenizer);
// Writes `content` to PATH.tmp and renames it over PATH.
// The command line as typed (for provenance), recorded by main().
void cli_set_command_line(int argc, char** argv);
const std::string& cli_command_line();

}  // namespace relapse::cli
