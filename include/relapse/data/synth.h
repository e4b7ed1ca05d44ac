// relapse/data/synth.h — the embedded default corpus: fictitious facts about
// invented entities, written in the MUSE layout (relapse/data/muse.h).
//
// Entities are people (birth year, birth town, occupation, employer, a relation
// to another person), towns (founding year, region, what they are known for) and
// organisations (founding year, headquarters town, founder, field), all with
// names built from syllables. Every entity belongs to exactly one split, and its
// references (birth town, employer, founder, relation, headquarters) point only
// to entities of the same split, so no split names another split's entities.
//
// What each split is for (the MUSE recipe, mirrored at small scale):
//   world    raw text for pretraining a base LM on a larger world of fictitious
//            entities (world/pretrain.{txt,json}; not part of MUSE): their
//            passages and their questions in KnowMem's format (as below,
//            `world_qa_docs` times), so the base LM
//            learns to answer questions about facts it read in passages, as a
//            pretrained LM can before MUSE fine-tunes it on the corpus
//   forget   the facts to unlearn; the target is fine-tuned on forget + retain1
//            + retain2, the retrain reference on retain1 + retain2 only
//   retain1  the retain set used by unlearning's regulariser (GDR, KLR); also
//            the source of the in-context examples (knowmem/*_icl.json)
//   retain2  retain facts the unlearning never sees: knowmem/retain_qa.json and
//            privleak/retain.json, the utility measurement
//   holdout  never trained on: privleak/holdout.json (membership non-members)
// Each entity has `passages_per_entity` paraphrased passages (distinct templates)
// stating all of its attributes; and every attribute's question, `qa_docs`
// times, in KnowMem's "Question: q\nAnswer: a" format (the split's questions
// shuffled across entities, four to a document, joined by "\n\n": the context
// KnowMem asks in, after in-context pairs about other entities), so a small model trained
// from scratch can answer KnowMem's questions about what it read (a
// pretrained 7B model brings that ability with it; a 1M-parameter one does
// not generalise from passages to questions); raw/<split>.json lists the split's passages in
// a shuffled order and raw/<split>.txt joins them with "\n\n" as MUSE does.
// QA pairs ask single attributes (answers: a year, a town, a name, a short noun
// phrase) and each answer occurs verbatim in every passage of its entity.
// verbmem/forget.json: one passage per forget entity, cut at a word boundary
// (prompt = first 40% of the words, gt = the rest; prompt + " " + gt = passage).
// privleak/{forget,retain,holdout}.json: one passage per forget / retain2 /
// holdout entity.
//
// Deterministic: every random choice comes from relapse::RngStreams(seed)
// streams named "synth/<purpose>", drawn through integer arithmetic only (no
// std::uniform_int_distribution, whose output differs between standard
// libraries), so a seed gives the same bytes everywhere.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "relapse/data/muse.h"

namespace relapse::data {

// Entity counts per split and the other size knobs. synth_counts("tiny" |
// "small" | "medium") gives the presets; anything else is a kConfig error.
struct SynthCounts {
  int forget = 0, retain1 = 0, retain2 = 0, holdout = 0, world = 0;
  int passages_per_entity = 3;  // forget/retain/holdout entities
  int world_passages = 2;       // per world entity
  int world_qa_docs = 1;        // world: each question this often (as qa_docs)
  int qa_docs = 1;              // forget / retain / holdout: each question this often in raw/
  int qa_per_entity = 2;        // questions per forget / retain2 entity
  int icl_examples = 3;         // per knowmem/*_icl.json file
};
SynthCounts synth_counts(const std::string& size);

struct SynthConfig {
  uint64_t seed = 1;
  std::string size = "small";  // tiny | small | medium (the preset of synth_counts)
  int vocab_size = 0;          // tokenizer vocabulary; 0 = 1024 (tiny, small) / 2048 (medium)
};
// cfg.vocab_size, or the size's default when 0.
int synth_vocab_size(const SynthConfig& cfg);

enum class EntityKind { kPerson, kTown, kOrg };
const char* entity_kind_name(EntityKind k);

struct SynthEntity {
  EntityKind kind = EntityKind::kPerson;
  std::string name;
  std::string split;  // world | forget | retain1 | retain2 | holdout
  // (attribute, value) in a fixed order per kind, e.g. ("birth_year", "1873").
  std::vector<std::pair<std::string, std::string>> attributes;
  std::vector<std::string> passages;
  std::vector<QaPair> qa;  // one question per attribute (the candidates for knowmem)
};

struct SynthWorld {
  std::vector<SynthEntity> entities;  // world, forget, retain1, retain2, holdout order
  MuseCorpus corpus;
};

// The entities and the corpus built from them.
SynthWorld synth_world(const SynthConfig& cfg);
// synth_world(cfg).corpus.
MuseCorpus synth_corpus(const SynthConfig& cfg);
// A small JSON document describing how a corpus was made (generator version,
// seed, size, counts, vocabulary, split purposes), written as synth.json.
std::string synth_meta_json(const SynthConfig& cfg);

// The texts a corpus's tokenizer is trained on: raw/*.txt of every split and
// world/pretrain.txt. Holdout is included on purpose: every split is tokenized
// by merges learned from all of them, so PrivLeak's member / non-member texts
// do not differ in how well the tokenizer fits them.
std::vector<std::string> synth_tokenizer_texts(const MuseCorpus& c);

// `relapse data synth`: synth_corpus(cfg), a tokenizer trained on it
// (spm_train_bytes with synth_vocab_size(cfg), random_seed = the low 32 bits of
// cfg.seed) and synth.json, all written atomically to out_dir (muse_write):
// out_dir/tokenizer.model lies beside the MUSE layout. Returns the corpus.
MuseCorpus synth_write(const SynthConfig& cfg, const std::string& out_dir);

}  // namespace relapse::data
