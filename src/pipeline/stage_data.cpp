// src/pipeline/stage_data.cpp — the data stage: the corpus (data.corpus, or
// the embedded default synthesized into OUT/data or the shared cache), its
// tokenizer, the fingerprint that keys every cached model, and every split
// chunked into training windows (stages.h).
#include <filesystem>

#include "relapse/core/fs.h"
#include "relapse/core/log.h"
#include "relapse/core/progress.h"
#include "relapse/data/chunking.h"
#include "relapse/data/synth.h"
#include "stages.h"

namespace fs = std::filesystem;

namespace relapse::pipeline {

CorpusData stage_data(RunContext& ctx) {
  const RelapseConfig& cfg = *ctx.cfg;
  Progress timer("data", 0);
  CorpusData d;
  if (!cfg.data.corpus.empty()) {
    d.dir = cfg.data.corpus;
  } else {
    data::SynthConfig sc;
    sc.seed = static_cast<uint64_t>(cfg.run.seed);
    sc.size = cfg.data.synth_size;
    sc.vocab_size = cfg.data.synth_vocab_size;
    const std::string meta = data::synth_meta_json(sc);
    d.dir = cfg.run.cache_dir.empty() ? cfg.run.out_dir + "/data"
                                      : cfg.run.cache_dir + "/data-" + key_hash(meta);
    auto fresh = [&] {
      return stage_read_text(d.dir + "/synth.json") == meta &&
             fs::exists(d.dir + "/tokenizer.model");
    };
    if (!fresh() && ctx.rank == 0) {
      log_info("data: synthesizing the embedded default corpus (", sc.size, ", seed ", sc.seed,
               ") into ", d.dir);
      if (cfg.run.cache_dir.empty()) {
        data::synth_write(sc, d.dir);
      } else {
        // Shared between runs: written aside and renamed into place (as stage_save).
        const std::string tmp = d.dir + ".tmp-" + cfg.run.name;
        if (fs::exists(tmp)) fs::remove_all(tmp);
        data::synth_write(sc, tmp);
        fs_commit_dir_shared(tmp, d.dir, fresh);
      }
    }
    ctx.barrier();
  }
  d.corpus = data::muse_load(d.dir);
  std::string tok_path = cfg.model.tokenizer.empty() ? d.dir : cfg.model.tokenizer;
  if (!cfg.model.path.empty() && cfg.model.tokenizer.empty()) tok_path = cfg.model.path;
  d.tok = std::make_unique<model::Tokenizer>(tok_path);
  // Which tokenizer file the run used (model.tokenizer, the model's or the corpus's).
  if (ctx.result) ctx.result->provenance.fields["tokenizer"] = d.tok->path();
  // Cached models depend on the corpus and tokenizer bytes, not only on the
  // config (a regenerated corpus must retrain them).
  const data::MuseCorpus& cc = d.corpus;
  d.fingerprint = key_hash(stage_read_text(d.tok->path()) + "\x1f" + cc.world.text + "\x1f" +
                           cc.forget.text + "\x1f" + cc.retain1.text + "\x1f" + cc.retain2.text);
  const int64_t L = cfg.data.max_len;
  auto chunk = [&](const data::RawSplit& s) {
    return s.text.empty() ? unlearn::Chunks{} : data::muse_chunk_text(*d.tok, s.text, L);
  };
  d.world = chunk(d.corpus.world);
  d.forget = chunk(d.corpus.forget);
  d.retain1 = chunk(d.corpus.retain1);
  d.retain2 = chunk(d.corpus.retain2);
  d.holdout = chunk(d.corpus.holdout);
  for (const std::string& name : cfg.data.forget_requests) {
    const data::RawSplit s = data::muse_load_forget_request(d.dir, name);
    d.requests.push_back({name, key_hash(s.text), chunk(s)});
    log_info("data: removal request ", name, ": ", d.requests.back().chunks.size(), " chunks");
    // relapse trains its own target on raw/forget: a request outside it asks to
    // forget text that target never saw (MUSE's targets were trained on every fold).
    if (cfg.model.path.empty() && ctx.rank == 0 &&
        d.corpus.forget.text.find(s.text) == std::string::npos)
      log_warn("data: removal request ", name,
               " is not part of raw/forget, the only forget text the target relapse trains sees; "
               "give model.path a target trained on it (as MUSE's are)");
  }
  log_info("data: ", d.dir, ": chunks of ", L, " tokens: world ", d.world.size(), ", forget ",
           d.forget.size(), ", retain1 ", d.retain1.size(), ", retain2 ", d.retain2.size());
  ctx.add_stage_time("data", timer.elapsed_s());
  return d;
}

}  // namespace relapse::pipeline
