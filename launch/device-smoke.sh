#!/usr/bin/env bash
# launch/device-smoke.sh — the GPU check of issues 4 and 17, one call on a
# machine with a CUDA device: builds relapse against that machine's CUDA
# libtorch (pip torch 2.11.0+cu130, the version launch/setup.sh pins here) and
# the wheel's NCCL in a separate build directory, then runs the communicator
# tests (MPI and NCCL backends) at world size 1 (and 2 with two GPUs), the
# transformers goldens with every model on the GPU (RELAPSE_TEST_DEVICE=cuda),
# the quantization kernels (every CUDA kernel against its CPU reference), the
# reduced tour (configs/tour.yaml) end to end on the GPU and on the CPU (archives side by
# side), `relapse bench train|generate` against HF transformers on the GPU
# (1B-shaped Llama, MFU), `relapse bench comm --backend nccl` and
# `relapse bench quant`, the NCCL watchdog on a stalled collective, and prints
# a PASS/FAIL table.
#
#   TORCH_PREFIX  libtorch's CMake prefix (default: pip torch's
#                 `torch.utils.cmake_prefix_path`, via $PYTHON or python3)
#   BUILD_DIR     build directory (default build-device)
#   JOBS          parallel build jobs (default nproc)
#   NCCL_ROOT     the NCCL to build against (default: the wheel's
#                 <site-packages>/nvidia/nccl, the one libtorch_cuda loads)
#
# A device machine with no network and no Debian -dev packages: first, here,
# `bash launch/device-deps.sh` (downloads the MPI / HDF5 / yaml-cpp / GoogleTest /
# nlohmann-json / CLI11 / SentencePiece .debs into the git-ignored .device/debs,
# about 21 MiB), then run this script on the device with carry [".device"] and
# NOT .deps (4.6 GB; the device's own pip torch is used). When .device/debs
# exists and mpicc or mpirun is missing, the .debs are unpacked (`dpkg -x`, never
# into /) into $RELAPSE_PREFIX and used from there:
#   RELAPSE_PREFIX       unpack prefix (default /tmp/relapse-prefix)
#   RELAPSE_DEVICE_DEBS  1: always use .device/debs; 0: never (default: auto)
#   --prefix-only        unpack, print the environment as `export` lines, exit
#                        (no GPU needed; `eval "$(bash launch/device-smoke.sh
#                        --prefix-only)"` gives a shell the same MPI/HDF5/...)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD_DIR=${BUILD_DIR:-build-device}
JOBS=${JOBS:-$(nproc)}
PYTHON=${PYTHON:-python3}
MPIRUN=(mpirun --oversubscribe)
if [ "$(id -u)" = 0 ]; then MPIRUN+=(--allow-run-as-root); fi

die() { echo "device-smoke: $*" >&2; exit 1; }
PREFIX_ONLY=0
[ "${1:-}" = --prefix-only ] && PREFIX_ONLY=1

# ---- carried Debian packages (launch/device-deps.sh) ------------------------
# Unpacked into a private prefix P=$RELAPSE_PREFIX/usr and used relocated:
#  - OpenMPI: OPAL_PREFIX=$P relocates its libdir, MCA components (pkglibdir),
#    help files (pkgdatadir) and wrapper data; OPAL_SYSCONFDIR reads Debian's
#    openmpi-mca-params.conf (no ucx/ofi/openib) from the prefix. The external
#    PMIx has absolute libdir/datadir: PMIX_LIBDIR / PMIX_DATADIR relocate its
#    components and help files. mpirun, mpicc are Debian "alternatives" links
#    that dpkg -x does not make: made here.
#  - libraries: $RELAPSE_PREFIX/ldpath holds one link per SONAME shipped, for
#    the MPI/HDF5 family always, for the rest (libcurl, libssl, ...) only where
#    the system has none (ldconfig -p), so the system's own stay in use. Debian's
#    RUNPATHs (/usr/lib/x86_64-linux-gnu/openmpi/lib) point nowhere here.
#  - CMake: explicit <Pkg>_DIR / MPI_C_COMPILER / HDF5_ROOT (FindHDF5 then takes
#    libhdf5.so and hdf5.h from the parallel flavour's folder, no h5pcc); the
#    absolute /usr paths in the unpacked *.cmake and *.pc files are rewritten.
DEPS_CMAKE_ARGS=()
DEPS_NOTE="system MPI/HDF5/yaml-cpp/GTest/..."
use_debs=${RELAPSE_DEVICE_DEBS:-auto}
if [ "$use_debs" = auto ]; then
  use_debs=0
  if compgen -G ".device/debs/*.deb" >/dev/null &&
     { ! command -v mpicc >/dev/null || ! command -v mpirun >/dev/null; }; then
    use_debs=1
  fi
