// src/core/error.cpp — out-of-line thrower for the check macros (keeps the
// throw site small in every caller).
#include "relapse/core/error.h"

#include <cstring>

namespace relapse::detail {

[[noreturn]] void error_throw(ExitCode code, const char* file, int line, const std::string& msg) {
  // Keep the path relative to the source tree: "src/model/llama.cpp:42".
  const char* rel = std::strstr(file, "/src/");
  if (!rel) rel = std::strstr(file, "/include/");
  if (!rel) rel = std::strstr(file, "/tests/");
  std::string where = std::string(rel ? rel + 1 : file) + ":" + std::to_string(line);
  throw Error(code, msg, where);
}

}  // namespace relapse::detail
