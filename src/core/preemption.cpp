// src/core/preemption.cpp — the SIGTERM flag of relapse/core/preemption.h.
#include "relapse/core/preemption.h"

#include <csignal>

namespace relapse {

namespace {
volatile std::sig_atomic_t g_sigterm = 0;
bool g_installed = false;
bool g_consumed = false;
struct sigaction g_previous;

extern "C" void preemption_on_sigterm(int) {
  g_sigterm = 1;
}
}  // namespace

PreemptionGuard::PreemptionGuard() {
  if (g_installed) return;
  struct sigaction sa {};
  sa.sa_handler = preemption_on_sigterm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // MPI and file I/O calls continue after the handler
  g_sigterm = 0;
  g_consumed = false;
  sigaction(SIGTERM, &sa, &g_previous);
  g_installed = true;
  active_ = true;
}

PreemptionGuard::~PreemptionGuard() {
  if (!active_) return;
  sigaction(SIGTERM, &g_previous, nullptr);
  g_installed = false;
  if (g_sigterm && !g_consumed) {
    g_sigterm = 0;
    std::raise(SIGTERM);  // the default action (or the handler installed before us)
  }
}

bool PreemptionGuard::requested() const {
  return g_sigterm != 0;
}

void PreemptionGuard::consume() {
  g_consumed = true;
}

}  // namespace relapse
