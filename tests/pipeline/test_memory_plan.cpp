// tests/pipeline/test_memory_plan.cpp — the memory planner (issues 7 and 18):
// its numbers for a small model against the peak of tensor memory measured
// during real unlearning steps of our trainer and a real evaluation (scoring
// and generation) (within 10%; quantization passes: test_memory_plan_quant),
// its 7B numbers against hand
// arithmetic, the refusal when a stage that runs does not fit (and never for
// a stage the run skips), the shape read from a model directory's
// config.json, every configs/models/*.yaml fragment and muse_news_7b.yaml.
//
// Measuring: libtorch's CPU allocator reports every allocation and free to the
// c10::MemoryReportingInfoBase in the thread-local debug info
// (PROFILER_STATE) when its memoryProfilingEnabled() is true; MemCounter sums
// the sizes (negative on free) and keeps the maximum. Both sides count the
// same things: every tensor the unlearning loop allocates from a zero taken
// before the models are built (the model, its reference copy, AdamW's
// moments, gradients, activations, the loss's logits), against the plan's
// items without "resident models" (the target and retrain models the full
// pipeline also keeps, which this test does not build).
#include <c10/core/Allocator.h>
#include <c10/util/ThreadLocalDebugInfo.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "memory_plan_test_util.h"
#include "relapse/core/rng.h"
#include "relapse/dist/communicator.h"
#include "relapse/dist/runtime.h"
#include "relapse/model/cpu_gemm.h"
#include "relapse/model/inference.h"
#include "relapse/model/presets.h"
#include "relapse/pipeline/memory_plan.h"
#include "relapse/quant/quant_spec.h"
#include "relapse/unlearn/loops.h"
#include "test_util.h"

using namespace relapse;
using namespace relapse::pipeline;
using namespace relapse::pipeline::plan_test;

namespace {

int64_t plan_trainer_bytes(const MemoryPlan& p) {
  return plan_stage_bytes(p, "unlearning");
}

// Peak tensor bytes of two unlearning updates of `cfg`'s method on random chunks.
int64_t measured_peak(const RelapseConfig& cfg, model::TpContext tp = {}) {
  auto counter = std::make_shared<MemCounter>();
  const int64_t vocab = cfg.data.synth_vocab_size;
  const int len = cfg.data.max_len, batch = cfg.unlearn.batch_size;
  const unlearn::Chunks forget = random_chunks(2 * batch, len, vocab, 1);
  const unlearn::Chunks retain = random_chunks(2 * batch, len, vocab, 2);
  {
    c10::DebugInfoGuard guard(c10::DebugInfoKind::PROFILER_STATE, counter);
    model::LlamaForCausalLM m(model::model_preset(cfg.model.preset, vocab), tp);
    model::llama_init_random(m, 0.02, RngStreams(3).torch_generator("test/init"));
    m->to(model::dtype_from_name(cfg.unlearn.precision));
    unlearn::UnlearnLossConfig lc;
    lc.objective = unlearn::objective_from_name(cfg.unlearn.methods[0]);
    model::LlamaForCausalLM ref{nullptr};
    if (unlearn::objective_uses_ref(lc.objective)) ref = unlearn::reference_model_copy(m);
    unlearn::LoopOptions o;
    o.train.schedule.base_lr = 1e-4;
    o.train.micro_batches = cfg.unlearn.micro_batches;
    o.batch_size = batch;
    o.epochs = 1;
    o.seed = 5;
    o.activation_checkpointing = cfg.parallel.activation_checkpointing;
    o.train.adamw.master_weights = cfg.unlearn.master_weights;
    unlearn::unlearn_train(m, ref ? &ref : nullptr, forget, retain, lc, o);
  }
  return counter->peak;
}

// The unlearning stage's plan of `cfg` within 10% of the measured peak; bf16
// on the CPU both with libtorch's bf16 kernels and with the fp32 path.
void expect_plan_near_measured(RelapseConfig cfg, const std::string& label) {
  for (const char* gemm : {"native", "fp32"}) {
    if (cfg.unlearn.precision == "float32" && std::string(gemm) == "fp32") continue;
    cfg.model.cpu_bf16_gemm = gemm;
    const model::CpuBf16GemmScope choice(model::cpu_bf16_gemm_resolve(gemm));
    const MemoryPlan p = memory_plan(cfg, 1);
    const int64_t planned = plan_trainer_bytes(p), measured = measured_peak(cfg);
    const double ratio = static_cast<double>(planned) / static_cast<double>(measured);
    std::printf("%s %-6s: planned %.2f MiB, measured %.2f MiB, ratio %.3f (%s)\n", label.c_str(),
                gemm, planned / 1048576.0, measured / 1048576.0, ratio,
                memory_plan_find(p, "unlearning")->moment.c_str());
    EXPECT_NEAR(ratio, 1.0, 0.10) << label << " " << gemm << "\n" << memory_plan_text(p);
  }
}

}  // namespace

