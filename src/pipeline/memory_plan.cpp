// src/pipeline/memory_plan.cpp — bytes per rank of a config's training and
// unlearning steps and the plan over every stage (relapse/pipeline/memory_plan.h;
// quantization and evaluation in memory_plan_stages.cpp), counted from what OUR code allocates:
// the parameter shards of src/model/tp_layers.cpp, AdamW's two moments
// (src/unlearn/trainer.cpp), the frozen reference copy (reference_model_copy),
// and the tensors autograd saves in src/model/llama.cpp and src/unlearn/losses.cpp.
//
// Worked example, configs/models/llama2-7b.yaml (7B, vocab 32000, TP 8 × DP 1,
// unlearn.precision and train.precision bfloat16, data.max_len 2048,
// unlearn.batch_size 32 with micro_batches 32 → 1 row of n = 2048 tokens per
// micro-batch, npo_gdr; tests/pipeline/test_memory_plan.cpp checks each number):
//   params = 2·V·H (embed + untied lm_head) + L·(4·H² + 3·H·F + 2·H) + H
//          = 2·32000·4096 + 32·(4·4096² + 3·4096·11008 + 2·4096) + 4096
//          = 262,144,000 + 32·202,383,360 + 4096 = 6,738,415,616
//   per TP-8 rank: embed + lm_head 2·4000·4096 = 32,768,000; per layer
//   4·4096·512 + 3·4096·1376 + 2·4096 (norms replicated) = 25,305,088, ×32
//   = 809,762,816; + 4096 → 842,534,912 params, × 2 B = 1,685,069,824 B
//   weights 1.57 GiB; gradients 1.57 GiB (micro_batches > 1: they exist while
//   micro-batches 2.. run); AdamW exp_avg + exp_avg_sq 3.14 GiB; reference
//   (NPO) 1.57 GiB; target + retrain kept by the pipeline 3.14 GiB;
//   activations per layer (P = 2): norms 2·(8·n·4096 + 4n) = 134,234,112,
//   q/k/v/attn-out 4·2·n·512 = 8,388,608, the fused attention's log-sum-exp
//   4·(32/8)·2048 = 32,768, MLP 4·2·n·1376 = 22,544,384 → 165,199,872 B; ×32
//   layers + final norm 67,117,056 + RoPE 2·2·n·128 = 5,354,561,536 B per
//   pass, ×2 (the forget and retain graphs are alive together) = 9.97 GiB;
//   logits 2·(2·n·4000) + 4·(4·2047·4000) = 163,776,000 B (0.15 GiB): both
//   passes' logits, the two saved fp32 log-probs, two fp32 temporaries of the
//   vocab-parallel log-softmax.
//   Total 22,668,387,840 B = 21.11 GiB per rank: fits an 80 GB GPU.
//
// The training stage (pretrain, fine-tune of target / retrain) is the same
// step with one pass and the language-model head (GA's published head: the
// logits, their fp32 copy and log-probs), no reference, and the models the
// pipeline holds meanwhile (the base model; the target while the retrain
// model trains). Not counted: SURE's extra saliency passes, allocator
// fragmentation, a CUDA context and communication buffers. The released-loss
// and KL heads are counted from reading losses.cpp; the published GA/NPO
// heads and KL are measured (test).
#include "relapse/pipeline/memory_plan.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "memory_plan_internal.h"
#include "relapse/core/error.h"
#include "relapse/data/synth.h"
#include "relapse/dist/device.h"
#include "relapse/model/cpu_gemm.h"
#include "relapse/model/presets.h"
#include "relapse/model/tokenizer.h"
#include "relapse/unlearn/losses.h"
#include "stages.h"

