// src/report/report_dose.h — what the dose-response section (report_dose.cpp)
// shares with the study report (report_study.cpp), internal to the report
// layer: a method's learning rates as points of a curve, and the paired
// difference a verdict reads.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "relapse/report/report.h"

namespace relapse::report {

// One learning rate of a method: its group (seeds inside) and regime.
struct DosePoint {
  double lr = 0;
  std::string group, regime;
};

// method -> its groups by LR (ascending), for the methods run at two or more
// distinct LRs of the small / large regimes (SURE runs and diverged groups
// left out).
std::map<std::string, std::vector<DosePoint>> dose_curves(const RunResult& r);

// The paired difference (precision − full of forget KnowMem) a verdict reads:
// pooled over the seeds where there are several with per-question scores,
// else group_paired (one seed: the bootstrap's paired interval).
GroupValue dose_paired(const RunResult& r, const std::string& group, const std::string& precision);

}  // namespace relapse::report
