// src/data/data_config.cpp — the field lists of the data layer's config
// sections (relapse/data/data_config.h): keys, help text, allowed values (from
// this layer's name tables), derived defaults and range checks.
#include "relapse/data/data_config.h"

namespace relapse {

void config_fields(ConfigBinder& b, DataSection& s) {
  b.field("corpus", s.corpus,
          "MUSE-layout corpus directory; empty = synthesize the embedded default into "
          "OUT_DIR/data");
  b.field("synth_size", s.synth_size, "size of the synthetic corpus", {"tiny", "small", "medium"});
  b.field("synth_vocab_size", s.synth_vocab_size,
          "tokenizer vocabulary of the synthetic corpus; 0 = 1024 (small) / 2048 (medium)");
  b.field("max_len", s.max_len, "training chunk length in tokens, BOS included (MUSE max_len)");
  b.check("max_len", s.max_len >= 2, "must be >= 2, got ", s.max_len);
  b.check("synth_vocab_size", s.synth_vocab_size == 0 || s.synth_vocab_size >= 260,
          "must be 0 or >= 260, got ", s.synth_vocab_size);
}

}  // namespace relapse
