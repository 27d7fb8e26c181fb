#!/usr/bin/env bash
# doodle explain misclassified / activations / saliency / quality on a small model trained on the bundled sample:
# the pictures are real PNGs of the expected sizes, the tables agree with doodle eval, duplicates planted in the
# data are found, and bad input (mismatched model and data, layers and records out of range, empty sets) gives
# clear messages and the right exit status.
name=explain
source "$(dirname "$0")/common.bash"
sample=${DOODLE_SAMPLE_DIR:-$(dirname "$0")/../../data/sample}

# png_size FILE: prints "WIDTHxHEIGHT" from the PNG header, or fails
png_size() {
  node -e 'const b = require("fs").readFileSync(process.argv[1]);
    if (b.toString("latin1", 1, 4) !== "PNG" || b.toString("latin1", 12, 16) !== "IHDR") process.exit(1);
    console.log(b.readUInt32BE(16) + "x" + b.readUInt32BE(20));' "$1"
}
check_png() { png_size "$1" >/dev/null 2>&1 || fail "$1 is not a PNG"; }

# --- a model: mnist28, one epoch on the sample bitmaps (a few seconds) ---
"$doodle" prep --input "$sample/bitmaps" --test-frac 0.1 --seed 1 -o "$tmp/bm.dset" >/dev/null || fail "prep bitmaps"
"$doodle" train --data "$tmp/bm.dset" --model mnist28 --epochs 1 --no-report -o "$tmp/run" >"$tmp/train.log" 2>&1 ||
  fail "train: $(tail -3 "$tmp/train.log")"
[ -e "$tmp/run/report.html" ] && fail "train --no-report wrote a report"
model=$tmp/run/model.safetensors
"$doodle" eval -m "$model" -d "$tmp/bm.dset" -o "$tmp/ev" >/dev/null || fail "eval"

# --- usage ---
for sub in misclassified activations saliency quality; do
  expect_status 0 "explain $sub --help" "$doodle" explain "$sub" --help
  grep -q "usage: doodle explain $sub" "$tmp/out" || fail "explain $sub --help prints no usage"
  expect_status 2 "explain $sub without arguments" "$doodle" explain "$sub"
  expect_status 2 "explain $sub --bogus" "$doodle" explain "$sub" -m "$model" -d "$tmp/bm.dset" -o "$tmp/x" --bogus
done

# --- misclassified: the counts are eval's, one picture per class that has misclassified drawings ---
expect_status 0 "explain misclassified" "$doodle" explain misclassified -m "$model" -d "$tmp/bm.dset" -o "$tmp/mis"
wrong=$(($(wc -l <"$tmp/ev/misclassified.csv") - 1))
[ "$wrong" -gt 0 ] || fail "the one-epoch model makes no mistake: the test cannot check the pictures"
sum=$(awk -F, 'NR > 1 { s += $3 } END { print s + 0 }' "$tmp/mis/misclassified-as.csv")
[ "$sum" -eq "$wrong" ] || fail "misclassified-as.csv counts $sum, eval counts $wrong"
grep -q "^$wrong of 500 test drawings misclassified" "$tmp/out" || fail "summary line: $(head -1 "$tmp/out")"
for class in airplane apple cat fish star; do
  want=$(awk -F, -v c=$class 'NR > 1 && $4 == c' "$tmp/ev/misclassified.csv" | wc -l)
  got=$(awk -F, -v c=$class 'NR > 1 && $1 == c { s += $3 } END { print s + 0 }' "$tmp/mis/misclassified-as.csv")
  [ "$want" -eq "$got" ] || fail "misclassified as $class: $got, eval says $want"
  if [ "$want" -gt 0 ]; then check_png "$tmp/mis/misclassified-as-$class.png"
  else [ ! -e "$tmp/mis/misclassified-as-$class.png" ] || fail "an empty picture for $class"; fi
done
expect_status 0 "explain misclassified --as star" "$doodle" explain misclassified -m "$model" -d "$tmp/bm.dset" -o "$tmp/mis-star" --as star
[ "$(ls "$tmp/mis-star"/*.png 2>/dev/null | wc -l)" -le 1 ] || fail "--as star wrote pictures of other classes"
expect_status 2 "explain misclassified --as bogus" "$doodle" explain misclassified -m "$model" -d "$tmp/bm.dset" -o "$tmp/x" --as bogus
grep -q "bogus" "$tmp/err" || fail "--as bogus not named: $(cat "$tmp/err")"

