// tests/fuzz/fuzz_tokenizer_json.cpp — Hugging Face tokenizer.json (model,
// normalizer, pre-tokenizer, added tokens, decoder) on arbitrary bytes: a
// tokenizer it accepts must encode and decode a mixed-script text.
#include "fuzz_util.h"
#include "relapse/model/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  relapse::fuzz::input_file(data, size, "tokjson/tokenizer.json");
  relapse::fuzz::refuse_cleanly([&] {
    relapse::model::Tokenizer tok(relapse::fuzz::scratch() + "/tokjson");
    auto ids = tok.encode("Hello wörld  123 <s> 日本語 \xf0\x9f\x98\x80\n\tend", true);
    tok.decode(ids);
  });
  return 0;
}
