#!/usr/bin/env bash
# launch/make-quickstart-models.sh — remakes the main job's shipped target and
# retrain models (configs/quickstart/{target,retrain}): trains them with
# configs/quickstart.yaml's data, model, pretrain and train sections (the base
# LM from scratch on world/, then the two fine-tunes, all fp32) and copies
# them, with their stage stamps, over the shipped ones. Needed only when the
# embedded corpus or those sections change: the main job then stops and names
# this script. Takes ~40 min on 2 cores (an Intel Xeon without bf16 hardware).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
OUT=${OUT:-runs/quickstart-models}
cmake --build "$BUILD_DIR" -j "$(nproc)" --target relapse
"$BUILD_DIR/src/cli/relapse" train configs/quickstart.yaml --set run.out_dir="$OUT" \
  --set 'train.target=""' --set 'train.retrain=""' "$@"
for m in target retrain; do
  rm -rf "configs/quickstart/$m.new"
  cp -r "$OUT/models/$m" "configs/quickstart/$m.new"
  rm -rf "configs/quickstart/$m"
  mv "configs/quickstart/$m.new" "configs/quickstart/$m"
done
echo "configs/quickstart/{target,retrain} remade from $OUT/models (commit them with the machine named)"
