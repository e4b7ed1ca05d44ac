// src/core/dir_lock.cpp — DirLock (relapse/core/dir_lock.h).
#include "relapse/core/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "relapse/core/error.h"
#include "relapse/core/fs.h"

namespace relapse {

namespace {

std::string host_name() {
  char buf[256] = {};
  return gethostname(buf, sizeof buf - 1) == 0 ? std::string(buf) : std::string("?");
}

}  // namespace

DirLock::DirLock(const std::string& dir, const std::string& command_line) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  RELAPSE_CHECK_CODE(ExitCode::kRuntime, !ec, "output directory '", dir,
                     "' cannot be created: ", ec.message());
  const std::string path = dir + "/.relapse.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  RELAPSE_CHECK_CODE(ExitCode::kRuntime, fd_ >= 0, "lock file '", path,
                     "' cannot be opened: ", std::strerror(errno));
  // A holder that was just killed may take a moment to be gone (a job killed
  // and restarted at once): try for up to 3 s before refusing.
  int rc = -1, err = 0;
  for (int attempt = 0; attempt < 30; ++attempt) {
    rc = ::flock(fd_, LOCK_EX | LOCK_NB);
    err = errno;
    if (rc == 0 || err != EWOULDBLOCK) break;
    ::usleep(100 * 1000);
  }
  if (rc != 0) {
    ::close(fd_);
    fd_ = -1;
    std::string holder = fs_read_file(path, "lock file");
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
    RELAPSE_CHECK_CODE(ExitCode::kRuntime, err != EWOULDBLOCK, "output directory '", dir,
                       "' is in use by another relapse run (", holder.empty() ? "?" : holder,
                       "; lock ", path, "): wait for it to end or choose another run.out_dir");
    RELAPSE_THROW(ExitCode::kRuntime, "lock file '", path,
                  "' cannot be locked: ", std::strerror(err));
  }
  // Who holds it, for the message of a refused run (not read otherwise).
  const std::string who =
      "pid " + std::to_string(::getpid()) + " on " + host_name() + ": " + command_line + "\n";
  if (::ftruncate(fd_, 0) == 0) fs_write_all(fd_, path, who.data(), who.size());
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor frees the flock
}

DirLock::DirLock(DirLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}

DirLock& DirLock::operator=(DirLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

}  // namespace relapse
