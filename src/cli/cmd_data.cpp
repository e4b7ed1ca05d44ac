// src/cli/cmd_data.cpp — `relapse data synth`: writes the embedded default
// corpus (fictitious facts in the MUSE layout) and its SentencePiece
// tokenizer.model (relapse/data/synth.h); `relapse data import`: the Hub's
// parquet files of MUSE into that layout (relapse/data/muse_import.h).
#include "commands.h"
#include "relapse/core/log.h"
#include "relapse/data/muse_import.h"
#include "relapse/data/synth.h"
#include "relapse/model/tokenizer.h"

namespace relapse::cli {

namespace {
struct DataSynthArgs {
  std::string out, size = "small";
  uint64_t seed = 1;
  int vocab_size = 0;
};

int data_synth_run(const DataSynthArgs& a, Runtime& rt) {
  if (rt.rank() != 0) return 0;  // one writer; the corpus is small
  data::SynthConfig cfg;
  cfg.seed = a.seed;
  cfg.size = a.size;
  cfg.vocab_size = a.vocab_size;
  const data::MuseCorpus c = data::synth_write(cfg, a.out);
  const model::Tokenizer tok(a.out + "/tokenizer.model");
  size_t bytes = 0;
  for (const auto& t : data::synth_tokenizer_texts(c)) bytes += t.size();
  log_info("wrote ", a.out, ": ", c.forget.docs.size(), " forget / ", c.retain1.docs.size(),
           " retain1 / ", c.retain2.docs.size(), " retain2 / ", c.holdout.docs.size(),
           " holdout / ", c.world.docs.size(), " world passages (", bytes / 1024, " KiB), ",
           c.knowmem_forget_qa.size(), " forget QA, ", c.knowmem_retain_qa.size(),
           " retain QA, tokenizer vocab ", tok.vocab_size(), ", ",
           tok.encode(c.forget.text, false).size(), " forget tokens");
  return 0;
}

struct DataImportArgs {
  std::string from, out;
};

int data_import_run(const DataImportArgs& a, Runtime& rt) {
  if (rt.rank() != 0) return 0;
  const data::MuseImportReport r = data::muse_import(a.from, a.out);
  std::string absent;
  for (const auto& f : r.absent) absent += " " + f;
  log_info("wrote ", r.written.size(), " files of the MUSE layout into ", a.out,
           r.absent.empty() ? std::string() : "; not in " + a.from + ":" + absent);
  return 0;
}
}  // namespace

void cmd_data_register(CLI::App& app, CommandRun& run) {
  CLI::App* d =
      app.add_subcommand("data", "Corpus tools (the embedded default corpus, MUSE import)");
  d->require_subcommand(1);
  auto a = std::make_shared<DataSynthArgs>();
  CLI::App* s = d->add_subcommand(
      "synth",
      "Write the synthetic corpus of fictitious facts in the MUSE layout + tokenizer.model");
  s->add_option("--out", a->out, "Output directory (replaced atomically)")->required();
  s->add_option("--seed", a->seed, "Seed of every random choice (default 1)");
  s->add_option("--size", a->size, "tiny | small | medium (~4x small)")
      ->check(CLI::IsMember({"tiny", "small", "medium"}));
  s->add_option("--vocab-size", a->vocab_size,
                "Tokenizer vocabulary (default 1024 small, 2048 medium)")
      ->check(CLI::Range(260, 1 << 20));
  s->callback([a, &run] { run = [a](Runtime& rt) { return data_synth_run(*a, rt); }; });

  auto im = std::make_shared<DataImportArgs>();
  CLI::App* i = d->add_subcommand(
      "import",
      "Convert MUSE as the Hugging Face Hub publishes it (muse-bench/MUSE-News, MUSE-Books: "
      "<config>/<split>-00000-of-00001.parquet) into the JSON layout relapse reads");
  i->add_option("--from", im->from, "The Hub dataset's directory (a snapshot_download)")
      ->required();
  i->add_option("--out", im->out, "Output directory (data.corpus)")->required();
  i->callback([im, &run] { run = [im](Runtime& rt) { return data_import_run(*im, rt); }; });
}

RELAPSE_REGISTER_COMMAND(15, cmd_data_register);

}  // namespace relapse::cli
