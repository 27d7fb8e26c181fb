#!/usr/bin/env bash
# A bad option value gets one message that names the option and echoes the value, then the pointer to --help, and
# exit status 2 — for every numeric option of every verb listed here (the value 'zz9' is not a number anywhere).
name=bad_options
source "$(dirname "$0")/common.bash"

cases=(
  "prep --input x -o y.dset --per-class" "prep --input x -o y.dset --test-frac" "prep --input x -o y.dset --threads"
  "prep --input x -o y.dset --seed" "prep --input x -o y.dset --val-frac"
  "show x.dset -o y.png --per-class" "show x.dset -o y.png --count" "show x.dset -o y.png --scale"
  "render -o y.npy x.ndjson --line-width" "render -o y.npy x.ndjson --padding" "render -o y.npy x.ndjson --limit"
  "train --data x.dset -o r --epochs" "train --data x.dset -o r --batch" "train --data x.dset -o r --lr"
  "train --data x.dset -o r --warmup" "train --data x.dset -o r --weight-decay" "train --data x.dset -o r --patience"
  "train --data x.dset -o r --seed" "train --data x.dset -o r --val-frac" "train --data x.dset -o r --max-steps"
  "train --data x.dset -o r --label-smoothing" "train --data x.dset -o r --mixup" "train --data x.dset -o r --ema"
  "train --data x.dset -o r --aug-rotation" "train --data x.dset -o r --stop-after"
  "predict -m m.safetensors x.ndjson --top"
  "bench train --batch" "bench train --seconds" "bench train --threads"
  "explain clusters -m m -d d -o o --k" "explain clusters -m m -d d -o o --variance"
  "explain clusters -m m -d d -o o --restarts" "explain clusters -m m -d d -o o --eps"
  "explain clusters -m m -d d -o o --tsne" "explain clusters -m m -d d -o o --perplexity"
  "explain activations -m m -d d -o o --top" "explain activations -m m -d d -o o --units"
  "explain saliency -m m -d d -o o --per-class" "explain misclassified -m m -d d -o o --max"
  "explain quality -m m -d d -o o --threshold" "explain quality -m m -d d -o o --max-shown"
  "report r --per-class" "serve -m m --port" "serve -m m --timeout" "serve -m m --threads"
  "tune --data d -o t --budget 5 --trials" "tune --data d -o t --trials 2 --budget"
)
for c in "${cases[@]}"; do
  # shellcheck disable=SC2086
  expect_status 2 "$c zz9" "$doodle" $c zz9
  opt=${c##* }
  first=$(head -1 "$tmp/err")
  [[ $first == *"$opt"* && $first == *zz9* ]] || fail "$c zz9: the message does not name $opt and echo zz9: $first"
  [ "$(grep -vc "^Try 'doodle" "$tmp/err")" -eq 1 ] || fail "$c zz9: more than one message: $(cat "$tmp/err")"
  grep -q "^Try 'doodle .* --help'" "$tmp/err" || fail "$c zz9: no pointer to --help: $(cat "$tmp/err")"
done
echo "${#cases[@]} options checked"
finish
