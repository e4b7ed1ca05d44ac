// relapse/eval/muse_eval.h — MUSE's evaluation protocol run over a corpus with
// a model: VerbMem (greedy continuation of forget passages, ROUGE-L against the
// truncated ground truth), KnowMem on forget and retain (few-shot QA, greedy,
// answer truncation, ROUGE-L), and the PrivLeak Min-K% scores of the forget /
// retain / holdout texts with the forget-vs-holdout AUC. The pure pieces
// (prompts, truncation, Min-K%, AUC, ROUGE-L) are in muse_metrics.h, rouge.h,
// auc.h; this file runs the model over every sample, batched.
//
// MUSE (github.com/swj0419/muse_bench, metrics/{verbmem,knowmem,privleak}.py):
//  - VerbMem: ids = tokenizer(prompt) (with BOS), greedy max_new_tokens; the
//    output is decoded with skip_special_tokens; the reference is the decode
//    of tokenizer(gt) (with BOS) cut to max_new_tokens ids
//    (verbmem_truncate_reference); score = ROUGE-L(reference, output).
//  - KnowMem: prompt = knowmem_prompt(icl, question) tokenized with BOS, greedy
//    max_new_tokens, decoded, knowmem_truncate_answer; score = ROUGE-L(answer,
//    output).
//  - PrivLeak: each text scored as BOS + tokenizer(text, no BOS) ids, Min-K%
//    of the per-token log-probs; AUC = privleak_auc(forget, holdout).
// Generation stops early at EOS (HF generate's default eos_token_id).
// Aggregates are means × 100 (the paper's and MUSE's eval.py scale).
//
// Data parallel: with a communicator of size D, the samples are cut into
// batches of batch_size in sample order and batch j is evaluated by rank
// j % D (dist_shard with block = batch_size); the per-sample results are
// gathered back in sample order on every rank before any aggregate is
// computed. Every rank runs exactly the batches one rank would run, so every
// per-sample number is identical at any D (tests/pipeline/mpi_rank_invariance.cpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "relapse/data/muse.h"
#include "relapse/model/llama.h"
#include "relapse/model/tokenizer.h"

namespace relapse {
class Communicator;
}

namespace relapse::eval {

struct MuseEvalOptions {
  int64_t verbmem_max_new_tokens = 128;
  int64_t knowmem_max_new_tokens = 32;
  int64_t batch_size = 8;  // prompts / texts per forward batch on each DP rank
  double min_k = 0.4;      // PrivLeak Min-K% fraction
  // Which ROUGE-L number is the per-sample score: "f1" (the and the
  // paper's wording) or "recall".
  std::string rouge = "f1";
  // Apply hf_clean_up_tokenization to every decoded generation and reference
  // (what MUSE's transformers 4 did); off = transformers 5 behaviour.
  bool clean_up_tokenization = false;
  // Use only the first N samples of every set (0 = all): quick runs and CI.
  int64_t max_samples = 0;
  bool verbmem = true, knowmem = true, privleak = true;
};

// Per-sample results of one QA set (knowmem forget or retain).
struct KnowmemResult {
  std::vector<std::string> questions, answers, generations;  // generations after truncation
  std::vector<double> scores;                                // ROUGE-L in [0, 1]
  double mean = 0.0;                                         // mean × 100
};

struct MuseEvalResult {
  // VerbMem on verbmem/forget.json
  std::vector<std::string> verbmem_prompts, verbmem_references, verbmem_generations;
  std::vector<double> verbmem_scores;
  double verbmem_forget = 0.0;  // mean × 100
  // OpenUnlearning's exact memorization and extraction strength of each
  // VerbMem item (prompt + gt teacher-forced, muse_metrics.h), in [0, 1], and
  // their means (np.mean; EM's NaN items left out).
  std::vector<double> verbmem_em, verbmem_es;
  double exact_memorization = 0.0, extraction_strength = 0.0;
  bool has_memorization = false;  // false in archives written before them
  KnowmemResult knowmem_forget, knowmem_retain;
  // PrivLeak: Min-K% score of each privleak/{forget,retain,holdout}.json text
  std::vector<double> mink_forget, mink_retain, mink_holdout;
  double privleak_auc = 0.0;  // forget (0) vs holdout (1), eval::privleak_auc
  // MUSE's other attacks on the same texts (kMiaAttacks order, muse_metrics.h).
  struct Mia {
    std::string attack;
    std::vector<double> forget, retain, holdout;  // per text
    double auc = 0.0;                             // forget (0) vs holdout (1), as privleak_auc
    std::vector<double>& side(int k) { return k == 0 ? forget : k == 1 ? retain : holdout; }
  };
  std::vector<Mia> mia;  // empty in archives written before they existed
  bool has_verbmem = false, has_knowmem = false, has_privleak = false;
};

// Runs the enabled metrics. `dp` (may be null = one rank) shards the samples
// over data-parallel ranks; every rank gets the full result. The model is put
// in eval mode and run without grad.
MuseEvalResult muse_evaluate(model::LlamaForCausalLM& m, const model::Tokenizer& tok,
                             const data::MuseCorpus& corpus, const MuseEvalOptions& opts,
                             Communicator* dp = nullptr);

}  // namespace relapse::eval
