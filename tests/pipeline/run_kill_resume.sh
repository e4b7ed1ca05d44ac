#!/usr/bin/env bash
# tests/pipeline/run_kill_resume.sh — resume inside a run (issue 18): the
# reduced quickstart at 2 ranks is killed in the middle of unlearning, once
# with SIGKILL (after its first epoch checkpoint: the rerun resumes from it)
# and once with SIGTERM to the ranks, as Slurm preempts a job (the ranks
# finish the update, save and exit 75; the rerun resumes after that update),
# and then once more with SIGTERM during the evaluation of the unlearned
# model, after its full precision was saved (exit 75 between two precisions;
# the rerun reads the saved evaluations back from OUT/evals).
# The interrupted run shards its AdamW moments over the 2 DP ranks (ZeRO-1:
# each rank checkpoints its own share), the uninterrupted one does not; the
# final unlearned model equals the uninterrupted run's byte for byte and the
# archive value for value (h5_same; wall times and provenance aside), which
# checks resume and ZeRO-1 = replicated AdamW in one go.
source "$(dirname "$0")/../study/sweep_test_lib.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/relapse_run_kill.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill -KILL -- "-$pid" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT

# One unlearning run of 6 epochs of 3 updates (12 forget rows of the nano
# corpus at 64 tokens, batch 4), checkpointed after every epoch.
SETS=(--set model.preset=nano --set data.max_len=64 --set pretrain.epochs=1 --set train.epochs=1
  --set unlearn.methods=[npo_gdr] --set unlearn.lrs=[1.0e-4] --set unlearn.large_lrs=[]
  --set unlearn.sure.lrs=[] --set unlearn.epochs=6 --set unlearn.batch_size=4
  --set unlearn.precision=float32 --set relearn.steps=0 --set quantize.bits=[8,4]
  --set quantize.gptq.bits=[] --set quantize.awq.bits=[] --set quantize.bnb.formats=[]
  --set eval.max_samples=4 --set eval.verbmem_max_new_tokens=8 --set eval.knowmem_max_new_tokens=8
  --set eval.bootstrap.resamples=20 --set run.checkpoint_every=1)
MPIRUN=(bash "$SRC/launch/relapse-mpirun.sh" 2)
export RELAPSE_BIN RELAPSE_NUM_THREADS=1

run_to_end() {  # OUT LOG [--set ...]
  local out=$1 log=$2
  shift 2
  "${MPIRUN[@]}" run "$SRC/configs/tour.yaml" "${SETS[@]}" --set run.out_dir="$out" "$@" >> "$log" 2>&1
}
resume_state() { cat "$W"/b/models/npo_gdr_lr0.0001.resume-*/state.json 2>/dev/null; }
resumed_steps() { resume_state | sed -n 's/.*"steps": \([0-9]*\).*/\1/p'; }

run_to_end "$W/a" "$W/a.log" || { cat "$W/a.log"; fail "uninterrupted run"; }
ls "$W"/a/models/*.resume-* > /dev/null 2>&1 && fail "checkpoints left behind after a finished run"

# start_b: the same run into b/, in its own process group; pid = mpirun's.
start_b() {
  setsid "${MPIRUN[@]}" run "$SRC/configs/tour.yaml" "${SETS[@]}" --set run.out_dir="$W/b" \
    --set parallel.shard_optimizer=true \
    >> "$W/b.log" 2>&1 &
  pid=$!
}
wait_for() {  # COND PID
  for _ in $(seq 1 4000); do
    eval "$1" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# SIGKILL to the whole job once the first epoch's checkpoint is there.
start_b
wait_for '[ -n "$(resumed_steps)" ]' "$pid" || { cat "$W/b.log"; fail "no unlearning checkpoint appeared"; }
kill -KILL -- "-$pid"
wait "$pid" 2>/dev/null
first=$(resumed_steps)
echo "SIGKILL after the checkpoint of update $first"
[ -e "$W/b/relapse.h5" ] && fail "an archive exists after SIGKILL in unlearning"

# SIGTERM to the ranks (not mpirun) once the resumed run has saved a later epoch.
start_b
wait_for '[ "$(resumed_steps)" -gt "$first" ] 2>/dev/null' "$pid" || { cat "$W/b.log"; fail "the rerun made no progress"; }
grep -q "resumed from .* after update $first" "$W/b.log" || { cat "$W/b.log"; fail "the rerun did not resume from update $first"; }
pkill -TERM -P "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 75 ] || { cat "$W/b.log"; fail "SIGTERM: exit $rc, expected 75"; }
grep -q "stopped by SIGTERM after update" "$W/b.log" || fail "no preemption message"
echo "SIGTERM: exit 75, checkpoint of update $(resumed_steps)"

# SIGTERM to the ranks once the unlearned model's full-precision evaluation is
# saved (int8 and int4 still to come): they stop between two precisions.
start_b
wait_for '[ -e "$W/b/evals/npo_gdr_lr0.0001/full.h5" ]' "$pid" || { cat "$W/b.log"; fail "no evaluation was saved"; }
pkill -TERM -P "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 75 ] || { cat "$W/b.log"; fail "SIGTERM in evaluation: exit $rc, expected 75"; }
grep -q "stopped by SIGTERM during the evaluation, after npo_gdr_lr0.0001 @ " "$W/b.log" ||
  { cat "$W/b.log"; fail "no preemption message from the evaluation"; }
[ -e "$W/b/relapse.h5" ] && fail "an archive exists after SIGTERM in evaluation"
echo "SIGTERM in evaluation: exit 75, saved: $(ls "$W/b/evals/npo_gdr_lr0.0001" | tr '\n' ' ')"

run_to_end "$W/b" "$W/b.log" --set parallel.shard_optimizer=true || { cat "$W/b.log"; fail "resumed run"; }
grep -q "eval npo_gdr_lr0.0001 @ full: cached" "$W/b.log" || { cat "$W/b.log"; fail "the saved evaluation was not reused"; }
grep -q "resumed from .* after update $(grep -o 'stopped by SIGTERM after update [0-9]*' "$W/b.log" | grep -o '[0-9]*$')" "$W/b.log" ||
  { cat "$W/b.log"; fail "the last rerun did not resume from the SIGTERM checkpoint"; }
ls "$W"/b/models/*.resume-* > /dev/null 2>&1 && fail "checkpoints left behind after the resumed run"

cmp "$W/a/models/npo_gdr_lr0.0001/model.safetensors" "$W/b/models/npo_gdr_lr0.0001/model.safetensors" ||
  fail "the resumed model differs from the uninterrupted one"
"$H5_SAME" "$W/a/relapse.h5" "$W/b/relapse.h5" "${SKIP[@]}" || fail "the resumed archive differs"
echo "OK"
