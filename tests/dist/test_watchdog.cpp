// tests/dist/test_watchdog.cpp — the collective watchdog (relapse/dist/
// watchdog.h) with real threads: an op that completes is dropped, one that
// stays pending past the timeout — or an asynchronous error — calls the
// failure handler once, naming the op; no timeout means no failure. The NCCL
// communicator hands it CUDA events and aborts the job from the handler
// (src/dist/comm_nccl.cpp); here the ops are flags the test sets.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "relapse/dist/watchdog.h"

using namespace relapse;

namespace {

struct Failures {
  std::mutex mu;
  std::vector<std::string> messages;
  void add(const std::string& m) {
    std::lock_guard<std::mutex> lock(mu);
    messages.push_back(m);
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return messages.size();
  }
};

// Polls `cond` for up to `seconds`.
template <typename Cond>
bool eventually(Cond cond, double seconds = 10.0) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

}  // namespace

TEST(CollectiveWatchdog, CompletedOpsAreDroppedWithoutFailure) {
  Failures f;
  CollectiveWatchdog w("test comm", 0.5, 0.01, nullptr, [&](const std::string& m) { f.add(m); });
  auto done = std::make_shared<std::atomic<bool>>(false);
  w.track("all_reduce", [done] { return done->load(); });
  w.track("all_gather", [] { return true; });
  EXPECT_EQ(w.pending(), 2u);
  done->store(true);
  ASSERT_TRUE(eventually([&] { return w.pending() == 0; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // past the timeout
  EXPECT_EQ(f.count(), 0u);
  EXPECT_FALSE(w.failed());
}

TEST(CollectiveWatchdog, AnOpPendingPastTheTimeoutFailsOnceNamingIt) {
  Failures f;
  CollectiveWatchdog w("NCCL communicator (rank 1 of 2)", 0.2, 0.01, nullptr,
                       [&](const std::string& m) { f.add(m); });
  w.track("broadcast", [] { return true; });
  w.track("all_reduce", [] { return false; });  // a peer that never joins
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return f.count() > 0; }));
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(waited, 0.15);  // not before the timeout (the clock starts at track)
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(f.count(), 1u);  // once: the watchdog stops after a failure
  const std::string& m = f.messages[0];
  EXPECT_NE(m.find("NCCL communicator (rank 1 of 2): all_reduce did not complete in"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("a peer rank died or hangs"), std::string::npos) << m;
  EXPECT_TRUE(w.failed());
  w.track("all_gather", [] { return false; });  // ignored after the failure
  EXPECT_EQ(w.pending(), 0u);
}

TEST(CollectiveWatchdog, AnAsynchronousErrorFailsAtOnce) {
  Failures f;
  auto err = std::make_shared<std::atomic<bool>>(false);
  CollectiveWatchdog w(
      "test comm", 0, 0.01,
      [err] {
        return err->load() ? std::string("remote process exited or there was a network error")
                           : std::string();
      },
      [&](const std::string& m) { f.add(m); });
  w.track("reduce_scatter", [] { return false; });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(f.count(), 0u);  // timeout 0: a pending op alone never fails
  err->store(true);
  ASSERT_TRUE(eventually([&] { return f.count() > 0; }));
  EXPECT_NE(f.messages[0].find("test comm: asynchronous error: remote process exited"),
            std::string::npos)
      << f.messages[0];
}
