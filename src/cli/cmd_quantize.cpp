// src/cli/cmd_quantize.cpp — `relapse quantize`: quantize a Hugging Face
// model directory with RTN, GPTQ, AWQ or a bitsandbytes emulation and write
//  - the dequantized model as an HF directory (default), or with
//    `--export gptq` the GPTQ checkpoint layout (qweight/qzeros/scales/g_idx,
//    quantize_config.json) that AutoGPTQ / optimum load;
//  - OUT/quant_codes.h5: every quantized weight's integer codes, scales, zero
//    points (layout in relapse/quant/quant_h5.h under /<method>), the
//    calibration windows' origin and the run's provenance.
// Under mpirun the ranks share the work (GPTQ/AWQ: calibration samples and
// solves); rank 0 writes.
#include <fstream>
#include <sstream>

#include "cli_util.h"
#include "commands.h"
#include "relapse/archive/h5.h"
#include "relapse/archive/h5_provenance.h"
#include "relapse/core/fs.h"
#include "relapse/core/log.h"
#include "relapse/core/provenance.h"
#include "relapse/data/muse.h"
#include "relapse/dist/communicator.h"
#include "relapse/dist/device.h"
#include "relapse/dist/hostnames.h"
#include "relapse/model/cpu_gemm.h"
#include "relapse/model/hf_checkpoint.h"
#include "relapse/model/tokenizer.h"
#include "relapse/quant/calibration.h"
#include "relapse/quant/gptq_export.h"
#include "relapse/quant/quant_h5.h"
#include "relapse/quant/quant_spec.h"

