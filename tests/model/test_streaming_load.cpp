// tests/model/test_streaming_load.cpp — checkpoints as published (issue 20):
// an fp32 checkpoint loaded as bf16 is converted tensor by tensor while it is
// read (hf_load: each tensor pread in fp32, cast, the fp32 copy freed), so the
// fp32 model is never held whole, let alone beside the bf16 one. Measured on a
// ~0.8 GB fp32 checkpoint through `relapse convert --dtype bfloat16` in a child
// process: its peak resident set (the VmHWM it reports) above that of the
// same command on a tiny checkpoint (libtorch's own footprint) must stay under
// bf16 model + 2 × the largest fp32 tensor + 96 MiB of allocator slack — far
// below the fp32 + bf16 (1.5 × fp32) that holding both would take. For MUSE's
// 7B target (27 GB fp32) the same bound is 13.5 GB + 2 × 0.5 GB (the embedding).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "relapse/core/rng.h"
#include "relapse/model/hf_checkpoint.h"
#include "relapse/model/llama.h"
#include "test_util.h"

using namespace relapse;

namespace {

// Runs `relapse convert` and returns the peak resident memory it reports
// (VmHWM of its own image: a spawned child's getrusage would include the
// parent's high-water mark, which exec inherits through vfork).
int64_t convert_peak_rss(const std::string& in, const std::string& out) {
  const std::string cmd = std::string(RELAPSE_CLI) + " convert --model " + in + " --out " + out +
                          " --dtype bfloat16 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string text;
  char buf[4096];
  while (p && std::fgets(buf, sizeof buf, p)) text += buf;
  const int status = p ? ::pclose(p) : -1;
  EXPECT_EQ(status, 0) << cmd << "\n" << text;
  const std::string key = "peak resident memory ";
  const size_t at = text.find(key);
  EXPECT_NE(at, std::string::npos) << text;
  if (at == std::string::npos) return 0;
  return std::stoll(text.substr(at + key.size())) << 20;  // MiB
}

}  // namespace

TEST(StreamingLoad, Fp32CheckpointIsNeverHeldWhole) {
  const std::string dir = test::scratch_dir("streaming_load");
  // ~200M parameters: 0.8 GB in fp32, the embedding and lm_head the largest
  // tensors (32000 × 1024 × 4 B = 131 MB each), as in Llama's proportions.
  model::LlamaConfig c;
  c.vocab_size = 32000;
  c.hidden_size = 1024;
  c.intermediate_size = 4096;
  c.num_hidden_layers = 8;
  c.num_attention_heads = 8;
  c.num_key_value_heads = 8;
  c.head_dim = 128;
  c.max_position_embeddings = 256;
  c.torch_dtype = "float32";
  int64_t fp32_bytes = 0, largest = 0;
  {
    model::LlamaForCausalLM m(c);
    model::llama_init_random(m, 0.02, RngStreams(7).torch_generator("test/streaming"));
    for (const auto& p : m->parameters()) {
      fp32_bytes += p.numel() * 4;
      largest = std::max<int64_t>(largest, p.numel() * 4);
    }
    model::hf_save(m, dir + "/fp32", "");
  }  // the test process's copy is freed before the children run
  const int64_t base = convert_peak_rss(test::fixture_path("llama_mha_fp32"), dir + "/tiny_bf16");
  const int64_t peak = convert_peak_rss(dir + "/fp32", dir + "/bf16");
  const int64_t above = peak - base, bf16_bytes = fp32_bytes / 2;
  const int64_t bound = bf16_bytes + 2 * largest + (96 << 20);
  std::printf(
      "fp32 checkpoint %.0f MB: convert peak RSS %.0f MB, %.0f MB above libtorch's "
      "%.0f MB; bound %.0f MB; fp32 + bf16 would be %.0f MB\n",
      fp32_bytes / 1e6, peak / 1e6, above / 1e6, base / 1e6, bound / 1e6,
      (fp32_bytes + bf16_bytes) / 1e6);
  EXPECT_LT(above, bound);
  // The converted model is the checkpoint, rounded to bf16.
  auto a = model::hf_load(dir + "/fp32"), b = model::hf_load(dir + "/bf16");
  EXPECT_EQ(b->dtype(), torch::kBFloat16);
  auto pa = a->named_parameters(), pb = b->named_parameters();
  for (const auto& p : pa)
    EXPECT_TRUE(torch::equal(p.value().to(torch::kBFloat16), pb[p.key()])) << p.key();
}
