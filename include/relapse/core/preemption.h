// relapse/core/preemption.h — SIGTERM as a request, not a kill, while a
// training loop can act on it: Slurm sends SIGTERM to every task of a job it
// preempts or times out (KillWait, 30 s by default, before SIGKILL), and a
// loop that finishes its step, saves a checkpoint and exits loses at most one
// step instead of the whole run (unlearn/loop_checkpoint.h).
//
// PreemptionGuard installs the handler for its lifetime (the loops hold one
// while they can save); the handler only sets a flag. Outside a guard SIGTERM
// keeps its default action. A guard that ends with the flag set but not
// consumed (the signal came after the loop's last check) restores the default
// action and raises SIGTERM again, so the signal is never swallowed.
#pragma once

namespace relapse {

class PreemptionGuard {
 public:
  PreemptionGuard();
  ~PreemptionGuard();
  PreemptionGuard(const PreemptionGuard&) = delete;
  PreemptionGuard& operator=(const PreemptionGuard&) = delete;
  // True once SIGTERM arrived in this guard's lifetime.
  bool requested() const;
  // The caller acted on the request (saved and is leaving by an exception).
  void consume();

 private:
  bool active_ = false;  // false for a nested guard (the outer one owns the handler)
};

}  // namespace relapse
