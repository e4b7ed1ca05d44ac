// tests/quant/test_quantize_tp.cpp — RTN, GPTQ, AWQ, bitsandbytes FP4/NF4
// and the code-change statistics on a
// tensor-parallel model (TP = world: np 1 here, np 2 and 4 through
// tests/mpi_tests.cmake) equal those of the unsplit model: every quantized
// shard is bit-identical to the same slice of the unsplit model's quantized
// weight, and the code-change counts are equal. Per-row scales (group -1) of
// the row-parallel o_proj/down_proj span ranks, which is why the weights are
// gathered whole before RTN. GPTQ, AWQ and FP4/NF4 work on one gathered
// layer at a time (quant/tp_layer.h): their codes and every parameter (AWQ
// also rescales the norms) equal the unsplit model's bit for bit.
#include <gtest/gtest.h>

#include <filesystem>

#include "relapse/core/rng.h"
#include "relapse/dist/process_grid.h"
#include "relapse/dist/runtime.h"
#include "relapse/model/hf_checkpoint.h"
#include "relapse/quant/code_change.h"
#include "relapse/quant/code_change_tp.h"
#include "relapse/quant/model_passes.h"
#include "relapse/quant/quantize_model.h"
#include "test_util.h"

namespace relapse::quant {
namespace {

RtnConfig config(RtnScheme scheme, int bits, int64_t group) {
  RtnConfig c;
  c.scheme = scheme;
  c.bits = bits;
  c.group_size = group;
  rtn_config_validate(c);
  return c;
}

struct Grid {
  ProcessGrid g;
  model::TpContext tp;
};
Grid& grid() {
  static Grid* g = [] {
    auto* x = new Grid;
    x->g = grid_create(MPI_COMM_WORLD, Runtime::instance()->world_size());
    x->tp = model::TpContext{x->g.tp_size, x->g.tp_rank, x->g.tp.get()};
    return x;
  }();
  return *g;
}

model::LlamaForCausalLM load_tp(const std::string& dir) {
  model::HfLoadOptions o;
  o.tp = grid().tp;
  return model::hf_load(dir, o);
}

// The full model with every weight moved by seeded noise (an "unlearned"
// model), saved by rank 0 into a shared directory and loaded as TP shards.
std::string perturbed_copy(const std::string& fixture, const std::string& name) {
  const std::string dir =
      "/tmp/relapse-quant-tp-" + name + "-" + std::to_string(Runtime::instance()->world_size());
  if (Runtime::instance()->rank() == 0) {
    auto m = model::hf_load(fixture);
    torch::NoGradGuard ng;
    auto gen = RngStreams(11).torch_generator("quant-tp-test/noise");
    for (auto& p : m->parameters())
      p.add_(torch::randn(p.sizes(), gen, torch::TensorOptions().dtype(p.scalar_type())) * 0.01);
    std::filesystem::remove_all(dir);
    model::hf_save(m, dir);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  return dir;
}

const char* kFixtures[] = {"llama_mha_fp32", "llama_gqa_tied_bias_fp32"};

TEST(QuantizeTensorParallel, ShardsEqualTheUnsplitModelsSlices) {
  for (const char* fx : kFixtures) {
    for (const RtnConfig& c : {config(RtnScheme::kSym, 4, -1), config(RtnScheme::kAsym, 4, 16),
                               config(RtnScheme::kSym, 8, -1)}) {
      SCOPED_TRACE(std::string(fx) + " " + rtn_scheme_name(c.scheme) + " " +
                   std::to_string(c.bits) + "-bit group " + std::to_string(c.group_size));
      auto full = model::hf_load(test::fixture_path(fx));
      auto split = load_tp(test::fixture_path(fx));
      quantize_model(full, c, false);
      quantize_model(split, c, false);
      auto wf = rtn_model_weights(full, c), ws = rtn_model_weights(split, c);
      ASSERT_EQ(wf.size(), ws.size());
      ASSERT_FALSE(wf.empty());
      for (size_t i = 0; i < wf.size(); ++i) {
        ASSERT_EQ(wf[i].first, ws[i].first);
        const std::string& name = ws[i].first;
        const bool kv_proj =
            name.find("k_proj") != std::string::npos || name.find("v_proj") != std::string::npos;
        const int64_t kv = full->config().num_key_value_heads;
        torch::Tensor want;
        if (kv_proj && grid().tp.size > kv) {
          // A replicated KV head: this rank holds head rank * kv / tp whole.
          const int64_t rows = ws[i].second.size(0), head = grid().tp.rank * kv / grid().tp.size;
          want = wf[i].second.narrow(0, head * rows, rows);
        } else {
          want = rtn_local_slice(split, name, wf[i].second, ws[i].second);
          if (grid().tp.size > 1) {
            EXPECT_LT(ws[i].second.numel(), wf[i].second.numel()) << name << " not sharded";
          }
        }
        EXPECT_TRUE(torch::equal(ws[i].second, want)) << ws[i].first;
      }
    }
  }
}

// Totals and per-layer counts of two code-change results agree exactly.
using LayerStats = std::vector<std::pair<std::string, CodeChangeStats>>;
void expect_stats_equal(const CodeChangeStats& a, const CodeChangeStats& b, const LayerStats& la,
                        const LayerStats& lb) {
  EXPECT_GT(a.n_codes_changed, 0);
  EXPECT_EQ(a.n_weights, b.n_weights);
  EXPECT_EQ(a.n_codes_changed, b.n_codes_changed);
  EXPECT_EQ(a.n_moved, b.n_moved);
  EXPECT_EQ(a.n_groups, b.n_groups);
  EXPECT_EQ(a.n_groups_params_changed, b.n_groups_params_changed);
  EXPECT_EQ(a.sum_ratio, b.sum_ratio);
  EXPECT_EQ(a.max_ratio, b.max_ratio);
  EXPECT_EQ(a.hist, b.hist);
  ASSERT_EQ(la.size(), lb.size());
  for (size_t i = 0; i < la.size(); ++i) {
    EXPECT_EQ(la[i].first, lb[i].first);
    EXPECT_EQ(la[i].second.n_codes_changed, lb[i].second.n_codes_changed) << la[i].first;
    EXPECT_EQ(la[i].second.sum_ratio, lb[i].second.sum_ratio) << la[i].first;
  }
}

TEST(QuantizeTensorParallel, CodeChangeStatsEqualTheUnsplitModels) {
  for (const char* fx : kFixtures) {
    SCOPED_TRACE(fx);
    const std::string moved = perturbed_copy(test::fixture_path(fx), fx);
    const RtnConfig c = config(RtnScheme::kSym, 4, -1);
    auto tf = model::hf_load(test::fixture_path(fx)), uf = model::hf_load(moved);
    auto ts = load_tp(test::fixture_path(fx)), us = load_tp(moved);
    std::vector<std::pair<std::string, CodeChangeStats>> lf, ls;
    CodeChangeStats a = code_change_stats_model(tf, uf, c, &lf);
    CodeChangeStats b = code_change_stats_model(ts, us, c, &ls);
    expect_stats_equal(a, b, lf, ls);
    MPI_Barrier(MPI_COMM_WORLD);
    if (Runtime::instance()->rank() == 0) std::filesystem::remove_all(moved);
  }
}

// Every parameter of the split model equals its slice of the unsplit one.
void expect_slices_equal(const model::LlamaForCausalLM& full, const model::LlamaForCausalLM& split,
                         const std::string& what) {
  auto fp = full->named_parameters();
  for (const auto& info : model::tp_param_layout(split)) {
    const torch::Tensor& f = *fp.find(info.name);
    torch::Tensor want = f;
    if (info.kind != model::TpParamKind::kReplicated && f.sizes() != info.tensor.sizes())
      want = f.narrow(info.dim, info.start, info.tensor.size(info.dim));
    EXPECT_TRUE(torch::equal(info.tensor, want)) << what << ": " << info.name;
  }
}

void expect_codes_equal(const std::vector<LayerQuant>& a, const std::vector<LayerQuant>& b,
                        const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  ASSERT_FALSE(a.empty()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name) << what;
    ASSERT_TRUE(a[i].result.codes.defined() && b[i].result.codes.defined()) << a[i].name;
    EXPECT_TRUE(torch::equal(a[i].result.codes, b[i].result.codes)) << what << ": " << a[i].name;
    EXPECT_TRUE(torch::equal(a[i].result.scales, b[i].result.scales)) << what << ": " << a[i].name;
  }
}

TEST(QuantizeTensorParallel, CalibratedAndBnbPassesEqualTheUnsplitModel) {
  for (const char* fx : kFixtures) {
    const torch::Tensor ids = torch::randint(
        3, 384, {4, 24}, RngStreams(7).torch_generator("quant-tp-test/calib"), torch::kInt64);
    using Pass = std::function<std::vector<LayerQuant>(model::LlamaForCausalLM&)>;
    GptqModelOptions g;
    g.c.bits = 4;
    g.c.group_size = 32;
    g.c.desc_act = true;
    AwqModelOptions a;
    a.c.bits = 4;
    a.c.group_size = 32;
    Bnb4Config nf4;
    nf4.format = Bnb4Format::kNf4;
    Bnb4Config fp4;
    fp4.format = Bnb4Format::kFp4;
    const std::vector<std::pair<std::string, Pass>> passes = {
        {"gptq", [&](auto& m) { return gptq_quantize_model(m, ids, g, nullptr); }},
        {"awq", [&](auto& m) { return awq_quantize_model(m, ids, a, nullptr); }},
        {"nf4", [&](auto& m) { return bnb4_quantize_model(m, nf4, rtn_linear_kinds()); }},
        {"fp4", [&](auto& m) { return bnb4_quantize_model(m, fp4, rtn_linear_kinds()); }},
    };
    for (const auto& [name, pass] : passes) {
      const std::string what =
          std::string(fx) + " " + name + " TP " + std::to_string(grid().tp.size);
      auto full = model::hf_load(test::fixture_path(fx));
      auto split = load_tp(test::fixture_path(fx));
      auto lf = pass(full);
      auto ls = pass(split);
      expect_codes_equal(lf, ls, what);
      expect_slices_equal(full, split, what);
    }
  }
}

// GPTQ's bucket diagnostics with each layer kept on one TP rank
// (code_change_tp.h) equal the unsplit model's, layer by layer and in total.
TEST(QuantizeTensorParallel, GptqDiagnosticsKeptByLayerEqualTheUnsplitModels) {
  const char* fx = "llama_gqa_tied_bias_fp32";
  const std::string moved = perturbed_copy(test::fixture_path(fx), "diag");
  const torch::Tensor ids = torch::randint(
      3, 384, {4, 24}, RngStreams(7).torch_generator("quant-tp-test/calib"), torch::kInt64);
  GptqModelOptions g;
  g.c.bits = 4;
  g.c.group_size = 32;
  const RtnConfig all;
  // Unsplit: every layer on this rank.
  auto tf = model::hf_load(test::fixture_path(fx)), uf = model::hf_load(moved);
  auto wtf = code_change_tp_weights(tf, all), wuf = code_change_tp_weights(uf, all);
  auto qtf = gptq_quantize_model(tf, ids, g, nullptr),
       quf = gptq_quantize_model(uf, ids, g, nullptr);
  std::vector<std::pair<std::string, CodeChangeStats>> want_layers;
  CodeChangeStats want = quant_code_change(wtf, wuf, qtf, quf, &want_layers);
  // Split: each rank its layers, then gathered.
  auto ts = load_tp(test::fixture_path(fx)), us = load_tp(moved);
  auto wts = code_change_tp_weights(ts, all), wus = code_change_tp_weights(us, all);
  auto qts = gptq_quantize_model(ts, ids, g, nullptr),
       qus = gptq_quantize_model(us, ids, g, nullptr);
  std::vector<std::string> names;
  for (const auto& l : qts) names.push_back(l.name);
  code_change_tp_filter(qts, grid().tp);
  code_change_tp_filter(qus, grid().tp);
  if (grid().tp.size > 1) {
    EXPECT_LT(qts.size(), names.size()) << "every layer kept on every rank";
  }
  std::vector<std::pair<std::string, CodeChangeStats>> mine, got_layers;
  quant_code_change(wts, wus, qts, qus, &mine);
  CodeChangeStats got = code_change_tp_gather(names, mine, grid().tp, &got_layers);
  expect_stats_equal(want, got, want_layers, got_layers);
  MPI_Barrier(MPI_COMM_WORLD);
  if (Runtime::instance()->rank() == 0) std::filesystem::remove_all(moved);
}

// LLM.int8's emulated matmul needs whole activation rows: refused at TP > 1.
TEST(QuantizeTensorParallel, LlmInt8RefusesTensorParallel) {
  if (grid().tp.size == 1) GTEST_SKIP() << "TP 1";
  auto split = load_tp(test::fixture_path("llama_mha_fp32"));
  test::expect_error([&] { llm_int8_quantize_model(split, 6.0, rtn_linear_kinds()); },
                     ExitCode::kConfig, {"LLM.int8", "whole activation rows"});
}

}  // namespace
}  // namespace relapse::quant
