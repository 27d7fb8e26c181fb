#!/usr/bin/env bash
# Every verb reports a bad option the same way (src/cli/cli_util.c, cli_opt_*): a bad value as
# "doodle VERB: --OPTION: expected WHAT, got 'VALUE'", a missing one as "doodle VERB: --OPTION needs a value", an
# unknown one as "doodle VERB: unknown option '--X'", each followed by the pointer to --help, exit status 2.
# --threads N on the compute verbs that had a hidden thread count (eval, explain *, report): refused outside
# 1..256, and on a model trained on the bundled sample, 1 and 2 threads give the same evaluation and the same
# clusters.
name=option_values
source "$(dirname "$0")/common.bash"
sample=${DOODLE_SAMPLE_DIR:-$(dirname "$0")/../../data/sample}

# usage_message WHAT MESSAGE CMD…: exit status 2, MESSAGE as the first line of stderr, the pointer to --help second
usage_message() {
  local what=$1 want=$2; shift 2
  expect_status 2 "$what" "$@"
  [ "$(head -1 "$tmp/err")" = "$want" ] || fail "$what: first line '$(head -1 "$tmp/err")', expected '$want'"
  local verb=${want#doodle }
  verb=${verb%%:*}
  [ "$(sed -n 2p "$tmp/err")" = "Try 'doodle $verb --help'." ] || fail "$what: no pointer to --help: $(cat "$tmp/err")"
  [ "$(wc -l <"$tmp/err")" -eq 2 ] || fail "$what: more than two lines: $(cat "$tmp/err")"
}

# --- bad values: the range when it is small, the kind of number always ---
usage_message "train --epochs x" "doodle train: --epochs: expected a whole number, got 'x'" \
  "$doodle" train --data x.dset -o r --epochs x
usage_message "train --epochs past int" "doodle train: --epochs: expected a whole number from 0 to 2147483647, got '9999999999'" \
  "$doodle" train --data x.dset -o r --epochs 9999999999
usage_message "train --mixup q" "doodle train: --mixup: expected a number, got 'q'" "$doodle" train --data x -o r --mixup q
usage_message "prep --test-frac 2" "doodle prep: --test-frac: expected a number from 0 to 1, got '2'" \
  "$doodle" prep --input x -o y.dset --test-frac 2
usage_message "prep --per-class 0" "doodle prep: --per-class: expected a whole number >= 1, got '0'" \
  "$doodle" prep --input x -o y.dset --per-class 0
usage_message "show --scale 0" "doodle show: --scale: expected a whole number from 1 to 64, got '0'" \
  "$doodle" show x.dset -o y.png --scale 0
usage_message "render --cols -3" "doodle render: --cols: expected a whole number from 1 to 10000, got '-3'" \
  "$doodle" render -o y.png x.ndjson --cols -3
usage_message "eval --batch 0" "doodle eval: --batch: expected a whole number from 1 to 4096, got '0'" \
  "$doodle" eval -m m -d d --batch 0
usage_message "explain clusters --k-min 1" "doodle explain clusters: --k-min: expected a whole number from 2 to 1000, got '1'" \
  "$doodle" explain clusters -m m -d d -o o --k-min 1
usage_message "explain quality --max-shown 1e3" "doodle explain quality: --max-shown: expected a whole number from 1 to 1000, got '1e3'" \
  "$doodle" explain quality -m m -d d -o o --max-shown 1e3
usage_message "report --per-class 99" "doodle report: --per-class: expected a whole number from 1 to 50, got '99'" \
  "$doodle" report r --per-class 99
usage_message "bench --seconds -1" "doodle bench: --seconds: expected a number from 0 to 86400, got '-1'" \
  "$doodle" bench train --seconds -1

# --- a value missing, an option unknown: the same words in every verb ---
usage_message "train --epochs" "doodle train: --epochs needs a value" "$doodle" train --data x.dset -o r --epochs
usage_message "prep --seed" "doodle prep: --seed needs a value" "$doodle" prep --input x -o y.dset --seed
usage_message "explain misclassified --max" "doodle explain misclassified: --max needs a value" \
  "$doodle" explain misclassified -m m -d d -o o --max
usage_message "eval --threads" "doodle eval: --threads needs a value" "$doodle" eval -m m -d d --threads
for verb in train prep show info summary eval tune bench report predict render simplify serve; do
  usage_message "$verb --bogus" "doodle $verb: unknown option '--bogus'" "$doodle" $verb --bogus
done
usage_message "explain saliency --bogus" "doodle explain saliency: unknown option '--bogus'" \
  "$doodle" explain saliency --bogus

# --- --threads on the compute verbs ---
for v in "eval -m m -d d" "explain clusters -m m -d d -o o" "explain quality -m m -d d -o o" \
  "explain misclassified -m m -d d -o o" "explain activations -m m -d d -o o" "explain saliency -m m -d d -o o" \
  "report r"; do
  verb=${v%% -*}
  verb=${verb% r}
  # shellcheck disable=SC2086
  usage_message "$verb --threads 0" "doodle $verb: --threads: expected a whole number from 1 to 256, got '0'" \
    "$doodle" $v --threads 0
  # shellcheck disable=SC2086
  "$doodle" $v --help >"$tmp/help" 2>&1
  grep -q -- "--threads N" "$tmp/help" || fail "$verb --help does not list --threads"
done

"$doodle" prep -q --input "$sample/bitmaps" --test-frac 0.2 --seed 1 -o "$tmp/s.dset" >/dev/null || fail "prep"
"$doodle" train --data "$tmp/s.dset" --model mnist28 --epochs 1 --max-steps 40 --seed 1 --no-report -o "$tmp/run" \
  >"$tmp/train.log" 2>&1 ||
  fail "train: $(tail -3 "$tmp/train.log")"
model=$tmp/run/model.safetensors
# the default is every core (up to 8): on this machine the same bits as --threads with its core count
cores=$(getconf _NPROCESSORS_ONLN) # what dd_cpu_count counts
[ "$cores" -gt 8 ] && cores=8
expect_status 0 "eval" "$doodle" eval -m "$model" -d "$tmp/s.dset" --json -o "$tmp/eval-default"
expect_status 0 "eval --threads $cores" "$doodle" eval -m "$model" -d "$tmp/s.dset" --threads $cores --json -o "$tmp/eval-n"
cmp -s "$tmp/eval-default/eval.json" "$tmp/eval-n/eval.json" || fail "eval: the default and --threads $cores differ"
# 1 and 2 threads: the same answers (the loss and the probabilities are sums whose last bits follow the threads)
for t in 1 2; do
  expect_status 0 "eval --threads $t" "$doodle" eval -m "$model" -d "$tmp/s.dset" --threads $t -o "$tmp/eval$t"
  expect_status 0 "explain clusters --threads $t" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" \
    -o "$tmp/clusters$t" --threads $t --tsne 0 --units 0 -q
done
cmp -s "$tmp/eval1/confusion.csv" "$tmp/eval2/confusion.csv" || fail "eval: 1 and 2 threads give another confusion.csv"
cmp -s <(cut -d, -f1-4 "$tmp/eval1/misclassified.csv") <(cut -d, -f1-4 "$tmp/eval2/misclassified.csv") ||
  fail "eval: 1 and 2 threads give other misclassified drawings"
[ -s "$tmp/clusters1/labels.csv" ] || fail "explain clusters wrote no labels.csv"
cmp -s "$tmp/clusters1/labels.csv" "$tmp/clusters2/labels.csv" ||
  fail "explain clusters: 1 and 2 threads give other clusters: $(diff "$tmp/clusters1/labels.csv" "$tmp/clusters2/labels.csv" | head -3)"
finish
