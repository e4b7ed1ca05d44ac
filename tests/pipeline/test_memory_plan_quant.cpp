// tests/pipeline/test_memory_plan_quant.cpp — the memory plan of the
// quantization stages (src/pipeline/memory_plan_stages.cpp) against the peak
// tensor memory measured during real passes of a tiny model, from a zero
// taken once the model is built in model.dtype (within 10%): GPTQ and AWQ
// on 16 calibration windows of 128 tokens (AWQ also with per-row groups on
// 24 windows of 96 tokens, without clipping, and on the small preset), and
// bitsandbytes NF4, FP4 and LLM.int8. Planned: the stage's items without the
// resident models.
#include <cstdio>

#include "memory_plan_test_util.h"
#include "relapse/quant/quant_spec.h"

using namespace relapse;
using namespace relapse::pipeline;
using namespace relapse::pipeline::plan_test;

namespace {

// Planned vs measured for the one quantization spec `cfg` asks for.
void expect_quant_stage_within_ten_percent(const RelapseConfig& cfg, const char* what) {
  const std::vector<quant::QuantSpec> specs = quant::quant_specs(cfg.quantize);
  ASSERT_EQ(specs.size(), 1u) << what;
  const MemoryPlan p = memory_plan(cfg, 1);
  const int64_t planned = plan_stage_bytes(p, "quantization " + specs[0].label);
  const int n = cfg.quantize.calibration.n_samples, S = cfg.quantize.calibration.seq_len;
  const auto rows = random_chunks(n, S, cfg.data.synth_vocab_size, 9);
  torch::Tensor calib = torch::empty({n, S}, torch::kInt64);
  for (int i = 0; i < n; ++i)
    for (int t = 0; t < S; ++t) calib[i][t] = rows[i][t];
  // The model is built first (a bf16 model is made in fp32 and converted,
  // a peak of its own that is not the pass's): measured = its bytes + the
  // pass's peak above them.
  model::LlamaForCausalLM m = tiny_model(cfg);
  int64_t model_bytes = 0;
  for (const auto& t : m->parameters()) model_bytes += t.nbytes();
  for (const auto& t : m->buffers()) model_bytes += t.nbytes();
  auto counter = std::make_shared<MemCounter>();
  {
    c10::DebugInfoGuard guard(c10::DebugInfoKind::PROFILER_STATE, counter);
    quant::quant_apply(m, specs[0], calib, nullptr, /*keep_codes=*/false);
  }
  const int64_t measured = model_bytes + counter->peak;
  const double ratio = static_cast<double>(planned) / static_cast<double>(measured);
  std::printf("%-14s %-5s %-9s: planned %.2f MiB, measured %.2f MiB, ratio %.3f\n", what,
              cfg.model.preset.c_str(), cfg.model.dtype.c_str(), planned / 1048576.0,
              measured / 1048576.0, ratio);
  EXPECT_NEAR(ratio, 1.0, 0.10) << what << "\n" << memory_plan_text(p);
}

RelapseConfig calibrated_config(const char* dtype) {
  RelapseConfig cfg = eval_config(dtype);
  cfg.quantize.calibration.n_samples = 16;
  cfg.quantize.calibration.seq_len = 128;
  return cfg;
}

}  // namespace

TEST(MemoryPlanQuant, GptqWithinTenPercentOfMeasuredPeak) {
  for (const char* dtype : {"float32", "bfloat16"}) {
    RelapseConfig cfg = calibrated_config(dtype);
    cfg.quantize.gptq.bits = {4};
    cfg.quantize.gptq.group_size = 32;  // divides tiny's 128 and 352 input columns
    expect_quant_stage_within_ten_percent(cfg, "gptq w4 g32");
  }
}

TEST(MemoryPlanQuant, AwqWithinTenPercentOfMeasuredPeak) {
  for (const char* dtype : {"float32", "bfloat16"}) {
    RelapseConfig cfg = calibrated_config(dtype);
    cfg.quantize.awq.bits = {4};
    cfg.quantize.awq.group_size = 32;
    expect_quant_stage_within_ten_percent(cfg, "awq w4 g32");
  }
}

// The plan's other moments: per-row groups on 24 windows of 96 tokens (a
// sample of 576 tokens for the clip search), the scale search alone (no
// clipping), and the small preset with 16-column groups.
TEST(MemoryPlanQuant, AwqOtherShapesWithinTenPercentOfMeasuredPeak) {
  for (const char* dtype : {"float32", "bfloat16"}) {
    RelapseConfig cfg = calibrated_config(dtype);
    cfg.quantize.awq.bits = {4};
    cfg.quantize.awq.group_size = -1;
    cfg.quantize.calibration.n_samples = 24;
    cfg.quantize.calibration.seq_len = 96;
    expect_quant_stage_within_ten_percent(cfg, "awq w4 g-1");
    cfg = calibrated_config(dtype);
    cfg.quantize.awq.bits = {4};
    cfg.quantize.awq.group_size = 32;
    cfg.quantize.awq.clip = false;
    expect_quant_stage_within_ten_percent(cfg, "awq noclip");
    cfg = calibrated_config(dtype);
    cfg.model.preset = "small";
    cfg.quantize.awq.bits = {3};
    cfg.quantize.awq.group_size = 16;
    cfg.quantize.calibration.n_samples = 8;
    expect_quant_stage_within_ten_percent(cfg, "awq small g16");
  }
}

TEST(MemoryPlanQuant, BitsandbytesWithinTenPercentOfMeasuredPeak) {
  for (const char* dtype : {"float32", "bfloat16"}) {
    for (const char* format : {"nf4", "fp4", "llm_int8"}) {
      RelapseConfig cfg = eval_config(dtype);
      cfg.quantize.bnb.formats = {format};
      expect_quant_stage_within_ten_percent(cfg, format);
    }
  }
}
