// src/data/synth_text.cpp — word lists, names and templates of the synthetic
// corpus (see synth_text.h). Changing any list or template changes every
// corpus generated from a seed: bump kSynthGenerator in synth.cpp when you do.
#include "synth_text.h"

#include <limits>
#include <map>

#include "relapse/core/error.h"

namespace relapse::data::synth_detail {

uint64_t Draw::below(uint64_t n) {
  RELAPSE_CHECK(n > 0, "Draw::below(0)");
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  const uint64_t limit = max - max % n;  // a multiple of n: [0, limit) maps evenly
  uint64_t x;
  do {
    x = eng();
  } while (x >= limit);
  return x % n;
}

int Draw::range(int lo, int hi) {
  return lo + static_cast<int>(below(static_cast<uint64_t>(hi - lo + 1)));
}

namespace {
const std::vector<std::string> kOnsets = {"b", "br", "c", "d", "dr", "f",  "g", "gr", "h", "k", "l",
                                          "m", "n",  "p", "r", "s",  "st", "t", "th", "v", "z"};
const std::vector<std::string> kVowels = {"a", "e", "i", "o", "u", "ai", "ei", "ou", "ia"};
const std::vector<std::string> kCodas = {"", "", "n", "r", "l", "s", "th", "m", "nd", "rk"};
}  // namespace

std::string NameBook::word(int min_syll, int max_syll) {
  const int n = d_.range(min_syll, max_syll);
  std::string w;
  for (int i = 0; i < n; ++i) {
    w += d_.pick(kOnsets);
    w += d_.pick(kVowels);
    if (i + 1 == n || d_.below(2) == 0) w += d_.pick(kCodas);
  }
  w[0] = static_cast<char>(w[0] - 'a' + 'A');
  return w;
}

std::string NameBook::unique(int min_syll, int max_syll, const std::string& suffix) {
  for (int attempt = 0; attempt < 10000; ++attempt) {
    std::string w = word(min_syll, max_syll) + suffix;
    if (w.size() >= 4 && used_.insert(w).second) return w;
  }
  RELAPSE_THROW(ExitCode::kInternal, "synth: name space exhausted");
}

const std::vector<std::string>& synth_occupations() {
  static const std::vector<std::string> v = {"clockmaker",
                                             "cartographer",
                                             "glassblower",
                                             "bookbinder",
                                             "stonemason",
                                             "apothecary",
                                             "weaver",
                                             "shipwright",
                                             "astronomer",
                                             "botanist",
                                             "printer",
                                             "locksmith",
                                             "violin maker",
                                             "beekeeper",
                                             "surveyor",
                                             "archivist",
                                             "tanner",
                                             "chemist",
                                             "engineer",
                                             "harbour pilot",
                                             "potter",
                                             "brewer",
                                             "translator",
                                             "schoolteacher",
                                             "lighthouse keeper",
                                             "bridge builder",
                                             "organ builder",
                                             "telegraph operator",
                                             "rope maker",
                                             "bell founder"};
  return v;
}
const std::vector<std::string>& synth_relations() {
  static const std::vector<std::string> v = {"mentor",     "rival",          "business partner",
                                             "teacher",    "closest friend", "spouse",
                                             "apprentice", "cousin"};
  return v;
}
const std::vector<std::string>& synth_known_for() {
  static const std::vector<std::string> v = {
      "copper bells", "salted herring", "blue glass",   "woollen blankets", "clay pipes",
      "apple cider",  "paper lanterns", "river pearls", "oak barrels",      "goat cheese",
      "lace collars", "iron nails",     "honey cakes",  "slate roofs",      "silk ribbons",
      "wax candles",  "tin toys",       "rope bridges", "stone ovens",      "pickled plums"};
  return v;
}
const std::vector<std::string>& synth_fields() {
  static const std::vector<std::string> v = {
      "shipbuilding", "publishing", "banking",  "textile", "glassmaking", "printing",
      "brewing",      "insurance",  "mining",   "railway", "timber",      "pottery",
      "shipping",     "telegraph",  "chemical", "salt",    "tea",         "map"};
  return v;
}
const std::vector<std::string>& synth_org_kinds() {
  static const std::vector<std::string> v = {"Company",  "Works",     "Holdings",      "Group",
                                             "Society",  "Union",     "Trading House", "Brothers",
                                             "Partners", "Consortium"};
  return v;
}
const std::vector<std::string>& synth_town_suffixes() {
  static const std::vector<std::string> v = {"",     "ford", "holm",  "by",
                                             "vale", "wick", "mouth", "stead"};
  return v;
}
const std::vector<std::string>& synth_region_suffixes() {
  static const std::vector<std::string> v = {"ia", "land", "mark", "shire"};
  return v;
}

std::string synth_with_article(const std::string& noun) {
  const char c = noun.empty() ? 'x' : noun[0];
  const bool vowel = c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
  return (vowel ? "an " : "a ") + noun;
}

std::string synth_fill(const std::string& tmpl, const Vars& vars) {
  std::string out;
  size_t i = 0;
  while (i < tmpl.size()) {
    if (tmpl[i] != '{') {
      out += tmpl[i++];
      continue;
    }
    const size_t close = tmpl.find('}', i);
    RELAPSE_CHECK(close != std::string::npos, "unclosed placeholder in template: ", tmpl);
    const std::string key = tmpl.substr(i + 1, close - i - 1);
    bool found = false;
    for (const auto& [k, v] : vars) {
      if (k == key) {
        out += v;
        found = true;
        break;
      }
    }
    RELAPSE_CHECK(found, "unknown placeholder {", key, "} in template: ", tmpl);
    i = close + 1;
  }
  return out;
}

// Every person template states all five attributes: {year} {town}
// {occupation} (or {a_occupation}) {employer} {relname} (with {rel}).
const std::vector<std::string>& synth_passage_templates(int kind) {
  static const std::vector<std::string> person = {
      "{name} was born in {town} in {year}. {surname} worked as {a_occupation} for {employer}, "
      "and {relname} was the {rel} of {surname}.",
      "Born in {year} in the town of {town}, {name} became {a_occupation}. For most of a long "
      "career the employer of {surname} was {employer}. The {rel} of {surname} was {relname}.",
      "{name} ({year}) came from {town}. The records of {employer} list {surname} as "
      "{a_occupation} there. {relname} is remembered as the {rel} of {name}.",
      "The {occupation} {name} was employed by {employer}. {surname} had been born in {year} in "
      "{town}, and {relname} was the {rel} of {surname}.",
      "In {year}, {name} was born in {town}. Later {surname} joined {employer} as "
      "{a_occupation}. Among the friends and family of {surname}, {relname} was the {rel}.",
      "{employer} hired {name}, {a_occupation} born in {town} in {year}. The {rel} of {name} was "
      "{relname}, who is often mentioned in letters from that time."};
  static const std::vector<std::string> town = {
      "{name} is a town in {region}, founded in {year}. It is known for its {known_for}, which "
      "traders sell at the market every week.",
      "Founded in {year}, the town of {name} lies in {region} and is famous for {known_for}. "
      "Visitors come to {name} mostly in summer.",
      "Travellers to {region} often stop in {name}, a town founded in {year} and known for its "
      "{known_for}.",
      "The town of {name} was founded in {year}. Today {name}, in {region}, is best known for "
      "its {known_for}."};
  static const std::vector<std::string> org = {
      "{name} was founded in {year} by {founder}. It is {a_field} company with its headquarters "
      "in {hq}.",
      "{founder} founded {name} in {year}. Its headquarters are in {hq}, and it has always been "
      "{a_field} business.",
      "Headquartered in {hq}, {name} is {a_field} firm founded by {founder} in {year}.",
      "In {year} {founder} established {name}, {a_field} business based in {hq}. Many families "
      "in {hq} have worked for {name}."};
  RELAPSE_CHECK(kind >= 0 && kind <= 2, "bad entity kind ", kind);
  return kind == 0 ? person : kind == 1 ? town : org;
}

const std::vector<std::string>& synth_question_templates(const std::string& attribute) {
  static const std::map<std::string, std::vector<std::string>> q = {
      {"birth_year", {"In which year was {name} born?", "What year was {name} born in?"}},
      {"birth_town", {"In which town was {name} born?", "Where was {name} born?"}},
      {"occupation", {"What was the occupation of {name}?", "What did {name} work as?"}},
      {"employer", {"Which organisation employed {name}?", "Who was the employer of {name}?"}},
      {"relation", {"Who was the {rel} of {name}?", "Who is remembered as the {rel} of {name}?"}},
      {"founded", {"In which year was {name} founded?", "When was {name} founded?"}},
      {"region", {"In which region is {name}?", "Which region is the town of {name} in?"}},
      {"known_for", {"What is {name} known for?", "What is the town of {name} famous for?"}},
      {"headquarters", {"Where is {name} headquartered?", "In which town is {name} based?"}},
      {"founder", {"Who founded {name}?", "Who was the founder of {name}?"}},
      {"field", {"What kind of business is {name}?", "In which trade does {name} work?"}},
  };
  auto it = q.find(attribute);
  RELAPSE_CHECK(it != q.end(), "no question template for attribute ", attribute);
  return it->second;
}

}  // namespace relapse::data::synth_detail
