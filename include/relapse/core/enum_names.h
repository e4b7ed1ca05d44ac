// relapse/core/enum_names.h — an enum's names written once. A module declares
// one table of {value, name} pairs; enum_from_name / enum_name read it both
// ways, enum_names lists the names (config choices, help, errors), and an
// unknown name is a config error (exit 3) saying what was expected:
//   unknown unlearning method 'gaa' (expected ga, ga_gdr, ...); did you mean 'ga'?
// Names match case-insensitively.
#pragma once
#include <cctype>
#include <cstddef>
#include <string>
#include <vector>

#include "relapse/core/error.h"

namespace relapse {

template <typename E>
struct EnumName {
  E value;
  const char* name;
};

namespace enum_detail {
std::string lower(const std::string& s);
std::string expected(const std::vector<std::string>& names, const std::string& given);
}  // namespace enum_detail

// The functions below read any table whose rows have `value` and `name`
// members: an EnumName, or a module's own row type that carries more facts
// about each value (e.g. unlearn's objectives with their forget and retain
// terms), so the names are still written once.
template <typename Row, size_t N>
std::vector<std::string> enum_names(const Row (&table)[N]) {
  std::vector<std::string> out;
  for (const auto& e : table) out.push_back(e.name);
  return out;
}

template <typename Row, size_t N>
auto enum_from_name(const Row (&table)[N], const std::string& name, const char* what)
    -> decltype(table[0].value) {
  const std::string n = enum_detail::lower(name);
  for (const auto& e : table)
    if (n == e.name) return e.value;
  RELAPSE_THROW(ExitCode::kConfig, "unknown ", what, " '", name, "'",
                enum_detail::expected(enum_names(table), name));
}

template <typename Row, size_t N, typename E>
std::string enum_name(const Row (&table)[N], E value) {
  for (const auto& e : table)
    if (e.value == value) return e.name;
  return "?";
}

}  // namespace relapse
