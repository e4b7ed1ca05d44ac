// src/core/enum_names.cpp — the shared parts of relapse/core/enum_names.h.
#include "relapse/core/enum_names.h"

#include "config_internal.h"

namespace relapse::enum_detail {

std::string lower(const std::string& s) {
  std::string out = s;
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string expected(const std::vector<std::string>& names, const std::string& given) {
  const std::string near = config_detail::nearest(lower(given), names);
  return " (expected " + config_detail::join(names, ", ") + ")" +
         (near.empty() ? "" : "; did you mean '" + near + "'?");
}

}  // namespace relapse::enum_detail
