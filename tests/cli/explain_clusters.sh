#!/usr/bin/env bash
# doodle explain clusters as a user runs it, on a small model trained on the bundled sample: usage and exit codes;
# the default set is exactly the misclassified list of `doodle eval`; the files (summary.json, labels.csv,
# composition.csv, montages, scatter plots) agree with each other; --set class=/predicted=, --k, --eps; the same
# seed gives the same labels; an empty set (exit 0, no pictures); more clusters than drawings, a model that does not
# fit the data (classes, input size) and an unknown class give clear messages; the study's 66x100 input works.
# The model's own space (--space embedding, --layer): the same drawings, its activations, purity that agrees with
# labels.csv, a t-SNE map, the units that set clusters apart; --set val-misclassified; --compare with a second
# model agrees with the two models' lists of mistakes.
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
expect_status 0 "--set class=cat --k 3" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/cat" --set class=cat --k 3 --components 10 --tsne 0 --units 0
json_check "$tmp/cat/summary.json" "o.set === 'class=cat' && o.n === 200 && o.kmeans.k === 3 && o.kmeans.k_chosen_by === 'given' && o.pca.components === 10"
awk -F, 'NR > 1 && $3 != "cat" { bad++ } END { exit bad > 0 }' "$tmp/cat/labels.csv" || fail "class=cat holds other classes"
expect_status 0 "--set predicted=fish --eps 3" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/fish" --set predicted=fish --eps 3 --min-samples 4 --tsne 0 --units 0
json_check "$tmp/fish/summary.json" "o.dbscan.eps === 3 && o.dbscan.eps_from_knee === false && o.dbscan.min_samples === 4"
awk -F, 'NR > 1 && $4 != "fish" { bad++ } END { exit bad > 0 }' "$tmp/fish/labels.csv" || fail "predicted=fish holds other predictions"

expect_status 0 "--set test --max-drawings 60" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/some" --set test --max-drawings 60 -q --tsne 0 --units 0
json_check "$tmp/some/summary.json" "o.set === 'test' && o.n === 60"
tail -n +2 "$tmp/some/labels.csv" | cut -d, -f1 | sort -n -c || fail "a sampled set is not in dataset order"

# --- the model's own space ---
expect_status 2 "--space bogus" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/x" --space bogus
emb=$tmp/emb
expect_status 0 "--space embedding" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$emb" --space embedding
cp "$tmp/out" "$tmp/emb.txt"
grep -q "in the space of layer 5 dense" "$tmp/emb.txt" || fail "embedding: $(head -2 "$tmp/emb.txt")"
grep -q "^purity in (true, predicted) pairs: K-Means" "$tmp/emb.txt" || fail "no purity line"
grep -q "^t-SNE: $n_wrong drawings, perplexity 30," "$tmp/emb.txt" || fail "no t-SNE line"
diff <(tail -n +2 "$out/labels.csv" | cut -d, -f1-4) <(tail -n +2 "$emb/labels.csv" | cut -d, -f1-4) >/dev/null ||
  fail "the embedding clustered other drawings than the pixels"
json_check "$emb/summary.json" "o.space === 'embedding' && o.layer.index === 5 && o.layer.name === 'dense' && o.layer.units === 128"
json_check "$emb/summary.json" "o.pixels === 128 && o.kept_columns <= 128 && o.pca.explained_variance >= 0.9"
json_check "$out/summary.json" "o.space === 'pixels' && o.layer.index === 5"
# purity from labels.csv by hand: each K-Means cluster's most frequent (true, predicted) pair, over all drawings
want=$(awk -F, 'NR > 1 { c[$5 "," $3 "," $4]++; if (c[$5 "," $3 "," $4] > best[$5]) best[$5] = c[$5 "," $3 "," $4]; n++ }
                END { for (k in best) s += best[k]; printf "%.6f", s / n }' "$emb/labels.csv")
json_check "$emb/summary.json" "Math.abs(o.kmeans.purity - $want) < 1e-6 && o.kmeans.purity_random > 0 && o.kmeans.purity_random < 1"
# in the model's space mistakes of one kind lie together more than in random clusters of the same sizes
json_check "$emb/summary.json" "o.kmeans.purity > o.kmeans.purity_random"
json_check "$emb/summary.json" "o.tsne.n === o.n && o.tsne.perplexity === 30 && o.tsne.kl_divergence > 0 && o.tsne.trustworthiness > 0.85"
head -1 "$emb/labels.csv" | grep -qx "index,key_id,true,predicted,kmeans,dbscan,pc1,pc2,tsne1,tsne2" || fail "labels.csv header"
awk -F, 'NR > 1 && (NF != 10 || $9 == "" || $10 == "") { bad++ } END { exit bad > 0 }' "$emb/labels.csv" ||
  fail "a drawing without t-SNE coordinates"
is_png "$emb/tsne.png"
head -1 "$emb/units.csv" | grep -qx "method,cluster,rank,layer,unit,score,mean_cluster,mean_correct,compared" || fail "units.csv header"
k=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).kmeans.k)' "$emb/summary.json")
[ "$(($(wc -l <"$emb/units.csv") - 1))" -eq $((k * 5)) ] || fail "units.csv: not 5 units for each of $k clusters"
awk -F, 'NR > 1 && ($5 < 0 || $5 > 127 || $4 != 5 || $9 < 1) { bad++ } END { exit bad > 0 }' "$emb/units.csv" ||
  fail "units.csv holds a unit outside layer 5"
