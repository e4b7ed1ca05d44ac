#!/usr/bin/env bash
# launch/setup.sh — idempotent install of every dependency of relapse:
#   1. Debian 12 packages (compilers: clang is the one CMake prefers, see
#      CMakeLists.txt; MPI, HDF5, yaml-cpp, ...);
#   2. libtorch 2.11.0 from PyPI's `torch==2.11.0` wheel (the CUDA 13.0 build, the
#      same as the GPU machines' torch 2.11.0+cu130) into the project-local,
#      git-ignored prefix .deps/venv, where CMakeLists.txt finds it with no flags.
#      One build then runs on CPU-only and GPU machines alike. The same venv gets
#      transformers==5.17.0 (the GPU machines' version): the reference side of
#      `relapse bench train|score|generate` and of the fixture scripts in
#      tests/golden/, never a dependency of relapse itself; and pyarrow==26.0.1,
#      whose bundled Arrow C++ libraries read the Hub's parquet files
#      (`relapse data import`).
# Safe to run repeatedly; does nothing when all are present. RELAPSE_DEPS overrides
# the prefix (default: <repo>/.deps).
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION=2.11.0
TRANSFORMERS_VERSION=5.17.0
PYARROW_VERSION=26.0.1
DEPS=${RELAPSE_DEPS:-$PWD/.deps}

PKGS=(
  build-essential clang cmake ninja-build git pkg-config
  python3 python3-venv
  libopenmpi-dev openmpi-bin
  libhdf5-openmpi-dev
  libyaml-cpp-dev
  libgtest-dev
  libsentencepiece-dev sentencepiece
  nlohmann-json3-dev
  libcli11-dev
  zlib1g-dev
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup.sh: all ${#PKGS[@]} Debian packages present"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# libtorch: the wheel's torch/lib, torch/include and torch/share/cmake are a
# complete libtorch; its CUDA libraries (cuBLAS, cuDNN, NCCL, ...) come as the
# wheel's nvidia-* dependencies and are found through the wheel's RPATHs. Debian's
# python3 makes the venv so the prefix does not depend on a user's pyenv/conda.
VENV="$DEPS/venv"
PY="$VENV/bin/python"
have=$("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null || true)
if [ "${have%%+*}" = "$TORCH_VERSION" ]; then
  echo "setup.sh: torch $have present in $VENV"
else
  echo "setup.sh: installing torch==$TORCH_VERSION into $VENV (about 3 GB with its CUDA wheels)"
  /usr/bin/python3 -m venv "$VENV"
  "$PY" -m pip install -q --disable-pip-version-check "torch==$TORCH_VERSION"
fi
# pip_pin MODULE VERSION WHY: MODULE==VERSION into the venv unless it is there.
pip_pin() {
  local have
  have=$("$PY" -c "import $1; print($1.__version__)" 2>/dev/null || true)
  if [ "$have" = "$2" ]; then
    echo "setup.sh: $1 $have present in $VENV"
  else
    echo "setup.sh: installing $1==$2 into $VENV ($3)"
    "$PY" -m pip install -q --disable-pip-version-check "$1==$2"
  fi
}
pip_pin transformers "$TRANSFORMERS_VERSION" "benchmark and fixture reference"
# pyarrow: its bundled Arrow C++ libraries and headers are what relapse reads
# the Hub's parquet files with (`relapse data import`, RELAPSE_WITH_PARQUET,
# found by CMakeLists.txt in this venv); relapse never imports it as Python.
pip_pin pyarrow "$PYARROW_VERSION" "Arrow's parquet reader"
