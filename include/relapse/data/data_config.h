// relapse/data/data_config.h — the config sections the data layer owns: the corpus and its
// chunking.
// Keys, help, choices (the layer's own name tables) and range checks are in
// src/data/data_config.cpp, bound through relapse/core/config.h;
// relapse/pipeline/config.h composes every layer's sections into RelapseConfig
// (configs/example.yaml shows every key).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "relapse/core/config.h"

namespace relapse {

// The synthetic corpus or a MUSE directory, and how text is chunked.
struct DataSection {
  std::string corpus;  // MUSE-layout directory; "" = synthesize into OUT/data
  std::string synth_size = "small";
  int synth_vocab_size = 0;  // 0 = the size's default
  int max_len = 128;         // training chunk length in tokens (BOS included)
  // Removal requests unlearned one after another, each from the previous one's
  // model (corpus-relative stems, e.g. MUSE-News's "sust/forget_2"); [] = one
  // request, raw/forget. data::muse_load_forget_request reads each.
  std::vector<std::string> forget_requests;
};

// Why a forget_requests entry is not a corpus-relative stem ("" = it is).
std::string forget_request_problem(const std::string& name);

void config_fields(ConfigBinder& b, DataSection& s);

}  // namespace relapse