namespace relapse::cli {

namespace {
struct QuantizeArgs {
  std::string model, out, method = "rtn", scheme = "rtn_sym", dtype, tokenizer, exporter;
  std::string device = "auto";  // run.device's values
  int bits = 4;
  int64_t group_size = 128;
  std::vector<std::string> modules = quant::rtn_linear_kinds();
  bool no_codes = false;
  double max_shard_mb = 5 * 1024;
  // GPTQ / AWQ / bitsandbytes settings, as in the config's quantize: section.
  GptqSection gptq;
  AwqSection awq;
  BnbSection bnb;
  std::string calib_text, calib_corpus, calib_split = "retain";
  int n_samples = 128, seq_len = 512;
  int64_t seed = 0;
};

QuantizeSection section_of(const QuantizeArgs& a) {
  QuantizeSection q;
  q.modules = a.modules;
  q.bits.clear();
  if (a.method == "rtn") {
    q.scheme = a.scheme;
    q.bits = {a.bits};
    q.group_size = static_cast<int>(a.group_size);
  } else if (a.method == "gptq") {
    q.gptq = a.gptq;
    q.gptq.bits = {a.bits};
    q.gptq.group_size = static_cast<int>(a.group_size);
  } else if (a.method == "awq") {
    q.awq = a.awq;
    q.awq.bits = {a.bits};
    q.awq.group_size = static_cast<int>(a.group_size);
  } else {
    q.bnb = a.bnb;
    q.bnb.formats = {a.method};
  }
  return q;
}

torch::Tensor calibration_of(const QuantizeArgs& a, const std::string& tok_path) {
  std::string text, what;
  if (!a.calib_text.empty()) {
    text = fs_read_file(a.calib_text, "--calib-text");
    what = "'" + a.calib_text + "'";
  } else {
    RELAPSE_CHECK_CONFIG(!a.calib_corpus.empty(), "--method ", a.method,
                         " needs calibration text: --calib-text FILE or "
                         "--calib-corpus MUSE_DIR [--calib-split retain]");
    data::MuseCorpus c = data::muse_load(a.calib_corpus);
    const std::string& s = a.calib_split;
    if (s == "forget")
      text = c.forget.text;
    else if (s == "retain")
      text = c.retain1.text;
    else if (s == "retain2")
      text = c.retain2.text;
    else if (s == "holdout")
      text = c.holdout.text;
    else
      RELAPSE_THROW(ExitCode::kConfig,
                    "--calib-split must be forget, retain, retain2 or "
                    "holdout, got '",
                    s, "'");
    what = "split " + s + " of " + a.calib_corpus;
  }
  model::Tokenizer tok(tok_path);
  return quant::calibration_windows(tok.encode(text, true), a.n_samples, a.seq_len,
                                    static_cast<uint64_t>(a.seed), what);
}

int quantize_run(const QuantizeArgs& a, Runtime& rt) {
  std::vector<quant::QuantSpec> specs = quant::quant_specs(section_of(a));
  const quant::QuantSpec& spec = specs.at(0);
  const std::string tok = a.tokenizer.empty() ? model::tokenizer_file_in(a.model) : a.tokenizer;
  torch::Tensor calib;
  if (spec.needs_calibration()) {
    RELAPSE_CHECK_INPUT(!tok.empty(), "--method ", a.method,
                        " tokenizes its calibration text: ", a.model,
                        " has no tokenizer.model or tokenizer.json (pass --tokenizer)");
    calib = calibration_of(a, tok);
  }
  const bool gptq_export = a.exporter == "gptq";
  RELAPSE_CHECK_CONFIG(a.exporter.empty() || gptq_export, "--export must be gptq, got '",
                       a.exporter, "'");

  model::HfLoadOptions lo;
  lo.dtype = a.dtype;
  lo.device = device_resolve(a.device, device_world_local_rank(), "--device");
  auto m = model::hf_load(a.model, lo);
  if (!tok.empty())
    model::tokenizer_check_fits(model::Tokenizer(tok), m->config().vocab_size, a.model);
  std::unique_ptr<Communicator> comm;
  // The ranks sharing the work talk over the communicator of the model's device.
  if (rt.world_size() > 1)
    comm = lo.device.is_cuda() ? comm_nccl_create(rt.world()) : comm_mpi_create(rt.world());
  auto layers = quant::quant_apply(m, spec, calib, comm.get(), !a.no_codes || gptq_export);
  log_info("quantized ", layers.size(), " weights of ", a.model, " with ", spec.label,
           spec.method == quant::QuantMethod::kRtn ? " (" + a.scheme + ")" : std::string(),
           ", group ", spec.group_size);
  std::vector<std::string> hosts = runtime_gather_hostnames();
  if (rt.rank() != 0) return 0;  // rank 0 writes

  if (gptq_export) {
    quant::GptqExportInfo info;
    info.bits = spec.bits;
    info.group_size = spec.group_size;
    info.sym = spec.method == quant::QuantMethod::kGptq ? spec.gptq.c.sym : false;
    info.desc_act = spec.method == quant::QuantMethod::kGptq && spec.gptq.c.desc_act;
    info.damp_percent = spec.gptq.c.damp_percent;
    quant::quant_export_gptq(m, layers, info, a.out, tok);
  } else {
    model::hf_save(m, a.out, tok, static_cast<uint64_t>(a.max_shard_mb * 1024 * 1024));
  }
  if (!a.no_codes) {
    Provenance prov = provenance_collect(rt.world_size(), hosts, cli_command_line());
    if (!lo.device.is_cuda())  // how its bf16 GEMMs ran (model/cpu_gemm.h)
      prov.fields["cpu_bf16_gemm"] = model::cpu_bf16_gemm_describe("auto");
    auto f = archive::H5File::create(a.out + "/quant_codes.h5");
    archive::h5_write_provenance(f.root(), prov);
    auto g = f.root().group(a.method);
    g.set_attr("model", a.model);
    g.set_attr("dtype", model::dtype_name(m->dtype()));
    g.set_attr("label", spec.label);
    if (calib.defined()) {
      g.set_attr("calibration",
                 a.calib_text.empty() ? a.calib_corpus + ":" + a.calib_split : a.calib_text);
      g.set_attr("calibration_n_samples", static_cast<int64_t>(a.n_samples));
      g.set_attr("calibration_seq_len", static_cast<int64_t>(a.seq_len));
      g.set_attr("calibration_seed", a.seed);
    }
    quant::quant_write_codes(g, layers, spec.scheme, spec.bits, spec.group_size, a.modules);
    f.commit();
  }
  log_info("wrote ", a.out, gptq_export ? " (GPTQ layout)" : "",
           a.no_codes ? "" : " (with quant_codes.h5)");
  return 0;
}
}  // namespace

void cmd_quantize_register(CLI::App& app, CommandRun& run) {
  auto a = std::make_shared<QuantizeArgs>();
  CLI::App* c = app.add_subcommand(
      "quantize",
      "Quantize a Hugging Face model directory (RTN, GPTQ, AWQ, bitsandbytes FP4/NF4/LLM.int8)");
  c->add_option("--model", a->model, "Input Hugging Face model directory")->required();
  c->add_option("--out", a->out, "Output model directory (replaced atomically)")->required();
  c->add_option("--method", a->method, "rtn | gptq | awq | fp4 | nf4 | llm_int8")
      ->check(CLI::IsMember({"rtn", "gptq", "awq", "fp4", "nf4", "llm_int8"}))
      ->capture_default_str();
  c->add_option("--scheme", a->scheme,
                "RTN: rtn_sym (the paper's absmax, literal) | rtn_sym_clamp (signed N-bit range) "
                "| rtn_asym (AutoGPTQ min/max with zero point)")
      ->capture_default_str();
  c->add_option("--bits", a->bits, "8, 4, 3 or 2 (rtn, gptq, awq)")->capture_default_str();
  c->add_option("--group-size", a->group_size,
                "Group size along the input dimension; -1 = one group per output row")
      ->capture_default_str();
  c->add_option("--modules", a->modules,
                "Module kinds to quantize (q_proj k_proj v_proj o_proj gate_proj up_proj "
                "down_proj; rtn also embed_tokens lm_head)")
      ->capture_default_str();
  c->add_flag(
      "--asym", [a](int64_t) { a->gptq.sym = false; }, "GPTQ: asymmetric (zero point)");
  c->add_flag("--desc-act", a->gptq.desc_act, "GPTQ: act-order");
  c->add_option("--damp-percent", a->gptq.damp_percent, "GPTQ dampening")->capture_default_str();
  c->add_flag(
      "--no-clip", [a](int64_t) { a->awq.clip = false; }, "AWQ: skip the clip search");
  c->add_flag("--double-quant", a->bnb.double_quant, "FP4/NF4: quantize the absmax too");
  c->add_option("--llm-int8-threshold", a->bnb.llm_int8_threshold, "LLM.int8 outlier threshold")
      ->capture_default_str();
  c->add_option("--calib-text", a->calib_text, "GPTQ/AWQ calibration text file");
  c->add_option("--calib-corpus", a->calib_corpus, "GPTQ/AWQ calibration: a MUSE corpus directory");
  c->add_option("--calib-split", a->calib_split, "forget | retain | retain2 | holdout")
      ->capture_default_str();
  c->add_option("--n-samples", a->n_samples, "calibration windows")->capture_default_str();
  c->add_option("--seq-len", a->seq_len, "tokens per calibration window")->capture_default_str();
  c->add_option("--seed", a->seed, "seed of the windows' offsets")->capture_default_str();
  c->add_option("--export", a->exporter,
                "gptq: write the GPTQ checkpoint layout instead of dequantized weights "
                "(gptq, awq, rtn_asym, rtn_sym_clamp)");
  c->add_option("--dtype", a->dtype, "float32|bfloat16|float16 (default: the checkpoint's)");
  c->add_option("--device", a->device, "auto|cpu|cuda: where the model runs (as run.device)")
      ->check(CLI::IsMember(device_setting_names()));
  c->add_option("--tokenizer", a->tokenizer,
                "tokenizer.model or tokenizer.json to copy and to tokenize calibration text "
                "with (default: MODEL's, if present)");
  c->add_flag("--no-codes", a->no_codes, "Do not write quant_codes.h5");
  c->add_option("--max-shard-mb", a->max_shard_mb, "Shard size limit in MiB")
      ->check(CLI::PositiveNumber);
  c->callback([a, &run] { run = [a](Runtime& rt) { return quantize_run(*a, rt); }; });
}

RELAPSE_REGISTER_COMMAND(55, cmd_quantize_register);

}  // namespace relapse::cli
