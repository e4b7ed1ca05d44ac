// tests/dist/test_gather.cpp — dist_shard and the dist_gather_* helpers over
// the world communicator against the sequential expectation: each rank builds
// the values of its round-robin shard from a pure function of the sample
// index, and after the gather every rank must hold all n values in sample
// order. Sample counts cover n < size (ranks with no samples), n == 0, uneven
// shards (n = 7 at np 3) and even ones. Run at np 1 (plain), 2 and 3.
#include <gtest/gtest.h>

#include <mpi.h>

#include <cstdint>
#include <limits>

#include "relapse/dist/communicator.h"
#include "relapse/dist/gather.h"
#include "test_util.h"

using namespace relapse;

namespace {

Communicator& world() {
  static std::unique_ptr<Communicator> c = comm_mpi_create(MPI_COMM_WORLD);
  return *c;
}

const std::vector<int64_t> kCounts = {0, 1, 2, 3, 4, 5, 7, 10, 31};

double value_of(int64_t i) {
  return i % 4 == 3 ? -0.0 : 1.0 / (i + 3) - 1e300 * (i % 5 == 4);
}

std::string string_of(int64_t i) {
  switch (i % 6) {
    case 0:
      return "";
    case 1:
      return "café 東京 😀";
    case 2:
      return std::string("nul\0inside", 10);
    case 3:
      return std::string(static_cast<size_t>(40 + i), static_cast<char>('a' + i % 26));
    case 4:
      return "\xff\xfe invalid utf-8";
    default:
      return "s" + std::to_string(i);
  }
}

std::vector<int64_t> row_of(int64_t i) {
  std::vector<int64_t> r;
  if (i % 3 == 0) return r;  // empty rows
  for (int64_t k = 0; k < i % 5 + 1; ++k) r.push_back(i * 1000 + k);
  if (i % 4 == 1) {
    r.push_back(std::numeric_limits<int64_t>::min());
    r.push_back(std::numeric_limits<int64_t>::max());
  }
  return r;
}

template <typename T, typename F>
std::vector<T> local_of(int64_t n, F f, int64_t block = 1) {
  std::vector<T> out;
  for (int64_t i : dist_shard(n, world().rank(), world().size(), block)) out.push_back(f(i));
  return out;
}

// Block sizes of the evaluation batches: 1 (round robin), 3 (n not a multiple).
const std::vector<int64_t> kBlocks = {1, 3};

template <typename T, typename F>
std::vector<T> all_of(int64_t n, F f) {
  std::vector<T> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(f(i));
  return out;
}

TEST(Gather, ShardIsRoundRobinPartition) {
  for (int size : {1, 2, 3, 4, 7}) {
    for (int64_t n : kCounts) {
      std::vector<int> owner(n, -1);
      for (int r = 0; r < size; ++r) {
        std::vector<int64_t> s = dist_shard(n, r, size);
        for (size_t j = 0; j < s.size(); ++j) {
          EXPECT_EQ(s[j], r + static_cast<int64_t>(j) * size);
          ASSERT_LT(s[j], n);
          EXPECT_EQ(owner[s[j]], -1);
          owner[s[j]] = r;
        }
      }
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(owner[i], i % size) << n << " " << size;
    }
  }
  EXPECT_EQ(dist_shard(7, 0, 3), (std::vector<int64_t>{0, 3, 6}));
  EXPECT_EQ(dist_shard(7, 2, 3), (std::vector<int64_t>{2, 5}));
  EXPECT_TRUE(dist_shard(1, 1, 2).empty());
  EXPECT_THROW(dist_shard(3, 2, 2), Error);
  EXPECT_THROW(dist_shard(-1, 0, 1), Error);
}

// Blocks of consecutive samples dealt round robin: every rank's shard is made
// of whole blocks (the last one short), so its batches equal one rank's.
TEST(Gather, ShardInBlocksIsBlockRoundRobinPartition) {
  for (int64_t block : {2, 3, 8}) {
    for (int size : {1, 2, 3, 4}) {
      for (int64_t n : kCounts) {
        std::vector<int> owner(n, -1);
        for (int r = 0; r < size; ++r) {
          std::vector<int64_t> s = dist_shard(n, r, size, block);
          for (size_t j = 0; j < s.size(); ++j) {
            ASSERT_LT(s[j], n);
            EXPECT_EQ(owner[s[j]], -1);
            owner[s[j]] = r;
            if (j > 0) {
              EXPECT_LT(s[j - 1], s[j]);
            }
            // The j-th batch of `block` on this rank is one whole global batch.
            if (j % block != 0) {
              EXPECT_EQ(s[j], s[j - 1] + 1);
            } else {
              EXPECT_EQ(s[j] % block, 0);
            }
          }
        }
        for (int64_t i = 0; i < n; ++i)
          EXPECT_EQ(owner[i], (i / block) % size) << n << " " << size << " " << block;
      }
    }
  }
  EXPECT_EQ(dist_shard(7, 0, 2, 2), (std::vector<int64_t>{0, 1, 4, 5}));
  EXPECT_EQ(dist_shard(7, 1, 2, 2), (std::vector<int64_t>{2, 3, 6}));
  EXPECT_THROW(dist_shard(3, 0, 2, 0), Error);
}

TEST(Gather, Doubles) {
  for (int64_t block : kBlocks) {
    for (int64_t n : kCounts) {
      std::vector<double> got =
          dist_gather_doubles(&world(), local_of<double>(n, value_of, block), n, block);
      std::vector<double> want = all_of<double>(n, value_of);
      ASSERT_EQ(got.size(), want.size()) << n;
      for (int64_t i = 0; i < n; ++i) {
        EXPECT_EQ(got[i], want[i]) << n << " " << i;
        EXPECT_EQ(std::signbit(got[i]), std::signbit(want[i])) << n << " " << i;  // bit-exact
      }
    }
  }
  // NaN travels (Min-K% of a too-short text is NaN).
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto nan_at_1 = [&](int64_t i) { return i == 1 ? nan : double(i); };
  std::vector<double> got = dist_gather_doubles(&world(), local_of<double>(3, nan_at_1), 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], 0.0);
  EXPECT_TRUE(std::isnan(got[1]));
  EXPECT_EQ(got[2], 2.0);
}

