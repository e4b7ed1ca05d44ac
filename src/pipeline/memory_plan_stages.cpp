// src/pipeline/memory_plan_stages.cpp — the memory plan's quantization and
// evaluation stages (memory_plan_internal.h), counted from what our code
// allocates, per rank:
//
// Both stages hold the pipeline's resident models (run.cpp, stage_quantize.cpp, stage_eval.cpp):
// target + retrain (train.precision) and, when unlearning runs, the unlearned
// model being evaluated (unlearn.precision); the model evaluated / quantized
// is a model_clone in model.dtype (Pd bytes). With quantize.diagnostics the
// run keeps, per GPTQ/AWQ/bitsandbytes precision, the target's quantized
// weights and their uint8 codes (TargetCodes, stage_quantize.cpp).
//
// Quantization, beyond those (quant_apply, src/quant/*):
//   RTN (quantize_model.cpp, rtn.cpp → kernels/), one weight at a time: the
//     whole weight gathered over TP (Pd, TP > 1), its fp32 copy, the kernel's
//     int32 codes and fp32 dequantized weight, the codes in their int16 / int8
//     dtype, the dequantized weight in Pd → full × (Pd + 14 + Pd);
//   GPTQ (gptq_model.cpp, gptq.cpp): every local calibration window's decoder
//     inputs h [S, H] and RoPE cos/sin [S, D] in Pd; the Hessian of the largest
//     input (down_proj's F × F) as a double-double (sum + lo, fp64) while
//     GptqHessian::add runs: x^T x and TwoSum's six fp64 temporaries live in
//     one statement → 9 × 8 in² bytes, plus the window's inputs in fp64
//     (8 S in); or the solve: sum + lo (16 in²), H fp32 and its clone (8 in²),
//     the fp64 Cholesky factor, its inverse and upper factor (24 in²) and
//     Hinv (4 in²), W's fp32 copy (4 out·in, 8 while cast) — the larger of the
//     two moments. At TP > 1 one gathered linear at a time (the whole weight
//     and its Hessian on each rank), as the TP > 1 GPTQ of issue 18 runs it.
//   AWQ (awq_model.cpp, awq.cpp), measured; N = the rank's n·S tokens, the
//     linears whole (at TP > 1 each decoder layer is gathered whole on every
//     rank: its parameters in Pd). For the whole layer: the calibration
//     inputs (above) and, per window, the layer's inputs kept while the h of
//     the DecoderInputs becomes its outputs and the clones of the inputs of q,
//     o, gate and down → N (H + H + qd + H + F) Pd, qd = nh·D; the fp32 group
//     scales every quantized linear returns (4 B a group, all layers). Then
//     the larger of two moments:
//     the scale search's loss (awq_search_scales), in one statement:
//       (ref − out) → fp64 → ², with ref (the caller's, Pd, and its fp32
//       copy), out (Pd and its fp32 copy; copies only when Pd ≠ 4) →
//       N H (2 Pd + 2 c + 4 + 8 + 8), c = 4 for 16-bit Pd, 0 for fp32; with the
//       largest group's weights (gate+up 2FH, q+k+v, o, down) cloned in Pd,
//       in fp32 (c), and their concatenation, |w| and |w| / max (12 B);
//     the clip search (awq_search_clip) of the worst clipped linear (not
//       q/k) [out, in]: its inputs concatenated (N in Pd), the tokens sampled
//       on every rank ns = ceil(T / step), T = n_samples·S, step = max(1, T /
//       n_sample_token), in fp32 and grouped [G, ns, gs] (8 ns in), while
//       the error statement holds org_out, cur_out, their difference and its
//       square, each [G, ns, rows] fp32 (16 G ns rows, rows = the block of
//       min(out, 2^24 / (G ns)) rows), the clamped and quantized weight block
//       (8 rows·in) and the weight's fp32 copy (c out·in);
//   bitsandbytes (bnb.cpp), measured: the largest weight's temporaries per
//     element — NF4 25 B (zero-padded blocks and their normalised copy 8,
//     uint8 codes 1, the codebook gather's int64 index 8 and values 4, the
//     padded values 4), FP4 31 B (its |x|, int32 rank, code and sign terms),
//     +4 B for the fp32 copy of a 16-bit weight; LLM.int8 18 B (fp16 and fp32
//     copies, the rounded codes, zeros_like and where()) and the int8 codes of
//     every linear, kept for its emulated matmul.
//
// Evaluation (muse_eval.cpp → inference.cpp), no autograd, the larger of:
//   scoring (score_token_logprobs): eval.batch_size rows of at most
//     data.max_len tokens; logits [B, T, V] in Pd with their fp32 copy, then
//     that copy and the fp32 log-softmax [B, T−1, V] (TP > 1: the hidden
//     states, the local logits, fp32 copy, x − max and its exp);
//   generation (generate_greedy): eval.batch_size prompts of at most
//     data.max_len tokens plus max(verbmem, knowmem)_max_new_tokens: the KV
//     cache, reserved for every position, 2 × layers × B × kv_local × D ×
//     positions × Pd, and the prefill's additive mask [B, 1, P, P] in Pd;
//   each with one decoder layer's live tensors (the embedding output, its
//   input, the attention residual, the norm's and down_proj's outputs:
//   5 n H Pd; the MLP's gate, silu, up and product 4 n F_local Pd; RoPE
//   2 n D Pd).
#include <algorithm>
#include <sstream>

