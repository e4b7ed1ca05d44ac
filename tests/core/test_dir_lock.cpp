// tests/core/test_dir_lock.cpp — DirLock: one holder per directory; a second
// is refused (exit 5) naming the directory and the holder; released when the
// holder goes, so the next run takes it at once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "relapse/core/dir_lock.h"
#include "relapse/core/error.h"
#include "test_util.h"

namespace rt = relapse::test;
using relapse::DirLock;

TEST(DirLock, SecondHolderRefusedUntilTheFirstEnds) {
  const std::string dir = rt::scratch_dir("dir-lock") + "/out";  // created by the lock
  {
    DirLock first(dir, "relapse run a.yaml");
    EXPECT_TRUE(first.held());
    EXPECT_TRUE(std::filesystem::is_directory(dir));
    rt::expect_error([&] { DirLock second(dir, "relapse run b.yaml"); },
                     relapse::ExitCode::kRuntime,
                     {dir, "in use by another relapse run", "pid " + std::to_string(::getpid()),
                      "relapse run a.yaml"});
    DirLock moved(std::move(first));  // moving keeps the lock
    EXPECT_FALSE(first.held());
    rt::expect_error([&] { DirLock third(dir, "c"); }, relapse::ExitCode::kRuntime, {dir});
  }
  DirLock again(dir, "relapse run d.yaml");  // freed with its holder
  EXPECT_TRUE(again.held());
}
