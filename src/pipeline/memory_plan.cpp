// src/pipeline/memory_plan.cpp — bytes per rank of a config's unlearning step
// (relapse/pipeline/memory_plan.h), counted from what OUR code allocates:
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
// Not counted (the plan is the unlearning step of the published and released
// losses): SURE's extra saliency passes, the pretrain / fine-tune stages
// (one pass, no reference: larger only with a much larger batch), the evaluation's model.dtype
// clones and the quantization diagnostics the pipeline keeps of the target (GPTQ/AWQ weights and
// codes per precision), allocator fragmentation, a CUDA context and communication buffers. The
// released-loss and KL heads are counted from reading losses.cpp; the published GA/NPO heads and KL
// are measured (test).
#include "relapse/pipeline/memory_plan.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "relapse/core/error.h"
#include "relapse/data/synth.h"
#include "relapse/model/presets.h"
#include "relapse/model/tokenizer.h"
#include "relapse/unlearn/losses.h"

namespace relapse::pipeline {

namespace fs = std::filesystem;

namespace {

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

// Parameters of the whole model (unpadded vocabulary) and of one TP shard
// (vocabulary padded to a multiple of TP, KV heads replicated when fewer than
// TP; norms and row-parallel biases replicated), as tp_layers.cpp builds them.
struct ParamCount {
  int64_t total = 0, per_rank = 0, largest = 0;  // largest: one tensor on this rank
};

ParamCount param_count(const model::LlamaConfig& c, int64_t tp) {
  const int64_t H = c.hidden_size, F = c.intermediate_size, D = c.head_dim_or_default();
  const int64_t nh = c.num_attention_heads, kv = c.num_key_value_heads, V = c.vocab_size;
  const int64_t heads = c.tie_word_embeddings ? 1 : 2;
  ParamCount p;
  int64_t layer = 2 * H * nh * D + 2 * H * kv * D + 3 * H * F + 2 * H;
  if (c.attention_bias) layer += nh * D + 2 * kv * D + H;
  if (c.mlp_bias) layer += 2 * F + H;
  p.total = heads * V * H + c.num_hidden_layers * layer + H;
  const int64_t reps = kv < tp ? tp / kv : 1;
  const int64_t v_l = ceil_div(V, tp), q_l = nh * D / tp, kv_l = kv * D * reps / tp, f_l = F / tp;
  int64_t lay = H * (2 * q_l + 2 * kv_l + 3 * f_l) + 2 * H;
  if (c.attention_bias) lay += q_l + 2 * kv_l + H;
  if (c.mlp_bias) lay += 2 * f_l + H;
  p.per_rank = heads * v_l * H + c.num_hidden_layers * lay + H;
  p.largest = std::max({v_l * H, f_l * H, q_l * H});
  return p;
}

// The tensors autograd keeps for one forward pass of `rows` × `T` tokens
// through the decoder (llama.cpp), at parameter/activation size P bytes:
//   RMSNorm: x in fp32 (the input itself when fp32, a copy when bf16; pow
//     saves it), the normalised h·rsqrt cast back (P; weight·h saves it), the
//     output (P; the next linear saves its input), rsqrt [n,1] fp32 →
//     (4 + 2P)·n·H + 4n, twice per layer and once at the end (libtorch 1.13
//     kept one more fp32 [n, H] in the pow/mean/mul chain; 2.11 does not,
//     measured with the allocator's reports in tests/pipeline/test_memory_plan.cpp);
//   attention: q, k, v (RoPE's products and the fused kernel save them), the
//     output (the kernel saves it; laid out [rows, T, heads, D], it is also
//     the o_proj input) → 4·P·n·heads_local·D; the fused kernel (at::scaled_
//     dot_product_attention, flash) keeps the fp32 log-sum-exp per query row
//     instead of the [rows, heads, T, T] scores → 4·rows·heads_local·T;
//   MLP: gate out (silu saves it), silu(gate), up (mul saves both), their
//     product (down_proj saves it) → 4·P·n·F_local;
//   RoPE cos/sin [rows, T, D] (the muls save them) → 2·P·n·D.
struct PassBytes {
  int64_t decoder = 0;   // saved by the decoder layers, final norm, RoPE
  int64_t logits = 0;    // [rows, T, V_local] at P
  int64_t logp = 0;      // [rows, T-1, V_local] fp32 (the loss's log-softmax)
  int64_t full = 0;      // [rows, T, V_local] fp32 (released losses' raw-logit terms)
  int64_t head_tmp = 0;  // fp32 temporaries of a published head beside its saved log-probs
  std::string how;
};

PassBytes pass_bytes(const model::LlamaConfig& c, int64_t tp, int64_t rows, int64_t T, int64_t P) {
  const int64_t n = rows * T, H = c.hidden_size, D = c.head_dim_or_default();
  const int64_t heads_l = c.num_attention_heads / tp, f_l = c.intermediate_size / tp;
  const int64_t v_l = ceil_div(c.vocab_size, tp);
  const int64_t norm = (4 + 2 * P) * n * H + 4 * n;
  const int64_t attn = 4 * P * n * heads_l * D;
  const int64_t scores = 4 * rows * heads_l * T;  // the fused kernel's log-sum-exp
  const int64_t mlp = 4 * P * n * f_l;
  PassBytes b;
  b.decoder = c.num_hidden_layers * (2 * norm + attn + scores + mlp) + norm + 2 * P * n * D;
  b.logits = P * n * v_l;
  b.logp = 4 * rows * (T - 1) * v_l;
  b.full = 4 * n * v_l;
  // The fp32 copy log_softmax works on (logits.to(fp32) in bf16, in fp32 the
  // contiguous copy of the shifted, non-contiguous logits); under TP the
  // vocab-parallel log-sum-exp keeps that copy and makes x − max and its exp
  // (tp_cross_entropy.cpp): two temporaries (measured at TP 2).
  b.head_tmp = (tp > 1 ? 2 : 1) * b.logp;
  std::ostringstream s;
  s << c.num_hidden_layers << " layers x (norms " << gib(2 * norm) << " + attention " << gib(attn)
    << " + fused attention " << gib(scores) << " + mlp " << gib(mlp) << ") + final norm, RoPE; "
    << rows << " rows x " << T << " tokens";
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
struct StepPeak {
  int64_t activations = 0, logits = 0;
  std::string where;
};

StepPeak step_peak(const PassBytes& b, unlearn::Objective o, unlearn::LossVariant v) {
  const bool retain = unlearn::objective_uses_retain(o);
  const bool npo = unlearn::objective_uses_ref(o) && o != unlearn::Objective::kGA_KLR;
  const bool klr = o == unlearn::Objective::kGA_KLR || o == unlearn::Objective::kNPO_KLR;
  const bool released = v != unlearn::LossVariant::kPublished;
  const int64_t cast = b.head_tmp;
  // What each head keeps for the backward (fp32 log-probs of the labels;
  // released NPO: log_sigmoid's input and buffer over every entry; KL: the
  // log-probs and exp(ref log-probs); released KL: exp(ref logits)).
  const int64_t f_saved = (npo && released) ? 2 * b.full : b.logp;
  const int64_t r_saved = !retain ? 0 : !klr ? b.logp : released ? b.full : 2 * b.logp;
  StepPeak best;
  auto consider = [&](int64_t act, int64_t lg, const char* where) {
    if (act + lg > best.activations + best.logits) best = {act, lg, where};
  };
  // Forget head; NPO first runs the reference on the forget batch (logits,
  // fp32 cast, log-probs / raw-logit temporaries) next to our logits.
  consider(b.decoder, b.logits + cast + f_saved, "forget loss (forward)");
  if (npo)
    consider(b.decoder, 2 * b.logits + cast + (released ? 3 * b.full : b.logp),
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
  return best;
}

int64_t node_ram_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemTotal:") return kb * 1024;
  return 0;
}

// Ranks sharing this node: the launcher's local size, else all the plan's ranks.
int ranks_on_node(int ranks) {
  for (const char* k : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"}) {
    const char* v = std::getenv(k);
    if (v && std::atoi(v) > 0) return std::atoi(v);
  }
  return std::max(1, ranks);
}

}  // namespace

model::LlamaConfig memory_plan_shape(const RelapseConfig& cfg) {
  // A study planned before its checkpoints are downloaded (configs/
  // muse_news_7b.yaml): without model.path/config.json the preset gives the
  // shape, and the plan says so (memory_plan's `model`).
  if (!cfg.model.path.empty() && fs::exists(cfg.model.path + "/config.json"))
    return model::llama_config_load(cfg.model.path + "/config.json");
  std::string tok = cfg.model.path.empty() ? cfg.model.tokenizer : std::string();
  if (tok.empty() && !cfg.data.corpus.empty()) tok = cfg.data.corpus + "/tokenizer.model";
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

MemoryPlan memory_plan(const RelapseConfig& cfg, int ranks) {
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
  const model::LlamaConfig& c = p.shape;
  const ParamCount pc = param_count(c, p.tp);
  p.params_total = pc.total;
  p.params_per_rank = pc.per_rank;
  const int64_t N = pc.per_rank;
  const int64_t P = dtype_bytes(cfg.unlearn.precision);
  const int64_t Pt = dtype_bytes(cfg.train.stage.precision);
  const UnlearnSection& u = cfg.unlearn;
  // Rows of the largest micro-batch on a rank (loops.cpp: rank_share of the
  // global batch, then of the rank's rows over the micro-batches).
  const int64_t rows = ceil_div(ceil_div(u.batch_size, p.dp), std::max(1, u.micro_batches));
  const int64_t T = cfg.data.max_len;
  const PassBytes pb = pass_bytes(c, p.tp, rows, T, P);
  // The method with the largest step (a reference model and a retain pass cost most).
  std::vector<std::string> methods = u.methods;
  methods.insert(methods.end(), u.sure.methods.begin(), u.sure.methods.end());
  const unlearn::LossVariant variant = unlearn::loss_variant_from_name(u.variant);
  StepPeak peak;
  std::string method;
  bool ref = false;
  int64_t best = -1;
  for (const auto& m : methods) {
    const unlearn::Objective o = unlearn::objective_from_name(m);
    StepPeak s = step_peak(pb, o, variant);
    const int64_t bytes = s.activations + s.logits + (unlearn::objective_uses_ref(o) ? P * N : 0);
    if (bytes > best) {
      best = bytes;
      peak = s;
      method = unlearn::objective_name(o);
      ref = unlearn::objective_uses_ref(o);
    }
  }
  const std::string pn = cfg.unlearn.precision;
  auto params_how = [&](int copies, const std::string& prec) {
    std::ostringstream s;
    s << copies << " x " << N << " params/rank x " << dtype_bytes(prec) << " B (" << prec << ")";
    return s.str();
  };
  p.items.push_back({"weights", P * N, params_how(1, pn)});
  // Gradients coexist with the forward/backward peak only from the second
  // micro-batch on (zero_grad sets them to none); with one micro-batch the
  // larger of the two moments is taken: the activation peak, or the
  // optimizer step (gradients + AdamW's sqrt(v) and its quotient of the
  // largest parameter).
  const int64_t step_phase = P * N + 2 * P * pc.largest;
  const bool grads_at_peak = u.micro_batches > 1;
  const int64_t act_phase = peak.activations + peak.logits + (grads_at_peak ? P * N : 0);
  p.stage = "unlearning step (" + method + ", " + u.variant + ")";
  if (act_phase >= step_phase) {
    p.items.push_back({"gradients", grads_at_peak ? P * N : 0,
                       grads_at_peak ? params_how(1, pn) + " (from micro-batch 2 on)"
                                     : "none yet at the peak (micro_batches 1; " + gib(P * N) +
                                           " once back-propagated)"});
    p.stage += ": " + peak.where;
  } else {
    p.items.push_back({"gradients", P * N, params_how(1, pn)});
    p.stage += ": optimizer step";
  }
  p.items.push_back({"optimizer", 2 * P * N, "AdamW exp_avg + exp_avg_sq: " + params_how(2, pn)});
  p.items.push_back({"reference", ref ? P * N : 0,
                     ref ? "frozen copy for " + method + ": " + params_how(1, pn)
                         : method + " needs no reference model"});
  if (act_phase >= step_phase) {
    const int64_t passes = pb.decoder > 0 ? peak.activations / pb.decoder : 0;
    p.items.push_back({"activations", peak.activations,
                       std::to_string(passes) + " pass(es) x " + gib(pb.decoder) + ": " + pb.how});
    std::ostringstream s;
    s << "logits [" << rows << ", " << T << ", " << ceil_div(c.vocab_size, p.tp) << "] x " << P
      << " B and the loss's fp32 log-probs, at " << peak.where;
    p.items.push_back({"logits", peak.logits, s.str()});
  } else {
    p.items.push_back({"adamw temporaries", 2 * P * pc.largest,
                       "sqrt(v) and its quotient for the largest tensor (" +
                           std::to_string(pc.largest) + " elements)"});
  }
  p.items.push_back({"resident models", 2 * Pt * N,
                     "target + retrain kept by the pipeline for evaluation: " +
                         params_how(2, cfg.train.stage.precision)});
  for (const auto& it : p.items) p.total += it.bytes;
  // Budget: the configured memory, else this node's RAM shared by its ranks.
  if (cfg.parallel.memory_gib > 0) {
    p.budget = static_cast<int64_t>(cfg.parallel.memory_gib * 1024.0 * 1024.0 * 1024.0);
    p.budget_source = "parallel.memory_gib";
  } else if (int64_t ram = node_ram_bytes(); ram > 0) {
    const int local = ranks_on_node(p.ranks);
    p.budget = ram / local;
    p.budget_source =
        "RAM " + gib(ram) + " (/proc/meminfo) / " + std::to_string(local) + " ranks on the node";
  } else {
    p.budget_source = "unknown (set parallel.memory_gib)";
  }
  p.fits = p.budget <= 0 || p.total <= p.budget;
  return p;
}

std::string memory_plan_text(const MemoryPlan& p) {
  std::ostringstream s;
  const model::LlamaConfig& c = p.shape;
  s << "memory plan: " << p.model << " (" << c.num_hidden_layers << " layers, d " << c.hidden_size
    << ", " << c.num_attention_heads << " heads, " << c.num_key_value_heads << " KV heads, ffn "
    << c.intermediate_size << ", vocab " << c.vocab_size << "; " << p.params_total << " params, "
    << p.params_per_rank << " per rank)\n";
  s << "ranks " << p.ranks << " = DP " << p.dp << " x TP " << p.tp << "; peak: " << p.stage << "\n";
  for (const auto& it : p.items) {
    std::string name = it.what;
    name.resize(std::max<size_t>(name.size(), 18), ' ');
    std::string b = gib(it.bytes);
    b.insert(0, b.size() < 11 ? 11 - b.size() : 0, ' ');
    s << "  " << name << b << "  " << it.how << "\n";
  }
  s << "  total per rank    " << gib(p.total) << " of " << (p.budget > 0 ? gib(p.budget) : "?")
    << " (" << p.budget_source << "): " << (p.fits ? "fits" : "DOES NOT FIT") << "\n";
  return s.str();
}

void memory_plan_require_fit(const MemoryPlan& p) {
  if (p.fits) return;
  std::vector<MemoryItem> items = p.items;
  std::sort(items.begin(), items.end(),
            [](const MemoryItem& a, const MemoryItem& b) { return a.bytes > b.bytes; });
  std::string largest;
  for (size_t i = 0; i < std::min<size_t>(3, items.size()); ++i)
    largest += (i ? ", " : "") + items[i].what + " " + gib(items[i].bytes);
  RELAPSE_THROW(ExitCode::kConfig, "memory plan: ", p.model, " needs ", gib(p.total), " per rank (",
                p.stage, ") but has ", gib(p.budget), " (", p.budget_source, ") at DP ", p.dp,
                " x TP ", p.tp, "; largest: ", largest,
                ". Use a larger parallel.tp (or more ranks), fewer rows per micro-batch "
                "(unlearn.micro_batches), or set parallel.memory_gib if the budget is wrong");
}

}  // namespace relapse::pipeline
