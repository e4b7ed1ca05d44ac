// relapse/data/chunking.h — MUSE's chunking of a training text file
// (muse_bench baselines/baselines/dataset.py, DefaultDataset, the .txt branch):
//
//   tokens = tokenizer(text, add_special_tokens=False).input_ids
//   add_bos:  chunks = [[bos] + tokens[i : i + max_len - 1]
//                       for i in range(0, len(tokens), max_len - 1)]
//   else:     chunks = [tokens[i : i + max_len] for i in range(0, len(tokens), max_len)]
//   if len(chunks[-1]) < max_len:
//       chunks[-1] = (chunks[-1] + chunks[0])[:max_len]     # wrap around
//
// Note the wrap-around appends the *first chunk* (its BOS included), and when
// there is only one chunk it is appended to itself, so that chunk can stay
// shorter than max_len. tests/data/test_chunking compares against a Python
// rendering of that code (tests/golden/make_data_fixtures.py).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace relapse::model {
class Tokenizer;
}

namespace relapse::data {

// Chunks `tokens` as above. Empty `tokens` (MUSE fails with an IndexError), a
// max_len below 2 (1 without BOS) or add_bos with bos_id < 0 throw
// relapse::Error(kInput).
std::vector<std::vector<int64_t>> muse_chunk(const std::vector<int64_t>& tokens, int64_t max_len,
                                             int64_t bos_id, bool add_bos = true);

// The text tokenized once without special tokens (Tokenizer::encode(text,
// false): HF's add_special_tokens=False, dummy prefix included), then muse_chunk
// with the tokenizer's BOS (none when the tokenizer has none: Qwen).
std::vector<std::vector<int64_t>> muse_chunk_text(const model::Tokenizer& tok,
                                                  const std::string& text, int64_t max_len,
                                                  bool add_bos = true);

}  // namespace relapse::data
