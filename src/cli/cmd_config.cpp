// src/cli/cmd_config.cpp — `relapse config`: print the resolved configuration
// (file + --set overrides) as YAML; and the text of `relapse --version`.
#include <iostream>

#include "commands.h"
#include "relapse/core/provenance.h"
#include "relapse/dist/device.h"
#include "relapse/dist/hostnames.h"
#include "relapse/model/cpu_gemm.h"
#include "relapse/pipeline/config.h"

namespace relapse::cli {

namespace {
struct ConfigArgs {
  std::string file;
  std::vector<std::string> sets;
  bool with_help = false;
};
}  // namespace

void cmd_config_register(CLI::App& app, CommandRun& run) {
  auto a = std::make_shared<ConfigArgs>();
  CLI::App* c = app.add_subcommand(
      "config", "Print the resolved configuration (defaults, file, --set) as YAML");
  c->add_option("file", a->file, "YAML config file (optional: defaults only)");
  c->add_option("--set", a->sets, "Override: section.key=value (repeatable; later wins)");
  c->add_flag("--comments", a->with_help, "Annotate every key with its description");
  c->callback([a, &run] {
    run = [a](Runtime& rt) {
      RelapseConfig cfg = config_load(a->file, a->sets);
      if (rt.rank() == 0) std::cout << config_dump(cfg, a->with_help);
      return 0;
    };
  });
}

std::string version_text() {
  Provenance p = provenance_collect(1, {}, "");
  std::string s = "relapse " + p.fields["relapse_version"] + " (git " + p.fields["git_sha"] + ")\n";
  for (const char* k : {"libtorch_version", "mpi_library_version", "hdf5_version", "nccl_version",
                        "cuda", "compiler", "build_type"}) {
    auto it = p.fields.find(k);
    if (it != p.fields.end()) s += std::string("  ") + k + ": " + it->second + "\n";
  }
  // What run.device=auto picks for this process (node-local rank 0's view).
  s += "  device: " + device_describe(device_resolve("auto", 0)) + "\n";
  s += "  cpu bf16 gemm: " + model::cpu_bf16_gemm_describe("auto") + "\n";
  return s;
}

RELAPSE_REGISTER_COMMAND(90, cmd_config_register);

}  // namespace relapse::cli
