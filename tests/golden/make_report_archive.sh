#!/usr/bin/env bash
# tests/golden/make_report_archive.sh — makes the committed small archive
# tests/golden/fixtures/pipeline/small_run.h5 that the report tests render
# (test_report_figures, cli_report_small_run): configs/tour.yaml at the
# nano size with everything issue 6 adds — two data-order seeds, a SURE row,
# the relearning attack, bootstrap intervals — and int8/int4/GPTQ-4 with the
# per-layer bucket diagnostics. Usage: make_report_archive.sh [RELAPSE_BINARY]
set -euo pipefail
cd "$(dirname "$0")/../.."
RELAPSE=${1:-build/src/cli/relapse}
OUT=$(mktemp -d)
"$RELAPSE" run configs/tour.yaml --set run.out_dir="$OUT" --set run.name=small_run \
  --set model.preset=nano --set pretrain.epochs=1 --set train.epochs=1 --set data.max_len=64 \
  --set "unlearn.methods=[ga_gdr]" --set "unlearn.lrs=[1e-4]" --set "unlearn.large_lrs=[]" \
  --set unlearn.epochs=1 --set unlearn.max_steps=2 --set "unlearn.seeds=[1,2]" \
  --set "unlearn.sure.lrs=[1e-3]" --set "unlearn.sure.methods=[ga_gdr]" \
  --set unlearn.sure.percentile=75 \
  --set relearn.steps=2 --set relearn.batch_size=2 --set eval.bootstrap.resamples=200 \
  --set eval.max_samples=4 --set eval.verbmem_max_new_tokens=8 --set eval.knowmem_max_new_tokens=8 \
  --set "quantize.awq.bits=[]" --set quantize.calibration.n_samples=6 \
  --set quantize.calibration.seq_len=32
cp "$OUT/relapse.h5" tests/golden/fixtures/pipeline/small_run.h5
rm -rf "$OUT"
ls -l tests/golden/fixtures/pipeline/small_run.h5
