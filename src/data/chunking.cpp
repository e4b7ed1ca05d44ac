// src/data/chunking.cpp — MUSE's DefaultDataset chunking (see relapse/data/chunking.h).
#include "relapse/data/chunking.h"

#include "relapse/core/error.h"
#include "relapse/model/tokenizer.h"

namespace relapse::data {

std::vector<std::vector<int64_t>> muse_chunk(const std::vector<int64_t>& tokens, int64_t max_len,
                                             int64_t bos_id, bool add_bos) {
  RELAPSE_CHECK_INPUT(!tokens.empty(), "muse_chunk: the text has no tokens");
  RELAPSE_CHECK_INPUT(max_len >= (add_bos ? 2 : 1), "muse_chunk: max_len ", max_len,
                      " is too small", add_bos ? " (BOS plus at least one token)" : "");
  RELAPSE_CHECK_INPUT(!add_bos || bos_id >= 0, "muse_chunk: add_bos but the tokenizer has no BOS");
  const size_t n = tokens.size();
  const size_t step = static_cast<size_t>(add_bos ? max_len - 1 : max_len);
  std::vector<std::vector<int64_t>> chunks;
  for (size_t i = 0; i < n; i += step) {
    std::vector<int64_t> c;
    c.reserve(static_cast<size_t>(max_len));
    if (add_bos) c.push_back(bos_id);
    c.insert(c.end(), tokens.begin() + i, tokens.begin() + std::min(n, i + step));
    chunks.push_back(std::move(c));
  }
  std::vector<int64_t>& last = chunks.back();
  if (static_cast<int64_t>(last.size()) < max_len) {
    const std::vector<int64_t> first = chunks.front();  // a copy: it may be `last`
    for (size_t k = 0; k < first.size() && static_cast<int64_t>(last.size()) < max_len; ++k)
      last.push_back(first[k]);
  }
  return chunks;
}

std::vector<std::vector<int64_t>> muse_chunk_text(const model::Tokenizer& tok,
                                                  const std::string& text, int64_t max_len,
                                                  bool add_bos) {
  // A tokenizer without BOS (Qwen's) chunks without one, as its
  // add_special_tokens adds nothing (MUSE's code assumes Llama's BOS).
  return muse_chunk(tok.encode(text, /*add_bos=*/false), max_len, tok.bos_id(),
                    add_bos && tok.bos_id() >= 0);
}

}  // namespace relapse::data