// The allocator reports what the counter needs: a 1 MiB tensor shows as
// 1 MiB at its peak and 0 after it is freed.
TEST(MemoryPlan, AllocatorReportsAllocations) {
  auto counter = std::make_shared<MemCounter>();
  {
    c10::DebugInfoGuard guard(c10::DebugInfoKind::PROFILER_STATE, counter);
    torch::Tensor t = torch::empty({256, 1024}, torch::kFloat32);
  }
  EXPECT_EQ(counter->peak, 1 << 20);
  EXPECT_EQ(counter->current, 0);
}

// The acceptance check of issue 7: planned vs measured peak within 10% for
// both objectives (with and without a reference model and its head), both
// precisions, one and two micro-batches, bf16 with fp32 master weights.
TEST(MemoryPlan, SmallModelWithinTenPercentOfMeasuredPeak) {
  struct Case {
    const char *preset, *precision, *method;
    int batch, micro, len;
    bool master = false;
  };
  const Case cases[] = {
      {"small", "float32", "npo_gdr", 8, 1, 128},
      {"small", "bfloat16", "npo_gdr", 8, 1, 128},
      {"small", "float32", "ga_gdr", 8, 1, 128},
      {"small", "bfloat16", "ga_gdr", 8, 1, 128},
      {"tiny", "bfloat16", "npo", 8, 1, 128},
      {"small", "bfloat16", "npo_gdr", 8, 2, 128},
      {"small", "float32", "ga", 8, 1, 128},
      {"small", "bfloat16", "npo_klr", 8, 1, 128},
      {"tiny", "float32", "ga_klr", 4, 1, 256},
      {"small", "bfloat16", "npo_gdr", 8, 1, 128, true},
      {"small", "bfloat16", "ga", 2, 1, 64, true},
  };
  for (const Case& c : cases) {
    RelapseConfig cfg = small_config(c.preset, c.precision, c.method, c.batch, c.micro, c.len);
    cfg.unlearn.master_weights = c.master;
    char label[128];
    std::snprintf(label, sizeof label, "%-6s %-9s%s %-8s batch %d micro %d len %d", c.preset,
                  c.precision, c.master ? "+master" : "", c.method, c.batch, c.micro, c.len);
    expect_plan_near_measured(cfg, label);
  }
}

namespace {

RelapseConfig llama7b_config(double memory_gib) {
  RelapseConfig cfg;
  cfg.model.preset = "7b";
  cfg.run.device = "cuda";  // planned as on the GPUs it is for, from any machine
  cfg.parallel.tp = 8;
  cfg.parallel.memory_gib = memory_gib;
  cfg.data.max_len = 2048;
  cfg.train.stage.precision = "bfloat16";
  cfg.unlearn.precision = "bfloat16";
  cfg.unlearn.methods = {"ga_gdr", "npo_gdr"};
  cfg.unlearn.batch_size = 32;
  cfg.unlearn.micro_batches = 32;
  // MUSE's released target and retrain checkpoints: no training stage.
  cfg.train.target = "models/target";
  cfg.train.retrain = "models/retrain";
  return cfg;
}

int64_t item_bytes(const MemoryPlan& p, const std::string& what,
                   const std::string& stage = "unlearning") {
  const StagePlan* s = memory_plan_find(p, stage);
  if (!s) {
    ADD_FAILURE() << "no stage " << stage;
    return -1;
  }
  for (const auto& it : s->items)
    if (it.what == what) return it.bytes;
  ADD_FAILURE() << "no plan item " << what;
  return -1;
}

}  // namespace

