// src/pipeline/stage_quantize.cpp — the quantize stage: the quantized
// precisions of a run and the calibration windows GPTQ and AWQ share (every
// model is calibrated on the same windows, so Q(target) and Q(unlearned)
// differ only by their weights); one quantized copy of a model per precision,
// with the bucket diagnostics of an unlearned model against the target
// quantized the same way (stages.h).
#include "relapse/core/error.h"
#include "relapse/core/fs.h"
#include "relapse/core/log.h"
#include "relapse/core/rng.h"
#include "relapse/quant/calibration.h"
#include "relapse/quant/code_change_tp.h"
#include "relapse/quant/quantize_model.h"
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

QuantPlan stage_quantize_setup(RunContext& ctx, const CorpusData& d, const QuantizeSection& q) {
  QuantPlan plan;
  plan.specs = quant::quant_specs(q);
  plan.diagnostics = q.diagnostics;
  plan.key = dump(q);
  bool needs = false;
  // LLM.int8 at TP > 1 was refused with the config (config_check_across).
  for (const auto& s : plan.specs) needs = needs || s.needs_calibration();
  if (!needs) return plan;
  const CalibrationSection& c = q.calibration;
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
  info.seed = c.seed >= 0 ? static_cast<uint64_t>(c.seed)
                          : RngStreams(ctx.run->seed).seed_of("calibration");
  info.text_tokens = static_cast<int64_t>(tokens.size());
  // A config rule that needs the data (config_check.cpp's kind): refused here,
  // before any training, naming the key and where it was set.
  if (info.text_tokens < c.seq_len)
    config_refuse(*ctx.origins, "quantize.calibration.seq_len",
                  std::to_string(c.seq_len) + " tokens per window, but the calibration text (" +
                      what + ") has only " + std::to_string(info.text_tokens) +
                      " tokens: lower it or use a longer text");
  plan.calib_ids = quant::calibration_windows(tokens, c.n_samples, c.seq_len, info.seed, what);
  log_info("calibration: ", c.n_samples, " windows of ", c.seq_len, " tokens from ", what, " (",
           tokens.size(), " tokens, seed ", info.seed, ")");
  return plan;
}

QuantizedModel stage_quantize(RunContext& ctx, const model::LlamaForCausalLM& m,
                              const ModelInfo& info, const quant::QuantSpec& spec,
                              const QuantPlan& plan, const model::LlamaForCausalLM* target,
                              TargetCodes& target_codes) {
  const torch::ScalarType dt = model::dtype_from_name(ctx.model->dtype);
  QuantizedModel out;
  out.model = model_clone(m, dt);
  model::LlamaForCausalLM& mm = out.model;
  const bool diag =
      plan.diagnostics && (info.kind == "target" || (target && info.kind == "unlearned"));
  if (spec.method == quant::QuantMethod::kRtn) {
    // RTN's own path: under tensor parallelism it compares whole weights.
    if (diag && info.kind == "unlearned") {
      model::LlamaForCausalLM t = model_clone(*target, dt);
      out.code_change = quant::code_change_stats_model(t, mm, spec.rtn, &out.code_change_layers);
      out.has_code_change = true;
    }
    quant::quant_apply(mm, spec, plan.calib_ids, ctx.dp(), /*keep_codes=*/false);
    return out;
  }
  // GPTQ, AWQ, bitsandbytes: the codes the pass returns against the target's.
  const model::TpContext tp = mm->tp();
  std::vector<std::pair<std::string, torch::Tensor>> w_orig;
  if (diag) w_orig = quant::code_change_tp_weights(mm, spec.rtn);
  std::vector<quant::LayerQuant> q =
      quant::quant_apply(mm, spec, plan.calib_ids, ctx.dp(), /*keep_codes=*/diag);
  if (!diag) return out;
  std::vector<std::string> names;
  for (const auto& l : q) names.push_back(l.name);
  quant::code_change_tp_filter(q, tp);
  // Present on every rank or on none (under TP a rank may keep no layer).
  const bool have_target = target_codes.codes.count(spec.label) > 0;
  auto& t_codes = target_codes.codes[spec.label];
  auto& t_weights = target_codes.weights[spec.label];
  if (info.kind == "target") {
    t_codes = std::move(q);
    t_weights = std::move(w_orig);
    return out;
  }
  if (!have_target) {  // the target was not evaluated in this run
    model::LlamaForCausalLM t = model_clone(*target, dt);
    t_weights = quant::code_change_tp_weights(t, spec.rtn);
    t_codes = quant::quant_apply(t, spec, plan.calib_ids, ctx.dp());
    quant::code_change_tp_filter(t_codes, tp);
  }
  std::vector<std::pair<std::string, quant::CodeChangeStats>> mine;
  quant::quant_code_change(t_weights, w_orig, t_codes, q, &mine);
  out.code_change = quant::code_change_tp_gather(names, mine, tp, &out.code_change_layers);
  out.has_code_change = true;
  return out;
}

}  // namespace relapse::pipeline
