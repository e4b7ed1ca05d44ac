// src/pipeline/eval_cache.cpp — the evaluation cache and the evaluation's
// answer to SIGTERM (stages.h). Every finished evaluation of one model at one
// precision (and the relearning attack's) is saved as a one-model run archive,
// OUT/evals/<model>/<precision>.h5 (under run.cache_dir when set, so a
// sweep's cells share them), whose config_yaml is the text of all it
// depends on: the model's cache key (its weights), the evaluation sets, the
// model: and eval: sections, and what the precision adds (quantize: for a
// quantized copy; relearn: and unlearn: for the relearning attack). A rerun of the same command
// reads it back instead of evaluating again, so a run stopped during evaluation — SIGTERM between
// two precisions, SIGKILL, a crash in a later stage — loses at most the evaluation in flight.
// archive_read_run gives back every field archive_write wrote (the per-sample scores and texts the
// bootstrap and the report use), so a resumed run's archive equals an uninterrupted one's.
#include <filesystem>

#include "relapse/core/fs.h"
#include "relapse/core/log.h"
#include "relapse/results/archive.h"
#include "stages.h"

namespace fs = std::filesystem;

namespace relapse::pipeline {

namespace {

// The evaluation sets as one text (the corpus fingerprint covers the training text only).
std::string eval_sets_text(const data::MuseCorpus& c) {
  std::string s;
  auto add = [&](const std::string& t) { s += t + "\x1f"; };
  for (const auto& v : c.verbmem_forget) add(v.prompt), add(v.gt);
  for (const auto* qa : {&c.knowmem_forget_qa, &c.knowmem_retain_qa, &c.knowmem_forget_qa_icl,
                         &c.knowmem_retain_qa_icl})
    for (const auto& p : *qa) add(p.question), add(p.answer);
  for (const auto* texts : {&c.privleak_forget, &c.privleak_retain, &c.privleak_holdout})
    for (const auto& t : *texts) add(t);
  return s;
}

// OUT/evals/<model>/<precision>.h5; under run.cache_dir (a sweep's cells share
// it) CACHE/evals/<model>/<precision>-<key hash>.h5, so cells with other
// settings keep their own and every cell reuses the target's and retrain's.
std::string eval_cache_path(const RunContext& ctx, const std::string& model,
                            const std::string& precision, const std::string& full_key) {
  const RunSection& r = *ctx.run;
  if (r.cache_dir.empty()) return r.out_dir + "/evals/" + model + "/" + precision + ".h5";
  return r.cache_dir + "/evals/" + model + "/" + precision + "-" + key_hash(full_key) + ".h5";
}

// The cached evaluation when its key matches (false when absent, stale or unreadable).
bool eval_cache_load(const std::string& path, const std::string& key, PrecisionEval& pe) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  try {
    results::RunResult r = results::archive_read_run(path);
    if (r.config_yaml != key || r.models.size() != 1 || r.models[0].evals.size() != 1) return false;
    pe = std::move(r.models[0].evals[0]);
    return true;
  } catch (const Error&) {
    return false;  // damaged: evaluated again and rewritten
  }
}

}  // namespace

std::string eval_model_key(const RunContext& ctx, const CorpusData& d,
                           const std::string& model_key) {
  // "eval_outputs" names what an evaluation records beyond the eval: section
  // (2: MUSE's other membership-inference attacks; 3: OpenUnlearning's
  // memorization metrics; 4: its Min-K%++), so evaluations cached
  // before an addition are made again instead of read back without it.
  return model_key + "eval_sets: " + key_hash(eval_sets_text(d.corpus)) + "\n" + dump(*ctx.model) +
         dump(*ctx.eval) + "eval_outputs: 4\n" + compute_key(ctx, ctx.model->dtype);
}

PrecisionEval eval_cached(RunContext& ctx, const ModelInfo& info, const std::string& precision,
                          const std::string& key, const std::function<PrecisionEval()>& compute) {
  const std::string full_key = key + "precision: " + precision + "\n";
  const std::string path = eval_cache_path(ctx, info.name, precision, full_key);
  PrecisionEval pe;
  if (eval_cache_load(path, full_key, pe)) {
    log_info("eval ", info.name, " @ ", precision, ": cached in ", path);
    return pe;
  }
  pe = compute();
  if (ctx.rank == 0) {
    results::RunResult one;
    one.name = ctx.run->name;
    one.config_yaml = full_key;
    one.provenance = ctx.result->provenance;
    results::ModelResult mr;
    mr.info = info;
    mr.evals.push_back(pe);
    one.models.push_back(std::move(mr));
    // Written aside under this run's name (cells sharing run.cache_dir may
    // write the same evaluation at once), then renamed: a killed run leaves
    // no partial file, and the last of two equal writes wins.
    const std::string aside = path + ".part-" + ctx.run->name;
    results::archive_write(one, aside);
    fs_commit_file(aside, path);
  }
  return pe;
}

void eval_check_preemption(RunContext& ctx, PreemptionGuard& guard, const std::string& done) {
  torch::Tensor t = torch::tensor({guard.requested() ? 1 : 0}, torch::kInt32);
  if (ctx.world > 1) ctx.grid.world->all_reduce(t, ReduceOp::kMax);
  if (t.item<int32_t>() == 0) return;
  guard.consume();
  RELAPSE_THROW(ExitCode::kPreempted, "stopped by SIGTERM during the evaluation, after ", done,
                "; every finished evaluation is saved under ",
                ctx.run->cache_dir.empty() ? ctx.run->out_dir : ctx.run->cache_dir,
                "/evals and rerunning the same command resumes from them");
}

}  // namespace relapse::pipeline
