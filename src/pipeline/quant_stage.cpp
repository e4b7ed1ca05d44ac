// src/pipeline/quant_stage.cpp — the quantized precisions of a run and the
// calibration windows GPTQ and AWQ share (every model is calibrated on the
// same windows, so Q(target) and Q(unlearned) differ only by their weights).
#include <fstream>
#include <sstream>

#include "relapse/core/error.h"
#include "relapse/core/fs.h"
#include "relapse/core/log.h"
#include "relapse/core/rng.h"
#include "relapse/quant/calibration.h"
#include "stages.h"

namespace relapse::pipeline {

namespace {
std::string calibration_text(const CalibrationSection& c, const data::MuseCorpus& corpus) {
  if (c.source == "forget") return corpus.forget.text;
  if (c.source == "retain") return corpus.retain1.text;
  if (c.source == "retain2") return corpus.retain2.text;
  if (c.source == "holdout") return corpus.holdout.text;
  return fs_read_file(c.file, "quantize.calibration.file");
}
}  // namespace

void stage_quant_setup(RunContext& ctx, const CorpusData& d) {
  const RelapseConfig& cfg = *ctx.cfg;
  ctx.quant_specs = quant::quant_specs(cfg.quantize);
  bool needs = false;
  for (const auto& s : ctx.quant_specs) {
    needs = needs || s.needs_calibration();
    // Checked here, before any training, rather than when the first model is quantized.
    RELAPSE_CHECK_CONFIG(s.method != quant::QuantMethod::kLlmInt8 || cfg.parallel.tp == 1,
                         "quantize: ", s.label,
                         " needs parallel.tp = 1 (the LLM.int8 emulation's matmul needs whole "
                         "activation rows; RTN, GPTQ, AWQ, FP4 and NF4 run at any TP); got tp = ",
                         cfg.parallel.tp);
  }
  if (!needs) return;
  const CalibrationSection& c = cfg.quantize.calibration;
  const std::string what =
      c.source == "file" ? "'" + c.file + "'" : "split " + c.source + " of " + d.dir;
  const std::string text = calibration_text(c, d.corpus);
  std::vector<int64_t> tokens = d.tok->encode(text, /*add_bos=*/true);
  CalibrationInfo& info = ctx.result->calibration;
  info.used = true;
  info.source = c.source;
  info.file = c.file;
  info.n_samples = c.n_samples;
  info.seq_len = c.seq_len;
  info.seed =
      c.seed >= 0 ? static_cast<uint64_t>(c.seed) : RngStreams(cfg.run.seed).seed_of("calibration");
  info.text_tokens = static_cast<int64_t>(tokens.size());
  ctx.calib_ids = quant::calibration_windows(tokens, c.n_samples, c.seq_len, info.seed, what);
  log_info("calibration: ", c.n_samples, " windows of ", c.seq_len, " tokens from ", what, " (",
           tokens.size(), " tokens, seed ", info.seed, ")");
}

}  // namespace relapse::pipeline
