#!/usr/bin/env bash
# tests/launch/check_relapse_mpirun.sh — CTest check of launch/relapse-mpirun.sh:
# at 2 ranks it must exit 0, print its banner and relapse's version (printed by
# rank 0), and pass the flags and thread count it promises (checked with
# DRY_RUN=1). RELAPSE_BIN names the binary under test.
set -uo pipefail
out=$(bash launch/relapse-mpirun.sh 2 --version 2>&1)
rc=$?
[ "$rc" -eq 0 ] || { echo "$out"; echo "FAIL: exit $rc"; exit 1; }
echo "$out"
echo "$out" | grep -q '2 ranks (2 per node)' || { echo "FAIL: no banner"; exit 1; }
echo "$out" | grep -q '^relapse [0-9]' || { echo "FAIL: no version line"; exit 1; }
threads=$(( $(nproc) / 2 ))
[ "$threads" -ge 1 ] || threads=1
cmd=$(DRY_RUN=1 bash launch/relapse-mpirun.sh 2 run x.yaml 2>/dev/null)
echo "$cmd"
for want in "-np 2 " "--bind-to none" "RELAPSE_NUM_THREADS=$threads " "OMP_NUM_THREADS=$threads " " run x.yaml"; do
  [[ $cmd == *"$want"* ]] || { echo "FAIL: dry run lacks '$want'"; exit 1; }
done
cmd=$(DRY_RUN=1 RANKS_PER_NODE=1 RELAPSE_NUM_THREADS=3 bash launch/relapse-mpirun.sh 8 --version 2>/dev/null)
[[ $cmd == *"RELAPSE_NUM_THREADS=3 "* && $cmd != *--oversubscribe* ]] ||
  { echo "FAIL: RELAPSE_NUM_THREADS / RANKS_PER_NODE not honoured: $cmd"; exit 1; }
# Usage errors exit 2 with a usage line.
bash launch/relapse-mpirun.sh 2>/dev/null
[ $? -eq 2 ] || { echo "FAIL: no-argument call must exit 2"; exit 1; }
echo "OK"