// Llama-2-7B at TP 8, pure bf16, one 2048-token row per micro-batch: every
// item against the arithmetic written out (memory_plan.cpp's file-top comment).
TEST(MemoryPlan, Llama7bTp8MatchesHandArithmetic) {
  const MemoryPlan p = memory_plan(llama7b_config(80), 8);
  EXPECT_EQ(p.shape.vocab_size, 32000);
  EXPECT_EQ(p.dp, 1);
  EXPECT_EQ(p.tp, 8);
  // 2·32000·4096 + 32·(4·4096² + 3·4096·11008 + 2·4096) + 4096
  EXPECT_EQ(p.params_total, 6738415616LL);
  // 2·(32000/8)·4096 + 32·(4·4096·512 + 3·4096·1376 + 2·4096) + 4096
  EXPECT_EQ(p.params_per_rank,
            2LL * 4000 * 4096 + 32LL * (4 * 4096 * 512 + 3 * 4096 * 1376 + 8192) + 4096);
  EXPECT_EQ(p.params_per_rank, 842534912LL);
  EXPECT_EQ(item_bytes(p, "weights"), 1685069824LL);  // × 2 B
  EXPECT_EQ(item_bytes(p, "gradients"),
            1685069824LL);  // micro_batches 32: held across micro-batches
  EXPECT_EQ(item_bytes(p, "optimizer"), 3370139648LL);        // exp_avg + exp_avg_sq
  EXPECT_EQ(item_bytes(p, "reference"), 1685069824LL);        // npo_gdr's frozen copy
  EXPECT_EQ(item_bytes(p, "resident models"), 3370139648LL);  // target + retrain in bf16
  // Per layer (n = 2048 tokens, P = 2): norms 2·(8·n·4096 + 4n), q/k/v/out
  // 4·2·n·512, the fused attention's fp32 log-sum-exp 4·4·2048, MLP
  // 4·2·n·1376; ×32, + final norm + RoPE 2·2·n·128; two passes (forget and
  // retain graphs alive together).
  const int64_t n = 2048;
  const int64_t norm = 8 * n * 4096 + 4 * n;
  const int64_t layer = 2 * norm + 8 * n * 512 + 4LL * 4 * 2048 + 8 * n * 1376;
  EXPECT_EQ(layer, 165199872LL);
  const int64_t pass = 32 * layer + norm + 4 * n * 128;
  EXPECT_EQ(item_bytes(p, "activations"), 2 * pass);
  EXPECT_EQ(2 * pass, 10709123072LL);
  // Logits [1, 2048, 4000] bf16 of both passes, the forget log-probs kept for
  // the backward, the retain head's log-probs and two fp32 temporaries of the
  // vocab-parallel log-softmax.
  EXPECT_EQ(item_bytes(p, "logits"), 2LL * 2 * n * 4000 + 4LL * 4 * 2047 * 4000);
  EXPECT_EQ(p.total, 22668387840LL);  // 21.11 GiB
  ASSERT_GE(p.peak, 0);
  EXPECT_EQ(p.stages[p.peak].name, "unlearning");  // the peak stage of this config
  EXPECT_EQ(memory_plan_find(p, "unlearning")->total, 22668387840LL);
  EXPECT_TRUE(p.fits);
  EXPECT_EQ(p.budget, 80LL << 30);
  EXPECT_NE(memory_plan_text(p).find("21.11 GiB"), std::string::npos) << memory_plan_text(p);
}

