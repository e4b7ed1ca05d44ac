# tests/study/sweep_test_lib.sh — shared by the sweep CTest scripts: a
# small sweep on the embedded default (nano model, one epoch per stage, two
# unlearning updates, 4 samples per evaluation set, RTN int4) and helpers.
# Needs RELAPSE_BIN, H5_SAME and SRC (the source tree) in the environment.
set -uo pipefail

fail() { echo "FAIL: $*"; exit 1; }

# write_sweep FILE OUT_DIR AXIS_VALUES — one axis over unlearn.lrs.
write_sweep() {
  cat > "$1" <<YAML
name: $(basename "$1" .yaml)
base: $SRC/configs/tour.yaml
out_dir: $2
set:
  model.preset: nano
  data.max_len: 64
  pretrain.epochs: 1
  train.epochs: 1
  unlearn.methods: [ga_gdr]
  unlearn.epochs: 1
  unlearn.max_steps: 2
  unlearn.large_lrs: []
  unlearn.sure.lrs: []
  relearn.steps: 0
  quantize.bits: [4]
  quantize.gptq.bits: []
  quantize.awq.bits: []
  eval.max_samples: 4
  eval.verbmem_max_new_tokens: 8
  eval.knowmem_max_new_tokens: 8
  eval.bootstrap.resamples: 20
axes:
  unlearn.lrs: $3
YAML
}

# What differs between two runs of the same cell besides results: where and
# when they ran (provenance, stage timings, wall times, checkpoint paths).
SKIP=(--skip provenance --skip stages --skip wall_s --skip total_wall_s --skip checkpoint)

done_count() { ls "$1"/cells/*/relapse.h5 2>/dev/null | wc -l; }
