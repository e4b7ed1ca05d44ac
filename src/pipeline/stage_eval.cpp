// src/pipeline/stage_eval.cpp — the evaluate stage: one model (full
// precision or a quantized copy) through the MUSE evaluation
// (eval/muse_eval.h) with eval:'s settings, sharded over the DP group;
// the same per-sample results at any rank count (stages.h).
#include "relapse/core/log.h"
#include "stages.h"

namespace relapse::pipeline {

eval::MuseEvalResult stage_eval(RunContext& ctx, const CorpusData& d, model::LlamaForCausalLM& m) {
  m->eval();
  return eval::muse_evaluate(m, *d.tok, d.corpus, eval_options(*ctx.eval), ctx.dp());
}

void stage_eval_log(const std::string& model, const PrecisionEval& pe) {
  const auto& m = pe.metrics;
  log_info(
      "eval ", model, " @ ", pe.precision, ": VerbMem ", m.verbmem_forget, "  KnowMem_f ",
      m.knowmem_forget.mean, "  KnowMem_r ", m.knowmem_retain.mean, "  AUC ", m.privleak_auc,
      pe.has_code_change
          ? "  codes changed " + std::to_string(100.0 * pe.code_change.frac_codes_changed()) + "%"
          : std::string());
}

}  // namespace relapse::pipeline
