// tests/report/test_retention_paper.cpp — the paper's retention figure
// (relapse::report::retention_percent_of and its dataset aggregations) on
// the numbers of the paper's Table 1 (Zhang et al., ICLR 2025, arXiv
// 2410.16454), committed with their source in
// tests/golden/fixtures/pipeline/paper_table1.json.
//
// The v1 rendering of Table 1 breaks off inside the NPO_KLR row; the NPO_KLR
// rows at full precision and 4 bit come from a reproduction study that typed
// them from arXiv v3 (the fixture's source says where; NPO_KLR at 8 bit is
// absent). What is checked:
//  - the fixture is the table as transcribed (row set, retrain PrivLeak 0);
//  - the figure over the three complete utility-constrained methods (GA_GDR,
//    GA_KLR, NPO_GDR) against values worked out by hand from the table
//    (fractions below), per dataset, as the dataset mean and pooled;
//  - the headline 21.4% (full) / 82.7% (4-bit), to the paper's 0.05 rounding,
//    over all four methods and both datasets, pooled (the fixture's
//    "headline_aggregation").
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "relapse/report/recovery_stats.h"
#include "test_util.h"

using json = nlohmann::json;
using relapse::report::retention_percent_mean;
using relapse::report::retention_percent_of;
using relapse::report::retention_percent_pooled;
using relapse::report::RetentionGroup;

namespace {

using Pair = std::pair<double, double>;

struct Table {
  json raw;
  // (dataset, method, precision) -> (VerbMem_f, KnowMem_f)
  std::map<std::tuple<std::string, std::string, std::string>, Pair> forget;
};

const Table& table() {
  static const Table t = [] {
    Table out;
    const std::string path = relapse::test::fixture_path("pipeline/paper_table1.json");
    const std::string text = relapse::test::read_file(path);
    EXPECT_FALSE(text.empty()) << "missing " << path;
    out.raw = json::parse(text);
    for (const json& r : out.raw["rows"]) {
      out.forget[{r["dataset"], r["method"], r["precision"]}] = {r["verbmem_f"].get<double>(),
                                                                 r["knowmem_f"].get<double>()};
    }
    return out;
  }();
  return t;
}

bool has(const std::string& ds, const std::string& method, const std::string& prec) {
  return table().forget.count({ds, method, prec}) > 0;
}

Pair get(const std::string& ds, const std::string& method, const std::string& prec) {
  auto it = table().forget.find({ds, method, prec});
  EXPECT_NE(it, table().forget.end()) << ds << " " << method << " " << prec;
  return it == table().forget.end() ? Pair{NAN, NAN} : it->second;
}

RetentionGroup group(const std::string& ds, const std::vector<std::string>& methods,
                     const std::string& prec) {
  RetentionGroup g;
  for (const auto& m : methods) g.unlearned.push_back(get(ds, m, prec));
  g.target = get(ds, "Target", prec);  // the target at the SAME precision
  return g;
}

const std::vector<std::string> kThree = {"GA_GDR", "GA_KLR", "NPO_GDR"};
const std::vector<std::string> kFour = {"GA_GDR", "GA_KLR", "NPO_GDR", "NPO_KLR"};

}  // namespace

TEST(PaperTable1, FixtureIsTheTranscribedTable) {
  const json& raw = table().raw;
  ASSERT_TRUE(raw.contains("source"));
  EXPECT_NE(raw["source"]["retrieved_from"].get<std::string>().find("2410.16454"),
            std::string::npos);
  for (const char* ds : {"NEWS", "BOOKS"}) {
    for (const char* m : {"Target", "GA", "GA_GDR", "GA_KLR", "NPO", "NPO_GDR"})
      for (const char* p : {"full", "8bit", "4bit"}) EXPECT_TRUE(has(ds, m, p)) << ds << m << p;
    EXPECT_TRUE(has(ds, "Retrain", "full"));
    EXPECT_TRUE(has(ds, "Retrain", "4bit"));
  }
  for (const json& r : raw["rows"]) {
    if (r["method"] == "Retrain" && r["precision"] == "full") {
      EXPECT_EQ(r["privleak"], 0.0);
    }
  }
  // Spot values (Target NEWS full, GA_KLR BOOKS 4-bit), as printed in the table.
  EXPECT_EQ(get("NEWS", "Target", "full"), Pair(58.4, 63.9));
  EXPECT_EQ(get("BOOKS", "GA_KLR", "4bit"), Pair(75.6, 34.6));
}