// A budget below the plan: refused before launch with the numbers named.
TEST(MemoryPlan, RefusesWhenItDoesNotFit) {
  const MemoryPlan p = memory_plan(llama7b_config(16), 8);
  EXPECT_FALSE(p.fits);
  test::expect_error([&] { memory_plan_require_fit(p); }, ExitCode::kConfig,
                     {"stage unlearning", "21.11 GiB", "16.00 GiB", "parallel.memory_gib",
                      "activations 9.97 GiB", "parallel.tp"});
  EXPECT_NO_THROW(memory_plan_require_fit(memory_plan(llama7b_config(40), 8)));
}

// model.path: the shape comes from config.json alone (no weights in the
// directory), and the parameter count equals a built model's, in every family
// (Qwen2: no o_proj bias; Qwen3: q/k norm weights).
TEST(MemoryPlan, ShapeFromModelPathConfigJson) {
  for (const char* family : {"llama", "mistral", "qwen2", "qwen3"}) {
    SCOPED_TRACE(family);
    model::LlamaConfig c = model::model_preset("nano", 300);
    c.model_type = family;
    c.num_key_value_heads = 2;
    c.tie_word_embeddings = true;
    c.attention_bias = true;
    const std::string dir = test::scratch_dir(std::string("memplan_model_") + family);
    test::write_file(dir + "/config.json", model::llama_config_to_json(c).dump());
    RelapseConfig cfg;
    cfg.model.path = dir;
    const model::LlamaConfig got = memory_plan_shape(cfg);
    EXPECT_EQ(got.model_type, family);
    EXPECT_EQ(got.vocab_size, 300);
    EXPECT_EQ(got.num_key_value_heads, 2);
    EXPECT_TRUE(got.tie_word_embeddings);
    const MemoryPlan p = memory_plan(cfg, 1);
    model::LlamaForCausalLM m(got);
    int64_t numel = 0;
    for (const auto& t : m->parameters()) numel += t.numel();
    EXPECT_EQ(p.params_total, numel);
    EXPECT_EQ(p.params_per_rank, numel);
    EXPECT_EQ(p.model, dir);
  }
}

// Every configs/models fragment loads and its plan fits its budget in every
// stage; the 7B-70B fragments as a study of released checkpoints uses them
// (train.target / train.retrain given: pretraining a 7B from scratch at 16
// rows × 2048 tokens in fp32 would need 138 GiB per rank, and says so). The
// 70B at TP 8 × DP 2 on the same 16 GPUs does not fit.
TEST(MemoryPlan, ModelFragmentsLoadAndFit) {
  for (const char* name : {"tiny", "small", "llama2-7b", "llama2-13b", "llama2-70b"}) {
    std::vector<std::string> sets;
    if (std::string(name).rfind("llama2", 0) == 0) sets = {"train.target=t", "train.retrain=r"};
    const RelapseConfig cfg =
        config_load(test::source_dir() + "/configs/models/" + std::string(name) + ".yaml", sets);
    const MemoryPlan p = memory_plan(cfg);
    std::printf("%s", memory_plan_text(p).c_str());
    EXPECT_TRUE(p.fits) << name << "\n" << memory_plan_text(p);
  }
  const RelapseConfig cfg = config_load(test::source_dir() + "/configs/models/llama2-70b.yaml",
                                        {"parallel.tp=8", "parallel.ranks=16"});
  EXPECT_FALSE(memory_plan(cfg).fits);
  EXPECT_FALSE(
      memory_plan(config_load(test::source_dir() + "/configs/models/llama2-7b.yaml")).fits);
}

