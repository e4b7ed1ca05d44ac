// relapse/core/log.h — leveled logging with a rank prefix. By default only rank 0
// prints (RELAPSE_LOG_ALL_RANKS=1 lets every rank print); errors always print.
#pragma once
#include <sstream>
#include <string>

namespace relapse {

enum class LogLevel : int { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

// Called once by the runtime after MPI is up.
void log_set_rank(int rank, int world_size);
// A sweep cell on a sub-communicator logs as rank `rank` of its own group,
// every line tagged with `scope` ("cell 4fa726d47ed3"); log_scope_end()
// restores the world's rank and no tag.
void log_scope_begin(const std::string& scope, int rank, int world_size);
void log_scope_end();
void log_set_level(LogLevel level);
LogLevel log_level();
// True on rank 0 (progress output and other rank-0-only printing).
bool log_is_rank0();
LogLevel log_level_parse(const std::string& name);  // "error|warn|info|debug"
void log_write(LogLevel level, const std::string& msg);

template <typename... Args>
void log_at(LogLevel level, Args&&... args) {
  if (static_cast<int>(level) > static_cast<int>(log_level())) return;
  std::ostringstream os;
  (os << ... << args);
  log_write(level, os.str());
}
template <typename... Args>
void log_info(Args&&... args) {
  log_at(LogLevel::kInfo, std::forward<Args>(args)...);
}
template <typename... Args>
void log_warn(Args&&... args) {
  log_at(LogLevel::kWarn, std::forward<Args>(args)...);
}
template <typename... Args>
void log_debug(Args&&... args) {
  log_at(LogLevel::kDebug, std::forward<Args>(args)...);
}
template <typename... Args>
void log_error(Args&&... args) {
  log_at(LogLevel::kError, std::forward<Args>(args)...);
}

}  // namespace relapse
