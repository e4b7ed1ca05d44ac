// src/results/archive_summary.h — the /summary table's pieces that
// archive_write.cpp uses while writing (internal to the results layer).
#pragma once
#include <vector>

#include "relapse/archive/h5.h"
#include "relapse/results/archive.h"

namespace relapse::results {

// The summary row of one model at one precision (NaN where not computed).
SummaryRow summary_row(const ModelInfo& info, const PrecisionEval& e);
// Writes /summary (every column, the interval bands included) under root.
void write_summary(archive::H5Group root, const std::vector<SummaryRow>& rows);

}  // namespace relapse::results