// Under mpiexec -n 2 (tests/mpi_tests.cmake): the same check on each rank of
// a TP-2 model (vocabulary-parallel logits and losses, split attention and
// MLP, replicated norms). Skipped at other world sizes.
TEST(MemoryPlan, TensorParallelTwoWithinTenPercentOfMeasuredPeak) {
  int world = 1, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (world != 2) GTEST_SKIP() << "runs under mpiexec -n 2";
  std::unique_ptr<Communicator> comm = comm_mpi_create(MPI_COMM_WORLD);
  const model::TpContext tp{2, rank, comm.get()};
  for (const char* precision : {"float32", "bfloat16"}) {
    RelapseConfig cfg = small_config("small", precision, "npo_gdr", 8, 1, 128);
    cfg.parallel.tp = 2;
    const MemoryPlan p = memory_plan(cfg, 2);
    const int64_t planned = plan_trainer_bytes(p), measured = measured_peak(cfg, tp);
    const double ratio = static_cast<double>(planned) / static_cast<double>(measured);
    std::printf(
        "rank %d TP 2 small %-9s npo_gdr: planned %.2f MiB, measured %.2f MiB, ratio %.3f\n", rank,
        precision, planned / 1048576.0, measured / 1048576.0, ratio);
    EXPECT_NEAR(ratio, 1.0, 0.10) << memory_plan_text(p);
  }
}

// The evaluation stage against a real evaluation of a tiny model: Min-K%
// scoring of eval.batch_size rows of data.max_len tokens and greedy
// generation of as many prompts of data.max_len tokens (what muse_evaluate
// runs, inference.cpp), from a zero taken before the model is built in
// model.dtype. Planned: the stage's items without the resident models.
TEST(MemoryPlan, EvalStageWithinTenPercentOfMeasuredPeak) {
  for (const char* dtype : {"float32", "bfloat16"}) {
    const RelapseConfig cfg = eval_config(dtype);
    const MemoryPlan p = memory_plan(cfg, 1);
    const int64_t planned = plan_stage_bytes(p, "evaluation");
    const int B = cfg.eval.batch_size, T = cfg.data.max_len;
    const auto seqs = random_seqs(B, T, cfg.data.synth_vocab_size, 7);
    auto counter = std::make_shared<MemCounter>();
    {
      c10::DebugInfoGuard guard(c10::DebugInfoKind::PROFILER_STATE, counter);
      model::LlamaForCausalLM m = tiny_model(cfg);
      model::score_token_logprobs(m, seqs, B, 0);
      model::GenerateOptions g;
      g.batch_size = B;
      g.max_new_tokens = cfg.eval.verbmem_max_new_tokens;
      model::generate_greedy(m, seqs, g);
    }
    const double ratio = static_cast<double>(planned) / static_cast<double>(counter->peak);
    std::printf("eval tiny %-9s B %d T %d: planned %.2f MiB, measured %.2f MiB, ratio %.3f (%s)\n",
                dtype, B, T, planned / 1048576.0, counter->peak / 1048576.0, ratio,
                memory_plan_find(p, "evaluation")->moment.c_str());
    EXPECT_NEAR(ratio, 1.0, 0.10) << memory_plan_text(p);
  }
}

// Stages the run skips never refuse it: at 16 GiB the 7B unlearning step
// (21.11 GiB) does not fit, but an evaluation of given checkpoints (no
// unlearning methods), a run that stops after training, and `relapse plan`
// of the evaluation-only config all pass; the unlearning stage is still
// planned (and shown) for information.
TEST(MemoryPlan, SkippedStagesNeverRefuse) {
  RelapseConfig cfg = llama7b_config(16);
  EXPECT_FALSE(memory_plan(cfg, 8).fits);
  EXPECT_FALSE(memory_plan_find(memory_plan(cfg, 8), "unlearning")->fits);
  // Only up to training (given checkpoints: nothing trains) / unlearning.
  EXPECT_TRUE(memory_plan(cfg, 8, Stage::kTrain).fits);
  EXPECT_FALSE(memory_plan(cfg, 8, Stage::kUnlearn).fits);
  cfg.unlearn.methods.clear();
  const MemoryPlan p = memory_plan(cfg, 8);
  const StagePlan* u = memory_plan_find(p, "unlearning");
  ASSERT_NE(u, nullptr);
  EXPECT_FALSE(u->runs);
  EXPECT_TRUE(p.fits) << memory_plan_text(p);
  EXPECT_NO_THROW(memory_plan_require_fit(p));
  EXPECT_NE(memory_plan_text(p).find("not run"), std::string::npos);
  EXPECT_FALSE(memory_plan_find(p, "training")->runs);
  ASSERT_GE(p.peak, 0);
  EXPECT_NE(p.stages[p.peak].name, "unlearning");
}

