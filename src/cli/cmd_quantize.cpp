// src/cli/cmd_quantize.cpp — `relapse quantize`: RTN-quantize an HF model
// directory's decoder linear layers and write the dequantized model as an HF
// directory, plus OUT/quant_codes.h5 with every quantized weight's integer
// codes, scales and zero points (layout in relapse/quant/quant_h5.h under the
// group /rtn, the run's provenance under /provenance).
#include <fstream>

#include "cli_util.h"
#include "commands.h"
#include "relapse/archive/h5.h"
#include "relapse/core/log.h"
#include "relapse/core/provenance.h"
#include "relapse/dist/hostnames.h"
#include "relapse/model/hf_checkpoint.h"
#include "relapse/quant/quant_h5.h"
#include "relapse/quant/quantize_model.h"

namespace relapse::cli {

namespace {
struct QuantizeArgs {
  std::string model, out, scheme = "rtn_sym", dtype, tokenizer;
  int bits = 4;
  int64_t group_size = 128;
  std::vector<std::string> modules = quant::rtn_linear_kinds();
  bool no_codes = false;
  double max_shard_mb = 5 * 1024;
};

int quantize_run(const QuantizeArgs& a, Runtime& rt) {
  quant::RtnConfig c;
  c.scheme = quant::rtn_scheme_from_name(a.scheme);
  c.bits = a.bits;
  c.group_size = a.group_size;
  c.modules = a.modules;
  quant::rtn_config_validate(c);

  model::HfLoadOptions lo;
  lo.dtype = a.dtype;
  auto m = model::hf_load(a.model, lo);
  auto layers = quant::quantize_model(m, c, /*keep_codes=*/!a.no_codes);
  log_info("quantized ", layers.size(), " weights of ", a.model, " with ", a.scheme, " ", a.bits,
           "-bit, group ", a.group_size);
  std::vector<std::string> hosts = runtime_gather_hostnames();
  if (rt.rank() != 0) return 0;  // rank 0 writes

  std::string tok = a.tokenizer;
  if (tok.empty() && std::ifstream(a.model + "/tokenizer.model").good())
    tok = a.model + "/tokenizer.model";
  model::hf_save(m, a.out, tok, static_cast<uint64_t>(a.max_shard_mb * 1024 * 1024));
  if (!a.no_codes) {
    Provenance prov = provenance_collect(rt.world_size(), hosts, cli_command_line());
    auto f = archive::H5File::create(a.out + "/quant_codes.h5");
    auto pg = f.root().group("provenance");
    for (const auto& kv : prov.fields) pg.set_attr(kv.first, kv.second);
    auto g = f.root().group("rtn");
    g.set_attr("model", a.model);
    g.set_attr("dtype", model::dtype_name(m->dtype()));
    quant::quant_write_codes(g, layers, c);
    f.commit();
  }
  log_info("wrote ", a.out, a.no_codes ? "" : " (with quant_codes.h5)");
  return 0;
}
}  // namespace

void cmd_quantize_register(CLI::App& app, CommandRun& run) {
  auto a = std::make_shared<QuantizeArgs>();
  CLI::App* c = app.add_subcommand(
      "quantize", "RTN-quantize a Hugging Face model directory (dequantized weights + codes)");
  c->add_option("--model", a->model, "Input Hugging Face model directory")->required();
  c->add_option("--out", a->out, "Output model directory (replaced atomically)")->required();
  c->add_option("--scheme", a->scheme,
                "rtn_sym (the paper's absmax, literal) | rtn_sym_clamp (signed N-bit range) | "
                "rtn_asym (AutoGPTQ min/max with zero point)")
      ->capture_default_str();
  c->add_option("--bits", a->bits, "8, 4, 3 or 2")->capture_default_str();
  c->add_option("--group-size", a->group_size,
                "Group size along the input dimension; -1 = one group per output row")
      ->capture_default_str();
  c->add_option("--modules", a->modules,
                "Module kinds to quantize (q_proj k_proj v_proj o_proj gate_proj up_proj "
                "down_proj embed_tokens lm_head)")
      ->capture_default_str();
  c->add_option("--dtype", a->dtype, "float32|bfloat16|float16 (default: the checkpoint's)");
  c->add_option("--tokenizer", a->tokenizer,
                "tokenizer.model to copy (default: MODEL/tokenizer.model if present)");
  c->add_flag("--no-codes", a->no_codes, "Do not write quant_codes.h5");
  c->add_option("--max-shard-mb", a->max_shard_mb, "Shard size limit in MiB")
      ->check(CLI::PositiveNumber);
  c->callback([a, &run] { run = [a](Runtime& rt) { return quantize_run(*a, rt); }; });
}

RELAPSE_REGISTER_COMMAND(55, cmd_quantize_register);

}  // namespace relapse::cli
