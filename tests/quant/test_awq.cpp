// tests/quant/test_awq.cpp — AWQ building blocks (src/quant/awq.cpp) against the
// PyTorch reference of AutoAWQ's formulas (tests/golden/make_awq_fixtures.py ->
// fixtures/awq/awq_cases.safetensors): pseudo-quantize codes/scales/zeros, the
// scale search (q/k/v inspected directly, the MLP, down inspected directly), the
// clip search; plus the AWQ identity of applying a scale, AWQ beating RTN on a
// block with outlier channels, and the sharded search (two threads as two ranks
// over a fake communicator, and a real MPI communicator at np 1).
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "relapse/core/error.h"
#include "relapse/model/safetensors.h"
#include "relapse/quant/awq.h"
#include "test_util.h"

namespace relapse::quant {
namespace {

const char* kFixture = "awq/awq_cases.safetensors";

torch::Tensor load(const model::SafetensorsFile& f, const std::string& name) {
  return f.read(name);
}
torch::Tensor load32(const model::SafetensorsFile& f, const std::string& name) {
  return f.read(name).to(torch::kFloat32);
}

// Largest elementwise |a − b| / |b| (b nonzero in every use here).
double max_rel(const torch::Tensor& a, const torch::Tensor& b) {
  auto a64 = a.to(torch::kFloat64), b64 = b.to(torch::kFloat64);
  return ((a64 - b64).abs() / b64.abs()).max().item<double>();
}
double max_abs(const torch::Tensor& a) {
  return a.abs().max().item<double>();
}

torch::Tensor lin(const torch::Tensor& x, const torch::Tensor& w) {
  return torch::matmul(x, w.t());
}
torch::Tensor mlp(const torch::Tensor& x, const torch::Tensor& g, const torch::Tensor& u,
                  const torch::Tensor& d) {
  return lin(torch::silu(lin(x, g)) * lin(x, u), d);
}
// LlamaRMSNorm in fp32.
torch::Tensor rmsnorm(const torch::Tensor& h, const torch::Tensor& w, double eps) {
  return w * (h * torch::rsqrt(h.pow(2).mean(-1, true) + eps));
}

TEST(Awq, PseudoQuantizeMatchesReference) {
  model::SafetensorsFile f(test::fixture_path(kFixture));
  torch::Tensor w = load(f, "pq/w");
  int cases = 0;
  for (int zp : {1, 0})
    for (int bits : {4, 8})
      for (int64_t g : {int64_t(-1), int64_t(32)}) {
        const std::string p =
            "pq/zp" + std::to_string(zp) + "/b" + std::to_string(bits) + "/g" + std::to_string(g);
        SCOPED_TRACE(p);
        AwqConfig c;
        c.bits = bits;
        c.group_size = g;
        c.zero_point = zp == 1;
        RtnResult r = awq_pseudo_quantize(w, c, "pq/w");
        // Exact: the same fp32 operations in the same order (min/max, one true
        // division, round-half-even, clamp) give the same bits.
        EXPECT_TRUE(torch::equal(r.codes, load(f, p + "/codes")));
        EXPECT_TRUE(torch::equal(r.scales, load(f, p + "/scales")));
        if (zp) {
          EXPECT_TRUE(torch::equal(r.zeros, load(f, p + "/zeros")));
        } else {
          EXPECT_FALSE(r.zeros.defined());
        }
        EXPECT_EQ(r.group_size, g == -1 ? 128 : 32);
        EXPECT_TRUE(
            torch::equal(r.dequant, rtn_dequantize(r.codes, r.scales, r.zeros, r.group_size)));
        if (f.contains(p + "/dequant")) {
          EXPECT_TRUE(torch::equal(r.dequant, load(f, p + "/dequant")));
        }
        ++cases;
      }
  EXPECT_EQ(cases, 8);
  // AWQ's range is NOT forced to contain 0: the negative-only row 2 gets zero
  // point 2^b − 1 (clamped), unlike AutoGPTQ's asymmetric RTN.
  AwqConfig c;
  c.group_size = 32;
  EXPECT_EQ(awq_pseudo_quantize(w, c).zeros[2].max().item<int>(), 15);
  // bf16 input: dequant comes back in bf16.
  EXPECT_EQ(awq_pseudo_quantize(w.to(torch::kBFloat16), c).dequant.scalar_type(), torch::kBFloat16);
}

TEST(Awq, Errors) {
  AwqConfig c;
  c.group_size = 48;
  test::expect_input_error(
      [&] {
        awq_pseudo_quantize(torch::zeros({4, 64}), c, "layers.0.q");
      },
      {"layers.0.q", "48"});
  c.group_size = 32;
  test::expect_input_error([&] { awq_pseudo_quantize(torch::zeros({64}), c, "bias"); }, "bias");
  AwqConfig bad;
  bad.bits = 9;
  test::expect_error([&] { awq_config_validate(bad); }, ExitCode::kConfig, {"bits", "9"});
  bad = AwqConfig();
  bad.max_shrink = 1.0;
  test::expect_error([&] { awq_config_validate(bad); }, ExitCode::kConfig, {"max_shrink"});
}

struct Inputs {
  torch::Tensor x_qkv, q, k, v, h, norm, x_mlp, gate, up, down, x_down;
  double eps = 1e-5;
  explicit Inputs(const model::SafetensorsFile& f) {
    x_qkv = load32(f, "in/x_qkv");
    q = load32(f, "in/q");
    k = load32(f, "in/k");
    v = load32(f, "in/v");
    h = load32(f, "in/h");
    norm = load32(f, "in/norm");
    x_mlp = load32(f, "in/x_mlp");
    gate = load32(f, "in/gate");
    up = load32(f, "in/up");
    down = load32(f, "in/down");
    x_down = load32(f, "in/x_down");
  }
};

TEST(Awq, ScaleSearchMatchesReference) {
  model::SafetensorsFile f(test::fixture_path(kFixture));
  Inputs in(f);
  struct Case {
    std::string name;
    std::vector<torch::Tensor> ws;
    torch::Tensor x;
    int64_t group;
    bool duo;
    std::function<torch::Tensor()> fwd;
  };
  std::vector<torch::Tensor> qkv = {in.q.clone(), in.k.clone(), in.v.clone()};
  std::vector<torch::Tensor> gu = {in.gate.clone(), in.up.clone()};
  std::vector<torch::Tensor> dn = {in.down.clone()};
  auto fwd_qkv = [&] {
    return torch::cat({lin(in.x_qkv, qkv[0]), lin(in.x_qkv, qkv[1]), lin(in.x_qkv, qkv[2])}, 1);
  };
  auto fwd_mlp = [&] { return mlp(in.x_mlp, gu[0], gu[1], in.down); };
  auto fwd_down = [&] { return lin(in.x_down, dn[0]); };
  std::vector<Case> cases = {{"qkv_g32", qkv, in.x_qkv, 32, true, fwd_qkv},
                             {"qkv_g32_noduo", qkv, in.x_qkv, 32, false, fwd_qkv},
                             {"qkv_gm1", qkv, in.x_qkv, -1, true, fwd_qkv},
                             {"mlp_g32", gu, in.x_mlp, 32, true, fwd_mlp},
                             {"down_g32", dn, in.x_down, 32, true, fwd_down}};
  for (auto& cs : cases) {
    SCOPED_TRACE(cs.name);
    const std::string p = "scale/" + cs.name + "/";
    AwqConfig c;
    c.group_size = cs.group;
    c.duo_scaling = cs.duo;
    AwqActStats st;
    st.add(cs.x.view({2, -1, cs.x.size(1)}));  // leading dims are tokens
    EXPECT_EQ(st.n_tokens, cs.x.size(0));
    torch::Tensor x_mean = st.mean();
    // fp64 sums of exact |x| values, rounded once to fp32: order-independent
    // except in a double-rounding tie, so 1 ulp at most.
    EXPECT_LE(max_rel(x_mean, load(f, p + "x_mean")), 1.2e-7);
    std::vector<torch::Tensor> before;
    for (auto& w : cs.ws) before.push_back(w.clone());
    torch::Tensor ref = cs.fwd();
    AwqScaleResult r = awq_search_scales(cs.ws, x_mean, cs.fwd, ref, c);
    for (size_t k = 0; k < cs.ws.size(); ++k) EXPECT_TRUE(torch::equal(cs.ws[k], before[k]));
    torch::Tensor best = load(f, p + "best");
    EXPECT_EQ(r.best_index, static_cast<int>(best[0].item<double>()));
    EXPECT_DOUBLE_EQ(r.best_ratio, best[1].item<double>());
    EXPECT_GT(r.best_index, 0) << "the outlier channels should make a nonzero ratio win";
    // Scales: x_mean/w_mean are fp32 reductions and pow is a vectorised libm
    // call (≤ 1 ulp, may differ between libtorch builds): a few ulps, < 1e-6.
    EXPECT_LE(max_rel(r.scales, load(f, p + "scales")), 1e-6);
    // Losses: the block outputs come from different GEMM kernels (libtorch vs
    // torch 2.15: ulp-level differences of outputs ~1e-7 relative), and a
    // one-ulp change of s could flip a rounding in Q(W·s). Measured: ≤ 5e-7
    // relative; 1e-5 is still far below the gaps between neighbouring grid
    // points (> 1e-3 relative here), so it cannot hide a wrong formula.
    torch::Tensor want = load(f, p + "losses");
    ASSERT_EQ(static_cast<int64_t>(r.losses.size()), want.numel());
    double worst = 0;
    for (int i = 0; i < c.n_grid; ++i)
      worst = std::max(worst, std::abs(r.losses[i] / want[i].item<double>() - 1.0));
    EXPECT_LE(worst, 1e-5);
    std::cout << "  " << cs.name << ": best " << r.best_index << ", loss rel diff " << worst
              << ", scales rel diff " << max_rel(r.scales, load(f, p + "scales")) << "\n";
  }
}

TEST(Awq, ClipSearchMatchesReference) {
  model::SafetensorsFile f(test::fixture_path(kFixture));
  Inputs in(f);
  struct Case {
    std::string name;
    torch::Tensor w, x;
    int64_t group;
    bool zp;
    int64_t nst;
  };
  std::vector<Case> cases = {{"gate_g32", in.gate, in.x_mlp, 32, true, 512},
                             {"gate_g32_s24", in.gate, in.x_mlp, 32, true, 24},
                             {"gate_gm1", in.gate, in.x_mlp, -1, true, 512},
                             {"q_g32_sym", in.q, in.x_qkv, 32, false, 512}};
  for (auto& cs : cases) {
    SCOPED_TRACE(cs.name);
    const std::string p = "clip/" + cs.name + "/";
    AwqConfig c;
    c.group_size = cs.group;
    c.zero_point = cs.zp;
    c.n_sample_token = cs.nst;
    EXPECT_EQ(awq_clip_token_step(cs.x.size(0), cs.nst), load(f, p + "step")[0].item<int64_t>());
    torch::Tensor xs = awq_clip_sample(cs.x, cs.nst);
    torch::Tensor mv = awq_search_clip(cs.w, xs, c);
    torch::Tensor want = load(f, p + "max_val"), err = load(f, p + "err");
    ASSERT_EQ(mv.sizes(), want.sizes());
    // max_val = max|w|·(1 − i/20) is computed the same way on both sides, so a
    // chosen candidate is bit-identical; only the choice can differ, and only
    // where the reference's errors of two candidates are within the fp32
    // summation-order noise of the errors (the clip sums x_g·w_g by a GEMM here,
    // by a broadcast multiply-sum in AutoAWQ): 1e-5 relative. Such a group must
    // pick a candidate whose reference error is within 1e-5 of the minimum.
    const int64_t gs = cs.group == -1 ? cs.w.size(1) : cs.group;
    torch::Tensor org = std::get<0>(cs.w.view({cs.w.size(0), -1, gs}).abs().max(-1));
    int64_t exact = 0, near_tie = 0, shrunk = 0;
    for (int64_t r = 0; r < mv.size(0); ++r)
      for (int64_t g = 0; g < mv.size(1); ++g) {
        const float a = mv[r][g].item<float>(), b = want[r][g].item<float>();
        shrunk += a < org[r][g].item<float>();
        if (a == b) {
          ++exact;
          continue;
        }
        torch::Tensor e = err.select(1, r).select(1, g);  // [n_shrink]
        const double emin = e.min().item<double>();
        int picked = -1;
        for (int i = 0; i < e.numel(); ++i)
          if (org[r][g].item<float>() * static_cast<float>(1.0 - i / 20.0) == a) picked = i;
        ASSERT_GE(picked, 0) << "row " << r << " group " << g << ": max_val not on the grid";
        EXPECT_LE(e[picked].item<double>(), emin * (1 + 1e-5)) << "row " << r << " group " << g;
        ++near_tie;
      }
    EXPECT_GT(shrunk, 0);
    std::cout << "  " << cs.name << ": " << exact << " of " << mv.numel() << " groups identical, "
              << near_tie << " near-ties, " << shrunk << " clipped\n";
    EXPECT_LE(near_tie, mv.numel() / 50);
    // apply_clip clamps exactly to ±max_val per group.
    torch::Tensor w2 = cs.w.clone();
    awq_apply_clip(w2, mv);
    torch::Tensor wg = w2.view({w2.size(0), -1, gs});
    EXPECT_TRUE(torch::equal(std::get<0>(wg.abs().max(-1)), torch::minimum(org, mv)));
  }
}

TEST(Awq, ApplyingAScaleKeepsTheBlockOutput) {
  model::SafetensorsFile f(test::fixture_path(kFixture));
  Inputs in(f);
  auto block = [&](const torch::Tensor& nw, const torch::Tensor& g, const torch::Tensor& u,
                   const torch::Tensor& d) { return mlp(rmsnorm(in.h, nw, in.eps), g, u, d); };
  torch::Tensor y0 = block(in.norm, in.gate, in.up, in.down);
  torch::Tensor nw = in.norm.clone(), g = in.gate.clone(), u = in.up.clone(), d = in.down.clone();
  torch::Tensor s1 = load(f, "scale/mlp_g32/scales"), s2 = load(f, "scale/down_g32/scales");
  awq_scale_prev_norm(nw, {g, u}, s1);
  EXPECT_TRUE(torch::equal(nw, in.norm / s1));
  EXPECT_TRUE(torch::equal(g, in.gate * s1.view({1, -1})));
  awq_scale_prev_linear(u, {d}, s2);
  EXPECT_TRUE(torch::equal(d, in.down * s2.view({1, -1})));
  torch::Tensor y1 = block(nw, g, u, d);
  // W·diag(s)·diag(1/s)·x = W·x up to fp32 rounding of the three rescalings
  // (s spans ~[0.1, 10]): a few ulps of the outputs' magnitude.
  EXPECT_LE(max_abs(y1 - y0) / max_abs(y0), 1e-5);
  EXPECT_GT(max_abs(nw - in.norm), 1e-2);  // the scale really changed the weights

  // Fused previous linear: only its last s.numel() rows absorb 1/s (scale_fc_fc).
  torch::Tensor fused = torch::cat({in.gate, in.up}, 0), bias = torch::ones({fused.size(0)});
  torch::Tensor d2 = in.down.clone();
  awq_scale_prev_linear(fused, {d2}, s2, &bias);
  EXPECT_TRUE(torch::equal(fused.narrow(0, 0, 96), in.gate));
  EXPECT_TRUE(torch::equal(fused.narrow(0, 96, 96), in.up / s2.view({-1, 1})));
  EXPECT_TRUE(torch::equal(bias.narrow(0, 0, 96), torch::ones({96})));
  EXPECT_TRUE(torch::equal(bias.narrow(0, 96, 96), 1.0 / s2));
}

TEST(Awq, BeatsRtnOnABlockWithOutlierChannels) {
  model::SafetensorsFile f(test::fixture_path(kFixture));
  Inputs in(f);
  AwqConfig c;
  c.group_size = 32;
  auto block = [&](const torch::Tensor& nw, const torch::Tensor& g, const torch::Tensor& u,
                   const torch::Tensor& d) { return mlp(rmsnorm(in.h, nw, in.eps), g, u, d); };
  torch::Tensor y0 = block(in.norm, in.gate, in.up, in.down);
  auto mse = [&](const torch::Tensor& y) { return (y - y0).pow(2).mean().item<double>(); };
  auto q = [&](const torch::Tensor& w) { return awq_pseudo_quantize(w, c).dequant; };
  const double rtn_zp = mse(block(in.norm, q(in.gate), q(in.up), q(in.down)));
  RtnConfig rc;
  rc.scheme = RtnScheme::kAsym;
  rc.group_size = 32;
  auto qr = [&](const torch::Tensor& w) { return rtn_quantize(w, rc).dequant; };
  const double rtn_gptq = mse(block(in.norm, qr(in.gate), qr(in.up), qr(in.down)));

  // AutoAWQ's order: search every group on the original weights and inputs,
  // apply the scales (inputs divided by s), clip each linear, quantize.
  torch::Tensor nw = in.norm.clone(), g = in.gate.clone(), u = in.up.clone(), d = in.down.clone();
  torch::Tensor x = rmsnorm(in.h, in.norm, in.eps);
  torch::Tensor p = torch::silu(lin(x, g)) * lin(x, u);
  AwqActStats sx, sp;
  sx.add(x);
  sp.add(p);
  std::vector<torch::Tensor> gu = {g, u}, dn = {d};
  AwqScaleResult r1 = awq_search_scales(
      gu, sx.mean(), [&] { return mlp(x, g, u, d); }, mlp(x, g, u, d), c);
  AwqScaleResult r2 = awq_search_scales(
      dn, sp.mean(), [&] { return lin(p, d); }, lin(p, d), c);
  awq_scale_prev_norm(nw, gu, r1.scales);
  awq_scale_prev_linear(u, dn, r2.scales);
  torch::Tensor xs = x / r1.scales, ps = p / r2.scales;
  const double awq_scale_only = mse(block(nw, q(g), q(u), q(d)));
  for (auto* wp : {&g, &u}) awq_apply_clip(*wp, awq_search_clip(*wp, awq_clip_sample(xs, 512), c));
  awq_apply_clip(d, awq_search_clip(d, awq_clip_sample(ps, 512), c));
  const double awq = mse(block(nw, q(g), q(u), q(d)));
  std::cout << "  block output MSE: RTN (AWQ zero point) " << rtn_zp << ", RTN (AutoGPTQ asym) "
            << rtn_gptq << ", AWQ scales " << awq_scale_only << ", AWQ scales + clip " << awq
            << "\n";
  EXPECT_LT(awq_scale_only, rtn_zp);
  EXPECT_LT(awq, rtn_zp);
  EXPECT_LT(awq, rtn_gptq);
}

// Two threads as two ranks: all_reduce(kSum) through a rendezvous.
struct Rendezvous {
  std::mutex m;
  std::condition_variable cv;
  int arrived = 0;
  int64_t generation = 0;
  torch::Tensor slot[2], sum;
};
class ThreadComm : public Communicator {
 public:
  ThreadComm(Rendezvous* rv, int rank) : rv_(rv), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return 2; }
  std::string backend() const override { return "threads"; }
  void all_reduce(torch::Tensor& t, ReduceOp op) override {
    RELAPSE_CHECK(op == ReduceOp::kSum, "ThreadComm: only kSum");
    std::unique_lock<std::mutex> lock(rv_->m);
    rv_->slot[rank_] = t.clone();
    if (++rv_->arrived == 2) {
      rv_->sum = rv_->slot[0] + rv_->slot[1];
      rv_->arrived = 0;
      ++rv_->generation;
      rv_->cv.notify_all();
    } else {
      const int64_t gen = rv_->generation;
      rv_->cv.wait(lock, [&] { return rv_->generation != gen; });
    }
    t.copy_(rv_->sum);
  }
  torch::Tensor all_gather(const torch::Tensor&) override {
    RELAPSE_THROW(ExitCode::kRuntime, "n/a");
  }
  torch::Tensor reduce_scatter(const torch::Tensor&, ReduceOp) override {
    RELAPSE_THROW(ExitCode::kRuntime, "n/a");
  }
  void broadcast(torch::Tensor&, int) override { RELAPSE_THROW(ExitCode::kRuntime, "n/a"); }
  void barrier() override {}