TEST(PaperTable1, RetentionOverTheCompleteMethods) {
  // By hand from the table, (V + K) summed over GA_GDR, GA_KLR, NPO_GDR ÷
  // 3 × the target's (V + K) at the same precision:
  //   full  NEWS  (28.9 + 41.2 + 46.4) / (3 · 122.3) = 116.5 / 366.9
  //   full  BOOKS (2.9 + 28.1 + 13.8)  / (3 · 159.2) =  44.8 / 477.6
  //   4-bit NEWS  (75.1 + 84.7 + 84.6) / (3 · 88.6)  = 244.4 / 265.8
  //   4-bit BOOKS (51.6 + 110.2 + 97.9) / (3 · 122.1) = 259.7 / 366.3
  const double tol = 1e-9;
  const auto news_f = group("NEWS", kThree, "full"), books_f = group("BOOKS", kThree, "full");
  const auto news_4 = group("NEWS", kThree, "4bit"), books_4 = group("BOOKS", kThree, "4bit");
  EXPECT_NEAR(retention_percent_of(news_f.unlearned, news_f.target), 100 * 116.5 / 366.9, tol);
  EXPECT_NEAR(retention_percent_of(books_f.unlearned, books_f.target), 100 * 44.8 / 477.6, tol);
  EXPECT_NEAR(retention_percent_of(news_4.unlearned, news_4.target), 100 * 244.4 / 265.8, tol);
  EXPECT_NEAR(retention_percent_of(books_4.unlearned, books_4.target), 100 * 259.7 / 366.3, tol);
  EXPECT_NEAR(retention_percent_mean({news_f, books_f}),
              (100 * 116.5 / 366.9 + 100 * 44.8 / 477.6) / 2, tol);                    // 20.57
  EXPECT_NEAR(retention_percent_pooled({news_f, books_f}), 100 * 161.3 / 844.5, tol);  // 19.10
  EXPECT_NEAR(retention_percent_mean({news_4, books_4}),
              (100 * 244.4 / 265.8 + 100 * 259.7 / 366.3) / 2, tol);                   // 81.42
  EXPECT_NEAR(retention_percent_pooled({news_4, books_4}), 100 * 504.1 / 632.1, tol);  // 79.75
  // NEWS at full precision with NPO_KLR too (its row is there): 169.7 / 489.2.
  const auto news_f4 = group("NEWS", kFour, "full");
  EXPECT_NEAR(retention_percent_of(news_f4.unlearned, news_f4.target), 100 * 169.7 / 489.2, tol);
}

// The abstract's "21%" (full precision) and "83%" (4-bit): the pooled ratio
// over the four utility-constrained methods and both datasets,
//   full:  (169.7 + 70.9) / (4 · 122.3 + 4 · 159.2) = 240.6 / 1126.0 = 21.37%
//   4-bit: (332.2 + 364.8) / (4 · 88.6 + 4 · 122.1) = 697.0 / 842.8  = 82.70%
// — the paper prints 21.4 and 82.7. The mean of the two datasets' ratios
// gives 22.9% / 84.2% instead (so the pooled sum is what the paper computed).
TEST(PaperTable1, Headline21And83) {
  ASSERT_TRUE(has("BOOKS", "NPO_KLR", "full") && has("NEWS", "NPO_KLR", "4bit") &&
              has("BOOKS", "NPO_KLR", "4bit"));
  ASSERT_EQ(table().raw.value("headline_aggregation", std::string()), "pooled");
  auto figure = [&](const std::string& prec) {
    return retention_percent_pooled({group("NEWS", kFour, prec), group("BOOKS", kFour, prec)});
  };
  // The paper prints one decimal: within 0.05 of 21.4 and 82.7.
  EXPECT_NEAR(figure("full"), 21.4, 0.05);
  EXPECT_NEAR(figure("4bit"), 82.7, 0.05);
  EXPECT_NEAR(figure("full"), 100 * 240.6 / 1126.0, 1e-9);
  EXPECT_NEAR(figure("4bit"), 100 * 697.0 / 842.8, 1e-9);
  // The other reading does not reproduce the paper (why "pooled" is recorded).
  const double mean_full =
      retention_percent_mean({group("NEWS", kFour, "full"), group("BOOKS", kFour, "full")});
  EXPECT_GT(std::fabs(mean_full - 21.4), 1.0);
}
