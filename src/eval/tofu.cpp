// src/eval/tofu.cpp — TOFU's forget quality and model utility from its
// evaluation logs (see relapse/eval/tofu.h).
#include "relapse/eval/tofu.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/core/fs.h"
#include "relapse/eval/auc.h"

namespace relapse::eval {

namespace {

using json = nlohmann::json;

const char* const kRetain = "eval_log.json";
const char* const kForget = "eval_log_forget.json";
const char* const kAuthors = "eval_real_author_wo_options.json";
const char* const kWorld = "eval_real_world_wo_options.json";

// The task names aggregate_eval_stat.py gives each file.
const std::vector<std::pair<std::string, std::string>>& tofu_tasks() {
  static const std::vector<std::pair<std::string, std::string>> t = {
      {kAuthors, "Real Authors"}, {kWorld, "Real World"}, {kRetain, "Retain"}, {kForget, "Forget"}};
  return t;
}

// {index: value} in the order of the integer indices.
std::vector<std::pair<long, const json*>> by_index(const json& obj, const std::string& where) {
  RELAPSE_CHECK_INPUT(obj.is_object(), where, ": expected an object {index: value}");
  std::vector<std::pair<long, const json*>> out;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    char* end = nullptr;
    const long i = std::strtol(it.key().c_str(), &end, 10);
    RELAPSE_CHECK_INPUT(end && *end == '\0' && !it.key().empty(), where, ": index '", it.key(),
                        "' is not an integer");
    out.emplace_back(i, &it.value());
  }
  std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  return out;
}

std::vector<double> numbers(const json& file, const std::string& key, const std::string& where,
                            size_t expect) {
  RELAPSE_CHECK_INPUT(file.contains(key), where, ": no key '", key, "'");
  std::vector<double> out;
  for (const auto& [i, v] : by_index(file[key], where + " '" + key + "'")) {
    RELAPSE_CHECK_INPUT(v->is_number(), where, " '", key, "' [", i, "]: not a number");
    out.push_back(v->get<double>());
  }
  RELAPSE_CHECK_INPUT(expect == 0 || out.size() == expect, where, " '", key, "': ", out.size(),
                      " samples, expected ", expect);
  return out;
}

TofuSplitLog split_from_json(const json& file, const std::string& where) {
  TofuSplitLog s;
  s.avg_paraphrased_loss = numbers(file, "avg_paraphrased_loss", where, 0);
  const size_t n = s.avg_paraphrased_loss.size();
  s.avg_gt_loss = numbers(file, "avg_gt_loss", where, n);
  s.rougeL_recall = numbers(file, "rougeL_recall", where, n);
  RELAPSE_CHECK_INPUT(file.contains("average_perturb_loss"), where,
                      ": no key 'average_perturb_loss'");
  for (const auto& [i, v] : by_index(file["average_perturb_loss"], where)) {
    RELAPSE_CHECK_INPUT(v->is_array() && !v->empty(), where, " 'average_perturb_loss' [", i,
                        "]: expected a list of losses");
    s.average_perturb_loss.push_back(v->get<std::vector<double>>());
    RELAPSE_CHECK_INPUT(s.average_perturb_loss.back().size() == s.average_perturb_loss[0].size(),
                        where, " 'average_perturb_loss' [", i, "]: ", v->size(),
                        " perturbations, the first sample has ", s.average_perturb_loss[0].size());
  }
  RELAPSE_CHECK_INPUT(s.average_perturb_loss.size() == n, where,
                      " 'average_perturb_loss': ", s.average_perturb_loss.size(),
                      " samples, expected ", n);
  return s;
}

double mean(const std::vector<double>& v) {
  return np_mean(v.data(), v.size());
}

const TofuSplitLog& split(const TofuEvalLog& log, const std::string& name) {
  auto it = log.find(name);
  RELAPSE_CHECK_INPUT(it != log.end(), "TOFU log: no '", name, "'");
  return it->second;
}

}  // namespace

TofuEvalLog tofu_eval_log_read(const std::string& path) {
  TofuEvalLog log;
  const bool dir = std::filesystem::is_directory(path);
  json agg;
  if (!dir) {
    const std::string text = fs_read_file(path);
    try {
      agg = json::parse(text);
    } catch (const json::exception& e) {
      RELAPSE_CHECK_INPUT(false, path, ": not JSON (", e.what(), ")");
    }
  }
  for (const auto& [file, task] : tofu_tasks()) {
    const std::string where = dir ? path + "/" + file : path + " '" + file + "'";
    if (dir) {
      try {
        log[file] = split_from_json(json::parse(fs_read_file(path + "/" + file)), where);
      } catch (const json::exception& e) {
        RELAPSE_CHECK_INPUT(false, where, ": not JSON (", e.what(), ")");
      }
    } else {
      RELAPSE_CHECK_INPUT(agg.contains(file), path, ": no '", file, "' (TOFU's aggregated log)");
      log[file] = split_from_json(agg[file], where);
    }
  }
  return log;
}

std::vector<double> tofu_truth_ratios(const TofuSplitLog& s) {
  std::vector<double> r;
  for (size_t i = 0; i < s.avg_paraphrased_loss.size(); ++i)
    r.push_back(std::exp(mean(s.average_perturb_loss[i]) - s.avg_paraphrased_loss[i]));
  return r;
}

KsResult tofu_forget_quality(const TofuEvalLog& model, const TofuEvalLog& retain) {
  return ks_2samp(tofu_truth_ratios(split(model, kForget)),
                  tofu_truth_ratios(split(retain, kForget)));
}

TofuUtility tofu_model_utility(const TofuEvalLog& model) {
  TofuUtility u;
  std::vector<double> cands;
  for (const auto& [file, task] : tofu_tasks()) {
    const TofuSplitLog& s = split(model, file);
    std::vector<double> prob;
    for (size_t i = 0; i < s.avg_gt_loss.size(); ++i) {
      const double p_true = std::exp(-s.avg_gt_loss[i]);
      if (file == kRetain || file == kForget) {
        prob.push_back(p_true);
        continue;
      }
      double all = p_true;
      for (double l : s.average_perturb_loss[i]) all += std::exp(-l);
      prob.push_back(p_true / all);
    }
    std::vector<double> tr;
    for (double r : tofu_truth_ratios(s))
      tr.push_back(file == kForget ? std::min(r, 1 / r) : std::max(0.0, 1 - 1 / r));
    const double parts[3] = {mean(prob), mean(s.rougeL_recall), mean(tr)};
    const char* names[3] = {"Prob. ", "ROUGE ", "Truth Ratio "};
    for (int k = 0; k < 3; ++k) {
      u.parts[names[k] + task] = parts[k];
      if (file != kForget) cands.push_back(parts[k]);
    }
  }
  // scipy.stats.hmean: n / Σ 1/x (0 when a part is 0).
  double inv = 0;
  bool zero = false;
  for (double c : cands) {
    if (c == 0) zero = true;
    inv += 1 / c;
  }
  u.model_utility = zero ? 0.0 : static_cast<double>(cands.size()) / inv;
  return u;
}

}  // namespace relapse::eval
