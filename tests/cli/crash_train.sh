#!/usr/bin/env bash
# doodle train killed with SIGKILL at several moments, each time resumed with --resume, ends with the bytes of a run
# that was never interrupted (same seed, same threads): model.safetensors, checkpoint.safetensors, test.json, and
# history.csv but for its wall-clock column. After every kill the files under their final names are whole (loadable)
# and the next run removes the temporary file the kill left.
#
# The moments are made exact with the test hook of src/util/atomic_file.c: DOODLE_TEST_SLOW_WRITE=PART makes the
# process stop itself (SIGSTOP) when a file whose path contains PART is written and synced but not yet renamed.
name=crash_train
source "$(dirname "$0")/common.bash"
sample=${DOODLE_SAMPLE_DIR:?}


"$doodle" prep -q --input "$sample/bitmaps" --per-class 300 --test-frac 0.2 -o "$tmp/d.dset" >/dev/null ||
  { fail "prep failed"; finish; }
epochs=6
train=(train --data "$tmp/d.dset" --model mnist28 --epochs $epochs --steps-per-epoch 6 --threads 2 --seed 7 --no-report)

"$doodle" "${train[@]}" -o "$tmp/ref" >"$tmp/ref.out" 2>&1 || { fail "the uninterrupted run failed: $(cat "$tmp/ref.out")"; finish; }

run=$tmp/run
rows() { echo $(($(wc -l <"$run/history.csv" 2>/dev/null || echo 1) - 1)); }
# whole WHAT: what a kill may leave under the final names loads; reports the checkpoint's epoch through history.csv
whole() {
  local f
  for f in checkpoint.safetensors model.safetensors; do
    [ -e "$run/$f" ] || continue
    "$doodle" summary "$run/$f" >/dev/null 2>"$tmp/summary.err" || fail "$1: $f does not load: $(cat "$tmp/summary.err")"
  done
  echo "kill $kills, $1: history.csv has $(rows) epochs, the files under their names load"
}
# start HOOK [--resume]: the run in the background with the hook set to HOOK (empty: none); its pid in $pid
start() {
  local hook=$1; shift
  DOODLE_TEST_SLOW_WRITE=$hook "$doodle" "${train[@]}" -o "$run" "$@" >>"$tmp/run.out" 2>&1 &
  pid=$!
}
kills=0
# kill_in_write HOOK NTH WHAT [--resume]: kills the run while the NTH file matching HOOK is written (complete in its
# temporary file, not renamed); the earlier ones go on (SIGCONT)
kill_in_write() {
  local hook=$1 nth=$2 what=$3; shift 3
  start "$hook" "$@"
  for i in $(seq 1 "$nth"); do
    wait_stopped "$pid" || { fail "$what: the run ended before write $i of $hook"; wait "$pid"; return 1; }
    [ "$i" -lt "$nth" ] && kill -CONT "$pid"
  done
  ls "$run" | grep -q "^$hook\.tmp\.......$" || fail "$what: no temporary file of $hook while it is written"
  killed "$pid"
  kills=$((kills + 1))
  whole "$what"
}

# 1. while the checkpoint of epoch 2 is written: epoch 1's stays in place
kill_in_write checkpoint.safetensors 2 "killed writing checkpoint 2"
[ "$(rows)" -eq 2 ] || fail "killed writing checkpoint 2: history.csv has $(rows) epochs, expected 2"

# 2. right after an epoch, before any of its files is saved (history.csv is written first)
kill_in_write history.csv 1 "killed writing history" --resume

# 3. while model.safetensors (a better epoch) is written, after its history.csv
if kill_in_write model.safetensors 1 "killed writing the model" --resume; then :; fi

# 4. right after a checkpoint is in place
start checkpoint.safetensors --resume
if wait_stopped "$pid"; then
  kill -CONT "$pid"
  for _ in $(seq 1 400); do ls "$run" | grep -q '^checkpoint\.safetensors\.tmp\.' || break; sleep 0.005; done
  killed "$pid"
  kills=$((kills + 1))
  whole "killed after a checkpoint"
else
  fail "killed after a checkpoint: the run ended first"
fi

# 5. mid-epoch: some steps after a checkpoint, before the next
before=$(rows)
start checkpoint.safetensors --resume
if wait_stopped "$pid"; then
  kill -CONT "$pid"
  sleep 0.1
  killed "$pid"
  kills=$((kills + 1))
  whole "killed mid-epoch"
  [ "$(rows)" -le $((before + 1)) ] || echo "note: the mid-epoch kill came after another epoch ended"
else
  fail "killed mid-epoch: the run ended first"
fi

# 6. at the end: the last epoch saved, test.json being written
kill_in_write test.json 1 "killed writing test.json" --resume
[ "$(rows)" -eq $epochs ] || fail "killed writing test.json: history.csv has $(rows) epochs, expected $epochs"
[ -e "$run/test.json" ] && fail "killed writing test.json: a test.json is there"

# the last resume finishes the run, removes every temporary file, and gives the uninterrupted run's bytes
start "" --resume
wait "$pid" || fail "the last resume failed: $(tail -5 "$tmp/run.out")"
for f in model.safetensors checkpoint.safetensors test.json; do
  cmp -s "$tmp/ref/$f" "$run/$f" || fail "$f differs from the uninterrupted run's"
done
cut -d, -f1-7 "$tmp/ref/history.csv" >"$tmp/ref.hist"
cut -d, -f1-7 "$run/history.csv" >"$tmp/run.hist"
cmp -s "$tmp/ref.hist" "$tmp/run.hist" || fail "history.csv differs: $(diff "$tmp/ref.hist" "$tmp/run.hist")"
leftover=$(ls "$run" | grep '\.tmp\.')
[ -z "$leftover" ] || fail "temporary files left after the last resume: $leftover"
echo "$kills kills, then --resume: the same bytes as the uninterrupted run"
finish
