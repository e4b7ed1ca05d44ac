#!/usr/bin/env bash
# launch/test.sh — the README's test command: installs the system dependencies
# (idempotent), configures, builds and runs every test with CTest. Works from a
# fresh clone on Debian 12. BUILD_DIR (default build) and JOBS override.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
bash launch/setup.sh
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j "$JOBS"
cd "$BUILD_DIR"
ctest --output-on-failure -j "$JOBS"
