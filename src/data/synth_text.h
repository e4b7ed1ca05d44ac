// src/data/synth_text.h — internals of the synthetic corpus (synth.cpp): a
// portable uniform draw over std::mt19937_64, syllable-built unique names, the
// word lists and the passage / question templates.
#pragma once
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace relapse::data::synth_detail {

// Uniform integers from a stream with plain integer arithmetic (rejection
// sampling), so the same seed draws the same numbers with any standard library.
struct Draw {
  std::mt19937_64 eng;
  uint64_t below(uint64_t n);  // uniform in [0, n), n > 0
  int range(int lo, int hi);   // uniform in [lo, hi]
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }
  // Fisher–Yates with below().
  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }
};

// Hands out capitalised syllable-built words that were never handed out
// before (surnames, towns, organisations and regions share one namespace).
class NameBook {
 public:
  explicit NameBook(Draw& d) : d_(d) {}
  std::string word(int min_syll, int max_syll);  // not necessarily unique
  std::string unique(int min_syll, int max_syll, const std::string& suffix = "");

 private:
  Draw& d_;
  std::set<std::string> used_;
};

// Word lists.
const std::vector<std::string>& synth_occupations();
const std::vector<std::string>& synth_relations();
const std::vector<std::string>& synth_known_for();
const std::vector<std::string>& synth_fields();
const std::vector<std::string>& synth_org_kinds();
const std::vector<std::string>& synth_town_suffixes();
const std::vector<std::string>& synth_region_suffixes();

// "a clockmaker" / "an astronomer".
std::string synth_with_article(const std::string& noun);

// Templates use {key} placeholders filled from (key, value) pairs; an unknown
// key is an internal error (a template typo).
using Vars = std::vector<std::pair<std::string, std::string>>;
std::string synth_fill(const std::string& tmpl, const Vars& vars);

// Passage templates per entity kind (0 person, 1 town, 2 organisation) and
// question templates per attribute (two paraphrases each).
const std::vector<std::string>& synth_passage_templates(int kind);
const std::vector<std::string>& synth_question_templates(const std::string& attribute);

}  // namespace relapse::data::synth_detail