namespace relapse::pipeline {

namespace fs = std::filesystem;

namespace plan_detail {

int64_t dtype_bytes(const std::string& name) {
  if (name == "float32") return 4;
  if (name == "bfloat16" || name == "float16") return 2;
  RELAPSE_THROW(ExitCode::kConfig, "memory plan: unknown precision '", name,
                "' (expected float32 or bfloat16)");
}

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

std::string gib(int64_t bytes) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  const double b = static_cast<double>(bytes);
  if (b >= 1024.0 * 1024 * 1024) {
    s.precision(2);
    s << b / (1024.0 * 1024 * 1024) << " GiB";
  } else {
    s.precision(1);
    s << b / (1024.0 * 1024) << " MiB";
  }
  return s.str();
}

LocalDims local_dims(const model::LlamaConfig& c, int64_t tp) {
  const int64_t D = c.head_dim_or_default(), kv = c.num_key_value_heads;
  const int64_t reps = kv < tp ? tp / kv : 1;
  return {c.num_attention_heads * D / tp, kv * D * reps / tp, c.intermediate_size / tp,
          ceil_div(c.vocab_size, tp)};
}

ParamCount param_count(const model::LlamaConfig& c, int64_t tp) {
  const int64_t H = c.hidden_size, F = c.intermediate_size, D = c.head_dim_or_default();
  const int64_t nh = c.num_attention_heads, kv = c.num_key_value_heads, V = c.vocab_size;
  const int64_t heads = c.tie_word_embeddings ? 1 : 2;
  ParamCount p;
  const int64_t qk_norm = c.qk_norm ? 2 * D : 0;  // Qwen3's q/k RMSNorm weights
  int64_t layer = 2 * H * nh * D + 2 * H * kv * D + 3 * H * F + 2 * H + qk_norm;
  if (c.attention_bias) layer += nh * D + 2 * kv * D + (c.o_bias() ? H : 0);
  if (c.mlp_bias) layer += 2 * F + H;
  p.total = heads * V * H + c.num_hidden_layers * layer + H;
  const LocalDims l = local_dims(c, tp);
  int64_t lay = H * (2 * l.q + 2 * l.kv + 3 * l.f) + 2 * H + qk_norm;
  if (c.attention_bias) lay += l.q + 2 * l.kv + (c.o_bias() ? H : 0);
  if (c.mlp_bias) lay += 2 * l.f + H;
  p.per_rank = heads * l.v * H + c.num_hidden_layers * lay + H;
  p.largest = std::max({l.v * H, l.f * H, l.q * H});
  p.linears = c.num_hidden_layers * H * (2 * l.q + 2 * l.kv + 3 * l.f);
  p.linear_full = std::max(H * nh * D, H * F);
  return p;
}

void stage_add(StagePlan& s, const std::string& what, int64_t bytes, const std::string& how) {
  s.items.push_back({what, bytes, how});
  s.total += bytes;
}

}  // namespace plan_detail

using namespace plan_detail;

