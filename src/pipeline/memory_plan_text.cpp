// src/pipeline/memory_plan_text.cpp — the memory plan's table per stage, a
// stage's entry by name, and the refusal naming the stages that run and do
// not fit (relapse/pipeline/memory_plan.h).
#include <algorithm>
#include <sstream>

#include "memory_plan_internal.h"
#include "relapse/core/error.h"

namespace relapse::pipeline {

using plan_detail::gib;

std::string memory_plan_text(const MemoryPlan& p) {
  std::ostringstream s;
  const model::LlamaConfig& c = p.shape;
  s << "memory plan: " << p.model << " (" << c.num_hidden_layers << " layers, d " << c.hidden_size
    << ", " << c.num_attention_heads << " heads, " << c.num_key_value_heads << " KV heads, ffn "
    << c.intermediate_size << ", vocab " << c.vocab_size << "; " << p.params_total << " params, "
    << p.params_per_rank << " per rank)\n";
  s << "ranks " << p.ranks << " = DP " << p.dp << " x TP " << p.tp << "; budget per rank "
    << (p.budget > 0 ? gib(p.budget) : "?") << " (" << p.budget_source << ")\n";
  for (size_t i = 0; i < p.stages.size(); ++i) {
    const StagePlan& st = p.stages[i];
    s << "\n[" << st.name << "] " << st.moment;
    if (static_cast<int>(i) == p.peak) s << "  <- peak";
    s << "\n";
    for (const auto& it : st.items) {
      std::string name = it.what;
      name.resize(std::max<size_t>(name.size(), 22), ' ');
      std::string b = gib(it.bytes);
      b.insert(0, b.size() < 11 ? 11 - b.size() : 0, ' ');
      s << "  " << name << b << "  " << it.how << "\n";
    }
    s << "  total per rank        " << gib(st.total) << ": "
      << (!st.runs  ? "not run (" + st.why_not + ")"
          : st.fits ? std::string("fits")
                    : std::string("DOES NOT FIT"))
      << "\n";
  }
  s << "\npeak: "
    << (p.peak >= 0 ? p.stages[p.peak].name + ", " + gib(p.total) : std::string("no stage runs"))
    << " of " << (p.budget > 0 ? gib(p.budget) : "?")
    << " per rank: " << (p.fits ? "fits" : "DOES NOT FIT") << "\n";
  return s.str();
}

void memory_plan_require_fit(const MemoryPlan& p) {
  if (p.fits) return;
  std::string msg;
  for (const StagePlan& st : p.stages) {
    if (!st.runs || st.fits) continue;
    std::vector<MemoryItem> items = st.items;
    std::sort(items.begin(), items.end(),
              [](const MemoryItem& a, const MemoryItem& b) { return a.bytes > b.bytes; });
    std::string largest;
    for (size_t i = 0; i < std::min<size_t>(3, items.size()); ++i)
      largest += (i ? ", " : "") + items[i].what + " " + gib(items[i].bytes);
    msg += (msg.empty() ? "" : "; ") + std::string("stage ") + st.name + " needs " + gib(st.total) +
           " per rank (" + st.moment + "; largest: " + largest + ")";
  }
  RELAPSE_THROW(ExitCode::kConfig, "memory plan: ", p.model, ": ", msg, " but has ", gib(p.budget),
                " (", p.budget_source, ") at DP ", p.dp, " x TP ", p.tp,
                ". Use a larger parallel.tp (or more ranks), fewer rows per micro-batch "
                "(unlearn.micro_batches), parallel.activation_checkpointing, fewer calibration "
                "samples or a smaller eval.batch_size, or set parallel.memory_gib if the budget "
                "is wrong");
}

const StagePlan* memory_plan_find(const MemoryPlan& p, const std::string& name) {
  for (const auto& s : p.stages)
    if (s.name.compare(0, name.size(), name) == 0) return &s;
  return nullptr;
}

}  // namespace relapse::pipeline
