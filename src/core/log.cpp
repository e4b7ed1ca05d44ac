// src/core/log.cpp — rank-prefixed logging to stderr.
#include "relapse/core/log.h"

#include <cstdio>
#include <mutex>

#include "relapse/core/env.h"
#include "relapse/core/error.h"

namespace relapse {

namespace {
int g_rank = 0;
int g_world = 1;
int g_world_rank = 0, g_world_size = 1;  // the runtime's, restored by log_scope_end
std::string g_scope;
LogLevel g_level = LogLevel::kInfo;
bool g_level_from_env = false;
std::mutex g_mutex;
const char* level_tag(LogLevel l) {
  switch (l) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
  }
  return "?";
}
}  // namespace

LogLevel log_level_parse(const std::string& name) {
  if (name == "error") return LogLevel::kError;
  if (name == "warn") return LogLevel::kWarn;
  if (name == "info") return LogLevel::kInfo;
  if (name == "debug") return LogLevel::kDebug;
  RELAPSE_THROW(ExitCode::kConfig, "unknown log level '", name, "' (error|warn|info|debug)");
}

void log_set_rank(int rank, int world_size) {
  g_rank = g_world_rank = rank;
  g_world = g_world_size = world_size;
}
void log_scope_begin(const std::string& scope, int rank, int world_size) {
  g_scope = scope;
  g_rank = rank;
  g_world = world_size;
}
void log_scope_end() {
  g_scope.clear();
  g_rank = g_world_rank;
  g_world = g_world_size;
}
void log_set_level(LogLevel level) {
  g_level = level;
}

bool log_is_rank0() {
  return g_rank == 0;
}

LogLevel log_level() {
  if (!g_level_from_env) {
    g_level_from_env = true;
    const std::string& env = env_knobs().log_level;
    if (env == "error" || env == "warn" || env == "debug" || env == "info")
      g_level = log_level_parse(env);
  }
  return g_level;
}

void log_write(LogLevel level, const std::string& msg) {
  if (level != LogLevel::kError && g_rank != 0 && !env_knobs().log_all_ranks) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!g_scope.empty()) {
    std::fprintf(stderr, "[relapse %s r%d] %s: %s\n", g_scope.c_str(), g_rank, level_tag(level),
                 msg.c_str());
  } else if (g_world > 1) {
    std::fprintf(stderr, "[relapse r%d] %s: %s\n", g_rank, level_tag(level), msg.c_str());
  } else {
    std::fprintf(stderr, "[relapse] %s: %s\n", level_tag(level), msg.c_str());
  }
  std::fflush(stderr);
}

}  // namespace relapse