 private:
  Rendezvous* rv_;
  int rank_;
};

TEST(Awq, ShardedSearchPicksTheSameRatio) {
  model::SafetensorsFile f(test::fixture_path(kFixture));
  Inputs in(f);
  AwqConfig c;
  c.group_size = 32;
  auto run = [&](const torch::Tensor& x, Communicator* comm) {
    std::vector<torch::Tensor> ws = {in.q.clone(), in.k.clone(), in.v.clone()};
    auto fwd = [&] { return torch::cat({lin(x, ws[0]), lin(x, ws[1]), lin(x, ws[2])}, 1); };
    AwqActStats st;
    st.add(x);
    if (comm != nullptr) awq_act_stats_all_reduce(st, *comm);
    return awq_search_scales(ws, st.mean(), fwd, fwd(), c, comm);
  };
  AwqScaleResult whole = run(in.x_qkv, nullptr);
  EXPECT_EQ(whole.best_index, 8);  // the fixture's qkv_g32 case

  // Rank r holds rows [32r, 32r + 32): the statistics and per-ratio sums are
  // reduced, so each rank sees the whole-batch losses.
  Rendezvous rv;
  AwqScaleResult part[2];
  std::vector<std::thread> th;
  for (int r = 0; r < 2; ++r)
    th.emplace_back([&, r] {
      ThreadComm comm(&rv, r);
      part[r] = run(in.x_qkv.narrow(0, 32 * r, 32), &comm);
    });
  for (auto& t : th) t.join();
  for (int r = 0; r < 2; ++r) {
    SCOPED_TRACE("rank " + std::to_string(r));
    EXPECT_EQ(part[r].best_index, whole.best_index);
    // fp64 sums in another order (and the fp32 x_mean from two fp64 partial
    // sums): the scales agree to an ulp; the losses (fp32 block outputs of
    // the scaled, quantized weights) to ~1e-12 on one CPU and ~1e-7 relative
    // where the fp32 GEMM kernel differs (7e-8 seen on AMD EPYC): 1e-6.
    EXPECT_LE(max_rel(part[r].scales, whole.scales), 1.2e-7);
    for (int i = 0; i < c.n_grid; ++i)
      EXPECT_NEAR(part[r].losses[i], whole.losses[i], 1e-6 * whole.losses[i]);
    EXPECT_TRUE(torch::equal(part[r].scales, part[0].scales));
    EXPECT_EQ(part[r].losses, part[0].losses);
  }
  // One half alone has its own losses: the reduction is what makes them equal.
  AwqScaleResult alone = run(in.x_qkv.narrow(0, 0, 32), nullptr);
  EXPECT_NE(alone.losses[0], whole.losses[0]);

  // A real MPI communicator over this process's ranks (np 1 under ctest).
  auto comm = comm_mpi_create(MPI_COMM_WORLD);
  if (comm->size() == 1) {
    AwqScaleResult m = run(in.x_qkv, comm.get());
    EXPECT_EQ(m.best_index, whole.best_index);
    EXPECT_TRUE(torch::equal(m.scales, whole.scales));
    EXPECT_EQ(m.losses, whole.losses);
  }
}

}  // namespace
}  // namespace relapse::quant
