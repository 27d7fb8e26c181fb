#!/usr/bin/env bash
# doodle report and the report doodle train writes: one self-contained HTML file (every picture an inline PNG, no
# script, nothing fetched) with every section, numbers that agree with doodle eval and history.csv, and clear
# errors for a run folder without a model or a dataset, and for data that does not fit. The page in a browser:
# tests/cli/report_browser.sh.
name=report
source "$(dirname "$0")/common.bash"
sample=${DOODLE_SAMPLE_DIR:-$(dirname "$0")/../../data/sample}

"$doodle" prep --input "$sample/bitmaps" --test-frac 0.1 --seed 1 -o "$tmp/bm.dset" >/dev/null || fail "prep"
# doodle train writes the report at the end and records its dataset
expect_status 0 "train (with its report)" "$doodle" train --data "$tmp/bm.dset" --model mnist28 --epochs 2 -o "$tmp/run"
grep -q "^report: $tmp/run/report.html$" "$tmp/out" || fail "train does not print the report's path: $(tail -2 "$tmp/out")"
[ -s "$tmp/run/report.html" ] || fail "train wrote no report.html"
[ "$(cat "$tmp/run/dataset.txt")" = "$(cd "$tmp" && pwd -P)/bm.dset" ] || fail "dataset.txt: $(cat "$tmp/run/dataset.txt")"

expect_status 0 "report --help" "$doodle" report --help
grep -q "usage: doodle report RUNDIR" "$tmp/out" || fail "report --help prints no usage"
expect_status 2 "report without RUNDIR" "$doodle" report
expect_status 2 "report --bogus" "$doodle" report "$tmp/run" --bogus
expect_status 0 "report RUNDIR -o" "$doodle" report "$tmp/run" -o "$tmp/r.html" --quiet
html=$tmp/r.html
grep -q "^wrote $html$" "$tmp/out" || fail "report output: $(cat "$tmp/out")"

# self-contained: pictures inline, no script, no external reference
imgs=$(grep -o '<img ' "$html" | wc -l)
inline=$(grep -o '<img alt="[^"]*" src="data:image/png;base64,' "$html" | wc -l)
[ "$imgs" -ge 10 ] && [ "$imgs" -eq "$inline" ] || fail "$imgs images, $inline inline"
# one inline script (table sorting), nothing fetched
[ "$(grep -o '<script' "$html" | wc -l)" -eq 1 ] && grep -q '<script>document' "$html" || fail "want one inline script"
grep -Eqi '(src|href)="(https?:|//)' "$html" && fail "the report refers to the network"
for id in data model training evaluation misclassified clusters activations saliency suspect; do
  grep -q "<section id=\"$id\">" "$html" || fail "no section $id"
done
[ "$(grep -o '<polyline' "$html" | wc -l)" -eq 4 ] || fail "want 4 curves (train/test loss/accuracy)"
# the numbers are eval's and history's
"$doodle" eval -m "$tmp/run/model.safetensors" -d "$tmp/bm.dset" --json -o "$tmp/ev" >"$tmp/eval.json" || fail "eval"
acc=$(node -e 'console.log((100 * JSON.parse(require("fs").readFileSync(process.argv[1])).accuracy).toFixed(2))' "$tmp/eval.json")
grep -q "Accuracy <b>$acc%</b>" "$html" || fail "report accuracy differs from eval's $acc%"
best=$(awk -F, 'NR > 1 && $5 > b { b = $5 } END { printf "%.2f", 100 * b }' "$tmp/run/history.csv")
grep -q "the best test accuracy, $best%" "$html" || fail "report best accuracy differs from history.csv's $best%"
total=$("$doodle" summary mnist28 --classes 5 | grep "Total params")
[ -n "$total" ] && grep -q "$total" "$html" || fail "the model summary ($total) is missing"
wrong=$(($(wc -l <"$tmp/ev/misclassified.csv") - 1))
grep -q "$wrong of 500 test drawings are misclassified" "$html" || fail "misclassified count differs from eval's $wrong"
for f in classes.png saliency.png misclassified/misclassified-as.csv quality/duplicates.csv clusters/summary.json; do
  [ -s "$tmp/run/explain/$f" ] || fail "RUNDIR/explain/$f missing"
done

# bad input
expect_status 1 "report of a missing folder" "$doodle" report "$tmp/nope"
grep -q "nope: no such run folder" "$tmp/err" || fail "missing run folder unclear: $(cat "$tmp/err")"
mkdir -p "$tmp/empty-run"
expect_status 2 "report of a run without dataset.txt" "$doodle" report "$tmp/empty-run"
grep -q "give --data" "$tmp/err" || fail "missing dataset unclear: $(cat "$tmp/err")"
expect_status 1 "report of a run without a model" "$doodle" report "$tmp/empty-run" --data "$tmp/bm.dset"
grep -q "model.safetensors" "$tmp/err" || fail "missing model not named: $(cat "$tmp/err")"
"$doodle" prep --input "$sample/bitmaps" --classes cat,fish --test-frac 0.1 -o "$tmp/two.dset" >/dev/null || fail "prep two"
expect_status 1 "report with data that does not fit" "$doodle" report "$tmp/run" --data "$tmp/two.dset" -o "$tmp/bad.html"
grep -q "does not fit" "$tmp/err" || fail "mismatch unclear: $(cat "$tmp/err")"
[ ! -e "$tmp/bad.html" ] || fail "a failed report left a file"
# a run whose data has no test split: the report says so and still has the data, model and curves
"$doodle" prep --input "$sample/bitmaps" --test-frac 0 -o "$tmp/notest.dset" >/dev/null || fail "prep notest"
expect_status 0 "report on data without a test split" "$doodle" report "$tmp/run" --data "$tmp/notest.dset" -o "$tmp/nt.html" -q
grep -q "no test split" "$tmp/nt.html" || fail "no-test report does not say so"
ls "$tmp/run" | grep -q '\.tmp\.' && fail "temporary files left in the run folder"
finish
