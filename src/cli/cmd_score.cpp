// src/cli/cmd_score.cpp — `relapse score`: per-token log-probabilities of texts,
// written as JSON or HDF5 (by the --out extension) with the run's provenance.
#include <cmath>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "relapse/archive/h5.h"
#include "relapse/archive/h5_provenance.h"
#include "relapse/core/fs.h"
#include "relapse/core/log.h"
#include "relapse/core/provenance.h"
#include "relapse/dist/device.h"
#include "relapse/dist/hostnames.h"
#include "relapse/model/cpu_gemm.h"
#include "relapse/model/hf_checkpoint.h"
#include "relapse/model/inference.h"
#include "relapse/model/tokenizer.h"

namespace relapse::cli {

namespace {
struct ScoreArgs {
  std::string model, text_file, out, tokenizer, dtype;
  std::string device = "auto";  // run.device's values
  int64_t batch_size = 8;
  bool no_bos = false;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

struct ScoreResult {
  std::vector<std::string> texts;
  std::vector<model::TokenSeq> seqs;
  std::vector<std::vector<float>> logprobs;  // logprobs[i][t] = log p(seqs[i][t+1] | seqs[i][..t])
  std::vector<double> sums, means;
  std::string dtype;
};

// HDF5 layout: /provenance (attributes); /score with attributes model, dtype,
// add_bos; `texts` (vlen UTF-8 strings); `token_ids` and `logprobs` as ragged
// arrays (group with `values` + `offsets`, see relapse/archive/h5.h);
// `sum_logprob`, `mean_logprob` (float64, one per text).
void score_write_h5(const ScoreArgs& a, const ScoreResult& r, const Provenance& prov) {
  auto f = archive::H5File::create(a.out);
  archive::h5_write_provenance(f.root(), prov);
  auto g = f.root().group("score");
  g.set_attr("model", a.model);
  g.set_attr("dtype", r.dtype);
  g.set_attr("add_bos", static_cast<int64_t>(!a.no_bos));
  g.write_strings("texts", r.texts);
  std::vector<int64_t> flat, offsets{0};
  for (const auto& s : r.seqs) {
    flat.insert(flat.end(), s.begin(), s.end());
    offsets.push_back(static_cast<int64_t>(flat.size()));
  }
  auto tg = g.group("token_ids");
  tg.write("values", flat);
  tg.write("offsets", offsets);
  tg.set_attr("layout", "ragged");
  g.write_ragged("logprobs", r.logprobs);
  g.write("sum_logprob", r.sums);
  g.write("mean_logprob", r.means);
  f.commit();
}

void score_write_json(const ScoreArgs& a, const ScoreResult& r, const Provenance& prov) {
  nlohmann::json j;
  j["model"] = a.model;
  j["dtype"] = r.dtype;
  j["add_bos"] = !a.no_bos;
  j["provenance"] = nlohmann::json::parse(prov.to_json());
  j["texts"] = nlohmann::json::array();
  for (size_t i = 0; i < r.texts.size(); ++i) {
    j["texts"].push_back({{"index", i},
                          {"text", r.texts[i]},
                          {"token_ids", r.seqs[i]},
                          {"logprobs", r.logprobs[i]},
                          {"sum_logprob", r.sums[i]},
                          {"mean_logprob", r.means[i]}});
  }
  fs_write_file_atomic(a.out, j.dump(1) + "\n");
}

int score_run(const ScoreArgs& a, Runtime& rt) {
  model::Tokenizer tok(cli_tokenizer_path(a.model, a.tokenizer));
  model::HfLoadOptions lo;
  lo.dtype = a.dtype;
  lo.device = device_resolve(a.device, device_world_local_rank(), "--device");
  auto m = model::hf_load(a.model, lo);
  model::tokenizer_check_fits(tok, m->config().vocab_size, a.model);
  ScoreResult r;
  r.texts = cli_read_texts(a.text_file);
  r.dtype = model::dtype_name(m->dtype());
  for (const auto& t : r.texts) r.seqs.push_back(tok.encode(t, !a.no_bos, false));
  log_info("scoring ", r.seqs.size(), " texts with ", a.model, " (", r.dtype, ")");
  r.logprobs = model::score_token_logprobs(m, r.seqs, a.batch_size, 0);
  for (const auto& lp : r.logprobs) {
    double sum = 0;
    for (float v : lp) sum += v;
    r.sums.push_back(sum);
    r.means.push_back(lp.empty() ? 0.0 : sum / lp.size());
  }
  std::vector<std::string> hosts = runtime_gather_hostnames();
  if (rt.rank() != 0)
    return 0;  // every rank computes; rank 0 writes (data parallelism comes later)
  Provenance prov = provenance_collect(rt.world_size(), hosts, cli_command_line());
  if (!lo.device.is_cuda())  // how its bf16 GEMMs ran (model/cpu_gemm.h)
    prov.fields["cpu_bf16_gemm"] = model::cpu_bf16_gemm_describe("auto");
  if (ends_with(a.out, ".h5") || ends_with(a.out, ".hdf5")) {
    score_write_h5(a, r, prov);
  } else {
    score_write_json(a, r, prov);
  }
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
  c->add_option("--out", a->out,
                "Output: .h5/.hdf5 writes HDF5, anything else JSON; written atomically")
      ->required();
  c->add_option("--tokenizer", a->tokenizer,
                "tokenizer.model, tokenizer.json or a directory with one (default: MODEL's)");
  c->add_option("--dtype", a->dtype, "float32|bfloat16 (default: the checkpoint's)");
  c->add_option("--device", a->device, "auto|cpu|cuda: where the model runs (as run.device)")
      ->check(CLI::IsMember(device_setting_names()));
  c->add_option("--batch-size", a->batch_size, "Texts per forward pass")
      ->check(CLI::PositiveNumber);
  c->add_flag("--no-bos", a->no_bos,
              "Do not prepend BOS (default: prepend, as Llama's tokenizer does)");
  c->callback([a, &run] { run = [a](Runtime& rt) { return score_run(*a, rt); }; });
}

RELAPSE_REGISTER_COMMAND(30, cmd_score_register);

}  // namespace relapse::cli
