// src/cli/cmd_tofu.cpp — `relapse tofu-stats MODEL_LOG RETAIN_LOG`: TOFU's
// forget quality and model utility from TOFU's own evaluation logs (its
// eval_log_aggregated.json, or a directory with its four eval_*.json files),
// printed as the CSV row TOFU's aggregate_eval_stat.py writes (same column
// names and order; relapse/eval/tofu.h). Serial: rank 0 prints; every rank
// reads the logs, so a bad file fails on every rank with its name.
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "relapse/eval/tofu.h"

namespace relapse::cli {

namespace {
struct TofuArgs {
  std::string model, retain, method;
};

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}
}  // namespace

void cmd_tofu_register(CLI::App& app, CommandRun& run) {
  auto a = std::make_shared<TofuArgs>();
  CLI::App* c = app.add_subcommand(
      "tofu-stats",
      "TOFU's forget quality (KS-test p-value of truth ratios against the retain model) and "
      "model utility from TOFU's evaluation logs, as its aggregate_eval_stat.py computes them");
  c->add_option("model_log", a->model, "the unlearned model's eval_log_aggregated.json (or dir)")
      ->required();
  c->add_option("retain_log", a->retain, "the retain model's eval_log_aggregated.json (or dir)")
      ->required();
  c->add_option("--method", a->method, "the Method column")->capture_default_str();
  c->callback([a, &run] {
    run = [a](Runtime& rt) {
      const eval::TofuEvalLog model = eval::tofu_eval_log_read(a->model);
      const eval::TofuEvalLog retain = eval::tofu_eval_log_read(a->retain);
      const eval::TofuUtility u = eval::tofu_model_utility(model);
      const eval::KsResult fq = eval::tofu_forget_quality(model, retain);
      if (rt.rank() != 0) return 0;
      std::string head, row;
      char buf[64];
      auto add = [&](const std::string& name, const std::string& value) {
        head += (head.empty() ? "" : ",") + csv_field(name);
        row += (row.empty() ? "" : ",") + csv_field(value);
      };
      auto num = [&](double v) {
        std::snprintf(buf, sizeof buf, "%.17g", v);
        return std::string(buf);
      };
      for (const char* task : {"Real Authors", "Real World", "Retain", "Forget"})
        for (const char* metric : {"ROUGE", "Prob.", "Truth Ratio"})
          add(std::string(metric) + " " + task, num(u.parts.at(std::string(metric) + " " + task)));
      add("Model Utility", num(u.model_utility));
      add("Forget Quality", num(fq.pvalue));
      add("KS Test Forget", num(fq.statistic));
      add("Method", a->method);
      std::cout << head << "\n" << row << "\n";
      return 0;
    };
  });
}

RELAPSE_REGISTER_COMMAND(35, cmd_tofu_register);

}  // namespace relapse::cli
