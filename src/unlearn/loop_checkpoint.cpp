// src/unlearn/loop_checkpoint.cpp — save and restore the training loops'
// state (relapse/unlearn/loop_checkpoint.h).
#include "relapse/unlearn/loop_checkpoint.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/core/fs.h"
#include "relapse/core/host_read.h"
#include "relapse/dist/communicator.h"
#include "relapse/model/safetensors.h"

namespace relapse::unlearn {

namespace fs = std::filesystem;

namespace {

constexpr int kFormat = 1;

struct Ranks {
  int dp = 0, dp_size = 1, tp = 0, tp_size = 1;
  bool world_root() const { return dp == 0 && tp == 0; }
};

Ranks ranks_of(model::LlamaForCausalLM& m, Communicator* dp) {
  Ranks r;
  if (dp) r = {dp->rank(), dp->size(), 0, 1};
  r.tp = m->tp().rank;
  r.tp_size = m->tp().size;
  return r;
}

// Every rank of the DP × TP grid has arrived (dp then tp: see loops.h).
void grid_barrier(model::LlamaForCausalLM& m, Communicator* dp) {
  if (dp && dp->size() > 1) dp->barrier();
  if (m->tp().size > 1) m->tp().comm->barrier();
}

// Whether every rank of the grid says yes (a failed save or load on one rank
// must not leave the others waiting in a later collective).
bool grid_all(model::LlamaForCausalLM& m, Communicator* dp, bool ok) {
  return !loop_grid_any(m, dp, !ok);
}

std::string rank_file(const std::string& dir, int dp, int tp) {
  return dir + "/rank-dp" + std::to_string(dp) + "-tp" + std::to_string(tp) + ".safetensors";
}

// Names of the trainable parameters, in Trainer order (trainable_parameters).
std::vector<std::string> trainable_names(model::LlamaForCausalLM& m, size_t expected) {
  std::vector<std::string> names;
  for (const auto& kv : m->named_parameters())
    if (kv.value().requires_grad()) names.push_back(kv.key());
  RELAPSE_CHECK(names.size() == expected, "loop checkpoint: ", names.size(),
                " trainable parameters, the trainer has ", expected);
  return names;
}

model::NamedTensors rank_tensors(const Trainer& t, model::LlamaForCausalLM& m, bool with_weights) {
  const auto& curve = t.curve();
  const int64_t n = static_cast<int64_t>(curve.size());
  torch::Tensor c = torch::empty({n, 6}, torch::kFloat64);
  torch::Tensor tokens = torch::empty({n}, torch::kInt64);
  for (int64_t i = 0; i < n; ++i) {
    const StepStats& s = curve[static_cast<size_t>(i)];
    const double row[6] = {
        static_cast<double>(s.step), s.lr, s.loss, s.forget_term, s.retain_term, s.grad_norm};
    for (int j = 0; j < 6; ++j) c[i][j] = row[j];
    tokens[i] = s.tokens;
  }
  const AdamW& opt = t.optimizer();
  const size_t np = opt.params().size();
  torch::Tensor steps = torch::empty({static_cast<int64_t>(np)}, torch::kInt64);
  for (size_t i = 0; i < np; ++i) steps[static_cast<int64_t>(i)] = opt.steps(i);
  model::NamedTensors out{{"curve", c}, {"tokens", tokens}, {"adam_steps", steps}};
  const std::vector<std::string> names = trainable_names(m, np);
  for (size_t i = 0; i < np; ++i) {
    if (with_weights) out.push_back({"param." + names[i], host_copy(opt.params()[i].detach())});
    // Moments (and fp32 master weights): each owner its own under ZeRO-1,
    // else DP rank 0 all of them.
    if (opt.owns(i) && (with_weights || opt.sharded())) {
      out.push_back({"exp_avg." + names[i], host_copy(opt.exp_avg(i))});
      out.push_back({"exp_avg_sq." + names[i], host_copy(opt.exp_avg_sq(i))});
      if (opt.master(i).defined()) out.push_back({"master." + names[i], host_copy(opt.master(i))});
    }
  }
  return out;
}

std::vector<StepStats> curve_from(const model::SafetensorsFile& f) {
  torch::Tensor c = f.read("curve"), tokens = f.read("tokens");
  std::vector<StepStats> curve(static_cast<size_t>(c.size(0)));
  for (int64_t i = 0; i < c.size(0); ++i) {
    StepStats& s = curve[static_cast<size_t>(i)];
    s.step = static_cast<int64_t>(c[i][0].item<double>());
    s.lr = c[i][1].item<double>();
    s.loss = c[i][2].item<double>();
    s.forget_term = c[i][3].item<double>();
    s.retain_term = c[i][4].item<double>();
    s.grad_norm = c[i][5].item<double>();
    s.tokens = tokens[i].item<int64_t>();
  }
  return curve;
}

nlohmann::json read_state(const std::string& dir) {
  const std::string text = fs_read_file(dir + "/state.json", "loop checkpoint state");
  try {
    return nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    RELAPSE_THROW(ExitCode::kInput, "loop checkpoint ", dir, "/state.json is damaged (", e.what(),
                  "): delete ", dir, " to start the stage over");
  }
}

}  // namespace

bool loop_grid_any(model::LlamaForCausalLM& m, Communicator* dp, bool mine) {
  torch::Tensor t = torch::tensor({mine ? 1 : 0}, torch::kInt32);
  if (dp && dp->size() > 1) dp->all_reduce(t, ReduceOp::kMax);
  if (m->tp().size > 1) m->tp().comm->all_reduce(t, ReduceOp::kMax);
  return t.item<int32_t>() != 0;
}

void loop_checkpoint_save(const LoopCheckpointOptions& o, const LoopPosition& pos, const Trainer& t,
                          model::LlamaForCausalLM& m, Communicator* dp) {
  const Ranks r = ranks_of(m, dp);
  const std::string tmp = o.dir + ".tmp";
  if (r.world_root()) {
    fs::remove_all(tmp);
    fs::create_directories(tmp);
  }
  grid_barrier(m, dp);
  std::string failed;
  try {
    model::safetensors_write(rank_file(tmp, r.dp, r.tp), rank_tensors(t, m, r.dp == 0));
    if (r.world_root()) {
      nlohmann::json j = {{"format", kFormat},  {"key", o.key},
                          {"steps", pos.steps}, {"epoch", pos.epoch},
                          {"batch", pos.batch}, {"dp", r.dp_size},
                          {"tp", r.tp_size},    {"params", t.optimizer().params().size()}};
      fs_write_file_atomic(tmp + "/state.json", j.dump(2) + "\n");
    }
  } catch (const std::exception& e) {
    failed = e.what();
  }
  RELAPSE_CHECK_CODE(ExitCode::kInput, grid_all(m, dp, failed.empty()), "loop checkpoint: writing ",
                     tmp, " failed on a rank", failed.empty() ? "" : ": ", failed);
  if (r.world_root()) fs_commit_dir(tmp, o.dir);
  grid_barrier(m, dp);
}

bool loop_checkpoint_load(const LoopCheckpointOptions& o, Trainer& t, model::LlamaForCausalLM& m,
                          Communicator* dp, LoopPosition* pos) {
  if (o.dir.empty() || !fs::exists(o.dir + "/state.json")) return false;
  const nlohmann::json j = read_state(o.dir);
  if (j.value("key", "") != o.key || j.value("format", 0) != kFormat) return false;
  const Ranks r = ranks_of(m, dp);
  RELAPSE_CHECK_CODE(ExitCode::kInput,
                     j.value("dp", 0) == r.dp_size && j.value("tp", 0) == r.tp_size,
                     "loop checkpoint ", o.dir, " was written by DP ", j.value("dp", 0), " x TP ",
                     j.value("tp", 0), " ranks, this run has DP ", r.dp_size, " x TP ", r.tp_size,
                     ": rerun with that layout to resume, or delete ", o.dir, " to start over");
  AdamW& opt = t.optimizer();
  const size_t np = opt.params().size();
  RELAPSE_CHECK_CODE(ExitCode::kInput, j.value("params", size_t{0}) == np, "loop checkpoint ",
                     o.dir, " holds ", j.value("params", 0), " parameters, the model has ", np);
  const std::vector<std::string> names = trainable_names(m, np);
  model::SafetensorsFile mine(rank_file(o.dir, r.dp, r.tp));
  model::SafetensorsFile weights(rank_file(o.dir, 0, r.tp));
  torch::Tensor steps = mine.read("adam_steps");
  RELAPSE_CHECK_CODE(ExitCode::kInput, steps.numel() == static_cast<int64_t>(np), mine.path(),
                     ": adam_steps has ", steps.numel(), " entries, expected ", np);
  {
    torch::NoGradGuard ng;
    for (size_t i = 0; i < np; ++i) {
      torch::Tensor p = opt.params()[i];
      torch::Tensor w = weights.read("param." + names[i]);
      RELAPSE_CHECK_CODE(ExitCode::kInput, w.sizes() == p.sizes() && w.dtype() == p.dtype(),
                         weights.path(), ": tensor param.", names[i], " has shape ", w.sizes(), " ",
                         w.dtype(), ", the model's is ", p.sizes(), " ", p.dtype());
      p.copy_(w);
      const int64_t k = steps[static_cast<int64_t>(i)].item<int64_t>();
      if (!opt.owns(i)) {
        opt.restore(i, {}, {}, k);
        continue;
      }
      // Written by this rank (ZeRO-1) or by DP rank 0 (replicated AdamW).
      const std::string ea = "exp_avg." + names[i], eq = "exp_avg_sq." + names[i];
      const model::SafetensorsFile& src = mine.contains(ea) ? mine : weights;
      const std::string mw = "master." + names[i];
      RELAPSE_CHECK_CODE(ExitCode::kInput, !opt.master(i).defined() || src.contains(mw), src.path(),
                         ": no tensor ", mw, " (written without master weights?)");
      opt.restore(i, src.read(ea), src.read(eq), k,
                  opt.master(i).defined() ? src.read(mw) : torch::Tensor());
    }
  }
  t.restore_curve(curve_from(mine));
  pos->steps = j.at("steps").get<int64_t>();
  pos->epoch = j.at("epoch").get<int64_t>();
  pos->batch = j.at("batch").get<int64_t>();
  RELAPSE_CHECK_CODE(ExitCode::kInput, t.updates() == pos->steps, mine.path(), ": the curve has ",
                     t.updates(), " updates, state.json says ", pos->steps);
  return true;
}

void loop_checkpoint_remove(const LoopCheckpointOptions& o, model::LlamaForCausalLM& m,
                            Communicator* dp) {
  if (o.dir.empty()) return;
  grid_barrier(m, dp);
  if (ranks_of(m, dp).world_root()) fs::remove_all(o.dir);
}

}  // namespace relapse::unlearn
