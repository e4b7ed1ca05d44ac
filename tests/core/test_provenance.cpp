// tests/core/test_provenance.cpp — the provenance record: every key present and
// non-empty, well-formed SHA / versions / time, valid JSON and text renderings.
#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>

#include "relapse/core/provenance.h"

namespace relapse {
namespace {

const std::vector<std::string> kKeys = {
    "relapse_version", "git_sha",      "libtorch_version", "mpi_library_version",
    "mpi_standard",    "hdf5_version", "nccl_version",     "cuda",
    "libtorch_cuda",   "compiler",     "cxx_standard",     "build_type",
    "hostnames",       "world_size",   "start_time",       "command_line"};

Provenance sample() {
  return provenance_collect(3, {"nodeB", "nodeA", "nodeB"}, "relapse eval --set a.b=1");
}

TEST(Provenance, AllKeysPresentAndNonEmpty) {
  auto p = sample();
  for (const auto& k : kKeys) {
    ASSERT_TRUE(p.fields.count(k)) << "missing key " << k;
    EXPECT_FALSE(p.fields.at(k).empty()) << "empty key " << k;
  }
  EXPECT_EQ(p.fields.size(), kKeys.size()) << "update kKeys and the header's key list together";
  std::cout << p.to_text();  // for the log: what this build reports
}

TEST(Provenance, ValuesWellFormed) {
  auto p = sample();
  const auto& f = p.fields;
  EXPECT_TRUE(std::regex_match(f.at("git_sha"), std::regex("([0-9a-f]{40}|unknown)(-dirty)?")))
      << f.at("git_sha");
  EXPECT_TRUE(std::regex_match(f.at("relapse_version"), std::regex(R"(\d+\.\d+\.\d+)")));
  EXPECT_TRUE(std::regex_search(f.at("libtorch_version"), std::regex(R"(^\d+\.\d+)")))
      << f.at("libtorch_version");
  EXPECT_TRUE(std::regex_match(f.at("mpi_standard"), std::regex(R"([1-9]\.\d+)")))
      << f.at("mpi_standard");
  EXPECT_EQ(f.at("mpi_library_version").find('\n'), std::string::npos);
  EXPECT_TRUE(std::regex_search(f.at("hdf5_version"), std::regex(R"(^(\d+\.\d+\.\d+|not built))")));
  EXPECT_TRUE(std::regex_search(f.at("nccl_version"), std::regex(R"(^(\d+\.\d+\.\d+|not built))")));
  EXPECT_TRUE(f.at("cuda") == "built" || f.at("cuda") == "not built");
  EXPECT_EQ(f.at("cxx_standard").rfind("C++", 0), 0u);
  EXPECT_EQ(f.at("world_size"), "3");
  // Unique host names in first-rank order.
  EXPECT_EQ(f.at("hostnames"), "nodeB,nodeA");
  EXPECT_EQ(f.at("command_line"), "relapse eval --set a.b=1");
}

TEST(Provenance, StartTimeIsUtcIso8601AndNow) {
  auto before = std::time(nullptr);
  auto p = sample();
  auto after = std::time(nullptr);
  const std::string& s = p.fields.at("start_time");
  ASSERT_TRUE(std::regex_match(s, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)"))) << s;
  std::tm tm{};
  ASSERT_NE(strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm), nullptr);
  std::time_t t = timegm(&tm);
  // Whole-second resolution: the stamp lies within [before, after].
  EXPECT_GE(t, before);
  EXPECT_LE(t, after);
}

TEST(Provenance, JsonRoundTrips) {
  auto p = sample();
  p.fields["command_line"] = "quote \" backslash \\ newline \n tab \t";
  nlohmann::json j = nlohmann::json::parse(p.to_json());  // throws on invalid JSON
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.size(), p.fields.size());
  for (const auto& [k, v] : p.fields) EXPECT_EQ(j.at(k).get<std::string>(), v) << k;
}

TEST(Provenance, TextHasOneLinePerField) {
  auto p = sample();
  std::string text = p.to_text();
  EXPECT_EQ(static_cast<size_t>(std::count(text.begin(), text.end(), '\n')), p.fields.size());
  EXPECT_NE(text.find("world_size:"), std::string::npos);
  EXPECT_NE(text.find("nodeB,nodeA\n"), std::string::npos);
}

}  // namespace
}  // namespace relapse
