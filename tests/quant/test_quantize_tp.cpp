// tests/quant/test_quantize_tp.cpp — RTN and the code-change statistics on a
// tensor-parallel model (TP = world: np 1 here, np 2 and 4 through
// tests/mpi_tests.cmake) equal those of the unsplit model: every quantized
// shard is bit-identical to the same slice of the unsplit model's quantized
// weight, and the code-change counts are equal. Per-row scales (group -1) of
// the row-parallel o_proj/down_proj span ranks, which is why the weights are
// gathered whole before RTN.
#include <gtest/gtest.h>

#include <filesystem>

#include "relapse/core/rng.h"
#include "relapse/dist/process_grid.h"
#include "relapse/dist/runtime.h"
#include "relapse/model/hf_checkpoint.h"
#include "relapse/quant/code_change.h"
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
    EXPECT_GT(a.n_codes_changed, 0);
    EXPECT_EQ(a.n_weights, b.n_weights);
    EXPECT_EQ(a.n_codes_changed, b.n_codes_changed);
    EXPECT_EQ(a.n_moved, b.n_moved);
    EXPECT_EQ(a.n_groups, b.n_groups);
    EXPECT_EQ(a.n_groups_params_changed, b.n_groups_params_changed);
    EXPECT_EQ(a.max_ratio, b.max_ratio);
    EXPECT_EQ(a.hist, b.hist);
    ASSERT_EQ(lf.size(), ls.size());
    for (size_t i = 0; i < lf.size(); ++i) {
      EXPECT_EQ(lf[i].first, ls[i].first);
      EXPECT_EQ(lf[i].second.n_codes_changed, ls[i].second.n_codes_changed) << lf[i].first;
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (Runtime::instance()->rank() == 0) std::filesystem::remove_all(moved);
  }
}

}  // namespace
}  // namespace relapse::quant
