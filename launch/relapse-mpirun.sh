#!/usr/bin/env bash
# launch/relapse-mpirun.sh — runs relapse under OpenMPI's mpirun with the flags
# relapse needs and a fixed number of CPU threads per rank.
#
#   launch/relapse-mpirun.sh NP ARGS...        e.g.  launch/relapse-mpirun.sh 4 run configs/quickstart.yaml
#
# Environment:
#   RELAPSE_BIN        the relapse binary (default: build/src/cli/relapse)
#   RANKS_PER_NODE     ranks started on each node (default: NP, i.e. one node)
#   RELAPSE_NUM_THREADS  intra-op threads per rank (default: this node's cores ÷ RANKS_PER_NODE, at least 1)
#   HOSTFILE           an OpenMPI hostfile for several nodes (passed as --hostfile)
#   MPIRUN_EXTRA       further mpirun flags (word-split)
#   DRY_RUN=1          print the mpirun command instead of running it
#
# Why these flags: as root OpenMPI refuses to start without --allow-run-as-root;
# with more ranks than cores it needs --oversubscribe; and its default binding
# pins each rank to one core, which would leave a rank's extra threads idle, so
# ranks are bound to nothing and size their thread pools from
# RELAPSE_NUM_THREADS instead (exported to every rank, with OMP_NUM_THREADS).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 2 ] || ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 NP relapse-arguments...   (e.g. $0 2 run configs/quickstart.yaml)" >&2
  exit 2
fi
NP=$1
shift
BIN=${RELAPSE_BIN:-build/src/cli/relapse}
if [ ! -x "$BIN" ]; then
  echo "relapse-mpirun.sh: $BIN not found; build first (launch/run.sh or cmake --build build)" >&2
  exit 2
fi

PER_NODE=${RANKS_PER_NODE:-$NP}
CORES=$(nproc)
THREADS=${RELAPSE_NUM_THREADS:-$((CORES / PER_NODE))}
[ "$THREADS" -ge 1 ] || THREADS=1

FLAGS=(-np "$NP" --bind-to none -x "RELAPSE_NUM_THREADS=$THREADS" -x "OMP_NUM_THREADS=$THREADS")
[ "$(id -u)" -eq 0 ] && FLAGS+=(--allow-run-as-root)
[ "$PER_NODE" -gt "$CORES" ] && FLAGS+=(--oversubscribe)
[ -n "${HOSTFILE:-}" ] && FLAGS+=(--hostfile "$HOSTFILE" --map-by "ppr:$PER_NODE:node")
# shellcheck disable=SC2206  # MPIRUN_EXTRA is meant to be word-split
[ -n "${MPIRUN_EXTRA:-}" ] && FLAGS+=($MPIRUN_EXTRA)

echo "relapse-mpirun.sh: $NP ranks ($PER_NODE per node), $THREADS threads per rank" >&2
if [ "${DRY_RUN:-0}" = 1 ]; then
  echo mpirun "${FLAGS[@]}" "$BIN" "$@"
  exit 0
fi
exec mpirun "${FLAGS[@]}" "$BIN" "$@"
