// relapse/eval/muse_metrics.h — the pure pieces of MUSE's evaluation
// (github.com/swj0419/muse_bench, metrics/{verbmem,knowmem,privleak}.py):
// Min-K% scores, the PrivLeak AUC and its normalisation, the KnowMem prompt
// and answer truncation, and the VerbMem reference truncation.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace relapse::eval {

// ---- PrivLeak -------------------------------------------------------------

// MUSE's Min-K% score (privleak.py `inference`) of one text from its
// per-token log-probabilities `all_prob` — log p(x_t | x_<t) for t = 1..n-1 of
// the BOS-prefixed ids, i.e. model::score_token_logprobs of `BOS + text`:
//   k_length = int(len(all_prob) * k)            (floor, in double arithmetic)
//   score    = -np.mean(np.sort(all_prob)[:k_length])
// i.e. minus the mean of the k_length LOWEST log-probs: a positive,
// loss-like number (lower = more likely a member). There is no minimum count:
// when k_length == 0 (fewer than 3 log-probs at k = 0.4) numpy's mean of an
// empty array is NaN, and so is this. The float log-probs are widened to
// double (MUSE takes `.item()` of each) and summed as numpy does (bit-exact).
// Throws relapse::Error(kInput) unless 0 < k <= 1.
double min_k_percent_score(const std::vector<float>& token_logprobs, double k = 0.4);

// MUSE's AUC key "forget_holdout_Min-40%": in privleak.py `eval`, split0 =
// forget gets label 0 ("nonmember"), split1 = holdout gets label 1 ("member"),
// and `sweep` calls roc_curve(y, -ppl), i.e. the AUC of the NEGATED Min-K%
// score (= mean of the lowest log-probs). So
//   privleak_auc = roc_auc(-[forget..., holdout...], [0..., 1...])
//                = P(holdout text scores more likely than a forget text).
// A model that memorised the forget set gives an AUC near 0, one that never
// saw it (retrain) about 0.5. Throws on NaN scores or an empty side.
double privleak_auc(const std::vector<double>& forget_min_k,
                    const std::vector<double>& holdout_min_k);

// MUSE's PrivLeak: (auc - auc_retrain) / auc_retrain * 100, in that order of
// operations (eval.py). Negative = the model is more confident on the forget
// set than the retrained model (under-unlearning), positive = over-unlearning.
// Throws relapse::Error(kInput) unless auc_retrain > 0 and both are finite.
double privleak_normalise(double auc, double auc_retrain);

// MUSE's published retrain AUCs (constants.py AUC_RETRAIN[...]
// ["forget_holdout_Min-40%"]), a documented fallback only: relapse computes
// the retrain model's AUC in the same run.
inline constexpr double kMuseNewsAucRetrainMin40 = 0.47719999999999996;
inline constexpr double kMuseBooksAucRetrainMin40 = 0.5392999999999999;

// ---- MUSE's other membership-inference scores ------------------------------
//
// privleak.py `inference` computes, besides Min-K%, three loss-based scores of
// each text (each "lower = more likely a member", AUC'd like Min-K%: forget
// 0 vs holdout 1 on the negated score, privleak_auc):
//   "PPL"       p1_likelihood = the HF loss of BOS + text (the mean NLL of the
//               n-1 predicted tokens; MUSE names it PPL, it is not exp'd)
//   "PPL/lower" p1_likelihood / the same loss of text.lower()
//   "PPL/zlib"  p1_likelihood / len(zlib.compress(text.encode("utf-8")))
// and, not in MUSE, OpenUnlearning's Min-K%++ (mia/min_k_plus_plus.py) on the
// same texts and token positions as Min-K% (every token after BOS;
// OpenUnlearning's own pipeline also drops the last one):
//   "min_k_plus_plus"  -mean of the lowest max(1, int(n·k)) z-scores
//               (model::score_token_logprob_z), k = eval.min_k

// Min-K%++'s score of one text from its per-position z-scores, as
// OpenUnlearning's compute_score: 0 when there are none.
double min_k_plus_plus_score(const std::vector<float>& z, double k);
// The mean NLL of per-token log-probs (MUSE's "PPL"); NaN when empty.
double muse_ppl_score(const std::vector<float>& token_logprobs);
// The byte length of zlib.compress(text) at zlib's default level (6), as
// Python's zlib module writes it with the same zlib.
int64_t zlib_compressed_size(const std::string& text);
// Python's str.lower() on every character of U+0000-U+017F (ASCII, Latin-1,
// Latin Extended-A; but U+0130, which Python turns into two code points, is
// kept), Greek U+0391-U+03AB and Cyrillic U+0400-U+042F; capitals of other
// blocks (Latin Extended-B, Armenian, ...) are kept as they are, where Python
// would lower them. Invalid UTF-8 bytes are kept.
std::string muse_lowercase(const std::string& text);

