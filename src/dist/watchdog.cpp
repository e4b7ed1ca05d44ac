// src/dist/watchdog.cpp — the collective watchdog of relapse/dist/watchdog.h.
#include "relapse/dist/watchdog.h"

#include <chrono>
#include <cstdio>
#include <vector>

namespace relapse {

namespace {
double now_s() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}
}  // namespace

CollectiveWatchdog::CollectiveWatchdog(std::string name, double timeout_s, double poll_s,
                                       ErrorFn async_error, FailFn on_failure)
    : name_(std::move(name)),
      timeout_s_(timeout_s),
      poll_s_(poll_s > 0 ? poll_s : 1.0),
      async_error_(std::move(async_error)),
      on_failure_(std::move(on_failure)) {
  thread_ = std::thread([this] { loop(); });
}

CollectiveWatchdog::~CollectiveWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void CollectiveWatchdog::track(const std::string& op, DoneFn done) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failed_) return;
  ops_.push_back({op, std::move(done), now_s()});
}

size_t CollectiveWatchdog::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ops_.size();
}

bool CollectiveWatchdog::failed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

// Completed ops leave from the front (a stream completes in order, and a
// later op that completed first waits its turn); the oldest pending op's age
// decides the timeout. on_failure runs without the lock.
bool CollectiveWatchdog::poll_once() {
  std::string message;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!ops_.empty() && ops_.front().done()) ops_.pop_front();
    const std::string err = async_error_ ? async_error_() : std::string();
    if (!err.empty()) {
      message = name_ + ": asynchronous error: " + err;
    } else if (timeout_s_ > 0 && !ops_.empty() && now_s() - ops_.front().enqueued_s > timeout_s_) {
      char age[64];
      std::snprintf(age, sizeof age, "%.0f", now_s() - ops_.front().enqueued_s);
      message = name_ + ": " + ops_.front().name + " did not complete in " + age +
                " s (timeout RELAPSE_NCCL_TIMEOUT_S = " + std::to_string((long long)timeout_s_) +
                " s): a peer rank died or hangs";
    }
    if (message.empty()) return true;
    failed_ = true;
    ops_.clear();
  }
  on_failure_(message);
  return false;
}

void CollectiveWatchdog::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::duration<double>(poll_s_));
    if (stop_) break;
    lock.unlock();
    const bool ok = poll_once();
    lock.lock();
    if (!ok) break;
  }
}

}  // namespace relapse
