// src/core/fs.cpp — whole-file reads, atomic file writes, directories put into
// place (relapse/core/fs.h).
#include "relapse/core/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "relapse/core/error.h"

namespace relapse {

namespace fs = std::filesystem;

namespace {

// Best effort: a directory that cannot be opened (or fsynced) is not an error.
void fsync_parent(const std::string& path) {
  fs::path dir = fs::path(path).parent_path();
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

std::string fs_read_file(const std::string& path, const std::string& what) {
  std::error_code ec;
  RELAPSE_CHECK_INPUT(!fs::is_directory(path, ec), what, " '", path,
                      "' cannot be read: it is a directory");
  std::ifstream f(path, std::ios::binary);
  RELAPSE_CHECK_INPUT(f.good(), what, " '", path, "' cannot be read: ", std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  RELAPSE_CHECK_INPUT(!f.bad(), what, " '", path, "' cannot be read: ", std::strerror(errno));
  return ss.str();
}

namespace {
// A storage failure (full disk, quota, I/O error, read-only file system, file
// too large) is a runtime failure of the machine, exit 5; any other errno
// (permissions, a missing directory) is bad input, exit 4.
ExitCode write_error_code(int e) {
  switch (e) {
    case ENOSPC:
    case EDQUOT:
    case EIO:
    case EROFS:
    case EFBIG:
      return ExitCode::kRuntime;
    default:
      return ExitCode::kInput;
  }
}

#define RELAPSE_CHECK_WRITE(cond, ...)                                     \
  do {                                                                     \
    if (!(cond)) {                                                         \
      const int e_ = errno;                                                \
      RELAPSE_THROW(write_error_code(e_), __VA_ARGS__, std::strerror(e_)); \
    }                                                                      \
  } while (0)
}  // namespace

void fs_write_all(int fd, const std::string& path, const void* data, uint64_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(size, 1ull << 30));
    ssize_t n = ::write(fd, p, chunk);
    if (n < 0 && errno == EINTR) continue;
    RELAPSE_CHECK_WRITE(n > 0, path, ": write failed: ");
    p += n;
    size -= static_cast<uint64_t>(n);
  }
}

void fs_write_atomic_with(const std::string& path,
                          const std::function<void(int fd, const std::string& tmp)>& write,
                          unsigned mode) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  RELAPSE_CHECK_WRITE(fd >= 0, tmp, ": cannot create: ");
  try {
    write(fd, tmp);
    RELAPSE_CHECK_WRITE(::fchmod(fd, static_cast<mode_t>(mode)) == 0, tmp,
                        ": cannot set permissions: ");
    RELAPSE_CHECK_WRITE(::fsync(fd) == 0, tmp, ": fsync failed: ");
    const int rc = ::close(fd);
    fd = -1;
    RELAPSE_CHECK_WRITE(rc == 0, tmp, ": close failed: ");
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  fs_commit_file(tmp, path);
}

void fs_write_file_atomic(const std::string& path, const std::string& bytes, unsigned mode) {
  fs_write_atomic_with(
      path,
      [&](int fd, const std::string& tmp) { fs_write_all(fd, tmp, bytes.data(), bytes.size()); },
      mode);
}

void fs_commit_file(const std::string& tmp, const std::string& path) {
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    RELAPSE_THROW(write_error_code(e), "cannot rename '", tmp, "' to '", path,
                  "': ", std::strerror(e));
  }
  fsync_parent(path);
}

void fs_write_dir_atomic(const std::string& dir,
                         const std::function<void(const std::string&)>& fill) {
  const std::string tmp = dir + ".partial";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) {
    errno = ec.value();
    RELAPSE_CHECK_WRITE(false, tmp, ": cannot create directory: ");
  }
  try {
    fill(tmp);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  fs_commit_dir(tmp, dir);
}

void fs_commit_dir(const std::string& tmp, const std::string& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::rename(tmp, dir, ec);
  if (ec) {
    std::error_code ec2;
    fs::remove_all(tmp, ec2);
    RELAPSE_THROW(ExitCode::kInput, dir, ": cannot move '", tmp, "' into place: ", ec.message());
  }
  fsync_parent(dir);
}

bool fs_commit_dir_shared(const std::string& tmp, const std::string& dir,
                          const std::function<bool()>& done) {
  std::error_code ec;
  fs::rename(tmp, dir, ec);  // fails when dir exists and is not empty
  if (!ec) {
    fsync_parent(dir);
    return true;
  }
  if (done()) {  // another run sharing the cache finished it first
    fs::remove_all(tmp, ec);
    return false;
  }
  fs_commit_dir(tmp, dir);  // a stale or unfinished copy
  return true;
}

}  // namespace relapse