# --- an empty set: no test split ---
"$doodle" prep --input "$sample/bitmaps" --test-frac 0 --seed 1 -o "$tmp/notest.dset" >/dev/null || fail "prep notest"
expect_status 0 "explain misclassified without a test split" "$doodle" explain misclassified -m "$model" -d "$tmp/notest.dset" -o "$tmp/empty"
grep -q "no test drawings" "$tmp/out" || fail "empty set not reported: $(cat "$tmp/out")"
[ "$(ls "$tmp/empty"/*.png 2>/dev/null | wc -l)" -eq 0 ] || fail "an empty set gave pictures"
expect_status 0 "explain saliency without a test split" "$doodle" explain saliency -m "$model" -d "$tmp/notest.dset" -o "$tmp/empty2"
grep -q "no test drawings" "$tmp/out" || fail "saliency on an empty set: $(cat "$tmp/out")"
[ ! -e "$tmp/empty2/saliency.png" ] || fail "saliency of an empty set wrote a picture"

# --- a model and data that do not match ---
"$doodle" prep --input "$sample/bitmaps" --classes cat,fish,star --test-frac 0.1 -o "$tmp/three.dset" >/dev/null || fail "prep three"
for sub in misclassified activations saliency quality; do
  expect_status 1 "explain $sub with 3-class data" "$doodle" explain "$sub" -m "$model" -d "$tmp/three.dset" -o "$tmp/bad"
  grep -q "does not fit" "$tmp/err" && grep -q "5 classes" "$tmp/err" || fail "explain $sub mismatch unclear: $(cat "$tmp/err")"
done
"$doodle" prep --input "$sample/strokes" --test-frac 0.2 --seed 1 -o "$tmp/st.dset" >/dev/null || fail "prep strokes"
"$doodle" train --data "$tmp/st.dset" --model seed --epochs 1 --no-report -o "$tmp/seedrun" >/dev/null 2>&1 || fail "train seed"
expect_status 1 "explain with a 66x100 model on 28x28 bitmaps" "$doodle" explain saliency -m "$tmp/seedrun/model.safetensors" -d "$tmp/bm.dset" -o "$tmp/bad"
grep -q "28x28" "$tmp/err" && grep -q "66x100" "$tmp/err" || fail "size mismatch unclear: $(cat "$tmp/err")"
[ ! -e "$tmp/bad" ] || fail "failed explains wrote files"

# --- activations: default layers and drawings, chosen ones, top units ---
expect_status 0 "explain activations" "$doodle" explain activations -m "$model" -d "$tmp/bm.dset" -o "$tmp/act"
[ "$(ls "$tmp/act"/activations-*.png | wc -l)" -eq 5 ] || fail "one picture per class expected: $(ls "$tmp/act")"
for f in "$tmp/act"/activations-*.png; do check_png "$f"; done
expect_status 0 "explain activations --layers 0,conv2d_1 --index 3" "$doodle" explain activations -m "$model" -d "$tmp/bm.dset" -o "$tmp/act2" --layers 0,conv2d_1 --index 3
# 1 + 2 rows (32 maps) + 4 rows (64 maps) of 16 tiles of 56x56 plus labels: a tall picture
size=$(png_size "$tmp/act2/activations-3.png") || fail "activations-3.png"
[ "${size#*x}" -gt 400 ] || fail "activations-3.png is $size, too small for 7 rows of maps"
expect_status 2 "explain activations --layers 99" "$doodle" explain activations -m "$model" -d "$tmp/bm.dset" -o "$tmp/x" --layers 99
grep -q "0 to 6" "$tmp/err" && grep -q "conv2d_1" "$tmp/err" || fail "layer range not given: $(cat "$tmp/err")"
expect_status 2 "explain activations --layers nosuch" "$doodle" explain activations -m "$model" -d "$tmp/bm.dset" -o "$tmp/x" --layers nosuch
grep -q "no layer 'nosuch'" "$tmp/err" || fail "unknown layer not named: $(cat "$tmp/err")"
expect_status 1 "explain activations --index 99999" "$doodle" explain activations -m "$model" -d "$tmp/bm.dset" -o "$tmp/x" --index 99999
grep -q "99999 is not in the data (5000 records)" "$tmp/err" || fail "record out of range unclear: $(cat "$tmp/err")"
expect_status 2 "explain activations --index x" "$doodle" explain activations -m "$model" -d "$tmp/bm.dset" -o "$tmp/x" --index 1,x
expect_status 0 "explain activations --top-units 2" "$doodle" explain activations -m "$model" -d "$tmp/bm.dset" -o "$tmp/top" --top-units conv2d_1 --units 4 --top 5
check_png "$tmp/top/top-units-2-conv2d_1.png"
grep -q "top 5 of 500 drawings" "$tmp/out" || fail "top units summary: $(cat "$tmp/out")"

# --- saliency ---
expect_status 0 "explain saliency" "$doodle" explain saliency -m "$model" -d "$tmp/bm.dset" -o "$tmp/sal"
check_png "$tmp/sal/saliency.png"
grep -q "10 drawings" "$tmp/out" && grep -q "Grad-CAM at layer 2 conv2d_1" "$tmp/out" || fail "saliency summary: $(cat "$tmp/out")"
expect_status 0 "explain saliency --index --class --layer" "$doodle" explain saliency -m "$model" -d "$tmp/bm.dset" -o "$tmp/sal2" --index 5,2000 --class cat --layer 0
grep -q "2 drawings" "$tmp/out" || fail "saliency --index: $(cat "$tmp/out")"
expect_status 2 "explain saliency --layer dense" "$doodle" explain saliency -m "$model" -d "$tmp/bm.dset" -o "$tmp/x" --layer 5
grep -q "feature maps" "$tmp/err" || fail "flat Grad-CAM layer unclear: $(cat "$tmp/err")"
expect_status 2 "explain saliency --class bogus" "$doodle" explain saliency -m "$model" -d "$tmp/bm.dset" -o "$tmp/x" --class bogus