namespace {

struct PassBytes {
  int64_t decoder = 0;    // saved by the decoder layers, final norm, RoPE
  int64_t logits = 0;     // [rows, T, V_local] at P
  int64_t logp = 0;       // [rows, T-1, V_local] fp32 (the loss's log-softmax)
  int64_t full = 0;       // [rows, T, V_local] fp32 (released losses' raw-logit terms)
  int64_t head_tmp = 0;   // fp32 temporaries of a published head beside its saved log-probs
  int64_t recompute = 0;  // checkpointing: one layer's saved tensors during the backward
  std::string how;
};

PassBytes pass_bytes(const PlanCtx& x, int64_t rows, int64_t T, int64_t P) {
  const model::LlamaConfig& c = x.shape;
  const int64_t tp = x.tp;
  const bool checkpointing = x.cfg->parallel.activation_checkpointing;
  const int64_t n = rows * T, H = c.hidden_size, D = c.head_dim_or_default();
  const int64_t heads_l = c.num_attention_heads / tp, f_l = c.intermediate_size / tp;
  const int64_t v_l = ceil_div(c.vocab_size, tp);
  // model.cpu_bf16_gemm's fp32 path (bf16 on the CPU, model/cpu_gemm.h): every
  // linear keeps an fp32 copy of its input (q/k/v and gate/up one each: the
  // upcasts are not shared) and of its weight instead of the bf16 input; the
  // fused attention keeps fp32 q, k, v and output; the MLP's product is no
  // longer kept (down_proj keeps its fp32 copy). Measured within 10% (test).
  const bool up = x.cpu_fp32_gemm && P == 2;
  const LocalDims ld = local_dims(c, tp);
  const int64_t norm = (4 + (up ? 1 : 2) * P) * n * H + 4 * n;
  const int64_t attn = up ? 16 * n * heads_l * D : 4 * P * n * heads_l * D;
  const int64_t scores = 4 * rows * heads_l * T;  // the fused kernel's log-sum-exp
  const int64_t mlp = (up ? 3 : 4) * P * n * f_l;
  const int64_t up_inputs = up ? 4 * n * (5 * H + heads_l * D + f_l) : 0;
  const int64_t up_weights = up ? 4 * (H * (ld.q + 2 * ld.kv) + ld.q * H + 3 * H * ld.f) : 0;
  PassBytes b;
  const int64_t layer = 2 * norm + attn + scores + mlp + up_inputs + up_weights;
  // parallel.activation_checkpointing (issue 18, model/llama.cpp): the
  // forward keeps only each decoder layer's input hidden state [rows, T, H]
  // at P; the backward recomputes one layer at a time, so one layer's saved
  // tensors (`layer`) exist at once over both passes, in the backward only
  // (step_peak; measured within 10%: test_memory_plan).
  b.decoder = (checkpointing ? c.num_hidden_layers * P * n * H : c.num_hidden_layers * layer) +
              norm + 2 * P * n * D + (up ? 4 * n * H + 4 * ld.v * H : 0);  // lm_head's fp32 copies
  b.recompute = checkpointing ? layer : 0;
  b.logits = P * n * v_l;
  b.logp = 4 * rows * (T - 1) * v_l;
  b.full = 4 * n * v_l;
  // The fp32 copy log_softmax works on (logits.to(fp32) in bf16, in fp32 the
  // contiguous copy of the shifted, non-contiguous logits); under TP the
  // vocab-parallel log-sum-exp keeps that copy and makes x − max and its exp
  // (tp_cross_entropy.cpp): two temporaries (measured at TP 2).
  b.head_tmp = (tp > 1 ? 2 : 1) * b.logp;
  std::ostringstream s;
  if (checkpointing)
    s << "checkpointed: " << c.num_hidden_layers << " layer inputs x " << gib(P * n * H)
      << " + one layer recomputed (";
  else
    s << c.num_hidden_layers << " layers x (";
  s << "norms " << gib(2 * norm) << " + attention " << gib(attn) << " + fused attention "
    << gib(scores) << " + mlp " << gib(mlp);
  if (up) s << " + fp32 linear inputs " << gib(up_inputs) << " + fp32 weights " << gib(up_weights);
  s << ") + final norm, RoPE; " << rows << " rows x " << T << " tokens";
  if (up) s << "; bf16 GEMMs in fp32 (model.cpu_bf16_gemm)";
  b.how = s.str();
  return b;
}

// Peak bytes of one micro-batch's forward + backward beyond the persistent
// state, for objective `o` (unlearn_loss in losses.cpp runs the forget pass,
// then the retain pass, and back-propagates their sum: both graphs are alive
// together). Candidates, each the set of live tensors at one moment:
//   the head of a pass (inside log_softmax: the logits, its fp32 contiguous
//   input, the saved fp32 log-probs; measured: the peak of a step), the
//   reference model's head (NPO*, KLR: its logits and log-probs next to ours,
//   no graph), and the start of the backward (the last head's fp32 gradients
//   of the log-probs and of the logits, while every saved tensor is alive).
constexpr const char* kRecomputeMoment = "backward, one layer recomputed";

struct StepPeak {
  int64_t activations = 0, logits = 0;
  std::string where;
};

StepPeak step_peak(const PassBytes& b, unlearn::Objective o, unlearn::LossVariant v) {
  const bool retain = unlearn::objective_uses_retain(o);
  // From the objective's terms, so a new method is planned without a change here:
  // a forget term with a reference costs what NPO's does, one without what GA's
  // does (per-token NLL; SimNPO / WGA / SatImp add only [B,T] tensors).
  const bool npo = unlearn::forget_term_uses_ref(unlearn::objective_forget_term(o));
  const bool klr = unlearn::objective_retain_term(o) == unlearn::RetainTerm::kKL;
  const bool released = v != unlearn::LossVariant::kPublished;
  // Forget terms over every vocabulary entry: released NPO (raw logits) and
  // UNDIAL (the adjusted reference softmax, a constant of [B,T,V] in fp32).
  const bool full_vocab =
      npo && (released || unlearn::objective_forget_term(o) == unlearn::ForgetTerm::kUNDIAL);
  const int64_t cast = b.head_tmp;
  // What each head keeps for the backward (fp32 log-probs of the labels;
  // released NPO: log_sigmoid's input and buffer over every entry, UNDIAL: its
  // target and our fp32 logits; KL: the log-probs and exp(ref log-probs);
  // released KL: exp(ref logits)).
  const int64_t f_saved = full_vocab ? 2 * b.full : b.logp;
  const int64_t r_saved = !retain ? 0 : !klr ? b.logp : released ? b.full : 2 * b.logp;
  StepPeak best;
  auto consider = [&](int64_t act, int64_t lg, const char* where) {
    if (act + lg > best.activations + best.logits) best = {act, lg, where};
  };
  // Forget head; NPO first runs the reference on the forget batch (logits,
  // fp32 cast, log-probs / raw-logit temporaries) next to our logits.
  consider(b.decoder, b.logits + cast + f_saved, "forget loss (forward)");
  if (npo)
    consider(b.decoder, 2 * b.logits + cast + (full_vocab ? 3 * b.full : b.logp),
             "reference forward on the forget batch");
  int64_t act = b.decoder, held = b.logits + f_saved;  // our forget logits live until the end
  if (retain) {
    act += b.decoder;
    held += b.logits;
    if (klr)  // reference logits + both log-softmaxes + exp + difference + product
      consider(act, held + b.logits + cast + (released ? 3 * b.full : 5 * b.logp),
               "retain KL (forward)");
    else
      consider(act, held + cast + r_saved, "retain loss (forward)");
  }
  // Backward: the logits were freed with the loss's locals; the last head's
  // gradients (fp32 log-probs and logits) sit next to every saved tensor.
  const int64_t last = retain ? r_saved : f_saved;
  const int64_t grads = klr && retain ? 3 * b.logp : 2 * (last > b.logp ? b.full : b.logp);
  consider(act, f_saved + r_saved + grads, "start of the backward");
  // Checkpointing: a recomputed layer's tensors beside everything saved.
  if (b.recompute > 0) consider(act + b.recompute, f_saved + r_saved, kRecomputeMoment);
  return best;
}

std::string params_how(int copies, int64_t N, const std::string& prec) {
  std::ostringstream s;
  s << copies << " x " << N << " params/rank x " << dtype_bytes(prec) << " B (" << prec << ")";
  return s.str();
}

// One optimizer step of `rows` × T tokens per micro-batch: weights,
// gradients, AdamW, activations and logits at `peak`, or the optimizer
// step itself (gradients + AdamW's sqrt(v) and its quotient of the largest
// parameter) when that is larger. Gradients coexist with the forward /
// backward peak only from the second micro-batch on (zero_grad sets them to
// none).
std::string optimizer_what(bool master) {
  return master ? "AdamW exp_avg + exp_avg_sq + fp32 master weights" : "AdamW exp_avg + exp_avg_sq";
}

void add_step_items(const PlanCtx& x, StagePlan& s, const std::string& prec, bool master, int micro,
                    const PassBytes& pb, const StepPeak& peak, int64_t rows) {
  const int64_t P = dtype_bytes(prec), N = x.pc.per_rank;
  // Master weights (unlearn/trainer.h; 16-bit parameters only): an fp32 copy
  // and fp32 moments, and the step's temporaries in fp32 plus the widened
  // gradient.
  master = master && P == 2;
  const int64_t S = master ? 4 : P;  // bytes per element of the optimizer state
  stage_add(s, "weights", P * N, params_how(1, N, prec));
  const int64_t temps = (master ? 3 : 2) * S * x.pc.largest;
  const int64_t step_phase = P * N + temps;
  const bool grads_at_peak = micro > 1;
  int64_t grads = grads_at_peak ? P * N : 0;
  std::string grads_how = grads_at_peak ? params_how(1, N, prec) + " (from micro-batch 2 on)"
                                        : "none yet at the peak (micro_batches 1; " + gib(P * N) +
                                              " once back-propagated)";
  if (!grads_at_peak && pb.recompute > 0 && peak.where == std::string(kRecomputeMoment)) {
    // Checkpointing, one micro-batch: while layer k is recomputed the
    // gradients of the head and of layers k+1.. exist and the inputs of
    // layers k+1.. are freed; the larger end: k = L-1 (head gradients only)
    // or k = 0 (all but layer 0's gradients, L-1 inputs per pass freed).
    const int64_t L = x.shape.num_hidden_layers, H = x.shape.hidden_size;
    const int64_t per_layer = x.pc.linears / L + 2 * H;
    const int64_t passes = pb.decoder > 0 ? (peak.activations - pb.recompute) / pb.decoder : 1;
    const int64_t inputs_freed = (L - 1) * P * rows * x.cfg->data.max_len * H * passes;
    grads = std::max(P * (N - L * per_layer), P * (N - per_layer) - inputs_freed);
    grads_how = "the head's and the back-propagated layers' (checkpointed backward)";
  }
  const int64_t act_phase = peak.activations + peak.logits + grads;
  if (act_phase >= step_phase) {
    stage_add(s, "gradients", grads, grads_how);
    s.moment += ": " + peak.where;
  } else {
    stage_add(s, "gradients", P * N, params_how(1, N, prec));
    s.moment += ": optimizer step";
  }
  if (x.cfg->parallel.shard_optimizer && x.dp > 1) {
    // ZeRO-1 (unlearn/grad_sync.h): whole parameters dealt largest first to
    // the least-loaded DP rank, so no rank holds more than N/DP plus the
    // largest parameter.
    const int64_t share = std::min(N, ceil_div(N, x.dp) + x.pc.largest);
    stage_add(s, "optimizer", (master ? 3 : 2) * S * share,
              optimizer_what(master) + " of this rank's ZeRO-1 share (<= N/" +
                  std::to_string(x.dp) + " + the largest parameter): " +
                  params_how(master ? 3 : 2, share, master ? "float32" : prec));
  } else {
    stage_add(
        s, "optimizer", (master ? 3 : 2) * S * N,
        optimizer_what(master) + ": " + params_how(master ? 3 : 2, N, master ? "float32" : prec));
  }
  if (act_phase >= step_phase) {
    const int64_t passes = pb.decoder > 0 ? peak.activations / pb.decoder : 0;
    stage_add(s, "activations", peak.activations,
              std::to_string(passes) + " pass(es) x " + gib(pb.decoder) + ": " + pb.how);
    std::ostringstream h;
    h << "logits [" << rows << ", " << x.cfg->data.max_len << ", "
      << ceil_div(x.shape.vocab_size, x.tp) << "] x " << P
      << " B and the loss's fp32 log-probs, at " << peak.where;
    stage_add(s, "logits", peak.logits, h.str());
  } else {
    stage_add(s, "adamw temporaries", temps,
              std::string(master ? "the fp32 gradient, " : "") +
                  "sqrt(v) and its quotient for the largest tensor (" +
                  std::to_string(x.pc.largest) + " elements)");
  }
}

// Rows of the largest micro-batch on a rank (loops.cpp: rank_share of the
// global batch, then of the rank's rows over the micro-batches).
int64_t micro_rows(int batch, int64_t dp, int micro) {
  return ceil_div(ceil_div(batch, dp), std::max(1, micro));
}

StagePlan plan_unlearn_stage(const PlanCtx& x) {
  const RelapseConfig& cfg = *x.cfg;
  const UnlearnSection& u = cfg.unlearn;
  const int64_t P = dtype_bytes(u.precision), N = x.pc.per_rank;
  const int64_t Pt = dtype_bytes(cfg.train.stage.precision);
  const int64_t rows = micro_rows(u.batch_size, x.dp, u.micro_batches);
  const PassBytes pb = pass_bytes(x, rows, cfg.data.max_len, P);
  // The method with the largest step (a reference model and a retain pass cost most).
  std::vector<std::string> methods = u.methods;
  methods.insert(methods.end(), u.sure.methods.begin(), u.sure.methods.end());
  const unlearn::LossVariant variant = unlearn::loss_variant_from_name(u.variant);
  StepPeak peak;
  std::string method = "none";
  bool ref = false;
  int64_t best = -1;
  for (const auto& m : methods) {
    const unlearn::Objective o = unlearn::objective_from_name(m);
    StepPeak sp = step_peak(pb, o, variant);
    const int64_t bytes = sp.activations + sp.logits + (unlearn::objective_uses_ref(o) ? P * N : 0);
    if (bytes > best) {
      best = bytes;
      peak = sp;
      method = unlearn::objective_name(o);
      ref = unlearn::objective_uses_ref(o);
    }
  }
  StagePlan s;
  s.name = "unlearning";
  s.moment = "unlearning step (" + method + ", " + u.variant + ")";
  add_step_items(x, s, u.precision, u.master_weights, u.micro_batches, pb, peak, rows);
  stage_add(s, "reference", ref ? P * N : 0,
            ref ? "frozen copy for " + method + ": " + params_how(1, N, u.precision)
                : method + " needs no reference model");
  stage_add(s, "resident models", 2 * Pt * N,
            "target + retrain kept by the pipeline for evaluation: " +
                params_how(2, N, cfg.train.stage.precision));
  return s;
}

// The pretraining of the base LM (model.path empty) and the fine-tuning of
// target / retrain (not given): the largest of their steps. lm_train runs one
// pass with the LM loss (GA's published head, step_peak of kGA).
StagePlan plan_train_stage(const PlanCtx& x, std::string& why_not) {
  const RelapseConfig& cfg = *x.cfg;
  const int64_t N = x.pc.per_rank;
  const bool need_base = cfg.train.target.empty() || cfg.train.retrain.empty();
  const bool pretrain = need_base && cfg.model.path.empty() && cfg.pretrain.epochs > 0;
  const bool ft = cfg.train.stage.epochs > 0;
  const bool ft_target = ft && cfg.train.target.empty(),
             ft_retrain = ft && cfg.train.retrain.empty();
  StagePlan best;
  best.name = "training";
  best.moment = "pretraining / fine-tuning target and retrain";
  auto consider = [&](const char* what, const TrainStageSection& t, int64_t resident,
                      const std::string& resident_how) {
    const int64_t P = dtype_bytes(t.precision);
    const int64_t rows = micro_rows(t.batch_size, x.dp, t.micro_batches);
    const PassBytes pb = pass_bytes(x, rows, cfg.data.max_len, P);
    StepPeak peak = step_peak(pb, unlearn::Objective::kGA, unlearn::LossVariant::kPublished);
    if (peak.where == std::string("forget loss (forward)")) peak.where = "LM loss (forward)";
    StagePlan s;
    s.name = "training";
    s.moment = std::string(what) + " step";
    add_step_items(x, s, t.precision, t.master_weights, t.micro_batches, pb, peak, rows);
    stage_add(s, "resident models", resident, resident_how);
    if (s.total > best.total) best = s;
  };
  const int64_t Pb = dtype_bytes(cfg.pretrain.precision),
                Pt = dtype_bytes(cfg.train.stage.precision);
  if (pretrain) consider("pretraining", cfg.pretrain, 0, "none");
  if (ft_target)
    consider("fine-tuning the target", cfg.train.stage, Pb * N,
             "the base model: " + params_how(1, N, cfg.pretrain.precision));
  if (ft_retrain)
    consider("fine-tuning the retrain model", cfg.train.stage, Pb * N + Pt * N,
             "the base model and the target: " + gib(Pb * N) + " + " + gib(Pt * N));
  if (!pretrain && !ft_target && !ft_retrain)
    why_not = "train.target and train.retrain are given (or no training epochs)";
  return best;
}

PlanCtx plan_ctx(const RelapseConfig& cfg, MemoryPlan& p, Stage last) {
  PlanCtx x;
  x.cfg = &cfg;
  x.shape = p.shape;
  x.tp = p.tp;
  x.dp = p.dp;
  x.pc = param_count(p.shape, p.tp);
  x.trains = last >= Stage::kTrain;
  x.unlearns = last >= Stage::kUnlearn && !unlearn_grid(cfg.unlearn).empty();
  const bool cuda =
      cfg.run.device == "cuda" || (cfg.run.device == "auto" && device_cuda_count() > 0);
  x.cpu_fp32_gemm =
      !cuda && model::cpu_bf16_gemm_resolve(cfg.model.cpu_bf16_gemm) == model::CpuBf16Gemm::kFp32;
  return x;
}

}  // namespace

