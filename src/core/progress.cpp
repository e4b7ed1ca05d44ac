// src/core/progress.cpp — rank-0 progress lines (relapse/core/progress.h).
#include "relapse/core/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "relapse/core/env.h"
#include "relapse/core/log.h"

namespace relapse {

int64_t peak_rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoll(line.c_str() + 6, nullptr, 10) * 1024;
  return 0;
}

namespace {
std::string format_duration(double s) {
  char buf[32];
  if (!std::isfinite(s) || s < 0) return "?";
  int total = static_cast<int>(s + 0.5);
  if (total >= 3600)
    std::snprintf(buf, sizeof buf, "%dh%02dm", total / 3600, (total / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%dm%02ds", total / 60, total % 60);
  return buf;
}
}  // namespace

Progress::Progress(std::string stage, int64_t total)
    : stage_(std::move(stage)),
      total_(total),
      loss_(std::nan("")),
      tty_(isatty(STDERR_FILENO) != 0),
      enabled_(log_is_rank0() && log_level() >= LogLevel::kInfo),
      interval_s_(env_knobs().progress_interval_s),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

Progress::~Progress() {
  if (!finished_ && tty_ && enabled_ && step_ > 0) std::fputc('\n', stderr);
}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(int64_t step, double loss, int64_t tokens) {
  step_ = step;
  loss_ = loss;
  tokens_ += tokens;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_print_).count();
  if (since < (tty_ ? 0.2 : interval_s_)) return;
  last_print_ = now;
  print(false);
}

void Progress::print(bool final_line) {
  const double t = elapsed_s();
  char buf[256];
  int n = std::snprintf(buf, sizeof buf, "[relapse] %s %lld", stage_.c_str(),
                        static_cast<long long>(step_));
  if (total_ > 0) n += std::snprintf(buf + n, sizeof buf - n, "/%lld", (long long)total_);
  if (std::isfinite(loss_)) n += std::snprintf(buf + n, sizeof buf - n, "  loss %.4f", loss_);
  if (tokens_ > 0 && t > 0)
    n += std::snprintf(buf + n, sizeof buf - n, "  %.0f tok/s", tokens_ / t);
  if (final_line) {
    n += std::snprintf(buf + n, sizeof buf - n, "  done in %s", format_duration(t).c_str());
  } else if (total_ > 0 && step_ > 0) {
    const double eta = t / step_ * (total_ - step_);
    n += std::snprintf(buf + n, sizeof buf - n, "  ETA %s", format_duration(eta).c_str());
  }
  if (tty_)
    std::fprintf(stderr, "\r%s\033[K%s", buf, final_line ? "\n" : "");
  else
    std::fprintf(stderr, "%s\n", buf);
  std::fflush(stderr);
}

double Progress::finish() {
  const double t = elapsed_s();
  if (!finished_ && enabled_) print(true);
  finished_ = true;
  return t;
}

}  // namespace relapse
