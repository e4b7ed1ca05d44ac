// src/cli/cmd_generate.cpp — `relapse generate`: greedy continuations of prompts.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "relapse/core/log.h"
#include "relapse/dist/device.h"
#include "relapse/model/hf_checkpoint.h"
#include "relapse/model/inference.h"
#include "relapse/model/tokenizer.h"

namespace relapse::cli {

namespace {
struct GenerateArgs {
  std::vector<std::string> prompts;
  std::string model, prompt_file, tokenizer, dtype;
  std::string device = "auto";  // run.device's values
  int64_t max_new_tokens = 32, batch_size = 8;
  bool json = false, ignore_eos = false;
};

int generate_run(const GenerateArgs& a, Runtime& rt) {
  std::vector<std::string> prompts = a.prompts;
  if (!a.prompt_file.empty()) {
    auto more = cli_read_texts(a.prompt_file);
    prompts.insert(prompts.end(), more.begin(), more.end());
  }
  RELAPSE_CHECK_CODE(ExitCode::kUsage, !prompts.empty(), "give --prompt TEXT or --prompt-file F");
  model::Tokenizer tok(cli_tokenizer_path(a.model, a.tokenizer));
  model::HfLoadOptions lo;
  lo.dtype = a.dtype;
  lo.device = device_resolve(a.device, device_world_local_rank(), "--device");
  auto m = model::hf_load(a.model, lo);
  model::tokenizer_check_fits(tok, m->config().vocab_size, a.model);
  std::vector<model::TokenSeq> ids;
  for (const auto& p : prompts) ids.push_back(tok.encode(p, true, false));
  model::GenerateOptions go;
  go.max_new_tokens = a.max_new_tokens;
  go.batch_size = a.batch_size;
  go.eos_id = a.ignore_eos ? -1 : tok.eos_id();
  go.pad_id = 0;
  auto outs = model::generate_greedy(m, ids, go);
  if (rt.rank() != 0) return 0;
  if (a.json) {
    nlohmann::json j = nlohmann::json::array();
    for (size_t i = 0; i < prompts.size(); ++i) {
      j.push_back({{"prompt", prompts[i]},
                   {"prompt_ids", ids[i]},
                   {"output_ids", outs[i]},
                   {"output", tok.decode(outs[i])}});
    }
    std::cout << j.dump(1) << "\n";
  } else {
    for (size_t i = 0; i < prompts.size(); ++i) {
      std::cout << prompts[i] << tok.decode(outs[i]) << "\n";
      if (prompts.size() > 1) std::cout << "\n";
    }
  }
  return 0;
}
}  // namespace

void cmd_generate_register(CLI::App& app, CommandRun& run) {
  auto a = std::make_shared<GenerateArgs>();
  CLI::App* c = app.add_subcommand("generate", "Greedy generation with a KV cache");
  c->add_option("--model", a->model, "Hugging Face model directory")->required();
  c->add_option("--prompt", a->prompts, "Prompt text (repeatable; prompts are batched)");
  c->add_option("--prompt-file", a->prompt_file,
                "Prompts: .json list of strings, else one per line");
  c->add_option("--max-new-tokens", a->max_new_tokens, "Tokens to generate")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--batch-size", a->batch_size, "Prompts per batch")->check(CLI::PositiveNumber);
  c->add_option("--tokenizer", a->tokenizer,
                "tokenizer.model, tokenizer.json or a directory with one (default: MODEL's)");
  c->add_option("--dtype", a->dtype, "float32|bfloat16 (default: the checkpoint's)");
  c->add_option("--device", a->device, "auto|cpu|cuda: where the model runs (as run.device)")
      ->check(CLI::IsMember(device_setting_names()));
  c->add_flag("--json", a->json, "Print prompts, token ids and outputs as JSON");
  c->add_flag("--ignore-eos", a->ignore_eos, "Always generate --max-new-tokens tokens");
  c->callback([a, &run] { run = [a](Runtime& rt) { return generate_run(*a, rt); }; });
}

RELAPSE_REGISTER_COMMAND(40, cmd_generate_register);

}  // namespace relapse::cli
