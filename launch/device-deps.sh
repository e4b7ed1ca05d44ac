#!/usr/bin/env bash
# launch/device-deps.sh — fetches, on a Debian 12 machine with apt and network,
# the Debian packages (.deb) that relapse and its tests need but the GPU device
# machine lacks (it has CUDA, pip torch, CMake, ninja, gcc, but no network and no
# MPI / HDF5 / yaml-cpp / GoogleTest / nlohmann-json / CLI11 / SentencePiece),
# into the git-ignored folder .device/debs. launch/device-smoke.sh unpacks them
# there with `dpkg -x` into a private prefix (/tmp/relapse-prefix), never into /.
#
#   bash launch/device-deps.sh        # here; then run device-smoke.sh on the
#                                     # device with carry [".device"] (not .deps)
#
# The list is explicit: the -dev packages (headers, CMake configs, .so links),
# OpenMPI's launcher, SentencePiece's spm_train/spm_encode (used by the tests),
# and the shared libraries they load that a CUDA/PyTorch image may lack. Left
# out on purpose: what every Debian/Ubuntu base has (libc6, libstdc++6,
# libgcc-s1, zlib1g), the toolchain, the Fortran and C++ HDF5/MPI bindings,
# static-link-only -dev packages (libcurl/libssl/libaec/zlib -dev), hwloc's
# optional plugins, and the GoogleTest sources (libgtest-dev ships libgtest.a).
# After downloading, the script unpacks everything into a scratch folder and
# checks that every DT_NEEDED library of every ELF file is either shipped or in
# that base set, and fails otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

DEST=.device/debs
PKGS=(
  # build: headers, CMake configs / wrappers, link-time .so
  libopenmpi-dev libhdf5-openmpi-dev libyaml-cpp-dev libgtest-dev nlohmann-json3-dev
  libcli11-dev libsentencepiece-dev
  # OpenMPI runtime: mpirun/orterun, help files, MCA components, its libraries
  openmpi-bin openmpi-common libopenmpi3
  libevent-core-2.1-7 libevent-pthreads-2.1-7 libhwloc15 libudev1 libpmix2 libmunge2
  libfabric1 libucx0 libibverbs1 ibverbs-providers librdmacm1 libnl-3-200 libnl-route-3-200
  libpsm-infinipath1 libpsm2-2 libnuma1 libatomic1 libuuid1
  # HDF5 (parallel, OpenMPI flavour) runtime and what libhdf5 links (szip, curl, ssl)
  libhdf5-openmpi-103-1 libhdf5-openmpi-hl-100 libsz2 libaec0
  libcurl4 libssl3 libnghttp2-14 libpsl5 librtmp1 libssh2-1 libldap-2.5-0 libsasl2-2
  libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libcom-err2 libkeyutils1
  libidn2-0 libunistring2 libbrotli1 libzstd1
  libgnutls30 libnettle8 libhogweed6 libgmp10 libp11-kit0 libtasn1-6 libffi8
  # yaml-cpp, SentencePiece (library + the spm_train / spm_encode tools)
  libyaml-cpp0.7 libsentencepiece0 sentencepiece
)
# Libraries every Debian/Ubuntu base image has (glibc, libstdc++, libgcc, zlib).
BASE_SONAMES='^(libc|libm|libdl|librt|libpthread|libutil|libresolv|ld-linux-x86-64|libstdc\+\+|libgcc_s|libz)\.so'

# apt options: the device is x86-64, whatever this machine is.
APT_OPTS=()
if [ "$(dpkg --print-architecture)" != amd64 ]; then
  mkdir -p /tmp/relapse-apt-amd64/partial
  APT_OPTS=(-o APT::Architecture=amd64 -o APT::Architectures=amd64
            -o Dir::State::Lists=/tmp/relapse-apt-amd64)
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if [ -n "${APT_OPTS[*]}" ] || ! apt-cache "${APT_OPTS[@]}" show libopenmpi-dev >/dev/null 2>&1; then
  echo "device-deps: apt-get update"
  $SUDO apt-get "${APT_OPTS[@]}" update -qq
fi

TMP=$(mktemp -d /tmp/relapse-device-deps.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
chmod 755 "$TMP"
mkdir -p "$TMP/debs" "$TMP/root"
echo "device-deps: downloading ${#PKGS[@]} packages"
# A folder owned by _apt avoids apt's "download is performed unsandboxed" warning.
chown _apt "$TMP/debs" 2>/dev/null || true
(cd "$TMP/debs" && apt-get "${APT_OPTS[@]}" download -qq "${PKGS[@]}")
n=$(ls "$TMP/debs"/*.deb | wc -l)
[ "$n" -eq "${#PKGS[@]}" ] || { echo "device-deps: got $n of ${#PKGS[@]} packages" >&2; exit 1; }

# Closure check: every DT_NEEDED of every ELF file is shipped or in the base set.
for f in "$TMP/debs"/*.deb; do dpkg -x "$f" "$TMP/root"; done
find "$TMP/root" -type f -name '*.so*' -exec sh -c 'for f; do
    readelf -d "$f" 2>/dev/null | sed -n "s/.*(SONAME).*\[\(.*\)\]/\1/p"; done' _ {} + |
  sort -u >"$TMP/provided"
find "$TMP/root" -type f \( -name '*.so*' -o -path '*/bin/*' \) -exec sh -c 'for f; do
    readelf -d "$f" 2>/dev/null | sed -n "s/.*(NEEDED).*\[\(.*\)\]/\1/p"; done' _ {} + |
  sort -u >"$TMP/needed"
missing=$(comm -23 "$TMP/needed" "$TMP/provided" | grep -Ev "$BASE_SONAMES" || true)
if [ -n "$missing" ]; then
  echo "device-deps: libraries needed but neither shipped nor in the base set: ${missing//$'\n'/ }" >&2
  exit 1
fi

rm -rf "$DEST"
mkdir -p "$DEST"
mv "$TMP/debs"/*.deb "$DEST"/
echo "device-deps: $n packages in $DEST, $(du -sh "$DEST" | cut -f1) (unpacked: $(du -sh "$TMP/root" | cut -f1))"
echo "device-deps: on the device run launch/device-smoke.sh with carry [\".device\"] (never .deps)"