// The membership-inference attacks relapse records beside Min-K% (archive
// names; MUSE's and OpenUnlearning's in the comment above).
inline constexpr const char* kMiaAttacks[4] = {"ppl", "ppl_lower", "ppl_zlib", "min_k_plus_plus"};

// ---- OpenUnlearning's memorization metrics ---------------------------------
//
// src/evals/metrics/memorization.py (github.com/locuslab/open-unlearning), as
// its MUSE config runs them on MUSE_forget_verbmem: the text is
// tokenizer(prompt + " " + gt) with BOS, cut to len(tokenizer(prompt)) + 2048
// ids; the prompt's ids (BOS included) are unlabelled, and of the labelled
// ids the last is dropped (tokenwise_vocab_logprobs: "ignore eos prediction";
// MUSE data has no EOS, so a real token is dropped). `hits` are the N
// remaining positions' greedy hits (model::score_token_top1), in order.
//   exact memorization  = hits / N; NaN when N = 0 (OpenUnlearning's None,
//                         left out of the mean)
//   extraction strength = 1 − k/N, k the first position from which every
//                         prediction hits; when none does the loop ends at
//                         k = N − 1, so 1/N, not 0; 0 when N = 0.
// Both are averaged over the items with np.mean.
double exact_memorization(const std::vector<uint8_t>& hits);
double extraction_strength(const std::vector<uint8_t>& hits);
// The positions of model::score_token_top1's row that the two metrics read,
// for a text of `len` ids whose first `prefix_len` are the prompt's:
// [prefix_len − 1, len − 2) (empty when len − 1 <= prefix_len).
std::pair<int64_t, int64_t> memorization_span(int64_t len, int64_t prefix_len);
inline constexpr int64_t kMemorizationMaxLength = 2048;  // MUSE_forget_verbmem max_length

// ---- KnowMem --------------------------------------------------------------

struct QA {
  std::string question;
  std::string answer;
};

// knowmem.py: for each in-context example "Question: {q}\nAnswer: {a}\n\n",
// then "Question: {question}\nAnswer: " (trailing space, no newline). The
// tokenizer adds BOS when encoding it (add_special_tokens=True).
std::string knowmem_prompt(const std::vector<QA>& icl, const std::string& question);

// knowmem.py get_prefix_before_words_occur(output, ["\n\n", "\nQuestion",
// "Question:"]): for each stop string in that order, keep the part before its
// first occurrence (str.split(word)[0]). No whitespace is stripped (MUSE
// does not), so "Paris\nThe" stays as is and " Paris" keeps its space.
std::string knowmem_truncate_answer(const std::string& generated);

// ---- Decoding as MUSE saw it -----------------------------------------------

// MUSE decodes generations and references with batch_decode(...,
// skip_special_tokens=True, clean_up_tokenization_spaces=True); transformers
// 4.x (MUSE's) then applied PreTrainedTokenizerBase.clean_up_tokenization:
// " ." "." , " ?" "?", " !" "!", " ," ",", " ' " "'", " n't" "n't",
// " 'm" "'m", " 's" "'s", " 've" "'ve", " 're" "'re" (str.replace, in that
// order). transformers 5 no longer applies it for Llama. Of these only
// " n't" can change ROUGE-L tokens ("do n't" -> "don't").
std::string hf_clean_up_tokenization(const std::string& text);

// ---- VerbMem --------------------------------------------------------------

// verbmem.py: gt_ids = tokenizer(gt, add_special_tokens=True).input_ids[:,
// :max_new_tokens] — the ground truth's ids WITH the BOS, cut to the first
// `max_tokens` ids (so 127 text tokens at 128); the reference text is their
// decode with skip_special_tokens=True. Throws unless max_tokens >= 0.
std::vector<int64_t> verbmem_truncate_reference(const std::vector<int64_t>& gt_ids_with_bos,
                                                int64_t max_tokens = 128);

}  // namespace relapse::eval
