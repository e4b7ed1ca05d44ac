#!/usr/bin/env bash
# tests/study/sweep_kill_resume.sh — issue 7's resume check: a sweep of 3
# cells is killed (SIGKILL to its process group) after its first cell, then
# again (SIGTERM) after its second; after each kill the study archive is a
# valid HDF5 file holding exactly the finished cells; the rerun does not rerun
# finished cells (their archives keep inode and mtime) and the final study
# archive equals an uninterrupted run's (h5_same: every value, wall times and
# provenance aside).
source "$(dirname "$0")/sweep_test_lib.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/relapse_sweep_kill.XXXXXX")
trap 'rm -rf "$W"' EXIT
write_sweep "$W/a.yaml" "$W/a" "[1.0e-4, 3.0e-4, 1.0e-3]"
write_sweep "$W/b.yaml" "$W/b" "[1.0e-4, 3.0e-4, 1.0e-3]"

"$RELAPSE_BIN" sweep run "$W/a.yaml" > "$W/a.log" 2>&1 || { cat "$W/a.log"; fail "uninterrupted sweep"; }
[ "$(done_count "$W/a")" -eq 3 ] || fail "uninterrupted sweep: not 3 cell archives"

# run_until COND SIGNAL: starts the sweep in its own process group, sends
# SIGNAL to the group as soon as `COND` succeeds, waits for it to die.
run_until() {
  setsid "$RELAPSE_BIN" sweep run "$W/b.yaml" >> "$W/b.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 3000); do
    eval "$1" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -s "$2" -- "-$pid" 2>/dev/null || fail "the sweep ended before: $1"
  wait "$pid"
  echo "killed with $2 after $(done_count "$W/b") cell(s)"
}
unlearned() { ls "$W"/b/cells/*/models/*/relapse_stage.json 2>/dev/null | wc -l; }

# After a kill the study archive is a complete HDF5 file; every cell in it
# equals that cell's archive; at most one finished cell (killed between its
# archive's rename and the study's commit) is not in it yet — the next
# `sweep run` commits it without rerunning it.
check_study() {
  "$H5_SAME" "$W/b/study.h5" "$W/b/study.h5" > /dev/null || fail "study.h5 unreadable after $1"
  local n missing=0
  n=$(done_count "$W/b")
  plan=$("$RELAPSE_BIN" sweep plan "$W/b.yaml")
  echo "$plan" | grep -q "3 cells, $n done" || { echo "$plan"; fail "plan after $1"; }
  for a in "$W"/b/cells/*/relapse.h5; do
    id=$(basename "$(dirname "$a")")
    "$H5_SAME" "$W/b/study.h5" "$a" --path "/cells/$id" --path-b / --skip cell \
      --skip axis.unlearn.lrs > /dev/null 2>&1
    case $? in
      0) ;;
      2) missing=$((missing + 1)) ;;  # not in study.h5 (yet)
      *) fail "cell $id in study.h5 differs from its archive after $1" ;;
    esac
  done
  [ "$missing" -le 1 ] || fail "$missing finished cells missing from study.h5 after $1"
  echo "after $1: $n cell(s) done, $((n - missing)) in study.h5"
}

# SIGKILL right after the first cell's archive appears; SIGTERM in the middle
# of the third cell (its unlearned model saved, its evaluation running).
run_until '[ "$(done_count "$W/b")" -ge 1 ]' KILL
check_study SIGKILL
first=$(ls "$W"/b/cells/*/relapse.h5 | head -1)
stamp=$(stat -c '%i %Y' "$first")
run_until '[ "$(unlearned)" -ge 3 ]' TERM
[ "$(done_count "$W/b")" -eq 2 ] || fail "the SIGTERM did not land inside the third cell"
check_study SIGTERM
"$RELAPSE_BIN" sweep run "$W/b.yaml" > "$W/b_final.log" 2>&1 || { cat "$W/b_final.log"; fail "resumed sweep"; }
grep -q "3 cells, 1 to run" "$W/b_final.log" || { cat "$W/b_final.log"; fail "resume did not skip the 2 done cells"; }
[ "$(stat -c '%i %Y' "$first")" = "$stamp" ] || fail "a finished cell was rerun ($first)"
[ "$(done_count "$W/b")" -eq 3 ] || fail "resumed sweep: not 3 cell archives"

"$H5_SAME" "$W/a/study.h5" "$W/b/study.h5" "${SKIP[@]}" || fail "resumed study differs from the uninterrupted one"
echo "OK"