#include "memory_plan_internal.h"
#include "relapse/model/llama_linears.h"

namespace relapse::pipeline::plan_detail {

namespace {

std::string str(std::initializer_list<std::string> parts) {
  std::string s;
  for (const auto& p : parts) s += p;
  return s;
}

std::string n2s(int64_t v) {
  return std::to_string(v);
}

int64_t model_bytes(const PlanCtx& x) {
  return dtype_bytes(x.cfg->model.dtype) * x.pc.per_rank;
}

// The persistent diagnostics of the non-RTN precisions (target weights and codes).
// quantizing: a GPTQ/AWQ/bnb pass is running (its codes not yet filtered).
void add_diagnostics(const PlanCtx& x, StagePlan& s, bool quantizing) {
  const QuantizeSection& q = x.cfg->quantize;
  if (!q.diagnostics || !x.unlearns) return;
  const int64_t specs =
      static_cast<int64_t>(q.gptq.bits.size() + q.awq.bits.size() + q.bnb.formats.size());
  const int64_t Pd = dtype_bytes(x.cfg->model.dtype);
  // Under TP the passes return the codes of whole weights (quant/tp_layer.h)
  // and each rank keeps the whole weights and codes of every TP-th decoder
  // layer (quant/code_change_tp.h): ceil(L / TP) layers' whole linears, as
  // many as the rank's shards of all L layers when TP divides L (a
  // replicated KV head counted TP/KV times, a slight overcount).
  const int64_t L = x.shape.num_hidden_layers;
  const int64_t linears = x.pc.linears * x.tp / L * ceil_div(L, x.tp);
  if (specs > 0)
    stage_add(s, "quant diagnostics", specs * (Pd + 1) * linears,
              str({n2s(specs), " GPTQ/AWQ/bnb precision(s) x the target's ", n2s(linears),
                   " linear weights (whole, every TP-th layer) x (", n2s(Pd), " B + 1 B codes)"}));
  // The precision being quantized holds every layer's codes until they are
  // filtered (quant_apply returns them all): TP x the rank's linears x 1 B.
  if (specs > 0 && x.tp > 1 && quantizing)
    stage_add(
        s, "codes before filtering", x.pc.linears * x.tp,
        "the pass's codes of every whole linear, 1 B each, until each rank keeps its layers'");
}

// One decoder layer's live tensors in a no-grad forward of n tokens, at its
// MLP (llama.cpp): the embedding output the DecoderInputs keep, the layer's
// input, the attention residual h, the post-attention norm's output and
// down_proj's output (5 n H), while gate, up, silu(gate) and their product
// (4 n F_local) live in one expression; RoPE's cos/sin (2 n D).
// With model.cpu_bf16_gemm's fp32 path (bf16 on the CPU) a linear's fp32
// input, weight and output exist while it runs (4 n H + 4 H F + 4 n F).
int64_t layer_moment(const PlanCtx& x, int64_t n) {
  const int64_t Pd = dtype_bytes(x.cfg->model.dtype), H = x.shape.hidden_size;
  const int64_t F = local_dims(x.shape, x.tp).f;
  const int64_t up = x.cpu_fp32_gemm && Pd == 2 ? 4 * (n * H + H * F + n * F) : 0;
  return Pd * n * (5 * H + 4 * F) + 2 * Pd * n * x.shape.head_dim_or_default() + up;
}

// AWQ's items beyond the calibration inputs (derived in the file-top comment).
void add_awq_items(const PlanCtx& x, const quant::QuantSpec& spec, StagePlan& s) {
  const CalibrationSection& cal = x.cfg->quantize.calibration;
  const quant::AwqConfig& a = spec.awq.c;
  const int64_t Pd = dtype_bytes(x.cfg->model.dtype), cast = Pd == 4 ? 0 : 4;
  const int64_t H = x.shape.hidden_size, F = x.shape.intermediate_size;
  const int64_t D = x.shape.head_dim_or_default(), L = x.shape.num_hidden_layers;
  const int64_t qd = x.shape.num_attention_heads * D, kv = x.shape.num_key_value_heads * D;
  const int64_t N = ceil_div(cal.n_samples, x.dp) * cal.seq_len;  // this rank's tokens
  using Lin = model::LlamaLinear;
  const std::vector<Lin> lins = model::llama_linears(x.shape);
  const auto& mods = spec.modules;
  auto quantized = [&](const Lin& l) {
    return std::find(mods.begin(), mods.end(), l.kind) != mods.end();
  };
  if (x.tp > 1)
    stage_add(s, "gathered layer", Pd * (H * (2 * qd + 2 * kv) + 3 * H * F + 2 * H),
              "one decoder layer gathered whole (LayerWork)");
  stage_add(s, "awq statistics", N * (3 * H + qd + F) * Pd,
            str({n2s(N), " tokens/rank x (layer inputs ", n2s(H), " + inputs of q ", n2s(H), ", o ",
                 n2s(qd), ", gate ", n2s(H), ", down ", n2s(F), ") x ", n2s(Pd), " B"}));
  int64_t groups = 0;
  for (const auto& l : lins)
    if (quantized(l)) groups += l.out * (a.group_size > 0 ? l.in / a.group_size : 1);
  stage_add(s, "awq scales", 4 * L * groups,
            str({n2s(L), " layers x ", n2s(groups), " fp32 group scales"}));
  // The scale search's loss statement, with the largest group's weight copies.
  const int64_t wmax =
      std::max({(qd + 2 * kv) * H, kv == H && qd == H ? H * qd : 0, 2 * F * H, H * F});
  const int64_t search = N * H * (2 * Pd + 2 * cast + 20) + (Pd + 12 + cast) * wmax;
  // The clip search of the worst clipped linear.
  const int64_t T = cal.n_samples * cal.seq_len;
  const int64_t ns = ceil_div(T, std::max<int64_t>(1, T / a.n_sample_token));
  int64_t clip = 0;
  std::string clip_kind;
  if (a.clip) {
    for (const auto& l : lins) {
      if (!quantized(l) || l.kind == "q_proj" || l.kind == "k_proj") continue;
      const int64_t G = a.group_size > 0 ? l.in / a.group_size : 1;
      const int64_t rows = std::min(l.out, std::max<int64_t>(1, (int64_t{1} << 24) / (G * ns)));
      const int64_t b = N * l.in * Pd + 8 * ns * l.in + 16 * G * ns * rows + 8 * rows * l.in +
                        cast * l.out * l.in;
      if (b > clip) clip = b, clip_kind = l.kind;
    }
  }
  if (search >= clip)
    stage_add(s, "awq search", search,
              str({"scale search's loss: ", n2s(N), " tokens x ", n2s(H), " x ",
                   n2s(2 * Pd + 2 * cast + 20), " B (outputs, fp32/fp64 difference) + weights"}));
  else
    stage_add(s, "awq search", clip,
              str({"clip search of ", clip_kind, ": its inputs, ", n2s(ns),
                   " sampled tokens, [G, tokens, rows] fp32 x 4"}));
}

}  // namespace

void add_resident_eval_models(const PlanCtx& x, StagePlan& s) {
  const RelapseConfig& cfg = *x.cfg;
  const int64_t N = x.pc.per_rank, Pt = dtype_bytes(cfg.train.stage.precision);
  int64_t b = 2 * Pt * N;
  std::string how = str({"target + retrain: 2 x ", n2s(N), " params/rank x ", n2s(Pt), " B"});
  if (x.unlearns) {
    const int64_t Pu = dtype_bytes(cfg.unlearn.precision);
    b += Pu * N;
    how += str({" + the unlearned model x ", n2s(Pu), " B"});
  }
  stage_add(s, "resident models", b, how);
}

StagePlan plan_quant_stage(const PlanCtx& x, const quant::QuantSpec& spec) {
  const RelapseConfig& cfg = *x.cfg;
  const int64_t Pd = dtype_bytes(cfg.model.dtype), H = x.shape.hidden_size;
  const int64_t F = x.shape.intermediate_size, D = x.shape.head_dim_or_default();
  const int64_t qd = x.shape.num_attention_heads * D;
  StagePlan s;
  s.name = "quantization " + spec.label;
  s.moment = "quantizing the model in model.dtype (" + spec.scheme + ")";
  add_resident_eval_models(x, s);
  stage_add(s, "quantized model", model_bytes(x),
            str({"model_clone in ", cfg.model.dtype, ": ", n2s(x.pc.per_rank), " params/rank"}));
  add_diagnostics(x, s, spec.method != quant::QuantMethod::kRtn);
  const bool diag = cfg.quantize.diagnostics && x.unlearns;
  const auto& mods = spec.modules;
  auto has = [&](const char* k) { return std::find(mods.begin(), mods.end(), k) != mods.end(); };
  int64_t full = x.pc.linear_full;  // the largest whole linear
  if (has("embed_tokens") || has("lm_head")) full = std::max(full, x.shape.vocab_size * H);
  switch (spec.method) {
    case quant::QuantMethod::kRtn: {
      if (diag)  // code_change_stats_model: the target cloned in model.dtype
        stage_add(s, "target clone", model_bytes(x), "diagnostics' code changes vs the target");
      stage_add(s, "rtn temporaries", full * (2 * Pd + 14),
                str({"largest weight ", n2s(full), " x (", n2s(Pd),
                     " gathered + 14 fp32 copy/int32 codes/dequant/int16 codes + ", n2s(Pd),
                     " written back)"}));
      break;
    }
    case quant::QuantMethod::kGptq:
    case quant::QuantMethod::kAwq: {
      const CalibrationSection& c = cfg.quantize.calibration;
      const int64_t n = ceil_div(c.n_samples, x.dp), S = c.seq_len;
      if (diag)
        stage_add(s, "weights before", Pd * x.pc.linears, "the linears' weights kept for codes");
      stage_add(s, "calibration inputs", n * S * (H + 2 * D) * Pd,
                str({n2s(n), " windows/rank x ", n2s(S), " tokens x (h ", n2s(H), " + cos/sin 2 x ",
                     n2s(D), ") x ", n2s(Pd), " B"}));
      if (spec.method == quant::QuantMethod::kGptq) {
        const int64_t in = has("down_proj") ? std::max(F, H) : std::max(H, qd);
        const int64_t out = has("down_proj") ? H : std::max(F, qd);
        const int64_t add = 72 * in * in + 8 * S * in + layer_moment(x, S);
        const int64_t solve = 52 * in * in + 8 * out * in;
        const int64_t loop = 28 * in * in + 16 * out * in;
        stage_add(s, "hessian", std::max({add, solve, loop}),
                  str({"one linear's Hessian ", n2s(in), " x ", n2s(in), ": ",
                       add >= std::max(solve, loop)
                           ? "double-double sum + x^T x + TwoSum temporaries 72 in^2 + x fp64"
                           : "Cholesky solve 52 in^2 + W fp32"}));
      } else {
        add_awq_items(x, spec, s);
      }
      break;
    }
    case quant::QuantMethod::kBnb4: {
      if (diag)
        stage_add(s, "weights before", Pd * x.pc.linears, "the linears' weights kept for codes");
      const bool fp4 = spec.bnb4.format == quant::Bnb4Format::kFp4;
      const int64_t per = (fp4 ? 31 : 25) + (Pd == 4 ? 0 : 4);
      stage_add(s, "bnb temporaries", full * per + 8 * ceil_div(full, spec.bnb4.blocksize),
                str({"largest weight ", n2s(full), " x ", n2s(per),
                     fp4 ? " B (FP4's |x|, int32 rank, code and sign"
                         : " B (NF4's uint8 count and comparison",
                     "; padded blocks, normalised copy, codes, int64 gather index, values",
                     Pd == 4 ? "" : ", fp32 copy", ") + absmax"}));
      break;
    }
    case quant::QuantMethod::kLlmInt8: {
      if (diag)
        stage_add(s, "weights before", Pd * x.pc.linears, "the linears' weights kept for codes");
      stage_add(s, "int8 codes", x.pc.linears,
                "CB of every linear, kept for the emulated int8 matmul: 1 B per weight");
      stage_add(s, "bnb temporaries", 18 * full,
                str({"largest weight ", n2s(full),
                     " x 18 B (fp16 copy, fp32 copy, rounded, zeros and where())"}));
      break;
    }
  }
  return s;
}

StagePlan plan_eval_stage(const PlanCtx& x) {
  const RelapseConfig& cfg = *x.cfg;
  const int64_t Pd = dtype_bytes(cfg.model.dtype), L = x.shape.num_hidden_layers;
  const LocalDims ld = local_dims(x.shape, x.tp);
  const int64_t B = cfg.eval.batch_size, T = cfg.data.max_len, n = B * T, n1 = B * (T - 1);
  const int64_t cast = Pd == 4 ? 0 : 4;
  StagePlan s;
  s.name = "evaluation";
  add_resident_eval_models(x, s);
  stage_add(s, "evaluated model", model_bytes(x),
            str({"model_clone in ", cfg.model.dtype, ": ", n2s(x.pc.per_rank), " params/rank"}));
  add_diagnostics(x, s, false);
  // Scoring: the head's moment or one decoder layer's, whichever is larger.
  // TP 1: the logits [B, T, V] in Pd and their fp32 copy of T−1 positions
  // live together in one statement; then the fp32 copy and its log-softmax
  // (in fp32 the copy is the logits themselves: 4 n V + 4 n1 V). TP > 1
  // (vocab_parallel_target_logprobs): the hidden states, the local logits,
  // their fp32 copy, x − max and its exp. Min-K%++'s vocabulary sums fit the
  // same room: at TP 1 the logits are freed before p · log p is formed next
  // to the log-softmax; at TP > 1 x − max becomes the log-probs in place and
  // p · log p takes its exp's place.
  int64_t head = x.tp == 1 ? std::max(Pd * n * ld.v + cast * n1 * ld.v,
                                      (cast ? 4 * n1 : 4 * n) * ld.v + 4 * n1 * ld.v)
                           : Pd * n * x.shape.hidden_size + (Pd + cast + 8) * n1 * ld.v;
  // The fp32 path (bf16 on the CPU): lm_head's fp32 logits beside their bf16
  // rounding, with its fp32 input and weight.
  if (x.cpu_fp32_gemm && Pd == 2)
    head = std::max(head, (4 + Pd) * n * ld.v + 4 * (n + ld.v) * x.shape.hidden_size);
  const int64_t score = std::max(head, layer_moment(x, n));
  // Generation: the KV cache of every layer, the prefill's mask and one layer.
  const int64_t gen_new =
      std::max(cfg.eval.verbmem_max_new_tokens, cfg.eval.knowmem_max_new_tokens);
  const int64_t pos = T + gen_new;
  const int64_t kv = 2 * L * B * ld.kv * pos * Pd;
  const int64_t gen = kv + B * T * T * Pd + layer_moment(x, n);
  if (score >= gen) {
    s.moment = "scoring " + n2s(B) + " rows x " + n2s(T) + " tokens (Min-K%)";
    stage_add(s, "scoring", score,
              str({head >= layer_moment(x, n) ? "logits [" : "one decoder layer at [", n2s(B), ", ",
                   n2s(T), ", ", n2s(ld.v), "] x ", n2s(Pd), " B + fp32 log-softmax"}));
  } else {
    s.moment =
        str({"generating ", n2s(B), " prompts x (", n2s(T), " + ", n2s(gen_new), ") positions"});
    stage_add(s, "kv cache", kv,
              str({"2 x ", n2s(L), " layers x ", n2s(B), " rows x ", n2s(ld.kv),
                   " (kv heads x D) x ", n2s(pos), " positions x ", n2s(Pd), " B"}));
    stage_add(s, "prefill", gen - kv, "mask [B, 1, P, P] + one decoder layer's tensors");
  }
  return s;
}

}  // namespace relapse::pipeline::plan_detail
