// src/core/config_internal.h — pieces shared by config.cpp (binders, --set,
// unknown keys) and config_yaml.cpp (strict YAML scalar decoding/encoding).
// Private to src/core.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "relapse/core/config.h"

namespace relapse::config_detail {

// Where the values of a config came from: one file (or string) and the --set
// overrides in order. Answers "where did key P come from" for error messages.
struct Origin {
  std::string source;                                     // file name, "" = none
  std::vector<std::pair<std::string, std::string>> sets;  // (key path, "--set k=v")

  // "--set k=v" when the last --set at or above `path` made it; else, when
  // `node` was not read from the source (an intermediate section created for
  // a --set), the last --set below `path`; else "SOURCE:LINE" from the node's
  // mark, or "SOURCE" without one.
  std::string where(const std::string& path, const YAML::Node& node) const;
};

// Decodes `node` into the field behind `ref`, strictly: integers and numbers
// must be plain scalars, booleans true/false, lists YAML sequences; a null
// node is "" for a string and an error otherwise. Throws kConfig naming
// `path` and `where`.
void decode(const YAML::Node& node, ConfigValueRef ref, const std::string& path,
            const std::string& where);

// The value behind `ref` as a YAML flow value that decode() reads back
// identically: strings double-quoted, doubles shortest round-trip, lists [a, b].
std::string encode(ConfigValueRef ref);

// "bool", "int", "int64", "double", "string", "list<int>", ...
std::string type_name(ConfigValueRef ref);

// The candidate nearest to `word` by edit distance when it is close enough
// to be a plausible typo (distance <= max(2, len/3) and not a complete
// rewrite; ties go to the earlier candidate); else the only candidate that
// contains `word` (3+ chars: "batch" -> "batch_size"); else "".
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

// "a, b, c"
std::string join(const std::vector<std::string>& items, const std::string& sep);

}  // namespace relapse::config_detail
