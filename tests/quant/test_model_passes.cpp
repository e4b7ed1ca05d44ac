// tests/quant/test_model_passes.cpp — the model-level quantization passes
// (relapse/quant/model_passes.h, quant_spec.h, calibration.h) on the 2-layer
// fixture models: the layer walk equals the model's forward, the GPTQ pass
// equals a hand-written composition of the published order (AutoGPTQ's
// true-sequential subsets, inputs of layer l+1 from the quantized layer l)
// bit for bit, AWQ / bitsandbytes passes keep the model evaluating close to
// full precision, the precision list follows the config, calibration windows
// are deterministic and checked, and the bucket diagnostics count codes.
#include <gtest/gtest.h>

#include <map>

#include "relapse/model/hf_checkpoint.h"
#include "relapse/quant/calibration.h"
#include "relapse/quant/quant_spec.h"
#include "test_util.h"

namespace relapse::quant {
namespace {

using test::expect_error;
using test::expect_input_error;
using test::fixture_path;

model::LlamaForCausalLM load(const std::string& name) {
  return model::hf_load(fixture_path(name));
}

torch::Tensor windows(int64_t n, int64_t T, uint64_t seed = 7) {
  std::vector<int64_t> toks;
  for (int64_t i = 0; i < 4000; ++i) toks.push_back(3 + (i * 7919 + i / 13) % 380);
  return calibration_windows(toks, n, T, seed, "test tokens");
}

TEST(Calibration, WindowsAreDeterministicAndInRange) {
  std::vector<int64_t> toks(1000);
  for (int64_t i = 0; i < 1000; ++i) toks[i] = i;
  torch::Tensor a = calibration_windows(toks, 16, 32, 5, "t");
  torch::Tensor b = calibration_windows(toks, 16, 32, 5, "t");
  torch::Tensor c = calibration_windows(toks, 16, 32, 6, "t");
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
  ASSERT_EQ(a.sizes(), (std::vector<int64_t>{16, 32}));
  // Each window is a contiguous run of the text (tokens are their positions).
  for (int64_t s = 0; s < 16; ++s) {
    const int64_t start = a[s][0].item<int64_t>();
    EXPECT_GE(start, 0);
    EXPECT_LE(start + 32, 1000);
    EXPECT_TRUE(torch::equal(a[s], torch::arange(start, start + 32, torch::kInt64)));
  }
  expect_input_error([&] { calibration_windows(toks, 4, 2000, 5, "split retain of X"); },
                     {"split retain of X", "1000 tokens", "seq_len = 2000"});
}

TEST(Calibration, ShardRangesCoverInOrder) {
  for (int size : {1, 2, 3, 4}) {
    int64_t next = 0;
    for (int r = 0; r < size; ++r) {
      auto [b, e] = calib_shard_range(10, r, size);
      EXPECT_EQ(b, next);
      EXPECT_LE(e - b, 10 / size + 1);
      next = e;
    }
    EXPECT_EQ(next, 10);
  }
}

TEST(Calibration, GatherEveryPicksGlobalRows) {
  torch::Tensor x = torch::arange(20, torch::kFloat32).reshape({10, 2});
  // Rows 10..19 globally (offset 10), every 3rd global row: 12, 15, 18.
  torch::Tensor g = calib_gather_every(x, 10, 3, nullptr);
  ASSERT_EQ(g.size(0), 3);
  EXPECT_EQ(g[0][0].item<float>(), 4.0f);  // local row 2 = global 12
  EXPECT_EQ(g[2][0].item<float>(), 16.0f);
}

TEST(LayerWalk, EqualsForwardHidden) {
  // Same batch composition, same numbers: one batch of 3, and 3 batches of 1
  // against the forward pass of each sample alone (a matmul's rounding may
  // depend on the number of rows, so mixed compositions are not compared).
  for (const char* fx : {"llama_mha_fp32", "llama_gqa_bf16"}) {
    auto m = load(fx);
    torch::NoGradGuard ng;
    torch::Tensor ids = windows(3, 12);
    for (int64_t batch : {3, 1}) {
      auto in = calib_decoder_inputs(m, ids, batch);
      ASSERT_EQ(static_cast<int64_t>(in.size()), 3 / batch);
      for (size_t l = 0; l < m->model->layers->size(); ++l)
        calib_layer_forward(*m->model->layers->ptr<model::LlamaDecoderLayerImpl>(l), in, true);
      for (size_t b = 0; b < in.size(); ++b) {
        torch::Tensor rows = ids.narrow(0, static_cast<int64_t>(b) * batch, batch);
        EXPECT_TRUE(torch::equal(m->model->norm->forward(in[b].h), m->forward_hidden(rows)))
            << fx << " batch " << batch;
      }
    }
  }
}

// AutoGPTQ's order written out with the layer-level pieces: per layer, per
// subset, Hessians of the subset's input with earlier subsets quantized.
std::vector<torch::Tensor> gptq_by_hand(model::LlamaForCausalLM& m, const torch::Tensor& ids,
                                        const GptqConfig& c) {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> out;
  std::vector<torch::Tensor> hs;  // per sample: the current layer's input
  std::vector<DecoderInputs> din;
  for (int64_t s = 0; s < ids.size(0); ++s) din.push_back(m->decoder_inputs(ids.narrow(0, s, 1)));
  for (size_t l = 0; l < m->model->layers->size(); ++l) {
    auto* L = m->model->layers->ptr<model::LlamaDecoderLayerImpl>(l).get();
    auto& at = L->self_attn;
    auto& mlp = L->mlp;
    auto quant = [&](torch::Tensor w, const std::function<torch::Tensor(const DecoderInputs&)>& x) {
      GptqHessian h(w.size(1));
      for (auto& d : din) h.add(x(d), 1);
      RtnResult r = gptq_quantize(w, h.hessian(), c);
      return r.dequant;
    };
    auto x_attn = [&](const DecoderInputs& d) { return L->input_layernorm->forward(d.h); };
    torch::Tensor q = quant(at->q_proj->weight, x_attn), k = quant(at->k_proj->weight, x_attn),
                  v = quant(at->v_proj->weight, x_attn);
    at->q_proj->weight.copy_(q);
    at->k_proj->weight.copy_(k);
    at->v_proj->weight.copy_(v);
    // o's input: the attention output before o_proj, captured with a hook.
    auto o_in = [&](const DecoderInputs& d) {
      torch::Tensor cap;
      at->o_proj->input_hook = [&](const torch::Tensor& x) { cap = x; };
      at->forward(L->input_layernorm->forward(d.h), d.cos, d.sin, d.mask, nullptr);
      at->o_proj->input_hook = nullptr;
      return cap;
    };
    at->o_proj->weight.copy_(quant(at->o_proj->weight, o_in));
    auto x_mlp = [&](const DecoderInputs& d) {
      torch::Tensor h =
          d.h + at->forward(L->input_layernorm->forward(d.h), d.cos, d.sin, d.mask, nullptr);
      return L->post_attention_layernorm->forward(h);
    };
    torch::Tensor g = quant(mlp->gate_proj->weight, x_mlp), u = quant(mlp->up_proj->weight, x_mlp);
    mlp->gate_proj->weight.copy_(g);
    mlp->up_proj->weight.copy_(u);
    auto x_down = [&](const DecoderInputs& d) {
      torch::Tensor x = x_mlp(d);
      return torch::silu(mlp->gate_proj->forward(x)) * mlp->up_proj->forward(x);
    };
    mlp->down_proj->weight.copy_(quant(mlp->down_proj->weight, x_down));
    for (auto& d : din) d.h = L->forward(d.h, d.cos, d.sin, d.mask, nullptr);
    for (auto* w :
         {&at->q_proj->weight, &at->k_proj->weight, &at->v_proj->weight, &at->o_proj->weight,
          &mlp->gate_proj->weight, &mlp->up_proj->weight, &mlp->down_proj->weight})
      out.push_back(w->clone());
  }
  return out;
}

TEST(GptqModel, EqualsThePublishedOrderByHand) {
  for (bool desc_act : {false, true}) {
    auto a = load("llama_mha_fp32"), b = load("llama_mha_fp32");
    torch::Tensor ids = windows(4, 16);
    GptqModelOptions o;
    o.c.bits = 4;
    o.c.group_size = 32;
    o.c.desc_act = desc_act;
    auto layers = gptq_quantize_model(a, ids, o, nullptr);
    auto ref = gptq_by_hand(b, ids, o.c);
    ASSERT_EQ(layers.size(), ref.size());
    auto wa = rtn_model_weights(a, RtnConfig{});
    for (size_t i = 0; i < ref.size(); ++i) {
      EXPECT_TRUE(torch::equal(wa[i].second, ref[i])) << wa[i].first << " desc_act " << desc_act;
      EXPECT_EQ(layers[i].name, wa[i].first);
      EXPECT_TRUE(layers[i].result.codes.defined() && layers[i].result.g_idx.defined());
    }
  }
}

// Every method changes the model's next-token log-probs by less at 8 bits
// than at 4, and each 4-bit method by about as much as 4-bit RTN (within 2x
// either way on this random-weight fixture) — a check that the passes
// quantize the right tensors and leave a consistent model.
TEST(ModelPasses, EveryMethodEvaluates) {
  QuantizeSection q;
  q.bits = {8, 4};
  q.group_size = 32;
  q.gptq.bits = {4};
  q.gptq.group_size = 32;
  q.awq.bits = {4};
  q.awq.group_size = 32;
  q.awq.n_sample_token = 64;
  q.bnb.formats = {"fp4", "nf4", "llm_int8"};
  q.bnb.blocksize = 64;  // bnb default; down_proj (160 inputs) has blocks spanning rows
  auto specs = quant_specs(q);
  std::vector<std::string> labels;
  for (const auto& s : specs) labels.push_back(s.label);
  EXPECT_EQ(labels,
            (std::vector<std::string>{"int8", "int4", "gptq4", "awq4", "fp4", "nf4", "llm_int8"}));
  torch::NoGradGuard ng;
  torch::Tensor ids = windows(4, 16), eval_ids = windows(2, 16, 99);
  auto full = load("llama_mha_fp32");
  torch::Tensor ref = torch::log_softmax(full->forward(eval_ids), -1);
  std::map<std::string, double> err;
  for (const auto& s : specs) {
    auto m = load("llama_mha_fp32");
    auto layers = quant_apply(m, s, ids, nullptr);
    EXPECT_EQ(layers.size(), 14u) << s.label;
    torch::Tensor lp = torch::log_softmax(m->forward(eval_ids), -1);
    err[s.label] = (lp - ref).abs().mean().item<double>();
    EXPECT_GT(err[s.label], 0) << s.label;
  }
  EXPECT_LT(err["int8"], 0.2 * err["int4"]);
  EXPECT_LT(err["llm_int8"], 0.2 * err["int4"]);
  for (const char* l : {"gptq4", "awq4", "fp4", "nf4"}) {
    EXPECT_LT(err[l], 2 * err["int4"]) << l;
    EXPECT_GT(err[l], 0.5 * err["int4"]) << l;
  }
}

TEST(ModelPasses, BucketDiagnosticsCountChangedCodes) {
  torch::NoGradGuard ng;
  QuantizeSection q;
  q.bits = {};
  q.gptq.bits = {4};
  q.gptq.group_size = 32;
  q.awq.bits = {4};
  q.awq.group_size = 32;
  q.bnb.formats = {"nf4"};
  q.bnb.blocksize = 64;
  torch::Tensor ids = windows(4, 16);
  for (const auto& s : quant_specs(q)) {
    auto t = load("llama_mha_fp32"), u = load("llama_mha_fp32");
    auto gen = at::detail::createCPUGenerator(3);
    for (auto& [n, w] : rtn_model_weights(u, s.rtn))
      w.add_(torch::randn(w.sizes(), gen, torch::TensorOptions()) * 1e-3);
    std::vector<std::pair<std::string, torch::Tensor>> wt, wu;
    for (auto& [n, w] : rtn_model_weights(t, s.rtn)) wt.emplace_back(n, w.clone());
    for (auto& [n, w] : rtn_model_weights(u, s.rtn)) wu.emplace_back(n, w.clone());
    auto qt = quant_apply(t, s, ids, nullptr), qu = quant_apply(u, s, ids, nullptr);
    std::vector<std::pair<std::string, CodeChangeStats>> per;
    CodeChangeStats same = quant_code_change(wt, wt, qt, qt);
    EXPECT_EQ(same.n_codes_changed, 0) << s.label;
    EXPECT_EQ(same.n_moved, 0) << s.label;
    CodeChangeStats st = quant_code_change(wt, wu, qt, qu, &per);
    EXPECT_EQ(per.size(), 14u);
    EXPECT_GT(st.n_codes_changed, 0) << s.label;
    EXPECT_LT(st.frac_codes_changed(), 0.5) << s.label;
    EXPECT_EQ(st.n_moved, st.n_weights) << s.label;
    int64_t total = 0;
    for (int64_t h : st.hist) total += h;
    EXPECT_EQ(total, st.n_weights) << s.label;
    // Noise of 1e-3 against 4-bit steps of ~0.3 · 0.3 / 7: most ratios < 0.25.
    EXPECT_GT(st.mean_ratio(), 0) << s.label;
    EXPECT_LT(st.mean_ratio(), 0.5) << s.label;
  }
}

TEST(ModelPasses, BucketWidthUndoesAwqScales) {
  LayerQuant lq;
  lq.result.scales = torch::full({2, 1}, 0.5f);
  lq.result.group_size = 4;
  lq.in_scale = torch::tensor({1.f, 2.f, 4.f, 0.5f});
  lq.out_div = torch::tensor({1.f, 3.f});
  torch::Tensor w = layer_bucket_width(lq, 4);
  EXPECT_TRUE(
      torch::allclose(w, torch::tensor({{0.5f, 0.25f, 0.125f, 1.f}, {1.5f, 0.75f, 0.375f, 3.f}})));
}

TEST(ModelPasses, APrecisionListedTwiceIsAConfigError) {
  QuantizeSection q;
  q.bits = {4};
  q.gptq.bits = {4};
  q.bnb.formats = {"nf4", "nf4"};
  expect_error([&] { quant_specs(q); }, ExitCode::kConfig, {"nf4", "twice"});
}

}  // namespace
}  // namespace relapse::quant
