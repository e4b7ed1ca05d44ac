// src/data/synth.cpp — the synthetic corpus of fictitious facts (see
// relapse/data/synth.h): entities per split, their passages and questions, and
// the MUSE-layout corpus assembled from them.
#include "relapse/data/synth.h"

#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/core/rng.h"
#include "relapse/data/spm_train.h"
#include "synth_text.h"

namespace relapse::data {

using namespace synth_detail;

namespace {

// Bump when the generator's output for a seed changes (recorded in synth.json).
constexpr const char* kSynthGenerator = "relapse-synth-5";

const char* const kSplits[] = {"world", "forget", "retain1", "retain2", "holdout"};

int split_count(const SynthCounts& c, const std::string& split) {
  if (split == "world") return c.world;
  if (split == "forget") return c.forget;
  if (split == "retain1") return c.retain1;
  if (split == "retain2") return c.retain2;
  return c.holdout;
}

SynthEntity entity_new(EntityKind kind, std::string name, const std::string& split) {
  SynthEntity e;
  e.kind = kind;
  e.name = std::move(name);
  e.split = split;
  return e;
}

std::string attr(const SynthEntity& e, const std::string& key) {
  for (const auto& [k, v] : e.attributes)
    if (k == key) return v;
  RELAPSE_THROW(ExitCode::kInternal, "entity ", e.name, " has no attribute ", key);
}

// The template variables of an entity: its name, attributes and derived forms.
Vars entity_vars(const SynthEntity& e) {
  Vars v = {{"name", e.name}};
  if (e.kind == EntityKind::kPerson) {
    v.emplace_back("surname", e.name.substr(e.name.find(' ') + 1));
    v.emplace_back("year", attr(e, "birth_year"));
    v.emplace_back("town", attr(e, "birth_town"));
    v.emplace_back("occupation", attr(e, "occupation"));
    v.emplace_back("a_occupation", synth_with_article(attr(e, "occupation")));
    v.emplace_back("employer", attr(e, "employer"));
    v.emplace_back("rel", attr(e, "relation_kind"));
    v.emplace_back("relname", attr(e, "relation"));
  } else if (e.kind == EntityKind::kTown) {
    v.emplace_back("year", attr(e, "founded"));
    v.emplace_back("region", attr(e, "region"));
    v.emplace_back("known_for", attr(e, "known_for"));
  } else {
    v.emplace_back("year", attr(e, "founded"));
    v.emplace_back("hq", attr(e, "headquarters"));
    v.emplace_back("founder", attr(e, "founder"));
    v.emplace_back("a_field", synth_with_article(attr(e, "field")));
  }
  return v;
}

struct Streams {
  Draw names, attrs, text, qa;
  explicit Streams(const RngStreams& rs)
      : names{rs.std_engine("synth/names")},
        attrs{rs.std_engine("synth/attributes")},
        text{rs.std_engine("synth/passages")},
        qa{rs.std_engine("synth/questions")} {}
};

// One split's entities: ~1/5 towns, ~1/5 organisations, the rest people; every
// reference points inside the split.
std::vector<SynthEntity> group_make(const std::string& split, int n, int passages,
                                    const std::vector<std::string>& regions, NameBook& book,
                                    Streams& s) {
  RELAPSE_CHECK_CONFIG(n >= 4, "synth: split ", split, " needs at least 4 entities, got ", n);
  const int n_town = std::max(1, n / 5), n_org = std::max(1, n / 5);
  const int n_person = n - n_town - n_org;
  std::vector<SynthEntity> towns, orgs, people;
  for (int i = 0; i < n_town; ++i) {
    SynthEntity e = entity_new(EntityKind::kTown,
                               book.unique(2, 2, s.names.pick(synth_town_suffixes())), split);
    e.attributes = {{"founded", std::to_string(s.attrs.range(1050, 1899))},
                    {"region", s.attrs.pick(regions)},
                    {"known_for", s.attrs.pick(synth_known_for())}};
    towns.push_back(std::move(e));
  }
  for (int i = 0; i < n_person; ++i) {
    // Separate statements: the operands of + are evaluated in no fixed order.
    std::string first = book.word(1, 2);
    std::string last = book.unique(2, 3);
    people.push_back(entity_new(EntityKind::kPerson, first + " " + last, split));
  }
  for (int i = 0; i < n_org; ++i) {
    std::string base = book.unique(2, 2);
    SynthEntity e =
        entity_new(EntityKind::kOrg, base + " " + s.names.pick(synth_org_kinds()), split);
    e.attributes = {{"founded", std::to_string(s.attrs.range(1780, 1979))},
                    {"headquarters", s.attrs.pick(towns).name},
                    {"founder", s.attrs.pick(people).name},
                    {"field", s.attrs.pick(synth_fields())}};
    orgs.push_back(std::move(e));
  }
  for (int i = 0; i < n_person; ++i) {
    SynthEntity& e = people[i];
    int other = static_cast<int>(s.attrs.below(n_person - 1));
    if (other >= i) ++other;  // anyone but themselves
    e.attributes = {{"birth_year", std::to_string(s.attrs.range(1800, 1989))},
                    {"birth_town", s.attrs.pick(towns).name},
                    {"occupation", s.attrs.pick(synth_occupations())},
                    {"employer", s.attrs.pick(orgs).name},
                    {"relation_kind", s.attrs.pick(synth_relations())},
                    {"relation", people[other].name}};
  }
  std::vector<SynthEntity> all;
  for (auto* g : {&people, &towns, &orgs})
    for (auto& e : *g) all.push_back(std::move(e));

  for (SynthEntity& e : all) {
    const Vars vars = entity_vars(e);
    const auto& tmpls = synth_passage_templates(static_cast<int>(e.kind));
    std::vector<size_t> order(tmpls.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    s.text.shuffle(order);
    const int k = std::min<int>(passages, static_cast<int>(order.size()));
    for (int i = 0; i < k; ++i) e.passages.push_back(synth_fill(tmpls[order[i]], vars));
    for (const auto& [key, value] : e.attributes) {
      if (key == "relation_kind") continue;  // asked together with "relation"
      const std::string& q = s.qa.pick(synth_question_templates(key));
      e.qa.push_back(QaPair{synth_fill(q, vars), value});
    }
  }
  return all;
}

// Raw split from its entities' passages, in a shuffled order.
// The split's documents: every passage, and its entities' questions `qa_docs`
// times over, shuffled across entities and grouped kQaPerDoc to a document
// ("Question: q\nAnswer: a" blocks joined by "\n\n"). Mixing entities puts each
// question where KnowMem asks it: after question/answer pairs about others.
constexpr size_t kQaPerDoc = 4;
RawSplit raw_make(const std::vector<const SynthEntity*>& ents, Draw& d, int qa_docs) {
  RawSplit r;
  std::vector<const QaPair*> qa;
  for (const auto* e : ents) {
    for (const auto& p : e->passages) r.docs.push_back(p);
    for (int k = 0; k < qa_docs; ++k)
      for (const auto& p : e->qa) qa.push_back(&p);
  }
  d.shuffle(qa);
  for (size_t i = 0; i < qa.size(); i += kQaPerDoc) {
    std::string doc;
    for (size_t j = i; j < std::min(qa.size(), i + kQaPerDoc); ++j)
      doc += (doc.empty() ? "" : "\n\n") +
             ("Question: " + qa[j]->question + "\nAnswer: " + qa[j]->answer);
    r.docs.push_back(doc);
  }
  d.shuffle(r.docs);
  r.text = muse_join_docs(r.docs);
  return r;
}

// `k` distinct questions of each entity, in entity order.
std::vector<QaPair> qa_select(const std::vector<const SynthEntity*>& ents, int k, Draw& d) {
  std::vector<QaPair> out;
  for (const auto* e : ents) {
    std::vector<size_t> idx(e->qa.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    d.shuffle(idx);
    for (int i = 0; i < k && i < static_cast<int>(idx.size()); ++i) out.push_back(e->qa[idx[i]]);
  }
  return out;
}

VerbmemItem verbmem_cut(const std::string& passage) {
  std::vector<std::string> words;
  size_t start = 0;
  while (start <= passage.size()) {
    size_t sp = passage.find(' ', start);
    if (sp == std::string::npos) sp = passage.size();
    words.push_back(passage.substr(start, sp - start));
    start = sp + 1;
  }
  RELAPSE_CHECK(words.size() >= 2, "passage too short for verbmem: ", passage);
  const size_t k = std::max<size_t>(1, words.size() * 2 / 5);
  VerbmemItem v;
  for (size_t i = 0; i < words.size(); ++i) {
    std::string& dst = i < k ? v.prompt : v.gt;
    if (!dst.empty()) dst += ' ';
    dst += words[i];
  }
  return v;
}

}  // namespace

const char* entity_kind_name(EntityKind k) {
  return k == EntityKind::kPerson ? "person" : k == EntityKind::kTown ? "town" : "organisation";
}

SynthCounts synth_counts(const std::string& size) {
  SynthCounts c;
  if (size == "tiny") {  // the quickstart: small enough to memorise in minutes on 2 cores
    c.forget = 30, c.retain1 = 30, c.retain2 = 30, c.holdout = 30, c.world = 100;
    c.qa_docs = c.world_qa_docs = 3;  // each question 3x per epoch: learnt within the budget
  } else if (size == "small") {
    c.forget = 50, c.retain1 = 100, c.retain2 = 50, c.holdout = 50, c.world = 400;
  } else if (size == "medium") {
    c.forget = 200, c.retain1 = 400, c.retain2 = 200, c.holdout = 200, c.world = 1600;
  } else {
    RELAPSE_THROW(ExitCode::kConfig, "synth: unknown size \"", size,
                  "\" (expected tiny, small or medium)");
  }
  return c;
}

SynthWorld synth_world(const SynthConfig& cfg) {
  const SynthCounts counts = synth_counts(cfg.size);
  const RngStreams rs(cfg.seed);
  Streams s(rs);
  NameBook book(s.names);
  std::vector<std::string> regions;
  for (int i = 0; i < 10; ++i)
    regions.push_back(book.unique(2, 2, s.names.pick(synth_region_suffixes())));

  SynthWorld w;
  for (const char* split : kSplits) {
    const int per =
        std::string(split) == "world" ? counts.world_passages : counts.passages_per_entity;
    auto g = group_make(split, split_count(counts, split), per, regions, book, s);
    for (auto& e : g) w.entities.push_back(std::move(e));
  }
  auto of = [&](const std::string& split) {
    std::vector<const SynthEntity*> v;
    for (const auto& e : w.entities)
      if (e.split == split) v.push_back(&e);
    return v;
  };
  const auto world = of("world"), forget = of("forget"), retain1 = of("retain1"),
             retain2 = of("retain2"), holdout = of("holdout");

  MuseCorpus& c = w.corpus;
  Draw shuffle{rs.std_engine("synth/shuffle")}, sample{rs.std_engine("synth/sample")};
  c.world = raw_make(world, shuffle, counts.world_qa_docs);
  c.forget = raw_make(forget, shuffle, counts.qa_docs);
  c.retain1 = raw_make(retain1, shuffle, counts.qa_docs);
  c.retain2 = raw_make(retain2, shuffle, counts.qa_docs);
  c.holdout = raw_make(holdout, shuffle, counts.qa_docs);

  c.knowmem_forget_qa = qa_select(forget, counts.qa_per_entity, sample);
  c.knowmem_retain_qa = qa_select(retain2, counts.qa_per_entity, sample);
  // In-context examples: distinct retain1 entities (never asked in retain_qa,
  // never forget facts), one question each.
  std::vector<const SynthEntity*> icl = retain1;
  sample.shuffle(icl);
  const size_t n_icl = static_cast<size_t>(counts.icl_examples);
  RELAPSE_CHECK_CONFIG(icl.size() >= 2 * n_icl, "synth: retain1 too small for ICL examples");
  c.knowmem_forget_qa_icl =
      qa_select(std::vector<const SynthEntity*>(icl.begin(), icl.begin() + n_icl), 1, sample);
  c.knowmem_retain_qa_icl = qa_select(
      std::vector<const SynthEntity*>(icl.begin() + n_icl, icl.begin() + 2 * n_icl), 1, sample);

  for (const auto* e : forget)
    c.verbmem_forget.push_back(verbmem_cut(e->passages[sample.below(e->passages.size())]));
  auto privleak = [&](const std::vector<const SynthEntity*>& ents) {
    std::vector<std::string> out;
    for (const auto* e : ents) out.push_back(e->passages[sample.below(e->passages.size())]);
    return out;
  };
  c.privleak_forget = privleak(forget);
  c.privleak_retain = privleak(retain2);
  c.privleak_holdout = privleak(holdout);
  return w;
}

MuseCorpus synth_corpus(const SynthConfig& cfg) {
  return synth_world(cfg).corpus;
}

std::string synth_meta_json(const SynthConfig& cfg) {
  const SynthCounts c = synth_counts(cfg.size);
  nlohmann::ordered_json j;
  j["generator"] = kSynthGenerator;
  j["seed"] = cfg.seed;
  j["size"] = cfg.size;
  j["entities"] = {{"world", c.world},
                   {"forget", c.forget},
                   {"retain1", c.retain1},
                   {"retain2", c.retain2},
                   {"holdout", c.holdout}};
  j["passages_per_entity"] = c.passages_per_entity;
  j["world_passages_per_entity"] = c.world_passages;
  j["world_qa_docs_per_entity"] = c.world_qa_docs;
  j["qa_docs_per_entity"] = c.qa_docs;
  j["qa_per_entity"] = c.qa_per_entity;
  j["icl_examples"] = c.icl_examples;
  j["vocab_size"] = synth_vocab_size(cfg);
  j["splits"] = {
      {"world", "world/pretrain.*: pretraining text for the base LM (other entities)"},
      {"forget", "raw/forget.*: facts to unlearn; target = base + forget + retain1 + retain2"},
      {"retain1", "raw/retain1.*: the unlearning regulariser's retain set; ICL examples"},
      {"retain2",
       "raw/retain2.*: retain facts unseen by unlearning; knowmem/retain_qa, "
       "privleak/retain"},
      {"holdout", "raw/holdout.*: never trained on; privleak/holdout (non-members)"}};
  return j.dump(2) + "\n";
}

int synth_vocab_size(const SynthConfig& cfg) {
  if (cfg.vocab_size > 0) return cfg.vocab_size;
  return cfg.size == "medium" ? 2048 : 1024;
}

std::vector<std::string> synth_tokenizer_texts(const MuseCorpus& c) {
  return {c.world.text, c.forget.text, c.retain1.text, c.retain2.text, c.holdout.text};
}

MuseCorpus synth_write(const SynthConfig& cfg, const std::string& out_dir) {
  MuseCorpus c = synth_corpus(cfg);
  SpmTrainOptions so;
  so.vocab_size = synth_vocab_size(cfg);
  so.random_seed = static_cast<uint32_t>(cfg.seed & 0xffffffffu);
  // "▁" (the word-boundary mark) as a user-defined piece: every word becomes
  // "▁" + pieces, never a "▁word" piece. MUSE's KnowMem prompt ends in
  // "Answer: ", whose trailing space encodes as a lone "▁"; with ordinary
  // "▁word" pieces a lone "▁" is followed in training text only by digits
  // (split_digits), and a small model then answers every question with a year.
  // Llama-2's tokenizer has the same property; a 7B model is robust to it.
  so.user_defined_symbols = {"\xe2\x96\x81"};
  const std::string model = spm_train_bytes(synth_tokenizer_texts(c), so);
  muse_write(c, out_dir, {{"tokenizer.model", model}, {"synth.json", synth_meta_json(cfg)}});
  return c;
}

}  // namespace relapse::data