model::LlamaConfig memory_plan_shape(const RelapseConfig& cfg) {
  // A study planned before its checkpoints are downloaded (configs/
  // muse_news_7b.yaml): without model.path/config.json the preset gives the
  // shape, and the plan says so (memory_plan's `model`).
  if (!cfg.model.path.empty() && fs::exists(cfg.model.path + "/config.json"))
    return model::llama_config_load(cfg.model.path + "/config.json");
  std::string tok = cfg.model.path.empty() ? cfg.model.tokenizer : std::string();
  if (tok.empty() && !cfg.data.corpus.empty()) tok = model::tokenizer_file_in(cfg.data.corpus);
  if (!tok.empty() && fs::exists(tok)) {
    model::Tokenizer t(tok);
    return model::model_preset(cfg.model.preset, t.vocab_size(), t.bos_id(), t.eos_id());
  }
  // The Llama-2 shapes without a tokenizer at hand: Llama-2's 32000-token
  // SentencePiece vocabulary (what users load them with), not the synthetic one.
  const std::string& pr = cfg.model.preset;
  if (pr == "7b" || pr == "13b" || pr == "70b") return model::model_preset(pr, 32000);
  data::SynthConfig sc;
  sc.size = cfg.data.synth_size;
  sc.vocab_size = cfg.data.synth_vocab_size;
  return model::model_preset(cfg.model.preset, data::synth_vocab_size(sc));
}

