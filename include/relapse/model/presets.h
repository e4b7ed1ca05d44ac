// relapse/model/presets.h — named Llama shapes: small ones that train from
// scratch on a CPU (the embedded default) and the Llama-2 shapes users run
// (7b, 13b, 70b; from their Hugging Face config.json files).
#pragma once
#include <string>
#include <vector>

#include "relapse/model/llama_config.h"

namespace relapse::model {

// The preset `name` with the given vocabulary (the tokenizer's) and BOS/EOS
// ids; kConfig error naming the value and the known presets otherwise.
//   nano   d 64,  2 layers, 4 heads,  ffn 176   (~0.1M + embeddings; tests)
//   tiny   d 128, 4 layers, 4 heads,  ffn 352   (~0.8M + embeddings)
//   small  d 256, 4 layers, 8 heads,  ffn 688   (~3.2M + embeddings)
//   base   d 384, 6 layers, 6 heads,  ffn 1024  (~10.6M + embeddings)
//   medium d 512, 8 layers, 8 heads,  ffn 1376  (~25M + embeddings)
//   1b     TinyLlama-1.1B: d 2048, 22 layers, 32 heads (4 KV), ffn 5632
//   7b / 13b / 70b: Llama-2 (70b with 8 KV heads); vocab as given.
LlamaConfig model_preset(const std::string& name, int64_t vocab_size, int64_t bos_id = 1,
                         int64_t eos_id = 2);
const std::vector<std::string>& model_preset_names();

}  // namespace relapse::model