TEST(Gather, Strings) {
  for (int64_t block : kBlocks) {
    for (int64_t n : kCounts) {
      EXPECT_EQ(dist_gather_strings(&world(), local_of<std::string>(n, string_of, block), n, block),
                (all_of<std::string>(n, string_of)))
          << n << " block " << block;
    }
  }
  // Every string empty: a zero-byte payload on every rank.
  auto empty = [](int64_t) { return std::string(); };
  EXPECT_EQ(dist_gather_strings(&world(), local_of<std::string>(5, empty), 5),
            std::vector<std::string>(5));
}

TEST(Gather, Rows) {
  for (int64_t block : kBlocks) {
    for (int64_t n : kCounts) {
      EXPECT_EQ(
          dist_gather_rows(&world(), local_of<std::vector<int64_t>>(n, row_of, block), n, block),
          (all_of<std::vector<int64_t>>(n, row_of)))
          << n << " block " << block;
    }
  }
}

TEST(Gather, NullCommunicatorReturnsLocal) {
  std::vector<std::string> s = {"a", "", "b"};
  EXPECT_EQ(dist_gather_strings(nullptr, s, 3), s);
  EXPECT_EQ(dist_gather_doubles(nullptr, {1.5, 2.5}, 2), (std::vector<double>{1.5, 2.5}));
  EXPECT_EQ(dist_gather_rows(nullptr, {{1}, {}}, 2), (std::vector<std::vector<int64_t>>{{1}, {}}));
  EXPECT_THROW(dist_gather_doubles(nullptr, {1.0}, 2), Error);
}

// A rank passing the wrong number of values is a bug, reported before any
// collective (so only checked where it cannot leave other ranks waiting).
TEST(Gather, WrongLocalCountThrows) {
  if (world().size() != 1) GTEST_SKIP() << "single-rank check";
  EXPECT_THROW(dist_gather_strings(&world(), {"a"}, 2), Error);
  EXPECT_THROW(dist_gather_rows(&world(), {}, 1), Error);
}

}  // namespace
