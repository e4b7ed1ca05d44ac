#!/usr/bin/env bash
# tests/study/sweep_subcomm.sh — issue 7: 4 one-rank cells run side by
# side as sub-communicators of one `mpirun -np 4` (sharing the corpus and
# trained models of OUT/cache, trained concurrently by all four) give the
# same results as each cell's config run alone with `relapse run` (its own
# models, no shared cache), and the study archive holds all four.
source "$(dirname "$0")/sweep_test_lib.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/relapse_sweep_subcomm.XXXXXX")
trap 'rm -rf "$W"' EXIT
write_sweep "$W/s.yaml" "$W/s" "[1.0e-4, 3.0e-4, 1.0e-3, 3.0e-3]"

RELAPSE_BIN="$RELAPSE_BIN" bash "$SRC/launch/relapse-mpirun.sh" 4 sweep run "$W/s.yaml" > "$W/s.log" 2>&1 ||
  { cat "$W/s.log"; fail "sweep at np 4"; }
grep -q "on ranks 3..3" "$W/s.log" || { cat "$W/s.log"; fail "cells did not run on 4 groups"; }
[ "$(done_count "$W/s")" -eq 4 ] || fail "not 4 cell archives"
for cfg in "$W"/s/cells/*/config.yaml; do
  id=$(basename "$(dirname "$cfg")")
  # Every cell's rank 0 logs, tagged with its cell (not only world rank 0's cell).
  grep -q "^\[relapse cell $id r0\] info: eval target @ full" "$W/s.log" || fail "no log lines of cell $id"
  "$RELAPSE_BIN" run "$cfg" --set run.out_dir="$W/alone/$id" --set run.cache_dir= > "$W/alone_$id.log" 2>&1 ||
    { cat "$W/alone_$id.log"; fail "cell $id alone"; }
  "$H5_SAME" "$W/s/cells/$id/relapse.h5" "$W/alone/$id/relapse.h5" "${SKIP[@]}" ||
    fail "cell $id: sub-communicator run differs from the run alone"
  "$H5_SAME" "$W/s/study.h5" "$W/s/cells/$id/relapse.h5" --path "/cells/$id" --path-b / \
    --skip cell --skip axis.unlearn.lrs > /dev/null || fail "study.h5 lacks cell $id"
done
# The comparison can fail: two cells with different learning rates differ.
set -- "$W"/s/cells/*/relapse.h5
"$H5_SAME" "$1" "$2" "${SKIP[@]}" > /dev/null 2>&1 && fail "h5_same finds two different cells the same"
echo "OK"
