// src/data/data_config.cpp — the field lists of the data layer's config
// sections (relapse/data/data_config.h): keys, help text, allowed values (from
// this layer's name tables), derived defaults and range checks.
#include "relapse/data/data_config.h"

namespace relapse {

std::string forget_request_problem(const std::string& name) {
  if (name.empty()) return "is empty";
  if (name.front() == '/') return "must be relative to data.corpus";
  for (const char* ext : {".txt", ".json"}) {
    const std::string e = ext;
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0)
      return "must not carry an extension (" + e + " is added when reading)";
  }
  if (("/" + name + "/").find("/../") != std::string::npos) return "must stay inside data.corpus";
  return "";
}

void config_fields(ConfigBinder& b, DataSection& s) {
  b.field("corpus", s.corpus,
          "MUSE-layout corpus directory; empty = synthesize the embedded default into "
          "OUT_DIR/data");
  b.field("synth_size", s.synth_size, "size of the synthetic corpus", {"tiny", "small", "medium"});
  b.field("synth_vocab_size", s.synth_vocab_size,
          "tokenizer vocabulary of the synthetic corpus; 0 = 1024 (small) / 2048 (medium)");
  b.field("max_len", s.max_len, "training chunk length in tokens, BOS included (MUSE max_len)");
  b.field("forget_requests", s.forget_requests,
          "removal requests unlearned in order, each from the previous one's model: files of "
          "data.corpus without extension (NAME.txt, or NAME.json as a list of documents), e.g. "
          "[scal/forget_3] (MUSE's scalability) or [sust/forget_1, sust/forget_2] "
          "(sustainability); [] = one request, raw/forget");
  for (const std::string& name : s.forget_requests)
    b.check("forget_requests", forget_request_problem(name).empty(), "\"", name, "\" ",
            forget_request_problem(name));
  b.check("max_len", s.max_len >= 2, "must be >= 2, got ", s.max_len);
  b.check("synth_vocab_size", s.synth_vocab_size == 0 || s.synth_vocab_size >= 260,
          "must be 0 or >= 260, got ", s.synth_vocab_size);
}

}  // namespace relapse
