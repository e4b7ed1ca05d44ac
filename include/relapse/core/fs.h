// relapse/core/fs.h — the file operations every layer shares, written once:
// reading a whole file, writing a file atomically, and putting a directory
// written aside into place. A reader of relapse's outputs never sees a
// half-written file or directory (written under a temporary name, fsynced,
// renamed, the rename made durable by an fsync of the parent directory), a
// failure leaves no temporary behind, and every error is ExitCode::kInput
// naming the path.
#pragma once
#include <filesystem>
#include <functional>
#include <string>

namespace relapse {

// The whole file as bytes. Errors read "<what> '<path>' cannot be read: <reason>".
std::string fs_read_file(const std::string& path, const std::string& what = "file");

// Writes path + ".tmp" through `write(fd, tmp_path)` (which throws on its own
// errors; fs_write_all helps), then fsyncs and renames it over `path`.
// `mode`: the new file's permission bits.
void fs_write_atomic_with(const std::string& path,
                          const std::function<void(int fd, const std::string& tmp)>& write,
                          unsigned mode = 0644);
// `bytes` into `path`, as above.
void fs_write_file_atomic(const std::string& path, const std::string& bytes, unsigned mode = 0644);
// All of `size` bytes to `fd` (retrying short writes and EINTR); errors name `path`.
void fs_write_all(int fd, const std::string& path, const void* data, uint64_t size);

// Renames the finished file `tmp` (already fsynced by its writer) over `path`
// and fsyncs the parent directory; on failure `tmp` is removed.
void fs_commit_file(const std::string& tmp, const std::string& path);

// Moves the finished directory `tmp` to `dir`, replacing whatever `dir` holds.
void fs_commit_dir(const std::string& tmp, const std::string& dir);
// A directory written aside and moved into place: fill(tmp) writes DIR.partial
// (created empty), then fs_commit_dir; when fill throws (a full disk, bad
// input) DIR.partial is removed and the error rethrown, DIR left as it was.
void fs_write_dir_atomic(const std::string& dir,
                         const std::function<void(const std::string&)>& fill);
// The same for a directory several runs may finish at once (a shared cache):
// when `dir` exists and done() says it holds a finished copy, that copy is
// kept, `tmp` removed and false returned; otherwise `dir` is replaced (true).
bool fs_commit_dir_shared(const std::string& tmp, const std::string& dir,
                          const std::function<bool()>& done);

}  // namespace relapse
