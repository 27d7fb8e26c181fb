#!/usr/bin/env bash
# doodle explain clusters as a user runs it, on a small model trained on the bundled sample: usage and exit codes;
# the default set is exactly the misclassified list of `doodle eval`; the files (summary.json, labels.csv,
# composition.csv, montages, scatter plots) agree with each other; --set class=/predicted=, --k, --eps; the same
# seed gives the same labels; an empty set (exit 0, no pictures); more clusters than drawings, a model that does not
# fit the data (classes, input size) and an unknown class give clear messages; the study's 66x100 input works.
name=explain_clusters
source "$(dirname "$0")/common.bash"
sample=${DOODLE_SAMPLE_DIR:-$(dirname "$0")/../../data/sample}
# json_check FILE EXPR: node evaluates EXPR with o = the JSON object in FILE; fails unless it is true
json_check() {
  node -e 'const o = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
           if (!(eval(process.argv[2]))) { console.error("false: " + process.argv[2]); process.exit(1); }' "$1" "$2" ||
    fail "$1: $2"
}
is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$1 is not a PNG"; }

"$doodle" prep -q --input "$sample/bitmaps" --test-frac 0.2 --seed 1 -o "$tmp/s.dset" >/dev/null || fail "prep"
"$doodle" prep -q --input "$sample/bitmaps" --test-frac 0 --seed 1 -o "$tmp/notest.dset" >/dev/null || fail "prep notest"
"$doodle" prep -q --input "$sample/bitmaps" --classes cat,fish --test-frac 0.2 -o "$tmp/two.dset" >/dev/null ||
  fail "prep two"
"$doodle" train --data "$tmp/s.dset" --model mnist28 --epochs 1 --seed 1 -o "$tmp/run" >"$tmp/train.log" 2>&1 ||
  fail "train: $(tail -3 "$tmp/train.log")"
model=$tmp/run/model.safetensors

# --- usage ---
expect_status 0 "explain --help" "$doodle" explain --help
grep -q "clusters" "$tmp/out" || fail "explain --help does not list clusters"
expect_status 2 "explain without what" "$doodle" explain
expect_status 2 "explain bogus" "$doodle" explain bogus
expect_status 0 "clusters --help" "$doodle" explain clusters --help
grep -q "usage: doodle explain clusters" "$tmp/out" || fail "clusters --help prints no usage"
expect_status 2 "clusters without options" "$doodle" explain clusters
expect_status 2 "clusters without -o" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset"
expect_status 2 "--set bogus" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/x" --set bogus
grep -q "misclassified, test, train" "$tmp/err" || fail "--set bogus does not list the sets"
expect_status 2 "--k 0" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/x" --k 0
expect_status 2 "--variance 2" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/x" --variance 2
expect_status 2 "--k-max below --k-min" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/x" --k-min 5 --k-max 3
expect_status 2 "--bogus" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/x" --bogus
expect_status 2 "extra argument" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/x" extra

# --- the default set: the misclassified test drawings ---
out=$tmp/c
expect_status 0 "clusters" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$out"
cp "$tmp/out" "$tmp/clusters.txt"
grep -q "pixel columns non-zero" "$tmp/clusters.txt" || fail "no kept-columns line"
grep -q "^kmeans 0: " "$tmp/clusters.txt" || fail "no composition table"
grep -q " -> " "$tmp/clusters.txt" || fail "no true -> predicted rows"
for f in summary.json labels.csv composition.csv scatter-kmeans.png scatter-dbscan.png kmeans-0.png kmeans-1.png; do
  [ -s "$out/$f" ] || fail "$f not written"