# scores sorted by size within a cluster, and the signs say which way (mean on the cluster vs on right drawings)
awk -F, 'NR > 1 { a = $6 < 0 ? -$6 : $6; if (NR > 2 && $2 == c && a > prev + 1e-9) bad++; c = $2; prev = a
                  if (($6 > 0) != ($7 > $8)) bad++ } END { exit bad > 0 }' "$emb/units.csv" || fail "units.csv order or signs"
json_check "$emb/summary.json" "o.units.length === o.kmeans.k && o.units.every(u => require('fs').existsSync('$emb/' + u.picture))"
expect_status 0 "--layer by name, standardised" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/conv" --space embedding --layer 2 --standardize -q --tsne 0 --units 2
json_check "$tmp/conv/summary.json" "o.layer.index === 2 && o.layer.units === 64 && o.pixels === 64 && o.standardized === true && o.tsne === undefined"
awk -F, 'NR > 1 && $4 != 2 { bad++ } END { exit bad > 0 }' "$tmp/conv/units.csv" || fail "--layer 2: units of another layer"
expect_status 2 "--layer 9" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/x" --space embedding --layer 9
grep -q "layer 9 is out of range" "$tmp/err" || fail "--layer 9: $(cat "$tmp/err")"
expect_status 2 "--layer bogus" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/x" --layer bogus
grep -q "no layer 'bogus'" "$tmp/err" || fail "--layer bogus: $(cat "$tmp/err")"
expect_status 0 "--set val-misclassified" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/val" --set val-misclassified --space embedding -q --tsne 0
json_check "$tmp/val/summary.json" "o.set === 'val-misclassified' && o.n > 10"
awk -F, 'NR > 1 && $3 == $4 { bad++ } END { exit bad > 0 }' "$tmp/val/labels.csv" || fail "a right drawing in val-misclassified"
comm -12 <(tail -n +2 "$tmp/val/labels.csv" | cut -d, -f1 | sort) <(tail -n +2 "$out/labels.csv" | cut -d, -f1 | sort) |
  grep -q . && fail "val-misclassified holds test drawings"

# --compare: a second model; what it fixed and broke agrees with the two lists of mistakes
"$doodle" train --data "$tmp/s.dset" --model mnist28 --max-steps 40 --seed 2 -o "$tmp/run2" >"$tmp/train2.log" 2>&1 ||
  fail "train 2: $(tail -3 "$tmp/train2.log")"
expect_status 0 "--compare" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/cmp" --space embedding -q --tsne 0 --compare "$tmp/run2/model.safetensors"
for f in compare.csv compare-removed.png compare-new.png compare/summary.json compare/labels.csv; do
  [ -s "$tmp/cmp/$f" ] || fail "--compare: $f not written"
done
cut -d, -f1 <(tail -n +2 "$tmp/cmp/labels.csv") | sort >"$tmp/wrong_a"
cut -d, -f1 <(tail -n +2 "$tmp/cmp/compare/labels.csv") | sort >"$tmp/wrong_b"
fixed=$(comm -23 "$tmp/wrong_a" "$tmp/wrong_b" | wc -l)
broken=$(comm -13 "$tmp/wrong_a" "$tmp/wrong_b" | wc -l)
removed=$(awk -F, '$1 == "a" && $5 == "removed" { s += $6 } END { print s + 0 }' "$tmp/cmp/compare.csv")
added=$(awk -F, '$1 == "b" && $5 == "new" { s += $6 } END { print s + 0 }' "$tmp/cmp/compare.csv")
[ "$removed" = "$fixed" ] && [ "$added" = "$broken" ] ||
  fail "compare.csv: $removed removed / $added new, the lists say $fixed / $broken"
grep -q "$fixed drawings now right, $broken newly wrong" "$tmp/out" || fail "--compare summary: $(grep compared "$tmp/out")"

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
  expect_status 1 "--compare a model of another input size" "$doodle" explain clusters -m "$model" -d "$tmp/s.dset" -o "$tmp/x" -q --tsne 0 --compare "$tmp/fx/seed.safetensors"
  grep -q "66x100" "$tmp/err" || fail "--compare another input size: $(cat "$tmp/err")"
else
  fail "cannot make the fixture with $fixture_tool: $(cat "$tmp/fx.log" 2>/dev/null)"
fi
finish
