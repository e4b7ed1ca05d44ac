#!/usr/bin/env bash
# launch/run.sh — the README's main-job command: installs dependencies and
# builds if needed, then runs `relapse run configs/quickstart.yaml`: the whole
# study on the embedded default corpus, written to runs/quickstart/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -x "$BUILD_DIR/src/cli/relapse" ]; then
  bash launch/setup.sh
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD_DIR" -j "$(nproc)" --target relapse
RELAPSE="$BUILD_DIR/src/cli/relapse"
"$RELAPSE" --version
# The main job: corpus, base LM, target and retrain models, the unlearning
# grid, int8/int4 RTN, GPTQ-4, AWQ-4, MUSE evaluation, archive and report
# (see the README).
# Extra arguments are passed on (e.g. --set run.out_dir=/tmp/qs).
"$RELAPSE" run configs/quickstart.yaml "$@"
