// relapse/pipeline/run.h — `relapse run CONFIG` and its stage subcommands:
//
//   data     the corpus (MUSE directory, or the synthetic one written to
//            OUT/data with its tokenizer) and its chunks (data/chunking.h)
//   train    the base LM (preset from scratch, pretrained on world/, or
//            model.path), then the target (fine-tuned on forget + retain1 +
//            retain2) and the retrain model (retain1 + retain2), saved as HF
//            directories under OUT/models/
//   unlearn  every grid run (methods × lrs, large_lr_methods × large_lrs)
//            from a frozen copy of the target, saved under OUT/models/
//   eval     every model at full precision and each quantize.bits, the code
//            changes of Q(unlearned) vs Q(target), PrivLeak normalised by the
//            retrain model's AUC; then OUT/relapse.h5 and OUT/report.md
//
// Stage outputs are cached: a model directory holds relapse_stage.json with
// the key of the config that produced it, and a later run with the same key
// loads it instead of training again (so `relapse eval` after `relapse
// unlearn` trains nothing, and a changed hyper-parameter retrains only what
// depends on it). Rank 0 writes files; all ranks compute (data parallel).
#pragma once
#include <string>

#include "relapse/dist/runtime.h"
#include "relapse/pipeline/config.h"
#include "relapse/results/results.h"

namespace relapse::pipeline {

enum class Stage { kData = 0, kTrain = 1, kUnlearn = 2, kEval = 3 };

// Runs the stages up to and including `last`. With last == kEval the archive
// (OUT/relapse.h5) and the report (OUT/report.md) are written and the summary
// table printed on rank 0. `command_line` goes into the provenance.
// `comm` (default: the world) is the group of ranks that runs it — all of
// them must call; a sweep runs cells on sub-communicators. parallel.tp splits
// it into DP × TP (dist/process_grid.h).
results::RunResult pipeline_run(const RelapseConfig& cfg, Runtime& rt, Stage last,
                                const std::string& command_line, MPI_Comm comm = MPI_COMM_WORLD);

// The archive path of a run: OUT/relapse.h5.
std::string pipeline_archive_path(const RelapseConfig& cfg);

}  // namespace relapse::pipeline
