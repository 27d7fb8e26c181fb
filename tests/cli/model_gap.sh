#!/usr/bin/env bash
# models/examples/doodle28_gap.cfg (doodle28 with a conv -> global average pooling -> dense head; not a built-in):
# its summary shows the pooling as Keras does, it trains a step on the bundled sample, and the model it writes reads
# back (summary, eval) with the pooling layer in it.
name=model_gap
source "$(dirname "$0")/common.bash"
sample=${DOODLE_SAMPLE_DIR:?}
cfg=$(dirname "$0")/../../models/examples/doodle28_gap.cfg

expect_status 0 "summary of the example" "$doodle" summary "$cfg" --classes 5
grep -q '^Model: "doodle28_gap"$' "$tmp/out" || fail "summary: no model line: $(head -3 "$tmp/out")"
grep -qF " global_average_pooling2d (G  (None, 128)              0" "$tmp/out" || fail "summary: no pooling row"
grep -qF " dense (Dense)               (None, 5)                 645" "$tmp/out" || fail "summary: no dense row"
"$doodle" summary doodle28_gap >/dev/null 2>&1 && fail "doodle28_gap became a built-in network"

expect_status 0 "prep" "$doodle" prep --input "$sample/bitmaps" --per-class 200 --test-frac 0.1 --seed 1 \
  -o "$tmp/s.dset"
expect_status 0 "train the example" "$doodle" train --data "$tmp/s.dset" -o "$tmp/run" --model "$cfg" --max-steps 1 \
  --batch 32 --threads 2 --no-report
[ "$(wc -l <"$tmp/run/history.csv")" -eq 2 ] || fail "history.csv: $(cat "$tmp/run/history.csv")"
awk -F, 'NR == 2 && !($2 > 0 && $2 < 10) { exit 1 }' "$tmp/run/history.csv" ||
  fail "train loss: $(cat "$tmp/run/history.csv")"
expect_status 0 "summary of the trained model" "$doodle" summary "$tmp/run/model.safetensors"
grep -qF "(GlobalAveragePooling2D)" "$tmp/out" || grep -qF "lobalAveragePooling2D)" "$tmp/out" ||
  fail "trained model: no pooling layer: $(cat "$tmp/out")"
expect_status 0 "eval the trained model" "$doodle" eval --model "$tmp/run/model.safetensors" --data "$tmp/s.dset"
grep -q "accuracy" "$tmp/out" || fail "eval: no accuracy: $(head -5 "$tmp/out")"
finish
