// relapse/core/error.h — the one exception type of relapse and the check macros
// that throw it with file:line. The top level (src/cli/main.cpp) prints the
// message with the rank and ends the whole MPI job with the error's exit code.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace relapse {

// Process exit codes (documented in README.md, "Exit codes").
enum class ExitCode : int {
  kOk = 0,
  kInternal = 1,     // a bug or an unexpected failure (RELAPSE_CHECK)
  kUsage = 2,        // bad command line
  kConfig = 3,       // bad configuration (unknown key, bad value)
  kInput = 4,        // bad input file: checkpoint, tokenizer, corpus
  kRuntime = 5,      // MPI / communicator / device failure
  kEnvironment = 6,  // launcher mismatch (e.g. SLURM_NTASKS != world size)
  kPreempted = 75,   // SIGTERM during training: checkpoint saved, rerun to resume
                     // (75 = sysexits' EX_TEMPFAIL, "try again later")
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, std::string message, std::string where = "")
      : std::runtime_error(message), code_(code), where_(std::move(where)) {}
  ExitCode code() const { return code_; }
  // "file:line" of the check that failed; empty when thrown without one.
  const std::string& where() const { return where_; }

 private:
  ExitCode code_;
  std::string where_;
};

namespace detail {
template <typename... Args>
std::string error_concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
[[noreturn]] void error_throw(ExitCode code, const char* file, int line, const std::string& msg);
}  // namespace detail

}  // namespace relapse

// Throws relapse::Error(code) with file:line when cond is false. The message is
// the remaining arguments streamed together.
#define RELAPSE_CHECK_CODE(code, cond, ...)                                         \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      ::relapse::detail::error_throw(code, __FILE__, __LINE__,                      \
                                     ::relapse::detail::error_concat(__VA_ARGS__)); \
    }                                                                               \
  } while (0)

#define RELAPSE_CHECK(cond, ...) \
  RELAPSE_CHECK_CODE(::relapse::ExitCode::kInternal, cond, "check failed: " #cond ": ", __VA_ARGS__)
#define RELAPSE_CHECK_INPUT(cond, ...) \
  RELAPSE_CHECK_CODE(::relapse::ExitCode::kInput, cond, __VA_ARGS__)
#define RELAPSE_CHECK_CONFIG(cond, ...) \
  RELAPSE_CHECK_CODE(::relapse::ExitCode::kConfig, cond, __VA_ARGS__)
#define RELAPSE_THROW(code, ...)                           \
  ::relapse::detail::error_throw(code, __FILE__, __LINE__, \
                                 ::relapse::detail::error_concat(__VA_ARGS__))
