// relapse/core/dir_lock.h — an exclusive lock on an output directory, so two
// runs never write the same archive, checkpoints and report at once (issue 22).
// The lock is flock(2) on DIR/.relapse.lock: the kernel frees it when its
// holder ends in any way (exit, SIGKILL, a crash), so a killed run never leaves
// a stale lock and its rerun resumes at once. The file holds the holder's
// pid, host and command line, which a refused run names.
#pragma once
#include <string>

namespace relapse {

class DirLock {
 public:
  DirLock() = default;
  // Creates DIR if needed and takes its lock; ExitCode::kRuntime naming the
  // directory and the holder when another process holds it.
  DirLock(const std::string& dir, const std::string& command_line);
  ~DirLock();
  DirLock(DirLock&& o) noexcept;
  DirLock& operator=(DirLock&& o) noexcept;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace relapse
