// src/pipeline/stage_unlearn.cpp — the unlearn stage: the grid of runs
// (methods × learning rates × regimes × seeds) and one unlearning run from
// the target, cached by key, resumable inside (unlearn/loop_checkpoint.h),
// with MUSE's stopping rule (see stages.h), over data.forget_requests in
// sequence (MUSE's scalability and sustainability).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "relapse/core/error.h"
#include "relapse/core/log.h"
#include "relapse/core/progress.h"
#include "relapse/core/rng.h"
#include "relapse/eval/muse_eval.h"
#include "relapse/unlearn/loops.h"
#include "relapse/unlearn/losses.h"
#include "relapse/unlearn/saliency.h"
#include "stages.h"

namespace relapse::pipeline {

std::vector<UnlearnSpec> unlearn_grid(const UnlearnSection& u) {
  std::vector<UnlearnSpec> out;
  auto add = [&](const std::string& method, double lr, const std::string& regime) {
    const std::string obj = unlearn::objective_name(unlearn::objective_from_name(method));
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s%s_lr%g", regime == "sure" ? "sure_" : "", obj.c_str(), lr);
    if (u.seeds.empty()) {
      out.push_back({buf, buf, obj, regime, lr, -1});
      return;
    }
    for (int seed : u.seeds)
      out.push_back({std::string(buf) + "_s" + std::to_string(seed), buf, obj, regime, lr, seed});
  };
  for (const auto& m : u.methods)
    for (double lr : u.lrs) add(m, lr, "small");
  const auto& large = u.large_lr_methods.empty() ? u.methods : u.large_lr_methods;
  for (const auto& m : large)
    for (double lr : u.large_lrs) add(m, lr, "large");
  const auto& sure = u.sure.methods.empty() ? u.methods : u.sure.methods;
  for (const auto& m : sure)
    for (double lr : u.sure.lrs) add(m, lr, "sure");
  std::vector<std::string> seen;
  for (const auto& s : out) {
    RELAPSE_CHECK_CONFIG(std::find(seen.begin(), seen.end(), s.name) == seen.end(),
                         "unlearn: the grid has two runs named ", s.name,
                         " (a method, learning rate or seed is listed twice)");
    seen.push_back(s.name);
  }
  return out;
}

namespace {

// What the archive records of the run, and SURE's saliency settings (mode
// "none" unless the run is a SURE run).
unlearn::SaliencyConfig unlearn_describe(const UnlearnSection& u, const UnlearnSpec& spec,
                                         ModelInfo& info) {
  info.name = spec.name;
  info.kind = "unlearned";
  info.method = spec.method;
  info.variant = u.variant;
  info.lr = spec.lr;
  info.alpha = u.alpha;
  info.beta = u.beta;
  info.lr_regime = spec.lr_regime;
  info.group = spec.group;
  info.seed = spec.seed;
  const bool sure = spec.lr_regime == "sure";
  unlearn::SaliencyConfig sal;
  if (sure) {
    sal.mode = unlearn::saliency_mode_from_name(u.sure.mode);
    sal.percentile = u.sure.percentile;
    sal.gamma = u.sure.gamma;
    sal.modules = u.sure.modules;
    unlearn::saliency_config_validate(sal);
    info.saliency = u.sure.mode;
    char buf[64];
    if (sal.mode == unlearn::SaliencyMode::kReleased)
      buf[0] = 0;
    else if (sal.gamma >= 0)
      std::snprintf(buf, sizeof buf, "gamma=%g", sal.gamma);
    else
      std::snprintf(buf, sizeof buf, "p%g", sal.percentile);
    info.saliency_threshold = buf;
  }
  return sal;
}

// The cache key holds this run's settings only, so adding a learning rate to
// the grid does not redo the runs already there.
std::string unlearn_key(const RunContext& ctx, const UnlearnSection& u, const TrainedModels& tm,
                        const UnlearnSpec& spec) {
  const bool sure = spec.lr_regime == "sure";
  UnlearnSection one = u;
  one.methods = {spec.method};
  one.lrs = {spec.lr};
  one.large_lrs.clear();
  one.large_lr_methods.clear();
  one.seeds.clear();
  if (sure) {
    one.sure.lrs = {spec.lr};
    one.sure.methods = {spec.method};
  } else {
    one.sure = SureSection{};  // adding SURE runs does not redo the others
  }
  std::string key = tm.key + dump(one) + "run: " + spec.name + "\n" + compute_key(ctx, u.precision);
  if (spec.seed >= 0) key += "seed: " + std::to_string(spec.seed) + "\n";
  if (u.stop_rule) key += dump(*ctx.eval);  // the rule's evaluation decides where it stops
  return key;
}

// The unlearning loop's options: the unlearn section as a training stage.
unlearn::LoopOptions unlearn_loop_options(const RunContext& ctx, const UnlearnSection& u,
                                          const UnlearnSpec& spec,
                                          const unlearn::SaliencyConfig& sal,
                                          const std::string& dir, const std::string& key,
                                          int64_t n_forget, int request) {
  TrainStageSection ts;
  ts.lr = spec.lr;
  ts.batch_size = u.batch_size;
  ts.micro_batches = u.micro_batches;
  ts.schedule = u.schedule;
  ts.weight_decay = u.weight_decay;
  ts.max_grad_norm = u.max_grad_norm;
  ts.master_weights = u.master_weights;
  ts.epochs = u.epochs;
  // Seeded repeats differ only in the data order: the root seed of the
  // group's shuffle stream.
  const uint64_t order_seed =
      spec.seed >= 0 ? static_cast<uint64_t>(spec.seed) : static_cast<uint64_t>(ctx.run->seed);
  // Request 1 keeps the stream of a run without requests; each later request
  // draws its order from a stream of its own.
  const std::string tail = request > 0 ? "/request" + std::to_string(request + 1) : "";
  auto o = loop_options(ctx, ts, order_seed, "unlearn/" + spec.group + "/shuffle" + tail,
                        "unlearn " + spec.name + tail);
  o.max_steps = u.max_steps;
  o.saliency = sal;
  o.checkpoint = resume_options(ctx, dir, key);
  set_warmup(o, u.warmup_ratio, n_forget);
  return o;
}

// MUSE's stopping rule: after each epoch, forget KnowMem vs the retrain
// model's (no hook without the rule or a retrain number).
unlearn::EpochHook unlearn_stop_hook(RunContext& ctx, CorpusData& d, const UnlearnSection& u,
                                     const UnlearnSpec& spec, model::LlamaForCausalLM& m,
                                     double retrain_knowmem_f) {
  unlearn::EpochHook hook;
  if (u.stop_rule && std::isfinite(retrain_knowmem_f)) {
    // By reference: ctx, d, spec and m outlive the loop that calls the hook.
    hook = [&ctx, &d, &spec, &m, retrain_knowmem_f](int64_t epoch) {
      // The same settings and precision (model.dtype) as the final evaluation,
      // on a copy, so the rule compares like with like with the retrain number.
      eval::MuseEvalOptions eo = eval_options(*ctx.eval);
      eo.verbmem = eo.privleak = false;
      model::LlamaForCausalLM e = model_clone(m, model::dtype_from_name(ctx.model->dtype));
      auto r = eval::muse_evaluate(e, *d.tok, d.corpus, eo, ctx.dp());
      log_info("unlearn ", spec.name, ": epoch ", epoch, " forget KnowMem ", r.knowmem_forget.mean,
               " (retrain ", retrain_knowmem_f, ")");
      return r.knowmem_forget.mean > retrain_knowmem_f;
    };
  }
  return hook;
}

// The key of the model after requests 0..k of data.forget_requests (the run's
// key alone when there are none).
std::string request_key(const CorpusData& d, const std::string& run_key, size_t k) {
  if (d.requests.empty()) return run_key;
  std::string key = run_key + "forget_requests:\n";
  for (size_t i = 0; i <= k; ++i)
    key += "- " + d.requests[i].name + " " + d.requests[i].fingerprint + "\n";
  return key;
}

// One request: `m` unlearned in place on `forget`, then saved to `dir`. The
// reference model (where the objective has one) is `m` as the request starts,
// as MUSE's sequential runs load it from the previous request's checkpoint.
// `info` accumulates the curve, steps and epochs over the requests.
void unlearn_request(RunContext& ctx, CorpusData& d, const UnlearnSection& u,
                     model::LlamaForCausalLM& m, const UnlearnSpec& spec,
                     const unlearn::SaliencyConfig& sal, const unlearn::Chunks& forget, int request,
                     const std::string& dir, const std::string& key, ModelInfo& info,
                     double retrain_knowmem_f) {
  unlearn::UnlearnLossConfig lc;
  lc.objective = unlearn::objective_from_name(spec.method);
  lc.variant = unlearn::loss_variant_from_name(u.variant);
  lc.alpha = u.alpha;
  lc.beta = u.beta;
  lc.params = u.params;
  // RMU's control vector: one per run (its name carries method, LR and seed).
  lc.rmu_control_seed =
      RngStreams(static_cast<uint64_t>(ctx.run->seed)).seed_of("unlearn/" + spec.name + "/rmu");
  model::LlamaForCausalLM ref{nullptr};
  if (unlearn::objective_uses_ref(lc.objective)) ref = unlearn::reference_model_copy(m);
  auto o = unlearn_loop_options(ctx, u, spec, sal, dir, key, (int64_t)forget.size(), request);
  unlearn::EpochHook hook = unlearn_stop_hook(ctx, d, u, spec, m, retrain_knowmem_f);
  auto r =
      unlearn::unlearn_train(m, ref ? &ref : nullptr, forget, d.retain1, lc, o, ctx.dp(), hook);
  info.curve.insert(info.curve.end(), r.curve.begin(), r.curve.end());
  info.steps += r.steps;
  info.epochs += r.epochs_run;
  if (r.diverged_step > 0) info.diverged_step = info.steps - r.steps + r.diverged_step;
  info.mask.steps = r.mask.steps;
  info.mask.names = r.mask.names;
  info.mask.selected_steps = r.mask.selected_steps;
  stage_save(ctx, m, dir, key, d.tok->path(), &info);
  unlearn::loop_checkpoint_remove(o.checkpoint, m, ctx.dp());
}

}  // namespace

std::string unlearn_model_key(const RunContext& ctx, const UnlearnSection& u, const CorpusData& d,
                              const TrainedModels& tm, const UnlearnSpec& spec) {
  const size_t n = std::max<size_t>(1, d.requests.size());
  return request_key(d, unlearn_key(ctx, u, tm, spec), n - 1);
}

// Requests before the last are cached under their own keys (run.cache_dir or
// OUT/models/unlearn-<run>-request<k>), so a sweep over growing request lists
// (MUSE's sustainability) unlearns each request once.
model::LlamaForCausalLM stage_unlearn(RunContext& ctx, CorpusData& d, const UnlearnSection& u,
                                      const TrainedModels& tm, const UnlearnSpec& spec,
                                      ModelInfo& info, double retrain_knowmem_f) {
  const unlearn::SaliencyConfig sal = unlearn_describe(u, spec, info);
  const std::string run_key = unlearn_key(ctx, u, tm, spec);
  const size_t n = std::max<size_t>(1, d.requests.size());
  auto key_of = [&](size_t k) { return request_key(d, run_key, k); };
  auto dir_of = [&](size_t k) {
    if (k + 1 == n) return ctx.run->out_dir + "/models/" + spec.name;
    return stage_model_dir(ctx, "unlearn-" + spec.name + "-request" + std::to_string(k + 1),
                           key_of(k));
  };
  info.checkpoint = dir_of(n - 1);
  if (stage_cached(dir_of(n - 1), key_of(n - 1))) {
    log_info("unlearn: ", spec.name, " cached in ", dir_of(n - 1));
    info_from_stamp(dir_of(n - 1), info);
    mask_from_stamp(dir_of(n - 1), info.mask);
    return stage_load(ctx, dir_of(n - 1), u.precision);
  }
  // Resume after the longest run of requests already cached.
  size_t start = 0;
  model::LlamaForCausalLM m{nullptr};
  for (size_t k = n - 1; k-- > 0;) {
    if (!stage_cached(dir_of(k), key_of(k))) continue;
    log_info("unlearn: ", spec.name, " requests 1..", k + 1, " cached in ", dir_of(k));
    info_from_stamp(dir_of(k), info);
    mask_from_stamp(dir_of(k), info.mask);
    m = stage_load(ctx, dir_of(k), u.precision);
    info.checkpoint = dir_of(k);
    start = k + 1;
    break;
  }
  if (!m) m = model_clone(tm.target, model::dtype_from_name(u.precision));
  Progress timer("", 0);
  // A diverged request ends the sequence (its stamp says so: a rerun that
  // finds it cached stops there too); the later requests are not run.
  for (size_t k = start; k < n && info.diverged_step == 0; ++k) {
    const unlearn::Chunks& forget = d.requests.empty() ? d.forget : d.requests[k].chunks;
    unlearn_request(ctx, d, u, m, spec, sal, forget, static_cast<int>(k), dir_of(k), key_of(k),
                    info, retrain_knowmem_f);
    info.checkpoint = dir_of(k);
  }
  ctx.add_stage_time("unlearn/" + spec.name, timer.elapsed_s());
  m->eval();
  return m;
}

}  // namespace relapse::pipeline