done
for f in "$out"/*.png; do is_png "$f"; done
"$doodle" eval -m "$model" -d "$tmp/s.dset" -o "$tmp/eval" >/dev/null || fail "eval"
n_wrong=$(($(wc -l <"$tmp/eval/misclassified.csv") - 1))
[ "$n_wrong" -gt 10 ] || fail "the test model gets only $n_wrong test drawings wrong: too few to cluster"
diff <(tail -n +2 "$tmp/eval/misclassified.csv" | cut -d, -f1-4) <(tail -n +2 "$out/labels.csv" | cut -d, -f1-4) >/dev/null ||
  fail "labels.csv does not list the drawings doodle eval calls misclassified"
json_check "$out/summary.json" "o.set === 'misclassified' && o.n === $n_wrong && o.pixels === 784"
json_check "$out/summary.json" "o.kept_columns > 300 && o.kept_columns <= 784"
json_check "$out/summary.json" "o.pca.explained_variance >= 0.9 && o.pca.variance_ratio.length === o.pca.components"
json_check "$out/summary.json" "o.pca.variance_ratio.every((v, i, a) => i === 0 || v <= a[i - 1])"
json_check "$out/summary.json" "o.kmeans.k_chosen_by === 'silhouette' && o.kmeans.k >= 2 && o.kmeans.k <= 8"
json_check "$out/summary.json" "o.kmeans.k_tried.length === 7 && o.kmeans.k_tried.every(t => t.silhouette <= o.kmeans.silhouette + 1e-12)"
json_check "$out/summary.json" "o.kmeans.clusters.length === o.kmeans.k && o.kmeans.clusters.reduce((s, c) => s + c.size, 0) === o.n"
json_check "$out/summary.json" "o.kmeans.clusters.every(c => c.composition.reduce((s, p) => s + p.count, 0) === c.size && c.silhouette >= -1 && c.silhouette <= 1)"
json_check "$out/summary.json" "o.dbscan.eps_from_knee === true && o.dbscan.eps > 0 && o.dbscan.min_samples === 5"
json_check "$out/summary.json" "o.dbscan.groups.reduce((s, c) => s + c.size, 0) === o.n && o.dbscan.noise === o.dbscan.groups[o.dbscan.groups.length - 1].size"
json_check "$out/summary.json" "o.kmeans.clusters.every(c => require('fs').existsSync('$out/' + c.montage))"
# labels.csv and composition.csv tell the same story
rows=$(($(wc -l <"$out/labels.csv") - 1))
[ "$rows" -eq "$n_wrong" ] || fail "labels.csv has $rows rows, expected $n_wrong"
awk -F, 'NR > 1 && $3 == $4 { bad++ } END { exit bad > 0 }' "$out/labels.csv" || fail "a correctly classified drawing in the misclassified set"
km_sum=$(awk -F, '$1 == "kmeans" { s += $5 } END { print s }' "$out/composition.csv")
db_sum=$(awk -F, '$1 == "dbscan" { s += $5 } END { print s }' "$out/composition.csv")
[ "$km_sum" = "$n_wrong" ] && [ "$db_sum" = "$n_wrong" ] || fail "composition.csv counts $km_sum / $db_sum drawings, expected $n_wrong"
a=$(awk -F, 'NR > 1 && $5 == 0 && $3 == "cat" && $4 == "airplane"' "$out/labels.csv" | wc -l)
b=$(awk -F, '$1 == "kmeans" && $2 == 0 && $3 == "cat" && $4 == "airplane" { print $5 }' "$out/composition.csv")
[ "$a" = "${b:-0}" ] || fail "kmeans 0 cat -> airplane: $a in labels.csv, ${b:-0} in composition.csv"

# the same seed, the same clusters
expect_status 0 "clusters again" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/c2" -q
cmp -s "$out/labels.csv" "$tmp/c2/labels.csv" || fail "the same seed gave other labels"

# --- other sets and options ---
expect_status 0 "--set class=cat --k 3" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/cat" --set class=cat --k 3 --components 10
json_check "$tmp/cat/summary.json" "o.set === 'class=cat' && o.n === 200 && o.kmeans.k === 3 && o.kmeans.k_chosen_by === 'given' && o.pca.components === 10"
awk -F, 'NR > 1 && $3 != "cat" { bad++ } END { exit bad > 0 }' "$tmp/cat/labels.csv" || fail "class=cat holds other classes"
expect_status 0 "--set predicted=fish --eps 3" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/fish" --set predicted=fish --eps 3 --min-samples 4
json_check "$tmp/fish/summary.json" "o.dbscan.eps === 3 && o.dbscan.eps_from_knee === false && o.dbscan.min_samples === 4"
awk -F, 'NR > 1 && $4 != "fish" { bad++ } END { exit bad > 0 }' "$tmp/fish/labels.csv" || fail "predicted=fish holds other predictions"

expect_status 0 "--set test --max-drawings 60" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/some" --set test --max-drawings 60 -q
json_check "$tmp/some/summary.json" "o.set === 'test' && o.n === 60"
tail -n +2 "$tmp/some/labels.csv" | cut -d, -f1 | sort -n -c || fail "a sampled set is not in dataset order"

# --- bad input ---
expect_status 0 "an empty set" "$doodle" explain clusters -m "$model" -d "$tmp/notest.dset" -o "$tmp/empty"
grep -q "empty" "$tmp/out" || fail "an empty set is not reported as empty: $(cat "$tmp/out")"
json_check "$tmp/empty/summary.json" "o.n === 0"
ls "$tmp/empty"/*.png >/dev/null 2>&1 && fail "an empty set wrote pictures"
expect_status 1 "more clusters than drawings" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/big" --set class=cat --k 500
grep -q "200 drawings, fewer than k = 500" "$tmp/err" || fail "k > n: $(cat "$tmp/err")"
expect_status 1 "model and data do not match" "$doodle" explain clusters -m "$model" -d "$tmp/two.dset" -o "$tmp/two"
grep -q "class" "$tmp/err" || fail "mismatch: $(cat "$tmp/err")"
expect_status 1 "unknown class" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/zebra" --set class=zebra
grep -q "'zebra' is not one of the model's classes" "$tmp/err" || fail "unknown class: $(cat "$tmp/err")"
expect_status 1 "missing model" "$doodle" explain clusters -m "$tmp/nope.safetensors" -d "$tmp/s.dset" -o "$tmp/nope"

# --- the study's 66x100 input: an untrained `seed` model from test_eval's fixture, on strokes and on 28x28 bitmaps ---
fixture_tool=$(dirname "$doodle")/tests/test_eval
mkdir -p "$tmp/fx"
if [ -x "$fixture_tool" ] && DOODLE_SAMPLE_DIR=$sample "$fixture_tool" --fixture "$tmp/fx" >"$tmp/fx.log" 2>&1; then
  expect_status 0 "66x100 strokes" "$doodle" explain clusters -m "$tmp/fx/seed.safetensors" -d "$tmp/fx/strokes.dset" -o "$tmp/wide" --set test -k 2
  json_check "$tmp/wide/summary.json" "o.input === '66x100' && o.pixels === 6600 && o.n === 50 && o.kmeans.k === 2"
  is_png "$tmp/wide/kmeans-0.png"
  expect_status 1 "28x28 bitmaps with a 66x100 model" "$doodle" explain clusters -m "$tmp/fx/seed.safetensors" -d "$tmp/fx/bitmaps.dset" -o "$tmp/bad"
  grep -q "28x28 bitmaps but the model takes 66x100" "$tmp/err" || fail "input mismatch: $(cat "$tmp/err")"
  [ -e "$tmp/bad" ] && fail "a model that does not fit the data left an output directory"
else
  fail "cannot make the fixture with $fixture_tool: $(cat "$tmp/fx.log" 2>/dev/null)"
fi
finish