MemoryPlan memory_plan(const RelapseConfig& cfg, int ranks, Stage last) {
  MemoryPlan p;
  p.model = cfg.model.path.empty() ? "preset " + cfg.model.preset : cfg.model.path;
  if (!cfg.model.path.empty() && !fs::exists(cfg.model.path + "/config.json"))
    p.model = "preset " + cfg.model.preset + " (" + cfg.model.path + "/config.json not found)";
  p.shape = memory_plan_shape(cfg);
  p.ranks = ranks > 0 ? ranks : cfg.parallel.ranks > 0 ? cfg.parallel.ranks : 1;
  p.tp = cfg.parallel.tp;
  RELAPSE_CHECK_CONFIG(p.ranks % p.tp == 0, "memory plan: parallel.tp = ", p.tp,
                       " does not divide the ", p.ranks, " ranks");
  p.dp = p.ranks / p.tp;
  const PlanCtx x = plan_ctx(cfg, p, last);
  p.params_total = x.pc.total;
  p.params_per_rank = x.pc.per_rank;
  // Which stages pipeline_run executes up to `last` (run.cpp): training
  // whenever it gets past the data; unlearning for a non-empty grid up to
  // kUnlearn; quantization and evaluation at kEval (evaluation also of the
  // retrain model under unlearn.stop_rule).
  std::string why;
  StagePlan train = plan_train_stage(x, why);
  train.runs = x.trains && why.empty();
  train.why_not = !x.trains ? "the run stops after the data" : why;
  p.stages.push_back(std::move(train));
  StagePlan un = plan_unlearn_stage(x);
  un.runs = x.unlearns;
  un.why_not = last < Stage::kUnlearn ? "the run stops before unlearning"
                                      : "unlearn.methods / lrs are empty";
  p.stages.push_back(std::move(un));
  for (const quant::QuantSpec& spec : quant::quant_specs(cfg.quantize)) {
    StagePlan q = plan_quant_stage(x, spec);
    q.runs = last == Stage::kEval;
    q.why_not = "the run stops before evaluation";
    p.stages.push_back(std::move(q));
  }
  StagePlan ev = plan_eval_stage(x);
  ev.runs = last == Stage::kEval || (cfg.unlearn.stop_rule && last >= Stage::kUnlearn);
  ev.why_not = "the run stops before evaluation";
  p.stages.push_back(std::move(ev));
  plan_budget(cfg, p.ranks, p.budget, p.budget_source);
  for (size_t i = 0; i < p.stages.size(); ++i) {
    StagePlan& s = p.stages[i];
    if (s.runs) s.why_not.clear();
    s.fits = p.budget <= 0 || s.total <= p.budget;
    if (!s.runs) continue;
    p.fits = p.fits && s.fits;
    if (p.peak < 0 || s.total > p.stages[p.peak].total) p.peak = static_cast<int>(i);
  }
  if (p.peak >= 0) {
    const StagePlan& s = p.stages[p.peak];
    p.items = s.items;
    p.stage = s.moment;
    p.total = s.total;
  }
  return p;
}

}  // namespace relapse::pipeline
