// src/eval/muse_eval.cpp — MUSE's evaluation protocol over a corpus and a model
// (relapse/eval/muse_eval.h): VerbMem, KnowMem forget/retain and the PrivLeak
// Min-K% scores, each set sharded round robin over the data-parallel ranks,
// run batched, and gathered back in sample order before any aggregate.
#include "relapse/eval/muse_eval.h"

#include <algorithm>
#include <cmath>

#include "relapse/core/error.h"
#include "relapse/dist/communicator.h"
#include "relapse/dist/gather.h"
#include "relapse/eval/auc.h"
#include "relapse/eval/muse_metrics.h"
#include "relapse/eval/rouge.h"
#include "relapse/model/inference.h"

namespace relapse::eval {

namespace {

struct Ctx {
  model::LlamaForCausalLM& m;
  const model::Tokenizer& tok;
  const MuseEvalOptions& opts;
  Communicator* dp;
  int rank = 0, size = 1;
  int64_t pad_id = 0;
};

int64_t limit(const Ctx& c, size_t n) {
  int64_t k = static_cast<int64_t>(n);
  return c.opts.max_samples > 0 ? std::min(k, c.opts.max_samples) : k;
}

std::vector<std::string> first_n(const Ctx& c, const std::vector<std::string>& v) {
  return std::vector<std::string>(v.begin(), v.begin() + limit(c, v.size()));
}

// batch_decode(ids, skip_special_tokens=True): Tokenizer::decode drops the
// special ids (<unk>, <s>, </s>, pad) before joining byte pieces, as HF does.
std::string decode_text(const Ctx& c, const std::vector<int64_t>& ids) {
  std::string s = c.tok.decode(ids, /*skip_special=*/true);
  return c.opts.clean_up_tokenization ? hf_clean_up_tokenization(s) : s;
}

double rouge_score_of(const Ctx& c, const std::string& target, const std::string& prediction) {
  RougeScore r = rouge_l(target, prediction);
  return c.opts.rouge == "recall" ? r.recall : r.fmeasure;
}

double mean_x100(const std::vector<double>& v) {
  if (v.empty()) return 0.0;
  double s = 0.0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size()) * 100.0;
}

// Greedy generation for this rank's share of `prompts` (all n texts given),
// decoded, gathered in sample order on every rank.
std::vector<std::string> generate_sharded(const Ctx& c, const std::vector<std::string>& prompts,
                                          int64_t max_new_tokens) {
  const int64_t n = static_cast<int64_t>(prompts.size());
  std::vector<int64_t> mine = dist_shard(n, c.rank, c.size, c.opts.batch_size);
  std::vector<model::TokenSeq> ids;
  ids.reserve(mine.size());
  for (int64_t i : mine) ids.push_back(c.tok.encode(prompts[i], /*add_bos=*/true));
  model::GenerateOptions g;
  g.max_new_tokens = max_new_tokens;
  g.batch_size = c.opts.batch_size;
  g.eos_id = c.tok.eos_id();
  g.pad_id = c.pad_id;
  std::vector<std::string> local;
  if (!ids.empty()) {
    std::vector<model::TokenSeq> out = model::generate_greedy(c.m, ids, g);
    local.reserve(out.size());
    for (const auto& o : out) local.push_back(decode_text(c, o));
  }
  return dist_gather_strings(c.dp, local, n, c.opts.batch_size);
}

// Per text, scored as BOS + tokenizer(text, no BOS) in one pass: its Min-K%
// score, its mean NLL (MUSE's "PPL") and, `with_z`, its Min-K%++ score,
// gathered in sample order.
struct TextScores {
  std::vector<double> min_k, ppl, min_k_pp;
};

TextScores privleak_sharded(const Ctx& c, const std::vector<std::string>& texts, bool with_z) {
  const int64_t n = static_cast<int64_t>(texts.size());
  std::vector<int64_t> mine = dist_shard(n, c.rank, c.size, c.opts.batch_size);
  std::vector<model::TokenSeq> seqs;
  seqs.reserve(mine.size());
  for (int64_t i : mine) {
    model::TokenSeq s = c.tok.encode(texts[i], /*add_bos=*/false);
    if (c.tok.bos_id() >= 0) s.insert(s.begin(), c.tok.bos_id());
    seqs.push_back(std::move(s));
  }
  std::vector<double> min_k, ppl, min_k_pp;
  if (!seqs.empty()) {
    model::TokenLogprobZ sc;
    if (with_z)
      sc = model::score_token_logprob_z(c.m, seqs, c.opts.batch_size, c.pad_id);
    else
      sc.logprob = model::score_token_logprobs(c.m, seqs, c.opts.batch_size, c.pad_id);
    for (size_t i = 0; i < sc.logprob.size(); ++i) {
      min_k.push_back(min_k_percent_score(sc.logprob[i], c.opts.min_k));
      ppl.push_back(muse_ppl_score(sc.logprob[i]));
      if (with_z) min_k_pp.push_back(min_k_plus_plus_score(sc.z[i], c.opts.min_k));
    }
  }
  TextScores out;
  out.min_k = dist_gather_doubles(c.dp, min_k, n, c.opts.batch_size);
  out.ppl = dist_gather_doubles(c.dp, ppl, n, c.opts.batch_size);
  if (with_z) out.min_k_pp = dist_gather_doubles(c.dp, min_k_pp, n, c.opts.batch_size);
  return out;
}

// PrivLeak's Min-K% and MUSE's other attack scores (muse_metrics.h) of the
// privleak forget / retain / holdout texts, and each attack's forget-vs-
// holdout AUC.
void run_privleak(const Ctx& c, const data::MuseCorpus& corpus, MuseEvalResult& r) {
  const std::vector<std::string>* sets[3] = {&corpus.privleak_forget, &corpus.privleak_retain,
                                             &corpus.privleak_holdout};
  std::vector<double>* mink[3] = {&r.mink_forget, &r.mink_retain, &r.mink_holdout};
  r.mia.clear();
  for (const char* a : kMiaAttacks) r.mia.push_back({a, {}, {}, {}, 0.0});
  for (int k = 0; k < 3; ++k) {
    const std::vector<std::string> texts = first_n(c, *sets[k]);
    std::vector<std::string> lowered;
    for (const auto& t : texts) lowered.push_back(muse_lowercase(t));
    const TextScores s = privleak_sharded(c, texts, /*with_z=*/true);
    const TextScores low = privleak_sharded(c, lowered, /*with_z=*/false);
    *mink[k] = s.min_k;
    for (size_t i = 0; i < texts.size(); ++i) {
      // kMiaAttacks' order.
      const double v[4] = {s.ppl[i], s.ppl[i] / low.ppl[i],
                           s.ppl[i] / static_cast<double>(zlib_compressed_size(texts[i])),
                           s.min_k_pp[i]};
      for (size_t a = 0; a < r.mia.size(); ++a) r.mia[a].side(k).push_back(v[a]);
    }
  }
  r.privleak_auc = privleak_auc(r.mink_forget, r.mink_holdout);
  for (auto& a : r.mia) a.auc = privleak_auc(a.forget, a.holdout);
  r.has_privleak = true;
}

// OpenUnlearning's exact memorization and extraction strength of every
// VerbMem item (muse_metrics.h): prompt + " " + gt scored teacher-forced,
// this rank's share, gathered in item order; the means as np.mean (EM's NaN
// items left out). The text is also cut to the model's context.
void run_memorization(const Ctx& c, const data::MuseCorpus& corpus, MuseEvalResult& r) {
  const int64_t n = limit(c, corpus.verbmem_forget.size());
  const std::vector<int64_t> mine = dist_shard(n, c.rank, c.size, c.opts.batch_size);
  const int64_t context = c.m->config().max_position_embeddings;
  std::vector<model::TokenSeq> seqs;
  std::vector<int64_t> prefix;
  for (int64_t i : mine) {
    const auto& item = corpus.verbmem_forget[i];
    model::TokenSeq s = c.tok.encode(item.prompt + " " + item.gt, /*add_bos=*/true);
    prefix.push_back(static_cast<int64_t>(c.tok.encode(item.prompt, /*add_bos=*/true).size()));
    const int64_t keep = std::min(prefix.back() + kMemorizationMaxLength, context);
    if (static_cast<int64_t>(s.size()) > keep) s.resize(keep);
    seqs.push_back(std::move(s));
  }
  std::vector<double> em, es;
  if (!seqs.empty()) {
    const auto top1 = model::score_token_top1(c.m, seqs, c.opts.batch_size, c.pad_id);
    for (size_t i = 0; i < seqs.size(); ++i) {
      const auto [b, e] = memorization_span(static_cast<int64_t>(seqs[i].size()), prefix[i]);
      const std::vector<uint8_t> hits(top1[i].begin() + b, top1[i].begin() + e);
      em.push_back(exact_memorization(hits));
      es.push_back(extraction_strength(hits));
    }
  }
  r.verbmem_em = dist_gather_doubles(c.dp, em, n, c.opts.batch_size);
  r.verbmem_es = dist_gather_doubles(c.dp, es, n, c.opts.batch_size);
  std::vector<double> em_items;
  for (double v : r.verbmem_em)
    if (!std::isnan(v)) em_items.push_back(v);
  r.exact_memorization = np_mean(em_items.data(), em_items.size());  // NaN when empty
  r.extraction_strength = np_mean(r.verbmem_es.data(), r.verbmem_es.size());
  r.has_memorization = true;
}

void run_verbmem(const Ctx& c, const data::MuseCorpus& corpus, MuseEvalResult& r) {
  const int64_t n = limit(c, corpus.verbmem_forget.size());
  for (int64_t i = 0; i < n; ++i) {
    const auto& item = corpus.verbmem_forget[i];
    r.verbmem_prompts.push_back(item.prompt);
    std::vector<int64_t> gt = verbmem_truncate_reference(c.tok.encode(item.gt, /*add_bos=*/true),
                                                         c.opts.verbmem_max_new_tokens);
    r.verbmem_references.push_back(decode_text(c, gt));
  }
  r.verbmem_generations = generate_sharded(c, r.verbmem_prompts, c.opts.verbmem_max_new_tokens);
  for (int64_t i = 0; i < n; ++i)
    r.verbmem_scores.push_back(
        rouge_score_of(c, r.verbmem_references[i], r.verbmem_generations[i]));
  r.verbmem_forget = mean_x100(r.verbmem_scores);
  r.has_verbmem = true;
}

KnowmemResult run_knowmem(const Ctx& c, const std::vector<data::QaPair>& qa,
                          const std::vector<data::QaPair>& icl_pairs) {
  KnowmemResult k;
  std::vector<QA> icl;
  for (const auto& p : icl_pairs) icl.push_back({p.question, p.answer});
  const int64_t n = limit(c, qa.size());
  std::vector<std::string> prompts;
  for (int64_t i = 0; i < n; ++i) {
    k.questions.push_back(qa[i].question);
    k.answers.push_back(qa[i].answer);
    prompts.push_back(knowmem_prompt(icl, qa[i].question));
  }
  std::vector<std::string> gens = generate_sharded(c, prompts, c.opts.knowmem_max_new_tokens);
  for (int64_t i = 0; i < n; ++i) {
    k.generations.push_back(knowmem_truncate_answer(gens[i]));
    k.scores.push_back(rouge_score_of(c, k.answers[i], k.generations[i]));
  }
  k.mean = mean_x100(k.scores);
  return k;
}

}  // namespace

