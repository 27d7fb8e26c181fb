#!/usr/bin/env bash
# doodle train as a user runs it: usage errors, a run killed with SIGKILL leaves a loadable checkpoint, --resume
# finishes it and removes the temporary files the kill left, eval and predict read the result. A checkpoint whose
# stored options the command line would refuse is refused; --resume without a checkpoint says why.
name=train
source "$(dirname "$0")/common.bash"
sample=${DOODLE_SAMPLE_DIR:?}
export LC_ALL=C # byte lengths in spoil()

# spoil SRC DST REGEX TEXT: copies run folder SRC to DST with the first match of REGEX in its checkpoint's JSON
# header replaced by TEXT, padded with blanks to the same length (so the header keeps its size and offsets)
spoil() {
  local src=$1 dst=$2 re=$3 to=$4 f=$2/checkpoint.safetensors n hdr
  rm -rf "$dst" && cp -r "$src" "$dst" || { fail "spoil: cannot copy $src"; return; }
  n=$(od -An -tu8 -N8 "$f" | tr -d ' ')
  hdr=$(tail -c +9 "$f" | head -c "$n")
  [[ $hdr =~ $re ]] || { fail "spoil: /$re/ is not in the checkpoint"; return; }
  local from=${BASH_REMATCH[0]}
  while [ ${#to} -lt ${#from} ]; do to="$to "; done
  [ ${#to} -eq ${#from} ] || { fail "spoil: '$to' is longer than '$from'"; return; }
  hdr=${hdr/"$from"/"$to"}
  { head -c 8 "$f" && printf '%s' "$hdr" && tail -c +$((9 + n)) "$f"; } >"$f.new" && mv "$f.new" "$f"
}

expect_status 0 "train --help" "$doodle" train --help
grep -q "usage: doodle train" "$tmp/out" || fail "--help prints no usage"
expect_status 2 "train without data" "$doodle" train -o "$tmp/run"
expect_status 2 "train --opt bogus" "$doodle" train --data x.dset -o "$tmp/run" --opt bogus
expect_status 1 "train on a missing dataset" "$doodle" train --data "$tmp/missing.dset" -o "$tmp/run"
grep -q "missing.dset" "$tmp/err" || fail "missing dataset not named: $(cat "$tmp/err")"
# the ranges are checked in one place (the library), by flag
expect_status 2 "train --lr -1" "$doodle" train --data x.dset -o "$tmp/run" --lr -1
grep -q -- "--lr -1 is out of range" "$tmp/err" || fail "--lr -1: $(cat "$tmp/err")"
expect_status 2 "train --momentum 1" "$doodle" train --data x.dset -o "$tmp/run" --momentum 1
expect_status 2 "train --lr 1x" "$doodle" train --data x.dset -o "$tmp/run" --lr 1x

# a prep killed part-way leaves d.dset.tmp.XXXXXX: the next prep of d.dset removes it, never a live writer's (one
# that holds its lock: here this shell, on fd 9), nor anything else
printf 'partial' >"$tmp/d.dset.tmp.Ab12Cd"
printf 'keep' >"$tmp/d.dset.tmp.notmine"
exec 9>"$tmp/d.dset.tmp.LiVe01" && flock -x 9 || fail "cannot lock a file with flock(1)"
"$doodle" prep -q --input "$sample/bitmaps" --per-class 100 --test-frac 0.2 -o "$tmp/d.dset" >/dev/null ||
  fail "prep failed"
exec 9>&-
[ -e "$tmp/d.dset.tmp.Ab12Cd" ] && fail "prep left the stale d.dset.tmp.Ab12Cd"
[ -e "$tmp/d.dset.tmp.LiVe01" ] || fail "prep removed a live writer's temporary file"
[ -e "$tmp/d.dset.tmp.notmine" ] || fail "prep removed a file that is not its temporary file"
rm -f "$tmp/d.dset.tmp.LiVe01" "$tmp/d.dset.tmp.notmine"
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
# what a kill in the middle of each write leaves; the resumed run removes them all
for f in checkpoint.safetensors.tmp.Stale1 history.csv.tmp.Stale2 model.safetensors.tmp.Stale3 dataset.txt.tmp.Stale4; do
  printf 'partial' >"$tmp/run/$f"
done
expect_status 0 "summary of the checkpoint left by a killed run" "$doodle" summary "$tmp/run/checkpoint.safetensors"
done_epochs=$(($(wc -l <"$tmp/run/history.csv") - 1))
[ "$done_epochs" -ge 1 ] || fail "history.csv has no epoch"
expect_status 0 "resume" "$doodle" train --data "$tmp/d.dset" -o "$tmp/run" --resume --epochs $((done_epochs + 1))
grep -q "resuming" "$tmp/out" || fail "resume does not say so: $(cat "$tmp/out")"
[ "$(($(wc -l <"$tmp/run/history.csv") - 1))" -eq $((done_epochs + 1)) ] || fail "history.csv: $(cat "$tmp/run/history.csv")"
head -1 "$tmp/run/history.csv" | grep -qx "epoch,train_loss,train_acc,val_loss,val_acc,val_top3,lr,seconds" ||
  fail "history.csv header: $(head -1 "$tmp/run/history.csv")"
leftover=$(ls "$tmp/run" | grep '\.tmp\.')
[ -z "$leftover" ] || fail "temporary files left in the run folder after --resume: $leftover"

# a checkpoint whose stored options or state the command line would refuse: exit 1, naming the file and the field
resume_spoilt() { # WHAT REGEX TEXT EXPECTED-IN-MESSAGE
  spoil "$tmp/run" "$tmp/spoilt" "$2" "$3"
  expect_status 1 "resume with $1" "$doodle" train --data "$tmp/d.dset" -o "$tmp/spoilt" --resume \
    --epochs $((done_epochs + 2)) --no-report
  grep -q "spoilt/checkpoint.safetensors: not a usable checkpoint: .*$4" "$tmp/err" ||
    fail "resume with $1: the file or the field is not named: $(cat "$tmp/err")"
}
resume_spoilt "lr=-1" '\\"lr\\":\\"[^\\]*\\"' '\"lr\":\"-1\"' "option 'lr' is -1"
resume_spoilt "optimizer 7" '\\"optimizer\\":[0-9]+' '\"optimizer\":7' "option 'optimizer' is 7"
resume_spoilt "schedule 9" '\\"schedule\\":[0-9]+' '\"schedule\":9' "option 'schedule' is 9"
resume_spoilt "an all-zero RNG" '"rng":"[0-9a-f]{64}"' "\"rng\":\"$(printf '0%.0s' $(seq 64))\"" "field 'rng' is all zero"
resume_spoilt "junk after lr" '\\"lr\\":\\"[^\\]*\\"' '\"lr\":\"0.002x\"' "option 'lr' is '0.002x', not a number"
spoil "$tmp/run" "$tmp/spoilt" '\\"lr\\":\\"[^\\]*\\"' '\"lr\":\"0.002\"' # the same edit, a good value
expect_status 0 "resume with a re-padded checkpoint" "$doodle" train --data "$tmp/d.dset" -o "$tmp/spoilt" --resume \
  --epochs $((done_epochs + 2)) --no-report

# killed in epoch 1: no checkpoint yet, so --resume says there is nothing to resume and what to do (exit 1)
mkdir -p "$tmp/epoch1"
expect_status 1 "resume without a checkpoint" "$doodle" train --data "$tmp/d.dset" -o "$tmp/epoch1" --resume
grep -q "no epoch of its run finished, so there is nothing to resume; start the run again without --resume" \
  "$tmp/err" || fail "resume without a checkpoint gives no hint: $(cat "$tmp/err")"

# a folder that holds a run is refused without --resume or --force; --force starts over
expect_status 2 "train into an existing run" "$doodle" train --data "$tmp/d.dset" -o "$tmp/run" --epochs 1 --no-report
grep -q "holds a run already .*--resume to continue it, or --force" "$tmp/err" || fail "existing run: $(cat "$tmp/err")"
cp -r "$tmp/spoilt" "$tmp/forced"
expect_status 0 "--force into an existing run" "$doodle" train --data "$tmp/d.dset" -o "$tmp/forced" --epochs 1 \
  --model mnist28 --no-report --force
[ "$(($(wc -l <"$tmp/forced/history.csv") - 1))" -eq 1 ] || fail "--force kept the old history"

# Ctrl-C (SIGINT) inside an epoch: a checkpoint there and the command to go on (exit 130); --resume then gives
# the bits of a run never interrupted
quick=(--data "$tmp/d.dset" --model mnist28 --threads 1 --batch 16 --steps-per-epoch 5 --epochs 60 --no-report)
expect_status 0 "the uninterrupted run" "$doodle" train "${quick[@]}" -o "$tmp/straight"
"$doodle" train "${quick[@]}" -o "$tmp/int" >"$tmp/int.out" 2>"$tmp/int.err" &
pid=$!
for _ in $(seq 1 300); do [ -s "$tmp/int/checkpoint.safetensors" ] && break; sleep 0.05; done
kill -INT "$pid"
wait "$pid"
status=$?
[ "$status" -eq 130 ] || fail "Ctrl-C: exit $status, expected 130 ($(tail -2 "$tmp/int.err"))"
grep -q "^interrupted in epoch [0-9]* after step [0-9]* of 5: checkpoint written" "$tmp/int.out" ||
  fail "Ctrl-C does not say where it stopped: $(cat "$tmp/int.out")"
resume_cmd=$(sed -n 's/^continue with: doodle //p' "$tmp/int.out")
[ -n "$resume_cmd" ] || fail "Ctrl-C prints no command to continue"
# shellcheck disable=SC2086 # the printed command, split into words as a user's shell would
expect_status 0 "the printed --resume command" "$doodle" $resume_cmd --no-report
cmp -s "$tmp/straight/model.safetensors" "$tmp/int/model.safetensors" &&
  cmp -s "$tmp/straight/checkpoint.safetensors" "$tmp/int/checkpoint.safetensors" ||
  fail "interrupted inside an epoch and resumed: other bits than the run straight through"
# a second Ctrl-C quits at once, the last checkpoint intact
"$doodle" train "${quick[@]}" -o "$tmp/int2" >"$tmp/int2.out" 2>"$tmp/int2.err" &
pid=$!
for _ in $(seq 1 300); do [ -s "$tmp/int2/checkpoint.safetensors" ] && break; sleep 0.05; done
kill -INT "$pid"
kill -INT "$pid"
wait "$pid"
[ $? -eq 130 ] || fail "two Ctrl-C: not exit 130"
expect_status 0 "the checkpoint after two Ctrl-C" "$doodle" summary "$tmp/int2/checkpoint.safetensors"

expect_status 0 "eval" "$doodle" eval --model "$tmp/run/model.safetensors" --data "$tmp/d.dset" --json
grep -q '"accuracy"' "$tmp/out" || fail "eval --json: $(head -c 300 "$tmp/out")"
# eval --split val scores the very drawings training validated on: the chosen epoch's validation accuracy
best_val=$(awk -F, 'NR > 1 && $5 > b { b = $5 } END { printf "%.4f", b }' "$tmp/run/history.csv")
expect_status 0 "eval --split val" "$doodle" eval --model "$tmp/run/model.safetensors" --data "$tmp/d.dset" --split val -o "$tmp/ev"
grep -q "^accuracy  $best_val " "$tmp/out" || fail "eval --split val is not the run's best validation accuracy $best_val: $(grep ^accuracy "$tmp/out")"
# --tta: the mean of 5 views; another loss than without, an accuracy all the same
expect_status 0 "eval --tta" "$doodle" eval --model "$tmp/run/model.safetensors" --data "$tmp/d.dset" --split val --tta --json -o "$tmp/ev"
tta_loss=$(sed -n 's/.*"loss": *\([0-9.e+-]*\).*/\1/p' "$tmp/out")
"$doodle" eval --model "$tmp/run/model.safetensors" --data "$tmp/d.dset" --split val --json -o "$tmp/ev" >"$tmp/plain.json"
plain_loss=$(sed -n 's/.*"loss": *\([0-9.e+-]*\).*/\1/p' "$tmp/plain.json")
[ -n "$tta_loss" ] && [ "$tta_loss" != "$plain_loss" ] || fail "eval --tta changed nothing (loss $tta_loss vs $plain_loss)"

# the recipe's options: checked by flag, stored in the checkpoint, kept by --resume; --stop-after pauses a run
# that --resume finishes with the bits of the run straight through
expect_status 2 "train --label-smoothing 0.75" "$doodle" train --data x.dset -o "$tmp/r" --label-smoothing 0.75
grep -q -- "--label-smoothing 0.75 is out of range" "$tmp/err" || fail "--label-smoothing 0.75: $(cat "$tmp/err")"
expect_status 2 "train --ema 0.3" "$doodle" train --data x.dset -o "$tmp/r" --ema 0.3
expect_status 2 "train --mixup -1" "$doodle" train --data x.dset -o "$tmp/r" --mixup -1
expect_status 2 "train --aug-rotation 200" "$doodle" train --data x.dset -o "$tmp/r" --aug-rotation 200
recipe=(--data "$tmp/d.dset" --model mnist28 --epochs 3 --threads 1 --no-report --label-smoothing 0.1 --ema 0.9
        --mixup 0.2 --aug-rotation 15 --warp-bitmaps)
expect_status 0 "the recipe straight through" "$doodle" train "${recipe[@]}" -o "$tmp/recipe"
expect_status 0 "the recipe paused" "$doodle" train "${recipe[@]}" -o "$tmp/paused" --stop-after 1
grep -q "^paused after epoch 1" "$tmp/out" || fail "--stop-after 1: $(cat "$tmp/out")"
[ -e "$tmp/paused/test.json" ] && fail "a paused run evaluated the test split"
expect_status 0 "the paused recipe resumed" "$doodle" train --data "$tmp/d.dset" -o "$tmp/paused" --resume --epochs 3 --no-report
cmp -s "$tmp/recipe/model.safetensors" "$tmp/paused/model.safetensors" &&
  cmp -s "$tmp/recipe/checkpoint.safetensors" "$tmp/paused/checkpoint.safetensors" ||
  fail "label smoothing, EMA, mixup: paused and resumed, other bits than straight through"
spoil "$tmp/recipe" "$tmp/spoilt" '\\"ema\\":\\"[^\\]*\\"' '\"ema\":\"0.2\"'
expect_status 1 "a checkpoint with ema 0.2" "$doodle" train --data "$tmp/d.dset" -o "$tmp/spoilt" --resume --epochs 4
grep -q "option 'ema' is 0.2" "$tmp/err" || fail "stored ema 0.2: $(cat "$tmp/err")"
expect_status 0 "predict" "$doodle" predict --model "$tmp/run/model.safetensors" "$sample/strokes/simplified/cat.ndjson.gz"
[ "$(grep -c . "$tmp/out")" -ge 25 ] || fail "predict printed $(grep -c . "$tmp/out") lines for 25 drawings"
finish
