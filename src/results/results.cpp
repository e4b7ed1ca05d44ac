// src/results/results.cpp — look-ups over the in-memory result of a run
// (relapse/results/results.h).
#include "relapse/results/results.h"

namespace relapse::results {

const ModelResult* run_find_model(const RunResult& r, const std::string& name) {
  for (const auto& m : r.models)
    if (m.info.name == name) return &m;
  return nullptr;
}

const PrecisionEval* model_find_eval(const ModelResult& m, const std::string& precision) {
  for (const auto& e : m.evals)
    if (e.precision == precision) return &e;
  return nullptr;
}

}  // namespace relapse::results