MuseEvalResult muse_evaluate(model::LlamaForCausalLM& m, const model::Tokenizer& tok,
                             const data::MuseCorpus& corpus, const MuseEvalOptions& opts,
                             Communicator* dp) {
  RELAPSE_CHECK_CONFIG(opts.batch_size > 0, "eval: batch_size must be positive, got ",
                       opts.batch_size);
  RELAPSE_CHECK_CONFIG(opts.verbmem_max_new_tokens >= 0 && opts.knowmem_max_new_tokens >= 0,
                       "eval: max_new_tokens must be >= 0");
  RELAPSE_CHECK_CONFIG(opts.max_samples >= 0, "eval: max_samples must be >= 0, got ",
                       opts.max_samples);
  RELAPSE_CHECK_CONFIG(opts.rouge == "f1" || opts.rouge == "recall",
                       "eval: rouge must be \"f1\" or \"recall\", got \"", opts.rouge, "\"");
  RELAPSE_CHECK_CONFIG(opts.min_k > 0.0 && opts.min_k <= 1.0, "eval: min_k must be in (0, 1], got ",
                       opts.min_k);
  Ctx c{m, tok, opts, dp};
  if (dp != nullptr) {
    c.rank = dp->rank();
    c.size = dp->size();
  }
  c.pad_id = tok.pad_id() >= 0 ? tok.pad_id() : (tok.eos_id() >= 0 ? tok.eos_id() : 0);

  const bool was_training = m->is_training();
  m->eval();
  torch::NoGradGuard no_grad;
  MuseEvalResult r;
  if (opts.verbmem) {
    run_verbmem(c, corpus, r);
    run_memorization(c, corpus, r);
  }
  if (opts.knowmem) {
    r.knowmem_forget = run_knowmem(c, corpus.knowmem_forget_qa, corpus.knowmem_forget_qa_icl);
    r.knowmem_retain = run_knowmem(c, corpus.knowmem_retain_qa, corpus.knowmem_retain_qa_icl);
    r.has_knowmem = true;
  }
  if (opts.privleak) run_privleak(c, corpus, r);
  if (was_training) m->train();
  return r;
}

}  // namespace relapse::eval
