// relapse/model/inference.h — batched scoring (per-token log-probabilities of
// given token sequences) and batched greedy generation with a KV cache. Padding
// is handled so that a batched result equals the unbatched one: scoring pads on
// the right, generation on the left (as transformers' generate expects).
// Under tensor parallelism (m->tp().size > 1) both are collective over the TP
// group (every rank calls with the same inputs and gets the same result) and
// never gather the [B,T,V] logits: scoring uses a vocab-parallel log-softmax
// (max, sum-exp and target logit all-reduced), generation projects and
// gathers only the last position.
#pragma once
#include <cstdint>
#include <vector>

#include "relapse/model/llama.h"

namespace relapse::model {

using TokenSeq = std::vector<int64_t>;

// For each sequence s: out[i][t] = log p(s[t+1] | s[0..t]) for t = 0..len-2,
// computed in fp32 from the model's logits. Sequences are processed in batches
// of `batch_size`, right-padded with `pad_id` to the batch's longest sequence.
std::vector<std::vector<float>> score_token_logprobs(LlamaForCausalLM& m,
                                                     const std::vector<TokenSeq>& seqs,
                                                     int64_t batch_size = 8, int64_t pad_id = 0);

// For each sequence s: out[i][t] = 1 when s[t+1] is the argmax of the logits
// at t (greedy decoding would predict it), else 0, t = 0..len-2 (fp32 logits;
// a tie with another token counts as a hit, where torch.argmax would pick
// the lower id — a tie of fp32 logits does not happen in practice). Under TP
// without gathering the logits. OpenUnlearning's exact memorization and
// extraction strength read it (eval/muse_metrics.h).
std::vector<std::vector<uint8_t>> score_token_top1(LlamaForCausalLM& m,
                                                   const std::vector<TokenSeq>& seqs,
                                                   int64_t batch_size = 8, int64_t pad_id = 0);

// One pass giving, per sequence and predicted position, log p(s[t+1] | s[..t])
// (as score_token_logprobs) and Min-K%++'s z-score (J. Zhang et al., "Min-K%++:
// Improved baseline for detecting pre-training data from LLMs", ICLR 2025; as
// OpenUnlearning's src/evals/metrics/mia/min_k_plus_plus.py computes it):
//   z_t = (log p(s[t+1]) − μ_t) / σ_t,  μ_t = Σ_v p_v log p_v,
//   σ_t² = max(Σ_v p_v (log p_v)² − μ_t², 1e-6)   (OpenUnlearning's clamp)
// over the vocabulary, in fp32 from the logits (OpenUnlearning computes in
// the logits' dtype). Under TP the two vocabulary sums are all-reduced.
struct TokenLogprobZ {
  std::vector<std::vector<float>> logprob, z;
};
TokenLogprobZ score_token_logprob_z(LlamaForCausalLM& m, const std::vector<TokenSeq>& seqs,
                                    int64_t batch_size = 8, int64_t pad_id = 0);

struct GenerateOptions {
  int64_t max_new_tokens = 32;
  int64_t batch_size = 8;
  int64_t eos_id = -1;  // stop a sequence after it emits this id (-1 = never stop early)
  int64_t pad_id = 0;   // id used for left padding (never attended to)
};

// Greedy decoding: returns only the new tokens of each prompt (EOS included
// when emitted, nothing after it). Prompts are left-padded per batch; the
// prompt is run once (prefill) and each new token reuses the KV cache.
std::vector<TokenSeq> generate_greedy(LlamaForCausalLM& m, const std::vector<TokenSeq>& prompts,
                                      const GenerateOptions& opts);

}  // namespace relapse::model