fi
if [ "$use_debs" = 1 ]; then
  R=${RELAPSE_PREFIX:-/tmp/relapse-prefix}
  P=$R/usr
  ML=$P/lib/x86_64-linux-gnu
  compgen -G ".device/debs/*.deb" >/dev/null || die "RELAPSE_DEVICE_DEBS=1 but no .device/debs/*.deb"
  command -v readelf >/dev/null || die "readelf (binutils) not found: needed for .device/debs"
  unpack_deb() {  # dpkg -x, or ar + tar where dpkg is missing
    if command -v dpkg-deb >/dev/null; then dpkg-deb -x "$1" "$2"; else
      local m z=(); m=$(ar t "$1" | grep '^data\.tar') || return 1
      case $m in *.xz) z=(-J) ;; *.zst) z=(--zstd) ;; *.gz) z=(-z) ;; esac
      ar p "$1" "$m" | tar -x "${z[@]}" -C "$2"
    fi
  }
  stamp=$(ls .device/debs | md5sum | cut -d' ' -f1)
  if [ "$(cat "$R/.stamp" 2>/dev/null)" != "$stamp" ]; then
    echo "device-smoke: unpacking $(ls .device/debs/*.deb | wc -l) .debs into $R" >&2
    rm -rf "$R"
    mkdir -p "$R/ldpath"
    for f in .device/debs/*.deb; do unpack_deb "$f" "$R" || die "unpacking $f failed"; done
    # Debian's update-alternatives links (made by postinst scripts, not in the .debs).
    for b in mpirun mpiexec mpicc mpicxx mpic++; do ln -sf "$b.openmpi" "$P/bin/$b"; done
    # Absolute /usr paths in CMake configs and pkg-config files -> the prefix.
    find "$R" \( -name '*.cmake' -o -name '*.pc' \) -type f -exec sed -i -E \
      "s#(^|[\"' =]|-I|-L)/usr(/|\"|'| |\$)#\\1$P\\2#g" {} +
    # One link per shipped SONAME; the system keeps what it already has.
    have=$( (ldconfig -p || /sbin/ldconfig -p) 2>/dev/null | awk '/x86-64/ {print $1}' | sort -u)
    # (The library folders only: plugins stay where their loaders look for them.)
    find "$R/lib/x86_64-linux-gnu" "$ML" "$P/lib/libpsm1" -maxdepth 1 \( -type f -o -type l \) -name 'lib*.so*' -print0 |
      while IFS= read -r -d '' f; do
        so=$(readelf -d "$f" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
        [ -n "$so" ] || continue
        case $so in
          libmpi*|libopen-pal*|libopen-rte*|libmca_common*|liboshmem*|libompitrace*|libhdf5*|\
          libpmix*|libhwloc*|libevent*|libyaml-cpp*|libsentencepiece*) ;;
          *) grep -qxF "$so" <<<"$have" && continue ;;
        esac
        ln -sf "$f" "$R/ldpath/$so"
      done
    echo "$stamp" >"$R/.stamp"
  fi
  export PATH="$P/bin:$PATH"
  export LD_LIBRARY_PATH="$R/ldpath${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export OPAL_PREFIX=$P OPAL_SYSCONFDIR=$R/etc/openmpi
  export PMIX_PREFIX=$ML/pmix2 PMIX_LIBDIR=$ML/pmix2/lib PMIX_DATADIR=$ML/pmix2/share
  export MPI_HOME=$P HDF5_ROOT=$ML/hdf5/openmpi
  export CMAKE_PREFIX_PATH="$P${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  export PKG_CONFIG_PATH="$ML/pkgconfig:$P/share/pkgconfig:$ML/openmpi/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
  DEPS_CMAKE_ARGS=(-DMPI_C_COMPILER="$P/bin/mpicc" -DHDF5_ROOT="$ML/hdf5/openmpi"
                   -DGTest_DIR="$ML/cmake/GTest" -Dyaml-cpp_DIR="$ML/cmake/yaml-cpp"
                   -Dnlohmann_json_DIR="$P/share/cmake/nlohmann_json" -DCLI11_DIR="$P/share/cmake/CLI11")
  DEPS_NOTE="carried .device/debs unpacked in $R"
  "$P/bin/mpirun" --version >/dev/null 2>&1 || die "the unpacked mpirun does not run: $("$P/bin/mpirun" --version 2>&1 | head -3)"
fi
# Without ssh/rsh, OpenMPI's default launcher (plm rsh) refuses to start even a
# one-node job or a singleton MPI_Init: use the single-node launcher instead.
have_rsh_agent() {
  local a p
  for a in ssh rsh; do p=$(command -v "$a") && [ -f "$p" ] && [ -x "$p" ] && return 0; done
  return 1
}
if [ -z "${OMPI_MCA_plm:-}" ] && ! have_rsh_agent; then export OMPI_MCA_plm=isolated; fi
if [ "$PREFIX_ONLY" = 1 ]; then
  [ "$use_debs" = 1 ] || die "--prefix-only: no .device/debs in use (set RELAPSE_DEVICE_DEBS=1)"
  for v in PATH LD_LIBRARY_PATH OPAL_PREFIX OPAL_SYSCONFDIR PMIX_PREFIX PMIX_LIBDIR PMIX_DATADIR MPI_HOME HDF5_ROOT \
           CMAKE_PREFIX_PATH PKG_CONFIG_PATH OMPI_MCA_plm; do
    [ -n "${!v:-}" ] && printf 'export %s=%q\n' "$v" "${!v}"
  done
  printf 'export RELAPSE_DEPS_CMAKE_ARGS=%q\n' "${DEPS_CMAKE_ARGS[*]}"
  exit 0
fi

command -v nvidia-smi >/dev/null || die "nvidia-smi not found: not a GPU machine?"
NGPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | wc -l)
[ "$NGPU" -ge 1 ] || die "no GPU listed by nvidia-smi"
command -v nvcc >/dev/null || die "nvcc not on the PATH (CUDA toolkit needed to build the NCCL backend)"

if [ -z "${TORCH_PREFIX:-}" ]; then
  TORCH_PREFIX=$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)') ||
    die "no TORCH_PREFIX and '$PYTHON -c import torch' failed"
fi
TORCH_ROOT=$(cd "$TORCH_PREFIX/../.." && pwd)  # .../site-packages/torch
# The wheel's NCCL (nvidia-nccl-cu13 ships nccl.h and libnccl.so.2): the one
# libtorch_cuda loads, so the NCCL backend builds against the same.
if [ -z "${NCCL_ROOT:-}" ] && [ -e "$TORCH_ROOT/../nvidia/nccl/include/nccl.h" ]; then
  NCCL_ROOT=$(cd "$TORCH_ROOT/../nvidia/nccl" && pwd)
fi
TORCH_CUDA=$("$PYTHON" -c 'import torch; print(torch.version.cuda or "")' 2>/dev/null || true)
echo "device-smoke: $NGPU GPU(s): $(nvidia-smi --query-gpu=name --format=csv,noheader | sort | uniq -c | xargs)"
echo "device-smoke: libtorch $TORCH_ROOT (CUDA ${TORCH_CUDA:-unknown}), nvcc $(nvcc --version | tail -1)"
[ -e "$TORCH_ROOT/lib/libc10_cuda.so" ] || die "$TORCH_ROOT has no libc10_cuda.so: a CPU-only torch"

echo "device-smoke: dependencies: $DEPS_NOTE; NCCL ${NCCL_ROOT:-from the CUDA toolkit}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$TORCH_ROOT;$TORCH_PREFIX" -DTorch_DIR="$TORCH_PREFIX/Torch" \
  ${NCCL_ROOT:+-DNCCL_ROOT="$NCCL_ROOT"} "${DEPS_CMAKE_ARGS[@]}" \
  -DRELAPSE_WITH_CUDA=ON -DRELAPSE_WITH_NCCL=ON ||
  die "cmake configure failed"
TARGETS=(relapse test_communicator test_comm_nccl test_bench_comm test_llama_golden test_tensor_parallel
         test_kernels test_attention fail_one_rank)
cmake --build "$BUILD_DIR" -j "$JOBS" --target "${TARGETS[@]}" || die "build failed"

# The model tests read RELAPSE_TEST_DEVICE only if they support it.
DEVICE_NOTE="model tests have no device knob (RELAPSE_TEST_DEVICE unused): they ran on the CPU"
if grep -rqs RELAPSE_TEST_DEVICE tests/; then
  export RELAPSE_TEST_DEVICE=cuda
  DEVICE_NOTE="model tests ran with RELAPSE_TEST_DEVICE=cuda"
fi
export RELAPSE_SOURCE_DIR=$PWD OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}

declare -a NAMES=() RESULTS=()
LOG_DIR="$BUILD_DIR/device-smoke-logs"
mkdir -p "$LOG_DIR"
run_step() {  # run_step NAME CMD... — runs, keeps the log, records PASS/FAIL
  local name=$1 log="$LOG_DIR/$1.log"
  shift
  echo "=== $name: $*"
  if "$@" >"$log" 2>&1; then
    RESULTS+=("PASS")
  else
    RESULTS+=("FAIL (exit $?, log $log)")
  fi
  NAMES+=("$name")
  tail -n 25 "$log"
}

B=$BUILD_DIR
run_step test_communicator_np1 "$B/test_communicator"
run_step test_comm_nccl_np1 "$B/test_comm_nccl"
run_step test_bench_comm_np1 "$B/test_bench_comm"
# The NCCL watchdog: a collective stuck behind a 10-minute host function on its
# stream must end the process after RELAPSE_NCCL_TIMEOUT_S = 5 s with exit 5,
# naming the op (tests/dist/fail_one_rank.cpp --stall-nccl).
run_step nccl_watchdog bash -c 'RELAPSE_NCCL_TIMEOUT_S=5 timeout 120 "$0" --stall-nccl; rc=$?;
  echo "exit $rc"; [ "$rc" -eq 5 ]' "$B/fail_one_rank"
grep -q "all_reduce did not complete in" "$LOG_DIR/nccl_watchdog.log" ||
  { RESULTS[${#RESULTS[@]}-1]="FAIL (no watchdog message)"; }
if [ "$NGPU" -ge 2 ]; then
  run_step test_communicator_np2 "${MPIRUN[@]}" -np 2 "$B/test_communicator"
  run_step test_comm_nccl_np2 "${MPIRUN[@]}" -np 2 "$B/test_comm_nccl"
fi
run_step test_llama_golden "$B/test_llama_golden"
run_step test_tensor_parallel_np1 "$B/test_tensor_parallel"
run_step test_kernels "$B/test_kernels"
run_step test_attention_cpu "$B/test_attention"
run_step version "$B/relapse" --version
# The reduced tour (configs/tour.yaml: every stage once; fewer epochs, no SURE /
# relearning) on the GPU and on the CPU: both write an archive; their summary
# tables are in the logs.
QS=(run configs/tour.yaml --set pretrain.epochs=8 --set train.epochs=6 --set unlearn.epochs=4
    --set unlearn.sure.lrs=[] --set relearn.steps=0)
run_step quickstart_gpu "$B/relapse" "${QS[@]}" --set run.device=cuda --set run.out_dir="$B/qs-gpu"
run_step quickstart_cpu "$B/relapse" "${QS[@]}" --set run.device=cpu --set run.out_dir="$B/qs-cpu"
# relapse vs HF transformers on the GPU, 1B-shaped (Llama-3.2-1B sizes), bf16.
run_step bench_train_1b "$B/relapse" bench train --device cuda --shape 1b --dtype bfloat16 \
  --batch 4 --seq 2048 --iters 3 --warmup 1 --python "$PYTHON"
run_step bench_generate_1b "$B/relapse" bench generate --device cuda --shape 1b --dtype bfloat16 \
  --batch 32 --seq 128 --new-tokens 128 --iters 2 --warmup 1 --python "$PYTHON"
run_step bench_quant "$B/relapse" bench quant --models tiny --methods rtn rtn_kernel gptq awq
NP_BENCH=$((NGPU >= 2 ? 2 : 1))
run_step bench_comm_nccl "${MPIRUN[@]}" -np "$NP_BENCH" "$B/relapse" bench comm --backend nccl \
  --max-bytes 268435456
run_step bench_comm_mpi "${MPIRUN[@]}" -np "$NP_BENCH" "$B/relapse" bench comm --backend mpi \
  --max-bytes 16777216

# The CUDA kernel comparisons skip themselves without a device: say so loudly.
if grep -q "SKIPPED" "$LOG_DIR/test_kernels.log"; then
  echo "device-smoke: WARNING: test_kernels skipped its CUDA comparisons"
fi
# The NCCL op checks skip themselves without CUDA tensors: say so loudly.
if grep -q "SKIPPED" "$LOG_DIR/test_comm_nccl_np1.log"; then
  echo "device-smoke: WARNING: test_comm_nccl skipped tests:"
  grep -A1 "Skipped" "$LOG_DIR/test_comm_nccl_np1.log" | head -n 8
fi

echo
echo "==== device-smoke summary ($(date -u +%Y-%m-%dT%H:%MZ), $NGPU GPU(s), libtorch CUDA ${TORCH_CUDA:-?})"
fail=0
for i in "${!NAMES[@]}"; do
  printf '  %-26s %s\n' "${NAMES[$i]}" "${RESULTS[$i]}"
  [ "${RESULTS[$i]}" = PASS ] || fail=1
done
echo "  note: $DEVICE_NOTE"
echo "  note: dependencies: $DEPS_NOTE"
[ "$NGPU" -ge 2 ] || echo "  note: one GPU: np 2 communicator runs skipped"
exit "$fail"
