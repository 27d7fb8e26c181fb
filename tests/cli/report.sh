#!/usr/bin/env bash
# doodle report and the report doodle train writes: one self-contained HTML file (every picture an inline PNG, one
# inline script that sorts tables, nothing fetched) with every section, numbers that agree with doodle eval and
# history.csv, and clear errors for a run folder without a model or a dataset, and for data that does not fit. A
# 5-class run keeps every table whole; a 345-class run on the real strokes of ../shared (a tiny network, one epoch)
# gets a page of at most 3 MB with the most confused classes, the most confused pairs and the whole confusion
# matrix as explain/confusion.csv. The page in a browser: tests/cli/report_browser.sh.
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
# train and validation loss and accuracy, and the learning rate
[ "$(grep -o '<polyline' "$html" | wc -l)" -eq 5 ] || fail "want 5 curves (train/validation loss/accuracy, learning rate)"
# the numbers are eval's and history's
"$doodle" eval -m "$tmp/run/model.safetensors" -d "$tmp/bm.dset" --json -o "$tmp/ev" >"$tmp/eval.json" || fail "eval"
acc=$(node -e 'console.log((100 * JSON.parse(require("fs").readFileSync(process.argv[1])).accuracy).toFixed(2))' "$tmp/eval.json")
grep -q "Accuracy <b>$acc%</b>" "$html" || fail "report accuracy differs from eval's $acc%"
best=$(awk -F, 'NR > 1 && $5 > b { b = $5 } END { printf "%.2f", 100 * b }' "$tmp/run/history.csv")
grep -q "The best validation accuracy, $best%" "$html" || fail "report best accuracy differs from history.csv's $best%"
# the test split's figure is test.json's, said once, for the chosen weights
test_acc=$(sed -n 's/.*"accuracy": \([0-9.]*\).*/\1/p' "$tmp/run/test.json" | awk '{ printf "%.2f", 100 * $1 }')
grep -q "The test split, used once for those weights: <b>$test_acc%</b>" "$html" || fail "the test figure ($test_acc%) is not test.json's"
total=$("$doodle" summary mnist28 --classes 5 | grep "Total params")
[ -n "$total" ] && grep -q "$total" "$html" || fail "the model summary ($total) is missing"
wrong=$(($(wc -l <"$tmp/ev/misclassified.csv") - 1))
grep -q "$wrong of 500 test drawings are misclassified" "$html" || fail "misclassified count differs from eval's $wrong"
for f in classes.png saliency.png misclassified/misclassified-as.csv quality/duplicates.csv clusters/summary.json \
  confusion.csv; do
  [ -s "$tmp/run/explain/$f" ] || fail "RUNDIR/explain/$f missing"
done