// parallel.activation_checkpointing keeps each decoder layer's input
// [rows, T, H] at P per layer and pass, plus one layer recomputed: at 7B, TP 8,
// one 2048-token row in bf16, per pass 32·2·n·4096 = 536,870,912 (layer
// inputs) + 165,199,872 (one layer, memory_plan.cpp's file-top arithmetic) +
// final norm 67,117,056 + RoPE 2·2·n·128 = 1,048,576 → 770,236,416 B; two
// passes (forget and retain) 1,540,472,832 B instead of 10,709,123,072 B, so
// the step's total falls by 9,168,650,240 B to 13,499,737,600 B (12.57 GiB).
// With parallel.activation_checkpointing the unlearning step keeps each
// layer's input and recomputes one layer at a time in the backward: the plan
// of that (memory_plan.cpp) against the measured peak of real checkpointed
// updates, within the same 10%.
TEST(MemoryPlan, CheckpointedStepWithinTenPercentOfMeasuredPeak) {
  for (const char* precision : {"float32", "bfloat16"}) {
    for (const char* method : {"npo_gdr", "ga"}) {
      RelapseConfig cfg = small_config("small", precision, method, 8, 1, 128);
      cfg.parallel.activation_checkpointing = true;
      expect_plan_near_measured(cfg, std::string("checkpointed ") + precision + " " + method);
    }
  }
}

TEST(MemoryPlan, ActivationCheckpointingKeepsLayerInputs) {
  RelapseConfig cfg = llama7b_config(80);
  cfg.parallel.activation_checkpointing = true;
  const MemoryPlan p = memory_plan(cfg, 8);
  const int64_t n = 2048;
  const int64_t norm = 8 * n * 4096 + 4 * n;
  // Saved per pass: 32 layer inputs in bf16, the final norm, RoPE's cos/sin.
  const int64_t pass = 32LL * 2 * n * 4096 + norm + 4 * n * 128;
  EXPECT_EQ(pass, 605036544LL);
  // Both passes' saved tensors and one recomputed layer (165,199,872 B, the
  // plain plan's per-layer bytes).
  EXPECT_EQ(item_bytes(p, "activations"), 2 * pass + 165199872LL);
  EXPECT_EQ(memory_plan_find(p, "unlearning")->moment,
            "unlearning step (npo_gdr, published): backward, one layer recomputed");
  // 12.33 GiB instead of 21.11 (a regression pin: the sum of the items).
  EXPECT_EQ(memory_plan_find(p, "unlearning")->total, 13236265728LL);
}

// configs/muse_news_7b.yaml at TP 8 on 80 GiB: every stage fits, GPTQ and
// AWQ included (planned per TP rank as one gathered linear at a time).
TEST(MemoryPlan, MuseNews7bFitsEveryStage) {
  const RelapseConfig cfg = config_load(test::source_dir() + "/configs/muse_news_7b.yaml");
  const MemoryPlan p = memory_plan(cfg);
  std::printf("%s", memory_plan_text(p).c_str());
  EXPECT_EQ(p.tp, 8);
  for (const StagePlan& s : p.stages) EXPECT_TRUE(s.fits) << s.name << "\n" << memory_plan_text(p);
  EXPECT_TRUE(memory_plan_find(p, "quantization gptq4") != nullptr);
  EXPECT_TRUE(memory_plan_find(p, "quantization awq4") != nullptr);
  EXPECT_FALSE(memory_plan_find(p, "training")->runs);  // train.target / retrain are given
  EXPECT_TRUE(p.fits);
}
