// src/cli/cmd_convert.cpp — `relapse convert`: load an HF directory and save it
// again through relapse's writer (change dtype, re-shard). Also how the
// transformers round-trip fixture is produced (tests/golden/make_roundtrip_fixture.py).
#include <fstream>

#include "cli_util.h"
#include "commands.h"
#include "relapse/core/log.h"
#include "relapse/core/progress.h"
#include "relapse/model/hf_checkpoint.h"
#include "relapse/model/tokenizer.h"

namespace relapse::cli {

namespace {
struct ConvertArgs {
  std::string model, out, dtype, tokenizer;
  double max_shard_mb = 5 * 1024;
};
}  // namespace

void cmd_convert_register(CLI::App& app, CommandRun& run) {
  auto a = std::make_shared<ConvertArgs>();
  CLI::App* c = app.add_subcommand(
      "convert", "Load a Hugging Face model directory and write it back (dtype, shards)");
  c->add_option("--model", a->model, "Input Hugging Face model directory")->required();
  c->add_option("--out", a->out, "Output directory (replaced atomically)")->required();
  c->add_option("--dtype", a->dtype, "float32|bfloat16|float16 (default: the checkpoint's)");
  c->add_option("--tokenizer", a->tokenizer,
                "tokenizer.model or tokenizer.json to copy (default: MODEL's, if present)");
  c->add_option("--max-shard-mb", a->max_shard_mb,
                "Shard size limit in MiB (transformers' default 5 GiB)")
      ->check(CLI::PositiveNumber);
  c->callback([a, &run] {
    run = [a](Runtime& rt) {
      model::HfLoadOptions lo;
      lo.dtype = a->dtype;
      auto m = model::hf_load(a->model, lo);
      const std::string tok =
          a->tokenizer.empty() ? model::tokenizer_file_in(a->model) : a->tokenizer;
      if (rt.rank() == 0) {
        model::hf_save(m, a->out, tok, static_cast<uint64_t>(a->max_shard_mb * 1024 * 1024));
        // The peak shows the load streams: a checkpoint converted tensor by
        // tensor never holds the source dtype whole (tests/model/test_streaming_load.cpp).
        log_info("wrote ", a->out, " (", model::dtype_name(m->dtype()), "); peak resident memory ",
                 peak_rss_bytes() >> 20, " MiB");
      }
      return 0;
    };
  });
}

RELAPSE_REGISTER_COMMAND(50, cmd_convert_register);

}  // namespace relapse::cli
