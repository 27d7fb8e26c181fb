#!/usr/bin/env bash
# doodle train as a user runs it: usage errors, a run killed with SIGKILL leaves a loadable checkpoint, --resume
# finishes it, eval and predict read the result.
name=train
source "$(dirname "$0")/common.bash"
sample=${DOODLE_SAMPLE_DIR:?}

expect_status 0 "train --help" "$doodle" train --help
grep -q "usage: doodle train" "$tmp/out" || fail "--help prints no usage"
expect_status 2 "train without data" "$doodle" train -o "$tmp/run"
expect_status 2 "train --opt bogus" "$doodle" train --data x.dset -o "$tmp/run" --opt bogus
expect_status 1 "train on a missing dataset" "$doodle" train --data "$tmp/missing.dset" -o "$tmp/run"
grep -q "missing.dset" "$tmp/err" || fail "missing dataset not named: $(cat "$tmp/err")"

"$doodle" prep -q --input "$sample/bitmaps" --per-class 100 --test-frac 0.2 -o "$tmp/d.dset" >/dev/null ||
  fail "prep failed"
expect_status 1 "a 66x100 network on 28x28 bitmaps" "$doodle" train --data "$tmp/d.dset" --model seed -o "$tmp/bad"
grep -q "28x28" "$tmp/err" || fail "size mismatch not explained: $(cat "$tmp/err")"

# kill -9 once the first checkpoint is there: it must stay loadable, and --resume must finish the run
"$doodle" train --data "$tmp/d.dset" --model mnist28 --epochs 50 --threads 1 -o "$tmp/run" >"$tmp/train.out" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  [ -s "$tmp/run/checkpoint.safetensors" ] && break
  sleep 0.1
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
[ -s "$tmp/run/checkpoint.safetensors" ] || fail "no checkpoint after the first epoch: $(cat "$tmp/train.out")"
ls "$tmp/run" | grep -q '\.tmp\.' && rm -f "$tmp/run"/*.tmp.* # a write cut off by the kill; never the real file
expect_status 0 "summary of the checkpoint left by a killed run" "$doodle" summary "$tmp/run/checkpoint.safetensors"
done_epochs=$(($(wc -l <"$tmp/run/history.csv") - 1))
[ "$done_epochs" -ge 1 ] || fail "history.csv has no epoch"
expect_status 0 "resume" "$doodle" train --data "$tmp/d.dset" -o "$tmp/run" --resume --epochs $((done_epochs + 1))
grep -q "resuming" "$tmp/out" || fail "resume does not say so: $(cat "$tmp/out")"
[ "$(($(wc -l <"$tmp/run/history.csv") - 1))" -eq $((done_epochs + 1)) ] || fail "history.csv: $(cat "$tmp/run/history.csv")"
head -1 "$tmp/run/history.csv" | grep -qx "epoch,train_loss,train_acc,test_loss,test_acc,seconds" ||
  fail "history.csv header: $(head -1 "$tmp/run/history.csv")"

expect_status 0 "eval" "$doodle" eval --model "$tmp/run/model.safetensors" --data "$tmp/d.dset" --json
grep -q '"accuracy"' "$tmp/out" || fail "eval --json: $(head -c 300 "$tmp/out")"
expect_status 0 "predict" "$doodle" predict --model "$tmp/run/model.safetensors" "$sample/strokes/simplified/cat.ndjson.gz"
[ "$(grep -c . "$tmp/out")" -ge 25 ] || fail "predict printed $(grep -c . "$tmp/out") lines for 25 drawings"
finish
