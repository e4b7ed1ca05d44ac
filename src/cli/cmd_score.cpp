// src/cli/cmd_score.cpp — `relapse score`: per-token log-probabilities of texts.
#include <cmath>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "relapse/core/log.h"
#include "relapse/model/hf_checkpoint.h"
#include "relapse/model/inference.h"
#include "relapse/model/tokenizer.h"

namespace relapse::cli {

namespace {
struct ScoreArgs {
  std::string model, text_file, out, tokenizer, dtype;
  int64_t batch_size = 8;
  bool no_bos = false;
};

int score_run(const ScoreArgs& a, Runtime& rt) {
  model::Tokenizer tok(cli_tokenizer_path(a.model, a.tokenizer));
  model::HfLoadOptions lo;
  lo.dtype = a.dtype;
  auto m = model::hf_load(a.model, lo);
  std::vector<std::string> texts = cli_read_texts(a.text_file);
  std::vector<model::TokenSeq> seqs;
  for (const auto& t : texts) seqs.push_back(tok.encode(t, !a.no_bos, false));
  log_info("scoring ", seqs.size(), " texts with ", a.model, " (", model::dtype_name(m->dtype()),
           ")");
  auto lps = model::score_token_logprobs(m, seqs, a.batch_size, 0);
  if (rt.rank() != 0)
    return 0;  // every rank computes; rank 0 writes (data parallelism comes later)
  nlohmann::json j;
  j["model"] = a.model;
  j["dtype"] = model::dtype_name(m->dtype());
  j["add_bos"] = !a.no_bos;
  j["texts"] = nlohmann::json::array();
  for (size_t i = 0; i < texts.size(); ++i) {
    double sum = 0;
    for (float v : lps[i]) sum += v;
    nlohmann::json e;
    e["index"] = i;
    e["text"] = texts[i];
    e["token_ids"] = seqs[i];
    e["logprobs"] = lps[i];  // logprobs[t] = log p(token_ids[t+1] | token_ids[..t])
    e["sum_logprob"] = sum;
    e["mean_logprob"] = lps[i].empty() ? 0.0 : sum / lps[i].size();
    j["texts"].push_back(e);
  }
  cli_write_atomic(a.out, j.dump(1) + "\n");
  log_info("wrote ", a.out);
  return 0;
}
}  // namespace

void cmd_score_register(CLI::App& app, CommandRun& run) {
  auto a = std::make_shared<ScoreArgs>();
  CLI::App* c = app.add_subcommand("score", "Per-token log-probabilities of texts under a model");
  c->add_option("--model", a->model, "Hugging Face model directory")->required();
  c->add_option("--text-file", a->text_file,
                "Texts: a .json list of strings (MUSE layout), else one text per non-empty line")
      ->required();
  c->add_option("--out", a->out, "Output JSON file (written atomically)")->required();
  c->add_option("--tokenizer", a->tokenizer, "tokenizer.model (default: MODEL/tokenizer.model)");
  c->add_option("--dtype", a->dtype, "float32|bfloat16 (default: the checkpoint's)");
  c->add_option("--batch-size", a->batch_size, "Texts per forward pass")
      ->check(CLI::PositiveNumber);
  c->add_flag("--no-bos", a->no_bos,
              "Do not prepend BOS (default: prepend, as Llama's tokenizer does)");
  c->callback([a, &run] { run = [a](Runtime& rt) { return score_run(*a, rt); }; });
}

}  // namespace relapse::cli
