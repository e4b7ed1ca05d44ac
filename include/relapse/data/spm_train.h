// relapse/data/spm_train.h — trains a Llama-style SentencePiece BPE model with
// the library's own trainer, run as a subprocess: Debian's `spm_train` CLI
// (package sentencepiece). relapse never links libsentencepiece: its bundled
// protobuf crashes next to libtorch's in one process.
//
// Settings are Llama-2's trainer spec: model_type=bpe, byte_fallback,
// split_digits, split_by_{unicode_script,number,whitespace}, add_dummy_prefix,
// normalization identity, remove_extra_whitespaces=false,
// allow_whitespace_only_pieces, character_coverage 0.99995, unk=0 "<unk>",
// bos=1 "<s>", eos=2 "</s>", no pad. Deterministic: one thread, every input
// sentence used (input_sentence_size=0, no shuffling) and a fixed random_seed,
// so the same text gives the same bytes (tests/data/test_spm_train checks it).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace relapse::data {

struct SpmTrainOptions {
  int vocab_size = 1024;
  uint32_t random_seed = 1;
  std::string executable = "spm_train";  // looked up on PATH when it has no '/'
  // --user_defined_symbols: pieces always cut out whole, never merged with a
  // neighbour (e.g. "▁", see synth_write).
  std::vector<std::string> user_defined_symbols;
};

// Trains on `texts` (each split into lines; every non-empty line is one
// training sentence, as spm_train reads its input) and returns the bytes of
// the tokenizer.model. A missing executable or a failed training (e.g. a
// vocab_size the text cannot fill) throws relapse::Error(kInput) with the tail
// of spm_train's log.
std::string spm_train_bytes(const std::vector<std::string>& texts, const SpmTrainOptions& opts);

// spm_train_bytes written to `model_path` (via model_path.tmp + rename).
void spm_train_model(const std::vector<std::string>& texts, const std::string& model_path,
                     const SpmTrainOptions& opts);

}  // namespace relapse::data