# --- quality: planted exact and near duplicates and Google's not-recognized flags are found ---
src=$sample/strokes/simplified
mkdir -p "$tmp/q"
for c in airplane apple cat fish star; do gzip -dc "$src/$c.ndjson.gz" >"$tmp/q/$c.ndjson"; done
# two copies of cat's first drawing under new key_ids (exact), and fish's first drawing moved by 3 units (near)
head -1 "$tmp/q/cat.ndjson" | sed 's/"key_id":"[0-9]*"/"key_id":"9000000000000001"/' >>"$tmp/q/cat.ndjson"
head -1 "$tmp/q/cat.ndjson" | sed 's/"key_id":"[0-9]*"/"key_id":"9000000000000002"/' >>"$tmp/q/cat.ndjson"
head -1 "$tmp/q/fish.ndjson" | node -e '
  const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
  d.key_id = "9000000000000003";
  d.drawing = d.drawing.map(([x, y]) => [x.map((v) => Math.min(255, v + 3)), y]);
  console.log(JSON.stringify(d));' >>"$tmp/q/fish.ndjson"
"$doodle" prep --input "$tmp/q" --test-frac 0.2 --seed 1 -o "$tmp/q.dset" >/dev/null || fail "prep planted"
expect_status 0 "explain quality" "$doodle" explain quality -m "$model" -d "$tmp/q.dset" -o "$tmp/qual"
cat "$tmp/out"
not_rec=$(cat "$tmp/q"/*.ndjson | grep -c '"recognized":false')
grep -q "^not recognized by Google's game: $not_rec (0 unknown)" "$tmp/out" || fail "not recognized: want $not_rec: $(cat "$tmp/out")"
[ "$(($(wc -l <"$tmp/qual/not-recognized.csv") - 1))" -eq "$not_rec" ] || fail "not-recognized.csv rows"
check_png "$tmp/qual/not-recognized.png"
exact_keys=$(awk -F, '$1 == "exact" { print $4 }' "$tmp/qual/duplicates.csv" | sort | tr '\n' ' ')
first_cat=$(head -1 "$tmp/q/cat.ndjson" | sed 's/.*"key_id":"\([0-9]*\)".*/\1/')
[ "$exact_keys" = "$first_cat 9000000000000001 9000000000000002 " ] || fail "exact duplicates: '$exact_keys'"
grep -q "^exact duplicates: 1 groups, 3 drawings" "$tmp/out" || fail "exact summary: $(cat "$tmp/out")"
first_fish=$(head -1 "$tmp/q/fish.ndjson" | sed 's/.*"key_id":"\([0-9]*\)".*/\1/')
near_group=$(awk -F, '$1 == "near" && $4 == "9000000000000003" { print $2 }' "$tmp/qual/duplicates.csv")
[ -n "$near_group" ] || fail "the moved fish is not a near duplicate: $(cat "$tmp/qual/duplicates.csv")"
awk -F, -v g="$near_group" -v k="$first_fish" '$1 == "near" && $2 == g && $4 == k { found = 1 } END { exit !found }' \
  "$tmp/qual/duplicates.csv" || fail "the moved fish is not grouped with its original"
check_png "$tmp/qual/duplicates-exact.png"
check_png "$tmp/qual/duplicates-near.png"
# contradicted: every row is a confident contradiction, and --threshold 1e-6 lists every wrong prediction
awk -F, 'NR > 1 && ($4 == $5 || $6 < 0.9) { bad = 1 } END { exit bad }' "$tmp/qual/contradicted.csv" ||
  fail "contradicted.csv has a row that is no confident contradiction"
expect_status 0 "explain quality --split test --threshold 1e-6" "$doodle" explain quality -m "$model" -d "$tmp/bm.dset" -o "$tmp/qual2" --split test --threshold 0.000001
[ "$(($(wc -l <"$tmp/qual2/contradicted.csv") - 1))" -eq "$wrong" ] || fail "contradicted at p > 0 on test != eval's $wrong"
grep -q "unknown (the source carries no recognized flag)" "$tmp/out" || fail ".npy sources have no flag: $(cat "$tmp/out")"
expect_status 2 "explain quality --threshold 2" "$doodle" explain quality -m "$model" -d "$tmp/bm.dset" -o "$tmp/x" --threshold 2
ls -R "$tmp" | grep -q '\.tmp\.' && fail "temporary files left behind"
finish
