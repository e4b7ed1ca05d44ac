// src/cli/cli_util.cpp — see cli_util.h.
#include "cli_util.h"

#include <algorithm>

#include "commands.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/core/utf8.h"
#include "relapse/model/tokenizer.h"

namespace fs = std::filesystem;

namespace relapse::cli {

std::vector<std::string> cli_read_texts(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  RELAPSE_CHECK_INPUT(f.good(), path, ": cannot open text file");
  std::vector<std::string> texts;
  if (fs::path(path).extension() == ".json") {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(f);
    } catch (const nlohmann::json::parse_error& e) {
      RELAPSE_THROW(ExitCode::kInput, path, ": invalid JSON: ", e.what());
    }
    RELAPSE_CHECK_INPUT(j.is_array(), path, ": expected a JSON list of strings");
    for (size_t i = 0; i < j.size(); ++i) {
      RELAPSE_CHECK_INPUT(j[i].is_string(), path, ": element ", i, " is not a string");
      texts.push_back(j[i].get<std::string>());
    }
  } else {
    std::string line;
    while (std::getline(f, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) texts.push_back(line);
    }
  }
  RELAPSE_CHECK_INPUT(!texts.empty(), path, ": no texts found");
  // A binary file is bad input (exit 4), not text to tokenize: no NUL bytes,
  // valid UTF-8 (the JSON and HDF5 outputs store the texts as UTF-8).
  for (size_t i = 0; i < texts.size(); ++i) {
    const size_t bad = utf8_invalid_at(texts[i]);
    RELAPSE_CHECK_INPUT(bad == texts[i].size(), path, ": text ", i + 1,
                        " is not valid UTF-8 (byte ", bad, " of that text); is it a binary file?");
    RELAPSE_CHECK_INPUT(texts[i].find('\0') == std::string::npos, path, ": text ", i + 1,
                        " contains a NUL byte; is it a binary file?");
  }
  return texts;
}

std::string cli_tokenizer_path(const std::string& model_dir, const std::string& tokenizer) {
  const std::string p = tokenizer.empty() ? model::tokenizer_file_in(model_dir) : tokenizer;
  RELAPSE_CHECK_INPUT(!p.empty() && fs::exists(p), p.empty() ? model_dir : p,
                      ": tokenizer not found (no tokenizer.model or tokenizer.json; pass "
                      "--tokenizer PATH)");
  return p;
}

namespace {
std::string g_command_line;
std::vector<std::pair<int, CommandRegisterFn>>& command_registry() {
  static std::vector<std::pair<int, CommandRegisterFn>> r;  // constructed on first use
  return r;
}
}  // namespace

int command_add(int order, CommandRegisterFn fn) {
  command_registry().emplace_back(order, fn);
  return order;
}

std::vector<CommandRegisterFn> command_list() {
  auto r = command_registry();
  std::stable_sort(r.begin(), r.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<CommandRegisterFn> out;
  for (auto& e : r) out.push_back(e.second);
  return out;
}

void cli_set_command_line(int argc, char** argv) {
  g_command_line.clear();
  for (int i = 0; i < argc; ++i) g_command_line += (i ? " " : "") + std::string(argv[i]);
}

const std::string& cli_command_line() {
  return g_command_line;
}

}  // namespace relapse::cli
