// relapse/core/progress.h — progress lines for long stages, on rank 0 only:
// stage, step/total, loss, tokens/s, ETA. On a terminal the line is redrawn in
// place at most every 0.2 s; when stderr is not a terminal (batch jobs, CI
// logs) a line is printed at most every `log_interval_s` seconds (default 30,
// RELAPSE_PROGRESS_INTERVAL overrides) plus the final one, so logs are not
// flooded.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace relapse {

// This process's peak resident memory in bytes (Linux: VmHWM of
// /proc/self/status, which counts this program's image only — not a parent's
// it was spawned from); 0 where unknown. Long commands report it when done.
int64_t peak_rss_bytes();

class Progress {
 public:
  // `total` steps expected (0 = unknown).
  Progress(std::string stage, int64_t total);
  ~Progress();
  // Step `step` (1-based) done; loss may be NaN (not shown); tokens processed
  // in this step (0 = tokens/s not shown).
  void update(int64_t step, double loss, int64_t tokens = 0);
  // Prints the final line (idempotent); returns the stage's wall time in seconds.
  double finish();
  double elapsed_s() const;

 private:
  void print(bool final_line);
  std::string stage_;
  int64_t total_, step_ = 0, tokens_ = 0;
  double loss_;
  bool tty_, finished_ = false, enabled_;
  double interval_s_;
  std::chrono::steady_clock::time_point start_, last_print_;
};

}  // namespace relapse
