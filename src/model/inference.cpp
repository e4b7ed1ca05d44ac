// src/model/inference.cpp — batched scoring and greedy generation. Under
// tensor parallelism neither gathers the [B,T,V] logits: scoring uses a
// vocab-parallel log-softmax (three all-reduces of [B,T]; two more for
// Min-K%++'s vocabulary mean and variance), generation gathers only the last
// position's logits.
#include "relapse/model/inference.h"

#include <algorithm>

#include "relapse/core/error.h"
#include "relapse/core/host_read.h"

namespace relapse::model {

namespace {

torch::Tensor all_reduced(torch::Tensor t, ReduceOp op, const TpContext& tp) {
  t = t.contiguous();
  tp.comm->all_reduce(t, op);
  return t;
}

// What a scoring pass returns per position: kLogprobZ gives two channels,
// log p(target) and Min-K%++'s z-score.
enum class TokenScore { kLogprob, kTop1, kLogprobZ };

// Min-K%++'s z-score of each position (inference.h): `lp` [B,T,w] this rank's
// log-probabilities of the vocabulary (-inf on padding columns), `target`
// [B,T] log p(target). μ and E[(log p)²] are sums over the vocabulary,
// all-reduced over the TP group when `tp` is set. In place on `lp`'s
// temporaries to keep one extra [B,T,w] tensor.
torch::Tensor minkpp_zscore(const torch::Tensor& lp, const torch::Tensor& target,
                            const TpContext* tp) {
  torch::Tensor plp = lp.exp().mul_(lp).nan_to_num_(0.0, 0.0, 0.0);  // 0 · -inf = 0
  torch::Tensor mu = plp.sum(-1);
  torch::Tensor m2 = plp.mul_(lp).nan_to_num_(0.0, 0.0, 0.0).sum(-1);
  if (tp) {
    mu = all_reduced(mu, ReduceOp::kSum, *tp);
    m2 = all_reduced(m2, ReduceOp::kSum, *tp);
  }
  // OpenUnlearning's torch.clamp(sigma, min=1e-6) on the variance.
  torch::Tensor var = (m2 - mu * mu).clamp_min(1e-6);
  return (target - mu) / var.sqrt();
}

// log p(target) in fp32 from this rank's vocabulary slice of the logits
// [B,T,V_local] (padding columns at -inf) and targets [B,T]: the max, the sum
// of exponentials and the target's logit are all-reduced over the TP group.
// kTop1: 1 where the target's logit is the global max (its shifted logit is
// then exactly 0), else 0.
torch::Tensor vocab_parallel_target_scores(const torch::Tensor& logits_local,
                                           const torch::Tensor& targets, int64_t vocab_start,
                                           const TpContext& tp, TokenScore what) {
  torch::Tensor x = logits_local.to(torch::kFloat32);
  int64_t width = x.size(-1);
  torch::Tensor mx = all_reduced(std::get<0>(x.max(-1)), ReduceOp::kMax, tp);  // [B,T]
  torch::Tensor shifted = x - mx.unsqueeze(-1);
  torch::Tensor sum_exp = all_reduced(shifted.exp().sum(-1), ReduceOp::kSum, tp);
  torch::Tensor local = targets - vocab_start;
  torch::Tensor outside = (local < 0) | (local >= width);
  torch::Tensor picked = shifted.gather(-1, local.masked_fill(outside, 0).unsqueeze(-1))
                             .squeeze(-1)
                             .masked_fill(outside, 0);
  picked = all_reduced(picked, ReduceOp::kSum, tp);
  if (what == TokenScore::kTop1) return (picked == 0).to(torch::kFloat32);
  torch::Tensor log_z = sum_exp.log();
  torch::Tensor lp_target = picked - log_z;
  if (what == TokenScore::kLogprob) return lp_target;
  torch::Tensor lp = shifted.sub_(log_z.unsqueeze(-1));
  return torch::stack({lp_target, minkpp_zscore(lp, lp_target, &tp)}, -1);
}

// Logits [B,V] of the last position of hidden states [B,T,H]: only that
// position is projected and gathered over TP.
torch::Tensor last_position_logits(LlamaForCausalLM& m, const torch::Tensor& hidden) {
  torch::Tensor h = hidden.narrow(1, hidden.size(1) - 1, 1);
  torch::Tensor logits = tp_gather_last_dim(m->logits_local(h), m->tp()).select(1, 0);
  int64_t vocab = m->config().vocab_size;
  return logits.size(-1) == vocab ? logits : logits.narrow(-1, 0, vocab);
}

// Token rows [B, width] on the host (pad_id elsewhere, mask 1 on real tokens),
// right- or left-aligned, moved to `dev` in one copy each.
std::pair<torch::Tensor, torch::Tensor> padded_rows(const std::vector<TokenSeq>& seqs, size_t b0,
                                                    size_t b1, int64_t width, int64_t pad_id,
                                                    bool left, torch::Device dev) {
  int64_t B = static_cast<int64_t>(b1 - b0);
  torch::Tensor ids = torch::full({B, width}, pad_id, torch::kInt64);
  torch::Tensor mask = torch::zeros({B, width}, torch::kInt64);
  int64_t* ip = ids.data_ptr<int64_t>();
  int64_t* mp = mask.data_ptr<int64_t>();
  for (int64_t r = 0; r < B; ++r) {
    const TokenSeq& s = seqs[b0 + r];
    int64_t off = left ? width - static_cast<int64_t>(s.size()) : 0;
    std::copy(s.begin(), s.end(), ip + r * width + off);
    std::fill(mp + r * width + off, mp + r * width + off + static_cast<int64_t>(s.size()), 1);
  }
  return {ids.to(dev), mask.to(dev)};
}

// Per channel, sequence and predicted position: the score `what` (see
// above; one channel, two for kLogprobZ).
using Channels = std::vector<std::vector<std::vector<float>>>;
Channels score_tokens(LlamaForCausalLM& m, const std::vector<TokenSeq>& seqs, int64_t batch_size,
                      int64_t pad_id, TokenScore what) {
  RELAPSE_CHECK(batch_size > 0, "batch_size must be positive");
  torch::NoGradGuard ng;
  const torch::Device dev = m->device();
  const int64_t C = what == TokenScore::kLogprobZ ? 2 : 1;
  Channels out(C, std::vector<std::vector<float>>(seqs.size()));
  for (size_t b0 = 0; b0 < seqs.size(); b0 += batch_size) {
    size_t b1 = std::min(seqs.size(), b0 + static_cast<size_t>(batch_size));
    int64_t B = static_cast<int64_t>(b1 - b0);
    int64_t T = 0;
    for (size_t i = b0; i < b1; ++i) T = std::max<int64_t>(T, static_cast<int64_t>(seqs[i].size()));
    if (T < 2) continue;  // nothing to predict in this batch: empty rows
    torch::Tensor ids = padded_rows(seqs, b0, b1, T, pad_id, /*left=*/false, dev).first;
    // Right padding: real tokens keep positions 0..len-1 and, under the plain
    // causal mask, only ever attend to real tokens; pads' outputs are unused.
    torch::Tensor pos = torch::arange(T, torch::TensorOptions().dtype(torch::kInt64).device(dev))
                            .unsqueeze(0)
                            .expand({B, T});
    torch::Tensor picked;  // [B, T-1] or [B, T-1, C]
    if (m->tp().size == 1) {
      torch::Tensor logits = m->forward(ids, {}, pos).narrow(1, 0, T - 1).to(torch::kFloat32);
      torch::Tensor lp = torch::log_softmax(logits, -1);
      logits = torch::Tensor();
      torch::Tensor tgt = ids.narrow(1, 1, T - 1).unsqueeze(-1);
      picked = lp.gather(-1, tgt).squeeze(-1);
      // The same subtraction for every entry of a row: equal logits give equal log-probs.
      if (what == TokenScore::kTop1)
        picked = (picked == std::get<0>(lp.max(-1))).to(torch::kFloat32);
      if (what == TokenScore::kLogprobZ)
        picked = torch::stack({picked, minkpp_zscore(lp, picked, nullptr)}, -1);
    } else {
      torch::Tensor h = m->forward_hidden(ids, {}, pos).narrow(1, 0, T - 1);
      picked = vocab_parallel_target_scores(m->logits_local(h), ids.narrow(1, 1, T - 1),
                                            m->vocab_start(), m->tp(), what);
    }
    // The batch's one copy to the host, channel-major: [C, B, T-1].
    picked = host_copy((C == 1 ? picked.unsqueeze(0) : picked.permute({2, 0, 1})).contiguous());
    const float* pa = picked.data_ptr<float>();
    for (int64_t c = 0; c < C; ++c)
      for (int64_t r = 0; r < B; ++r) {
        const int64_t n = std::max<int64_t>(static_cast<int64_t>(seqs[b0 + r].size()) - 1, 0);
        const float* row = pa + (c * B + r) * (T - 1);
        out[c][b0 + r].assign(row, row + n);
      }
  }
  return out;
}

}  // namespace

std::vector<std::vector<float>> score_token_logprobs(LlamaForCausalLM& m,
                                                     const std::vector<TokenSeq>& seqs,
                                                     int64_t batch_size, int64_t pad_id) {
  return std::move(score_tokens(m, seqs, batch_size, pad_id, TokenScore::kLogprob)[0]);
}

TokenLogprobZ score_token_logprob_z(LlamaForCausalLM& m, const std::vector<TokenSeq>& seqs,
                                    int64_t batch_size, int64_t pad_id) {
  Channels c = score_tokens(m, seqs, batch_size, pad_id, TokenScore::kLogprobZ);
  return {std::move(c[0]), std::move(c[1])};
}

std::vector<std::vector<uint8_t>> score_token_top1(LlamaForCausalLM& m,
                                                   const std::vector<TokenSeq>& seqs,
                                                   int64_t batch_size, int64_t pad_id) {
  std::vector<std::vector<uint8_t>> out;
  const Channels hits = score_tokens(m, seqs, batch_size, pad_id, TokenScore::kTop1);
  for (const auto& row : hits[0]) out.emplace_back(row.begin(), row.end());
  return out;
}

std::vector<TokenSeq> generate_greedy(LlamaForCausalLM& m, const std::vector<TokenSeq>& prompts,
                                      const GenerateOptions& opts) {
  RELAPSE_CHECK(opts.batch_size > 0, "batch_size must be positive");
  // Bounded before anything runs: a prompt and its new tokens must fit the
  // model's context (the positions it was trained for; the KV cache is sized
  // by it), so an absurd request is refused instead of attempted.
  const int64_t context = m->config().max_position_embeddings;
  size_t longest = 0;
  for (const auto& p : prompts) longest = std::max(longest, p.size());
  RELAPSE_CHECK_CONFIG(static_cast<int64_t>(longest) + opts.max_new_tokens <= context,
                       "cannot generate ", opts.max_new_tokens, " new tokens after a prompt of ",
                       longest, " tokens: the model's context (max_position_embeddings) is ",
                       context, " tokens; ask for at most ",
                       std::max<int64_t>(0, context - static_cast<int64_t>(longest)));
  torch::NoGradGuard ng;
  const torch::Device dev = m->device();
  std::vector<TokenSeq> out(prompts.size());
  for (size_t b0 = 0; b0 < prompts.size(); b0 += opts.batch_size) {
    size_t b1 = std::min(prompts.size(), b0 + static_cast<size_t>(opts.batch_size));
    int64_t B = static_cast<int64_t>(b1 - b0);
    int64_t P = 0;
    for (size_t i = b0; i < b1; ++i) {
      RELAPSE_CHECK_INPUT(!prompts[i].empty(), "prompt ", i, " is empty (it needs at least BOS)");
      P = std::max<int64_t>(P, static_cast<int64_t>(prompts[i].size()));
    }
    if (opts.max_new_tokens <= 0) continue;
    const int64_t total = P + opts.max_new_tokens;
    auto [ids, prompt_mask] = padded_rows(prompts, b0, b1, P, opts.pad_id, /*left=*/true, dev);
    // The attention mask of the whole generation, filled in as tokens come.
    torch::Tensor mask =
        torch::ones({B, total}, torch::TensorOptions().dtype(torch::kInt64).device(dev));
    mask.narrow(1, 0, P).copy_(prompt_mask);
    KVCache cache;
    cache.reserve(total);
    std::vector<bool> done(B, false);
    torch::Tensor logits =
        last_position_logits(m, m->forward_hidden(ids, mask.narrow(1, 0, P), {}, &cache));
    for (int64_t step = 0; step < opts.max_new_tokens; ++step) {
      torch::Tensor next = logits.argmax(-1);  // [B]; argmax is exact in any float dtype
      // One copy of B ids to the host per step: the EOS decisions and the output.
      torch::Tensor host = host_copy(next);
      const int64_t* na = host.data_ptr<int64_t>();
      bool all_done = true;
      for (int64_t r = 0; r < B; ++r) {
        if (done[r]) continue;
        out[b0 + r].push_back(na[r]);
        if (opts.eos_id >= 0 && na[r] == opts.eos_id) done[r] = true;
        all_done = all_done && done[r];
      }
      if (all_done || step + 1 == opts.max_new_tokens) break;
      torch::Tensor hidden =
          m->forward_hidden(next.unsqueeze(1), mask.narrow(1, 0, P + step + 1), {}, &cache);
      logits = last_position_logits(m, hidden);
    }
  }
  return out;
}

}  // namespace relapse::model