# Counts in the page: rows of the tables of a class, cells of the confusion table, pictures, pairs.
page_counts() {
  node -e '
    const s = require("fs").readFileSync(process.argv[1], "utf8");
    const table = (cls, k = 0) => (s.split(`<table class="${cls}"`)[k + 1] || "").split("</table>")[0];
    const rows = (t) => ((t.split("<tbody>")[1] || "").split("</tbody>")[0].match(/<tr>/g) || []).length;
    const count = (re) => (s.match(re) || []).length;
    console.log([rows(table("sortable classes")), rows(table("sortable metrics")), rows(table("sortable pairs")),
      ((s.match(/<table class="confusion[^"]*">[^]*?<\/table>/) || [""])[0].match(/<td /g) || []).length,
      count(/alt="Misclassified as /g), count(/alt="Feature maps of /g), count(/<details><summary>All \d+ classes/g)]
      .join(" "));' "$1"
}
# the small run keeps every table whole: 5 classes, 25 confusion cells, no collapsed full tables
read -r data_rows metric_rows pair_rows cells miss_pics act_pics collapsed <<<"$(page_counts "$html")"
[ "$data_rows $metric_rows $cells $act_pics $collapsed" = "5 5 25 5 0" ] ||
  fail "small run: data rows, metric rows, confusion cells, feature maps, full tables: $data_rows $metric_rows $cells $act_pics $collapsed"
[ "$pair_rows" -ge 1 ] && grep -q "<h3>Most confused pairs</h3>" "$html" || fail "small run: no most confused pairs"
[ "$miss_pics" -eq "$(cut -d, -f1 "$tmp/run/explain/misclassified/misclassified-as.csv" | tail -n +2 | sort -u | wc -l)" ] ||
  fail "small run: $miss_pics misclassified-as pictures"
grep -q 'model <code>mnist28</code>, 5 classes' "$html" || fail "the header does not name the model mnist28"
# the run's settings, from checkpoint.safetensors and dataset.txt
grep -q '<section id="settings">' "$html" || fail "no settings section"
for row in '<tr><th>model</th><td>mnist28, ' '<tr><th>optimizer</th><td>Adam</td>' '<tr><th>epochs</th><td>2 run' \
  '<tr><th>augmentation</th><td>on</td>' "<tr><th>data set</th><td>$(cd "$tmp" && pwd -P)/bm.dset</td>" \
  '<tr><th>data set hash</th><td>FNV-1a 64 [0-9a-f]\{16\} of the whole file</td>' '<tr><th>doodle</th><td>[0-9]'; do
  grep -q "$row" "$html" || fail "the settings lack: $row"
done
grep -q 'href="explain/confusion.csv"' "$tmp/run/report.html" || fail "the page in RUNDIR does not link explain/confusion.csv"
grep -q "href=\"$(cd "$tmp/run/explain" && pwd -P)/confusion.csv\"" "$html" ||
  fail "a page outside RUNDIR does not link the confusion CSV by its path"

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

# 345 classes: every real stroke drawing of ../shared, a tiny network, one epoch
data=${DOODLE_SHARED_DATA:-}
if [ -z "$data" ] || [ ! -d "$data/strokes_raw" ]; then
  echo "the 345-class case is skipped: no Quick, Draw! test data (DOODLE_SHARED_DATA=${data:-unset})"
  finish
fi
"$doodle" prep --input "$data/strokes_raw" --input "$data/strokes_simplified" --test-frac 0.2 --seed 1 \
  -o "$tmp/all.dset" >/dev/null || fail "prep 345"
printf '[net]\ninput = 28x28x1\nclasses = 345\n[conv2d]\nfilters = 8\nkernel = 3\nactivation = relu\n[maxpool]\n'\
'size = 2\n[flatten]\n[dense]\nunits = classes\n' >"$tmp/tiny.cfg"
expect_status 0 "train 345 classes" "$doodle" train --data "$tmp/all.dset" --model "$tmp/tiny.cfg" --epochs 1 --no-report \
  -o "$tmp/run345"
expect_status 0 "report of 345 classes" "$doodle" report "$tmp/run345" -q
html=$tmp/run345/report.html
size=$(stat -c %s "$html")
[ "$size" -le 3000000 ] || fail "the 345-class page is $size bytes, over 3 MB"
echo "345 classes: a page of $size bytes"
grep -q 'model <code>tiny</code>, 345 classes' "$html" ||
  fail "the header does not name the model by its cfg (tiny.cfg): $(grep -o 'Run <code>.*</code>;' "$html" | head -c 300)"
read -r data_rows metric_rows pair_rows cells miss_pics act_pics collapsed <<<"$(page_counts "$html")"
# data: the 10 fewest (the first class table), per class: the 30 worst; 25 x (25 + other classes) confusion cells
[ "$data_rows $metric_rows $pair_rows $cells $collapsed" = "10 30 30 650 2" ] ||
  fail "345 classes: data rows, metric rows, pairs, confusion cells, full tables: $data_rows $metric_rows $pair_rows $cells $collapsed"
[ "$miss_pics" -ge 1 ] && [ "$miss_pics" -le 20 ] && [ "$act_pics" -le 3 ] ||
  fail "345 classes: $miss_pics misclassified-as and $act_pics feature map pictures"
grep -q 'The other 315 classes are not shown' "$html" || fail "345 classes: the page does not say which classes it leaves out"
# the whole matrix as CSV: 345 x 345 counts adding up to the test drawings, the diagonal to the correct ones,
# and its largest off-diagonal cell is the first most confused pair
csv=$tmp/run345/explain/confusion.csv
[ "$(wc -l <"$csv")" -eq 346 ] || fail "confusion.csv has $(wc -l <"$csv") lines, want 346"
grep -q 'href="explain/confusion.csv"' "$html" || fail "345 classes: no link to explain/confusion.csv"
node -e '
  const fs = require("fs");
  const rows = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").slice(1).map((l) => l.split(","));
  const names = fs.readFileSync(process.argv[1], "utf8").split("\n")[0].split(",").slice(1);
  let total = 0, right = 0, top = [0, "", ""];
  rows.forEach((r, t) => r.slice(1).forEach((v, p) => {
    v = Number(v); total += v;
    if (t === p) right += v; else if (v > top[0]) top = [v, r[0], names[p]];
  }));
  if (rows.length !== 345 || rows.some((r) => r.length !== 346)) throw new Error("not 345 x 345");
  const s = fs.readFileSync(process.argv[2], "utf8");
  if (!s.includes(` (${right} of ${total}), `)) throw new Error(`accuracy is not ${right} of ${total}`);
  const pair = s.split("<table class=\"sortable pairs\"")[1].split("<tbody>")[1].split("</tr>")[0];
  const cells = pair.match(/<td>[^<]*<\/td>/g).map((c) => c.slice(4, -5));
  if (Number(cells[2]) !== top[0]) throw new Error(`the first pair has ${cells[2]}, the matrix ${top[0]}`);
' "$csv" "$html" 2>"$tmp/csv.err" || fail "confusion.csv and the page: $(head -3 "$tmp/csv.err")"
finish
