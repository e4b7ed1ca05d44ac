// tests/quant/test_quant_sharded.cpp — the sharded quantization pass equals
// the single-rank one (issue 5): under mpirun -np 2 / 4 (tests/CMakeLists.txt;
// np 1 as a plain test) every rank quantizes the fixture model once with the
// work shared over MPI_COMM_WORLD (calibration samples split, Hessians / AWQ
// statistics and losses all-reduced, GPTQ solves dealt round robin and
// broadcast) and once alone, and the two models must be bit-identical, codes
// included. Samples are forwarded one at a time (batch 1), so each sample's
// activations do not depend on the split; the sums differ only in fp64
// summation order, far below the fp32 rounding of the Hessian.
#include <gtest/gtest.h>

#include "relapse/dist/runtime.h"
#include "relapse/model/hf_checkpoint.h"
#include "relapse/quant/calibration.h"
#include "relapse/quant/quant_spec.h"
#include "test_util.h"

namespace relapse::quant {
namespace {

using test::expect_error;
using test::expect_input_error;
using test::fixture_path;

Communicator* world() {
  static std::unique_ptr<Communicator> c = comm_mpi_create(MPI_COMM_WORLD);
  return c.get();
}

void expect_same(const std::vector<LayerQuant>& a, const std::vector<LayerQuant>& b,
                 model::LlamaForCausalLM& ma, model::LlamaForCausalLM& mb,
                 const std::string& label) {
  ASSERT_EQ(a.size(), b.size()) << label;
  for (size_t i = 0; i < a.size(); ++i) {
    const RtnResult &x = a[i].result, &y = b[i].result;
    EXPECT_TRUE(torch::equal(x.codes, y.codes)) << label << " " << a[i].name;
    EXPECT_TRUE(torch::equal(x.scales, y.scales)) << label << " " << a[i].name;
    EXPECT_EQ(x.zeros.defined(), y.zeros.defined());
    if (x.zeros.defined()) {
      EXPECT_TRUE(torch::equal(x.zeros, y.zeros)) << label;
    }
    if (x.g_idx.defined()) {
      EXPECT_TRUE(torch::equal(x.g_idx, y.g_idx)) << label;
    }
  }
  auto sa = ma->named_parameters(), sb = mb->named_parameters();
  for (const auto& p : sa)
    EXPECT_TRUE(torch::equal(p.value(), sb[p.key()])) << label << " " << p.key();
}

TEST(QuantSharded, EqualsSingleRank) {
  QuantizeSection q;
  q.bits = {4};
  q.group_size = 32;
  q.gptq.bits = {4};
  q.gptq.group_size = 32;
  q.awq.bits = {4};
  q.awq.group_size = 32;
  q.awq.n_sample_token = 40;  // 7 samples x 16 tokens = 112: every 2nd token, spanning ranks
  q.bnb.formats = {"nf4"};
  std::vector<QuantSpec> specs = quant_specs(q);
  // A GPTQ variant with act-order, asymmetric, and an odd sample count.
  QuantSpec act = specs[1];
  act.label = "gptq4_act";
  act.gptq.c.desc_act = true;
  act.gptq.c.sym = false;
  specs.push_back(act);
  std::vector<int64_t> toks;
  for (int64_t i = 0; i < 3000; ++i) toks.push_back(3 + (i * 104729 + i / 7) % 380);
  torch::Tensor ids = calibration_windows(toks, 7, 16, 21, "test tokens");
  for (const char* fx : {"llama_mha_fp32", "llama_gqa_bf16"}) {
    for (const auto& s : specs) {
      auto shared = model::hf_load(fixture_path(fx)), alone = model::hf_load(fixture_path(fx));
      auto a = quant_apply(shared, s, ids, world());
      auto b = quant_apply(alone, s, ids, nullptr);
      expect_same(a, b, shared, alone, std::string(fx) + " " + s.label);
    }
  }
}

}  // namespace
}  // namespace relapse::quant
