// tests/pipeline/test_config_choices.cpp — the config's allowed values
// (each layer's <layer>_config.cpp) against the enum tables of the modules
// that read them (core/enum_names.h), so a method, variant, schedule, scheme
// or format added in one place and not the other fails here; and a list of
// names is checked entry by entry at load time.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "relapse/pipeline/config.h"
#include "relapse/quant/bnb.h"
#include "relapse/quant/rtn.h"
#include "relapse/unlearn/losses.h"
#include "relapse/unlearn/saliency.h"
#include "relapse/unlearn/trainer.h"
#include "test_util.h"

namespace relapse {
namespace {

std::map<std::string, std::vector<std::string>> schema_choices() {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& k : config_describe_as<RelapseConfig>()) out[k.key] = k.choices;
  return out;
}

std::vector<std::string> without_none(std::vector<std::string> v) {
  v.erase(std::remove(v.begin(), v.end(), "none"), v.end());
  return v;
}

TEST(ConfigChoices, SchemaListsEqualTheModulesTables) {
  const auto c = schema_choices();
  const auto objectives = unlearn::objective_names();
  EXPECT_EQ(c.at("unlearn.methods"), objectives);
  EXPECT_EQ(c.at("unlearn.large_lr_methods"), objectives);
  EXPECT_EQ(c.at("unlearn.sure.methods"), objectives);
  EXPECT_EQ(c.at("unlearn.variant"), unlearn::loss_variant_names());
  EXPECT_EQ(c.at("unlearn.schedule"), unlearn::lr_schedule_names());
  EXPECT_EQ(c.at("train.schedule"), unlearn::lr_schedule_names());
  EXPECT_EQ(c.at("pretrain.schedule"), unlearn::lr_schedule_names());
  // "none" is the loops' internal default (no SURE); a config turns SURE off
  // with an empty unlearn.sure.lrs.
  EXPECT_EQ(c.at("unlearn.sure.mode"), without_none(unlearn::saliency_mode_names()));
  EXPECT_EQ(c.at("quantize.scheme"), quant::rtn_scheme_names());
  std::vector<std::string> bnb = quant::bnb4_format_names();
  bnb.push_back("llm_int8");
  EXPECT_EQ(c.at("quantize.bnb.formats"), bnb);
}

TEST(ConfigChoices, ListEntriesAreCheckedAtLoad) {
  auto load = [](const std::string& yaml) { return config_parse_as<RelapseConfig>(yaml); };
  test::expect_error([&] { load("unlearn:\n  methods: [ga_gdr, npo_gdrr]\n"); }, ExitCode::kConfig,
                     {"unlearn.methods", "npo_gdrr", "did you mean 'npo_gdr'"});
  test::expect_error([&] { load("quantize:\n  bnb:\n    formats: [nf5]\n"); }, ExitCode::kConfig,
                     {"quantize.bnb.formats", "nf5"});
  EXPECT_EQ(load("unlearn:\n  methods: [npo_klr, ga]\n").unlearn.methods,
            (std::vector<std::string>{"npo_klr", "ga"}));
}

}  // namespace
}  // namespace relapse
