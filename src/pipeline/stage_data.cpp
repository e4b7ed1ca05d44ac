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

CorpusData stage_data(RunContext& ctx, const DataSection& data) {
  Progress timer("data", 0);
  CorpusData d;
  if (!data.corpus.empty()) {
    d.dir = data.corpus;
  } else {
    data::SynthConfig sc;
    sc.seed = static_cast<uint64_t>(ctx.run->seed);
    sc.size = data.synth_size;
    sc.vocab_size = data.synth_vocab_size;
    const std::string meta = data::synth_meta_json(sc);
    d.dir = ctx.run->cache_dir.empty() ? ctx.run->out_dir + "/data"
                                       : ctx.run->cache_dir + "/data-" + key_hash(meta);
    auto fresh = [&] {
      return stage_read_text(d.dir + "/synth.json") == meta &&
             fs::exists(d.dir + "/tokenizer.model");
    };
    if (!fresh() && ctx.rank == 0) {
      log_info("data: synthesizing the embedded default corpus (", sc.size, ", seed ", sc.seed,
               ") into ", d.dir);
      if (ctx.run->cache_dir.empty()) {
        data::synth_write(sc, d.dir);
      } else {
        // Shared between runs: written aside and renamed into place (as stage_save).
        const std::string tmp = d.dir + ".tmp-" + ctx.run->name;
        if (fs::exists(tmp)) fs::remove_all(tmp);
        data::synth_write(sc, tmp);
        fs_commit_dir_shared(tmp, d.dir, fresh);
      }
    }
    ctx.barrier();
  }
  d.corpus = data::muse_load(d.dir);
  std::string tok_path = ctx.model->tokenizer.empty() ? d.dir : ctx.model->tokenizer;
  if (!ctx.model->path.empty() && ctx.model->tokenizer.empty()) tok_path = ctx.model->path;
  d.tok = std::make_unique<model::Tokenizer>(tok_path);
  // Which tokenizer file the run used (model.tokenizer, the model's or the corpus's).
  if (ctx.result) ctx.result->provenance.fields["tokenizer"] = d.tok->path();
  // Cached models depend on the corpus and tokenizer bytes, not only on the
  // config (a regenerated corpus must retrain them).
  const data::MuseCorpus& cc = d.corpus;
  d.fingerprint = key_hash(stage_read_text(d.tok->path()) + "\x1f" + cc.world.text + "\x1f" +
                           cc.forget.text + "\x1f" + cc.retain1.text + "\x1f" + cc.retain2.text);
  const int64_t L = data.max_len;
  auto chunk = [&](const data::RawSplit& s) {
    return s.text.empty() ? unlearn::Chunks{} : data::muse_chunk_text(*d.tok, s.text, L);
  };
  d.world = chunk(d.corpus.world);
  d.forget = chunk(d.corpus.forget);
  d.retain1 = chunk(d.corpus.retain1);
  d.retain2 = chunk(d.corpus.retain2);
  d.holdout = chunk(d.corpus.holdout);
  for (const std::string& name : data.forget_requests) {
    const data::RawSplit s = data::muse_load_forget_request(d.dir, name);
    d.requests.push_back({name, key_hash(s.text), chunk(s)});
    log_info("data: removal request ", name, ": ", d.requests.back().chunks.size(), " chunks");
    // relapse trains its own target on raw/forget: a request outside it asks to
    // forget text that target never saw (MUSE's targets were trained on every fold).
    if (ctx.model->path.empty() && ctx.rank == 0 &&
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
