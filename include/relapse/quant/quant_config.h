// relapse/quant/quant_config.h — the config sections the quant layer owns: the quantized
// evaluations: RTN, GPTQ, AWQ, bitsandbytes and their calibration.
// Keys, help, choices (the layer's own name tables) and range checks are in
// src/quant/quant_config.cpp, bound through relapse/core/config.h;
// relapse/pipeline/config.h composes every layer's sections into RelapseConfig
// (configs/example.yaml shows every key).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "relapse/core/config.h"
#include "relapse/model/llama_linears.h"
#include "relapse/quant/awq.h"
#include "relapse/quant/gptq.h"

namespace relapse {

// GPTQ (Frantar et al.; AutoGPTQ's defaults), one evaluation per entry of bits.
struct GptqSection {
  std::vector<int> bits = {};  // [] = no GPTQ evaluations
  // The pass's own defaults (quant/gptq.h), written there once.
  int group_size = static_cast<int>(quant::GptqConfig{}.group_size);  // -1 = per output row
  bool sym = quant::GptqConfig{}.sym;
  bool desc_act = quant::GptqConfig{}.desc_act;  // act-order
  double damp_percent = quant::GptqConfig{}.damp_percent;
  int block_size = static_cast<int>(quant::GptqConfig{}.block_size);
  bool true_sequential = true;  // q/k/v, o, gate/up, down quantized in that order within a layer
};

// AWQ (Lin et al.; AutoAWQ's defaults), one evaluation per entry of bits.
struct AwqSection {
  std::vector<int> bits = {};
  // The pass's own defaults (quant/awq.h), written there once.
  int group_size = static_cast<int>(quant::AwqConfig{}.group_size);
  bool zero_point = quant::AwqConfig{}.zero_point;
  int n_grid = quant::AwqConfig{}.n_grid;
  bool duo_scaling = quant::AwqConfig{}.duo_scaling;
  bool clip = quant::AwqConfig{}.clip;
  double max_shrink = quant::AwqConfig{}.max_shrink;
  int n_sample_token = static_cast<int>(quant::AwqConfig{}.n_sample_token);
};

// bitsandbytes emulations: what the paper's released code ran.
struct BnbSection {
  std::vector<std::string> formats =
      {};  // fp4 | nf4 (4-bit, load_in_4bit) | llm_int8 (load_in_8bit)
  int blocksize = 64;
  bool double_quant = false;        // bnb_4bit_use_double_quant
  double llm_int8_threshold = 6.0;  // 0 = no outlier decomposition
};

// Calibration data of GPTQ and AWQ: n_samples windows of seq_len tokens at
// random offsets of the tokenized split ('\n\n'-joined documents, as GPTQ's
// wikitext loader does), from the named stream "calibration".
struct CalibrationSection {
  std::string source = "retain";  // forget | retain (= retain1) | retain2 | holdout | file
  std::string file;               // a UTF-8 text file, with source: file
  int n_samples = 128;
  int seq_len = 512;
  int64_t seed = -1;  // -1 = derived from run.seed (stream "calibration")
};

struct QuantizeSection {
  std::string scheme = "rtn_sym";  // the RTN variant of `bits`
  std::vector<int> bits = {8, 4};
  int group_size = -1;                                             // -1 = one group per output row
  std::vector<std::string> modules = model::llama_linear_kinds();  // every decoder linear
  bool diagnostics = true;  // bucket diagnostics of every unlearned model vs the target
  GptqSection gptq;
  AwqSection awq;
  BnbSection bnb;
  CalibrationSection calibration;
};

void config_fields(ConfigBinder& b, GptqSection& s);
void config_fields(ConfigBinder& b, AwqSection& s);
void config_fields(ConfigBinder& b, BnbSection& s);
void config_fields(ConfigBinder& b, CalibrationSection& s);
void config_fields(ConfigBinder& b, QuantizeSection& s);

}  // namespace relapse
