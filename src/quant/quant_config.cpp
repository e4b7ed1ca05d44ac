// src/quant/quant_config.cpp — the field lists of the quant layer's config
// sections (relapse/quant/quant_config.h): keys, help text, allowed values (from
// this layer's name tables), derived defaults and range checks.
#include "relapse/quant/quant_config.h"

#include "relapse/quant/bnb.h"
#include "relapse/quant/rtn.h"

namespace relapse {

namespace {

// bitsandbytes' 4-bit data types and its 8-bit LLM.int8 (load_in_8bit).
std::vector<std::string> bnb_format_choices() {
  std::vector<std::string> out = quant::bnb4_format_names();
  out.push_back("llm_int8");
  return out;
}

void check_bits(ConfigBinder& b, const std::vector<int>& bits, std::initializer_list<int> ok) {
  for (int v : bits) {
    bool found = false;
    for (int o : ok) found = found || v == o;
    std::string list;
    for (int o : ok) list += (list.empty() ? "" : ", ") + std::to_string(o);
    b.check("bits", found, "entries must be one of ", list, ", got ", v);
  }
}
void check_group(ConfigBinder& b, int group_size) {
  b.check("group_size", group_size == -1 || group_size >= 1, "must be -1 or >= 1, got ",
          group_size);
}
}  // namespace

void config_fields(ConfigBinder& b, GptqSection& s) {
  b.field("bits", s.bits, "one GPTQ evaluation per entry (8, 4, 3, 2); [] = none");
  b.field("group_size", s.group_size, "weights per group; -1 = per output row");
  b.field("sym", s.sym, "symmetric (zero = 2^(bits-1)) or asymmetric min/max");
  b.field("desc_act", s.desc_act, "act-order: quantize columns by decreasing Hessian diagonal");
  b.field("damp_percent", s.damp_percent, "dampening, as a fraction of the mean Hessian diagonal");
  b.field("block_size", s.block_size, "columns per lazy-update block");
  b.field("true_sequential", s.true_sequential,
          "within a layer quantize q/k/v, o, gate/up, down in turn, each seeing the previous "
          "ones quantized (AutoGPTQ's default)");
  check_bits(b, s.bits, {8, 4, 3, 2});
  check_group(b, s.group_size);
  b.check("damp_percent", s.damp_percent > 0 && s.damp_percent < 1, "must be in (0, 1), got ",
          s.damp_percent);
  b.check("block_size", s.block_size >= 1, "must be >= 1, got ", s.block_size);
}

void config_fields(ConfigBinder& b, AwqSection& s) {
  b.field("bits", s.bits, "one AWQ evaluation per entry (8, 4, 3, 2); [] = none");
  b.field("group_size", s.group_size, "weights per group; -1 = per output row");
  b.field("zero_point", s.zero_point, "asymmetric with a zero point (AutoAWQ's default)");
  b.field("n_grid", s.n_grid, "grid points of the scale exponent search in [0, 1)");
  b.field("duo_scaling", s.duo_scaling, "scales from activation and weight magnitudes");
  b.field("clip", s.clip, "search per-group weight clipping (not for q/k)");
  b.field("max_shrink", s.max_shrink, "clip search down to (1 - max_shrink) of the max");
  b.field("n_sample_token", s.n_sample_token, "tokens sampled for the clip search");
  check_bits(b, s.bits, {8, 4, 3, 2});
  check_group(b, s.group_size);
  b.check("n_grid", s.n_grid >= 1, "must be >= 1, got ", s.n_grid);
  b.check("max_shrink", s.max_shrink >= 0 && s.max_shrink < 1, "must be in [0, 1), got ",
          s.max_shrink);
  b.check("n_sample_token", s.n_sample_token >= 1, "must be >= 1, got ", s.n_sample_token);
}

void config_fields(ConfigBinder& b, BnbSection& s) {
  b.field("formats", s.formats,
          "bitsandbytes emulations, one evaluation each: fp4, nf4 (load_in_4bit), "
          "llm_int8 (load_in_8bit)",
          bnb_format_choices());
  b.field("blocksize", s.blocksize, "4-bit absmax block (bitsandbytes: 64)");
  b.field("double_quant", s.double_quant, "quantize the 4-bit absmax too (8-bit, blocks of 256)");
  b.field("llm_int8_threshold", s.llm_int8_threshold,
          "LLM.int8 outlier threshold on activations; 0 = no decomposition");
  for (const auto& f : s.formats)
    b.check("formats", f == "fp4" || f == "nf4" || f == "llm_int8",
            "entries must be fp4, nf4 or llm_int8, got \"", f, "\"");
  b.check("blocksize", s.blocksize >= 2, "must be >= 2, got ", s.blocksize);
  b.check("llm_int8_threshold", s.llm_int8_threshold >= 0, "must be >= 0, got ",
          s.llm_int8_threshold);
}

void config_fields(ConfigBinder& b, CalibrationSection& s) {
  b.field("source", s.source, "calibration text of GPTQ and AWQ",
          {"forget", "retain", "retain2", "holdout", "file"});
  b.field("file", s.file, "UTF-8 text file, with source: file");
  b.field("n_samples", s.n_samples, "calibration sequences");
  b.field("seq_len", s.seq_len, "tokens per sequence");
  b.field("seed", s.seed, "window offsets' seed; -1 = derived from run.seed");
  b.check("n_samples", s.n_samples >= 1, "must be >= 1, got ", s.n_samples);
  b.check("seq_len", s.seq_len >= 2, "must be >= 2, got ", s.seq_len);
  b.check("file", s.source != "file" || !s.file.empty(), "must name a file when source is file");
}

void config_fields(ConfigBinder& b, QuantizeSection& s) {
  b.field("scheme", s.scheme, "RTN variant of `bits`", quant::rtn_scheme_names());
  b.field("bits", s.bits, "one RTN evaluation per entry (8, 4, 3, 2)");
  b.field("group_size", s.group_size, "RTN weights per group; -1 = per output row");
  b.field("modules", s.modules,
          "module kinds to quantize (q/k/v/o/gate/up/down_proj, embed_tokens, lm_head)");
  b.field("diagnostics", s.diagnostics,
          "bucket diagnostics: codes changed and |w_unlearned - w_target| / step per layer");
  b.section("gptq", s.gptq, "GPTQ evaluations");
  b.section("awq", s.awq, "AWQ evaluations");
  b.section("bnb", s.bnb, "bitsandbytes emulations (FP4 / NF4 / LLM.int8)");
  b.section("calibration", s.calibration, "calibration data of GPTQ and AWQ");
  check_bits(b, s.bits, {8, 4, 3, 2});
  check_group(b, s.group_size);
}

}  // namespace relapse
