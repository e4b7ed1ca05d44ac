// src/pipeline/stage_bootstrap.cpp — the bootstrap stage: intervals of every
// evaluation of a run (stages.h).
//
// Bootstrap (eval.bootstrap): for every model × precision and metric, the
// percentile interval of the metric over resampled evaluation samples
// (eval/bootstrap.h), and for every quantized precision the paired
// difference quantized − full over the same resampled samples. Each interval
// draws from its own named stream "bootstrap/<model>/<precision>/<metric>",
// so adding a model or a precision does not change the others' intervals.
#include <cmath>

#include "relapse/core/progress.h"
#include "relapse/core/rng.h"
#include "relapse/eval/bootstrap.h"
#include "stages.h"

namespace relapse::pipeline {

namespace {

MetricCI to_ci(const eval::Interval& iv, double scale) {
  return {iv.value * scale, iv.lo * scale, iv.hi * scale};
}

}  // namespace

void stage_bootstrap(RunContext& ctx, const BootstrapSection& bs, RunResult& r,
                     double auc_retrain) {
  if (bs.resamples <= 0) return;
  Progress timer("", 0);
  const RngStreams streams(static_cast<uint64_t>(ctx.run->seed));
  r.bootstrap = {bs.resamples, bs.level, streams.seed()};
  auto opts = [&](const std::string& stream) {
    eval::BootstrapOptions o;
    o.resamples = bs.resamples;
    o.level = bs.level;
    o.seed = streams.seed_of(stream);
    return o;
  };
  // PrivLeak's intervals resample the retrain model's scores on the same
  // texts; with a configured constant retrain AUC there are none to resample.
  const ModelResult* retrain = run_find_model(r, "retrain");
  const PrecisionEval* rt = retrain ? model_find_eval(*retrain, "full") : nullptr;
  const bool privleak_ci = ctx.eval->privleak_auc_retrain <= 0 && rt && rt->metrics.has_privleak &&
                           std::isfinite(auc_retrain);
  for (ModelResult& mr : r.models) {
    const PrecisionEval* full = model_find_eval(mr, "full");
    for (PrecisionEval& pe : mr.evals) {
      const std::string base = "bootstrap/" + mr.info.name + "/" + pe.precision + "/";
      const eval::MuseEvalResult& m = pe.metrics;
      const eval::MuseEvalResult* f = full && &pe != full ? &full->metrics : nullptr;
      pe.ci.clear();
      pe.vs_full.clear();
      auto mean_metric = [&](const std::string& name, const std::vector<double>& x,
                             const std::vector<double>* fx) {
        if (x.empty()) return;
        pe.ci.emplace_back(name, to_ci(eval::bootstrap_mean(x, opts(base + name)), 100.0));
        if (fx && fx->size() == x.size()) {
          eval::Interval d = eval::bootstrap_paired_diff(*fx, x, opts(base + name + "/vs_full"));
          pe.vs_full.push_back(
              {name, 100.0 * d.value, 100.0 * d.lo, 100.0 * d.hi, static_cast<int64_t>(x.size())});
        }
      };
      if (m.has_verbmem)
        mean_metric("verbmem_f", m.verbmem_scores, f ? &f->verbmem_scores : nullptr);
      if (m.has_knowmem) {
        mean_metric("knowmem_f", m.knowmem_forget.scores, f ? &f->knowmem_forget.scores : nullptr);
        mean_metric("knowmem_r", m.knowmem_retain.scores, f ? &f->knowmem_retain.scores : nullptr);
      }
      if (m.has_privleak && privleak_ci) {
        const auto& rm = rt->metrics;
        pe.ci.emplace_back("privleak", to_ci(eval::bootstrap_privleak(
                                                 m.mink_forget, m.mink_holdout, rm.mink_forget,
                                                 rm.mink_holdout, opts(base + "privleak")),
                                             100.0));  // the ratio × 100, as privleak_normalise
        if (f && f->has_privleak) {
          eval::Interval d = eval::bootstrap_privleak_diff(
              f->mink_forget, f->mink_holdout, m.mink_forget, m.mink_holdout, rm.mink_forget,
              rm.mink_holdout, opts(base + "privleak/vs_full"));
          pe.vs_full.push_back(
              {"privleak", 100.0 * d.value, 100.0 * d.lo, 100.0 * d.hi,
               static_cast<int64_t>(m.mink_forget.size() + m.mink_holdout.size())});
        }
      }
    }
  }
  ctx.add_stage_time("bootstrap", timer.elapsed_s());
}

}  // namespace relapse::pipeline
