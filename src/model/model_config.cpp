// src/model/model_config.cpp — the field lists of the model layer's config
// sections (relapse/model/model_config.h): keys, help text, allowed values (from
// this layer's name tables), derived defaults and range checks.
#include "relapse/model/model_config.h"

#include "relapse/model/cpu_gemm.h"

namespace relapse {

void config_fields(ConfigBinder& b, ModelSection& s) {
  b.field("path", s.path, "Hugging Face model directory (config.json, *.safetensors)");
  b.field("dtype", s.dtype, "dtype of the weights and the compute", {"float32", "bfloat16"});
  b.field("tokenizer", s.tokenizer,
          "tokenizer.model / tokenizer.json or a directory with one (MUSE passes Llama-2's "
          "separately); empty = the model path");
  b.field("preset", s.preset,
          "model shape when training from scratch (model.path empty): nano, tiny, small, base, "
          "medium, 1b, 7b, 13b, 70b");
  b.field("init_std", s.init_std, "standard deviation of the N(0, std) init from scratch");
  b.check("init_std", s.init_std > 0, "must be > 0, got ", s.init_std);
  b.field("cpu_bf16_gemm", s.cpu_bf16_gemm,
          "how bf16 linears and attention run on a CPU: native = libtorch's bf16 kernels; fp32 = "
          "on the exactly upcast bf16 operands in fp32, each result rounded to bf16 once (the "
          "math of a bf16 GEMM with fp32 accumulation; weights, activations and gradients stay "
          "bf16); auto = fp32 on a CPU without bf16 instructions (AVX512_BF16, AMX-BF16), where "
          "libtorch emulates bf16 ~2-3x slower than fp32, else native. No effect on GPUs",
          model::cpu_bf16_gemm_setting_names());
  if (b.loading() && s.tokenizer.empty()) s.tokenizer = s.path;
}

void config_fields(ConfigBinder& b, GenerateSection& s) {
  b.field("max_new_tokens", s.max_new_tokens, "tokens generated per prompt (greedy)");
  b.field("batch_size", s.batch_size, "prompts per generation batch on each data-parallel rank");
  b.check("max_new_tokens", s.max_new_tokens >= 0, "must be >= 0, got ", s.max_new_tokens);
  b.check("batch_size", s.batch_size >= 1, "must be >= 1, got ", s.batch_size);
}

}  // namespace relapse
