// src/pipeline/config_check.cpp — the rules of a run's config that span
// sections, written once (relapse/pipeline/config.h). Rules about one
// section's own keys (ranges, finiteness, choices) are in that section's
// config_fields(); these need two sections, the launched world or the data:
//
//   config_check_across  keys of several sections (and the world, when known):
//                        checked while loading — with parallel.ranks as the
//                        world — and again by the run with the world it got;
//   config_check_data    lengths and row counts against the loaded corpus and
//                        the model's context, before anything trains.
//
// Every refusal is kConfig naming the key and where its value came from.
#include <algorithm>

#include "relapse/eval/muse_metrics.h"
#include "relapse/model/llama_config.h"
#include "relapse/model/tokenizer.h"
#include "relapse/pipeline/config.h"
#include "relapse/quant/quant_spec.h"
#include "stages.h"

namespace relapse {

namespace {

// One loop of the run that batches rows over the data-parallel ranks.
struct BatchedLoop {
  const char* key;  // the batch-size key
  int batch_size;
  bool runs;
};

std::vector<BatchedLoop> batched_loops(const RelapseConfig& c) {
  const bool trains_ft =
      c.train.stage.epochs > 0 && (c.train.target.empty() || c.train.retrain.empty());
  return {
      {"pretrain.batch_size", c.pretrain.batch_size, c.model.path.empty() && c.pretrain.epochs > 0},
      {"train.batch_size", c.train.stage.batch_size, trains_ft},
      {"unlearn.batch_size", c.unlearn.batch_size, !c.unlearn.methods.empty()},
      {"relearn.batch_size", c.relearn.batch_size, c.relearn.steps > 0},
  };
}

}  // namespace

void config_check_across(const RelapseConfig& c, int64_t world, const ConfigCheckFn& check) {
  const int64_t tp = c.parallel.tp;
  if (world > 0) {
    check("parallel.tp", world % tp == 0,
          "does not divide the " + std::to_string(world) +
              " ranks this run is launched with (world = DP x TP)");
    check("parallel.ranks", c.parallel.ranks == 0 || c.parallel.ranks == world,
          "this run is launched with " + std::to_string(world) +
              " ranks; launch it with parallel.ranks ranks, or set it to 0");
  }
  const int64_t ranks = c.parallel.ranks > 0 ? c.parallel.ranks : world;
  if (ranks > 0 && tp >= 1 && ranks % tp == 0) {
    const int64_t dp = ranks / tp;
    for (const BatchedLoop& l : batched_loops(c))
      check(l.key, !l.runs || l.batch_size >= dp,
            "the global batch (" + std::to_string(l.batch_size) +
                " rows) must have at least one row per data-parallel rank (DP = " +
                std::to_string(ranks) + " ranks / parallel.tp " + std::to_string(tp) + " = " +
                std::to_string(dp) + ")");
  }
  // The relearning attack's start: the full model or one of this run's quantized copies.
  if (c.relearn.steps > 0 && c.relearn.from != "full") {
    std::string labels = "full";
    bool listed = false;
    for (const quant::QuantSpec& s : quant::quant_specs(c.quantize)) {
      labels += ", " + s.label;
      listed = listed || s.label == c.relearn.from;
    }
    check("relearn.from", listed,
          "'" + c.relearn.from + "' is not a precision this run evaluates (" + labels + ")");
  }
  // LLM.int8's emulated matmul needs whole activation rows; every other format runs at any TP.
  bool int8 = false;
  for (const auto& f : c.quantize.bnb.formats) int8 = int8 || f == "llm_int8";
  check("quantize.bnb.formats", !int8 || tp == 1,
        "llm_int8 needs parallel.tp = 1 (the LLM.int8 emulation's matmul needs whole "
        "activation rows; RTN, GPTQ, AWQ, FP4 and NF4 run at any TP); got tp = " +
            std::to_string(tp));
}

void config_check_across_loaded(const RelapseConfig& c, int64_t world) {
  config_check_across(c, world, [&](const char* key, bool ok, const std::string& why) {
    if (!ok) config_refuse(c.origins, key, why);
  });
}

namespace pipeline {

namespace {

// The longest tokenized prompt among the first `limit` (0 = all) of `prompts`.
int64_t longest_prompt(const model::Tokenizer& tok, const std::vector<std::string>& prompts,
                       int64_t limit) {
  const size_t n = limit > 0 ? std::min<size_t>(prompts.size(), limit) : prompts.size();
  int64_t longest = 0;
  for (size_t i = 0; i < n; ++i)
    longest = std::max<int64_t>(longest, tok.encode(prompts[i], /*add_bos=*/true).size());
  return longest;
}

std::vector<std::string> knowmem_prompts(const std::vector<data::QaPair>& qa,
                                         const std::vector<data::QaPair>& icl_pairs) {
  std::vector<eval::QA> icl;
  for (const auto& p : icl_pairs) icl.push_back({p.question, p.answer});
  std::vector<std::string> out;
  for (const auto& q : qa) out.push_back(eval::knowmem_prompt(icl, q.question));
  return out;
}

// A generation of `max_new` tokens after the longest prompt must fit the context.
void check_generation_fits(const RelapseConfig& c, const char* key, int64_t prompt, int64_t max_new,
                           int64_t context, const char* what) {
  if (prompt + max_new <= context) return;
  config_refuse(c.origins, key,
                std::to_string(max_new) + " new tokens after the longest " + what + " prompt (" +
                    std::to_string(prompt) + " tokens) exceed the model's context " +
                    "(max_position_embeddings = " + std::to_string(context) + "); at most " +
                    std::to_string(std::max<int64_t>(0, context - prompt)));
}

}  // namespace

void config_check_data(const RelapseConfig& c, const RunContext& ctx, const CorpusData& d,
                       const model::LlamaConfig& shape) {
  const int64_t context = shape.max_position_embeddings;
  if (c.data.max_len > context)
    config_refuse(c.origins, "data.max_len",
                  std::to_string(c.data.max_len) +
                      " tokens per training chunk exceed the model's "
                      "context (max_position_embeddings = " +
                      std::to_string(context) + ")");
  const int64_t dp = ctx.grid.dp_size;
  if (dp > 1 && !c.unlearn.methods.empty() && !d.forget.empty()) {
    const int64_t rows = std::min<int64_t>(c.unlearn.batch_size, d.forget.size());
    if (rows < dp)
      config_refuse(c.origins, "unlearn.batch_size",
                    "the forget set has " + std::to_string(d.forget.size()) +
                        " chunks, fewer than the " + std::to_string(dp) +
                        " data-parallel ranks (each needs at least one row per update)");
  }
  if (c.relearn.steps > 0 && relearn_source_chunks(d, c.relearn.source).empty())
    config_refuse(c.origins, "relearn.source",
                  "the " + c.relearn.source + " split of " + d.dir +
                      " has no text for the relearning attack to fine-tune on");
  const EvalSection& e = c.eval;
  const model::Tokenizer& tok = *d.tok;
  // The evaluation's generations (eval/muse_eval.cpp builds the same prompts).
  std::vector<std::string> prompts;
  for (const auto& item : d.corpus.verbmem_forget) prompts.push_back(item.prompt);
  check_generation_fits(c, "eval.verbmem_max_new_tokens",
                        longest_prompt(tok, prompts, e.max_samples), e.verbmem_max_new_tokens,
                        context, "VerbMem");
  const auto f = knowmem_prompts(d.corpus.knowmem_forget_qa, d.corpus.knowmem_forget_qa_icl);
  const auto r = knowmem_prompts(d.corpus.knowmem_retain_qa, d.corpus.knowmem_retain_qa_icl);
  const int64_t longest =
      std::max(longest_prompt(tok, f, e.max_samples), longest_prompt(tok, r, e.max_samples));
  check_generation_fits(c, "eval.knowmem_max_new_tokens", longest, e.knowmem_max_new_tokens,
                        context, "KnowMem");
}

}  // namespace pipeline
}  // namespace relapse
