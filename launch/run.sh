#!/usr/bin/env bash
# launch/run.sh — the README's main-job command: installs dependencies and
# builds if needed, then runs relapse on the embedded default. Until the
# pipeline stage lands this is: greedy generation and per-token scoring with
# the committed tiny Llama checkpoint (tests/golden/fixtures/llama_mha_fp32).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -x "$BUILD_DIR/src/cli/relapse" ]; then
  bash launch/setup.sh
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD_DIR" -j "$(nproc)" --target relapse
RELAPSE="$BUILD_DIR/src/cli/relapse"
MODEL=tests/golden/fixtures/llama_mha_fp32
OUT=runs/default
mkdir -p "$OUT"
"$RELAPSE" --version
"$RELAPSE" generate --model "$MODEL" --prompt "Question: Who founded the city?" --max-new-tokens 16
"$RELAPSE" score --model "$MODEL" --text-file tests/golden/fixtures/texts.json --out "$OUT/scores.json"
echo "run.sh: per-token log-probs written to $OUT/scores.json"
