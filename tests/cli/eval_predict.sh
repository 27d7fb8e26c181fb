#!/usr/bin/env bash
# doodle eval and doodle predict as a user runs them: usage and exit codes, the tables, eval.json / confusion.csv /
# misclassified.csv and --json, models that do not fit the data, missing and corrupt models, predictions for
# ndjson, .npy and PNG inputs, and the example program. Models are untrained (mnist28 / seed with random weights)
# and come from `test_eval --fixture DIR` (tests/test_eval.c), built next to doodle.
name=eval_predict
source "$(dirname "$0")/common.bash"
sample=${DOODLE_SAMPLE_DIR:-$(dirname "$0")/../../data/sample}
fixture_tool=$(dirname "$doodle")/tests/test_eval
example=$(dirname "$doodle")/examples/example_classify
fx=$tmp/fx
mkdir -p "$fx"
if [ ! -x "$fixture_tool" ] || ! DOODLE_SAMPLE_DIR=$sample "$fixture_tool" --fixture "$fx" >"$tmp/fx.log" 2>&1; then
  fail "cannot make the fixture with $fixture_tool: $(cat "$tmp/fx.log" 2>/dev/null)"
  finish
fi
model=$fx/model.safetensors
# json_check FILE EXPR: node evaluates EXPR with o = the JSON object in FILE; fails unless it is true
json_check() {
  node -e 'const o = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
           if (!(eval(process.argv[2]))) { console.error("false: " + process.argv[2]); process.exit(1); }' "$1" "$2" ||
    fail "$1: $2"
}

# --- usage ---
expect_status 0 "eval --help" "$doodle" eval --help
grep -q "usage: doodle eval" "$tmp/out" || fail "eval --help prints no usage"
expect_status 0 "predict --help" "$doodle" predict --help
grep -q "usage: doodle predict" "$tmp/out" || fail "predict --help prints no usage"
expect_status 2 "eval without arguments" "$doodle" eval
expect_status 2 "eval without --data" "$doodle" eval --model "$model"
expect_status 2 "eval without --model" "$doodle" eval --data "$fx/bitmaps.dset"
expect_status 2 "eval --split bogus" "$doodle" eval -m "$model" -d "$fx/bitmaps.dset" --split bogus
expect_status 2 "eval --batch 0" "$doodle" eval -m "$model" -d "$fx/bitmaps.dset" --batch 0
expect_status 2 "eval --bogus" "$doodle" eval -m "$model" -d "$fx/bitmaps.dset" --bogus
expect_status 2 "eval extra argument" "$doodle" eval -m "$model" -d "$fx/bitmaps.dset" extra
expect_status 2 "eval --batch without value" "$doodle" eval -m "$model" -d "$fx/bitmaps.dset" --batch
expect_status 2 "predict without model" "$doodle" predict "$sample/strokes/simplified/cat.ndjson.gz"
expect_status 2 "predict without files" "$doodle" predict -m "$model"
expect_status 2 "predict --top 0" "$doodle" predict -m "$model" --top 0 "$sample/strokes/simplified/cat.ndjson.gz"
expect_status 2 "predict of a .txt" "$doodle" predict -m "$model" "$tmp/x.txt"
grep -q "x.txt" "$tmp/err" || fail "predict: unknown file kind not named: $(cat "$tmp/err")"

# --- eval: tables, files, numbers that hold together ---
expect_status 0 "eval" "$doodle" eval -m "$model" -d "$fx/bitmaps.dset" -o "$tmp/ev"
for word in accuracy loss top-3 "confusion matrix" precision recall f1 support airplane "macro avg"; do
  grep -q "$word" "$tmp/out" || fail "eval output lacks '$word'"
done
for f in eval.json confusion.csv misclassified.csv; do [ -s "$tmp/ev/$f" ] || fail "eval wrote no $f"; done
ls "$tmp/ev" | grep -q tmp && fail "eval left temporary files: $(ls "$tmp/ev")"
json_check "$tmp/ev/eval.json" 'o.records === 200 && o.classes.length === 5 && o.split === "test"'
json_check "$tmp/ev/eval.json" 'o.confusion.flat().reduce((a, b) => a + b) === o.records'
json_check "$tmp/ev/eval.json" 'o.confusion.every(row => row.reduce((a, b) => a + b) === 40)' # 40 test records a class
json_check "$tmp/ev/eval.json" 'Math.abs(o.accuracy - o.confusion.reduce((t, r, i) => t + r[i], 0) / o.records) < 1e-12'
json_check "$tmp/ev/eval.json" 'o.top3 >= o.accuracy && o.loss > 0 && o.per_class.length === 5'
wrong=$(node -e 'const o = JSON.parse(require("fs").readFileSync(process.argv[1])); console.log(o.records - o.correct)' \
  "$tmp/ev/eval.json")
[ "$(head -1 "$tmp/ev/misclassified.csv")" = "index,key_id,true,predicted,confidence" ] ||
  fail "misclassified.csv header: $(head -1 "$tmp/ev/misclassified.csv")"
[ "$(($(wc -l <"$tmp/ev/misclassified.csv") - 1))" -eq "$wrong" ] ||
  fail "misclassified.csv has $(($(wc -l <"$tmp/ev/misclassified.csv") - 1)) rows, $wrong wrong predictions"
awk -F, 'NR > 1 && ($3 == $4 || $5 <= 0 || $5 > 1) { bad = 1 } END { exit bad }' "$tmp/ev/misclassified.csv" ||
  fail "misclassified.csv has a row that is not a misclassification"
[ "$(wc -l <"$tmp/ev/confusion.csv")" -eq 6 ] || fail "confusion.csv: $(cat "$tmp/ev/confusion.csv")"
head -1 "$tmp/ev/confusion.csv" | grep -q "^true/predicted,airplane,apple,cat,fish,star$" ||
  fail "confusion.csv header: $(head -1 "$tmp/ev/confusion.csv")"

# --json: one object on stdout, the same as eval.json
expect_status 0 "eval --json" "$doodle" eval -m "$model" -d "$fx/bitmaps.dset" -o "$tmp/ev" --json
json_check "$tmp/out" '["accuracy", "loss", "top3", "confusion", "classes", "per_class"].every(k => k in o)'
json_check "$tmp/out" 'Array.isArray(o.confusion) && o.confusion.every(Array.isArray) && o.per_class[0].f1 >= 0'
cmp -s "$tmp/out" "$tmp/ev/eval.json" || fail "eval --json differs from eval.json"

# default output: the model's directory (the run folder); splits; strokes rendered at any model size
mkdir -p "$tmp/run" && cp "$model" "$tmp/run/model.safetensors"
expect_status 0 "eval --split all into the run folder" "$doodle" eval -m "$tmp/run/model.safetensors" -d "$fx/bitmaps.dset" --split all --json
json_check "$tmp/run/eval.json" 'o.records === 1000 && o.split === "all"'
expect_status 0 "eval --split train -b 7" "$doodle" eval -m "$model" -d "$fx/bitmaps.dset" --split train -b 7 -o "$tmp/ev2" --json
json_check "$tmp/out" 'o.records === 800'
expect_status 0 "eval strokes with a 66x100 model" "$doodle" eval -m "$fx/seed.safetensors" -d "$fx/strokes.dset" -o "$tmp/ev3"

# a model that lists the classes in another order: matched by name, the same numbers
expect_status 0 "eval reordered" "$doodle" eval -m "$fx/reordered.safetensors" -d "$fx/bitmaps.dset" -o "$tmp/ev4" --json
json_check "$tmp/out" 'o.classes[0] === "star" && o.confusion[0].reduce((a, b) => a + b) === 40'
[ "$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).correct)' "$tmp/out")" = \
  "$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).correct)' "$tmp/ev/eval.json")" ] ||
  fail "the reordered model scores differently"

# --- eval: models and data that do not fit, missing and corrupt files ---
expect_status 1 "eval with a 3-class model" "$doodle" eval -m "$fx/model3.safetensors" -d "$fx/bitmaps.dset" -o "$tmp/bad"
grep -q "3 classes" "$tmp/err" && grep -q "has 5" "$tmp/err" || fail "class count mismatch unclear: $(cat "$tmp/err")"
[ ! -e "$tmp/bad" ] || fail "a failed eval wrote files"
expect_status 1 "eval 28x28 bitmaps with a 66x100 model" "$doodle" eval -m "$fx/seed.safetensors" -d "$fx/bitmaps.dset" -o "$tmp/bad"
grep -q "28x28" "$tmp/err" && grep -q "66x100" "$tmp/err" || fail "size mismatch unclear: $(cat "$tmp/err")"
expect_status 1 "eval with a missing model" "$doodle" eval -m "$tmp/nope.safetensors" -d "$fx/bitmaps.dset" -o "$tmp/bad"
grep -q "nope.safetensors" "$tmp/err" || fail "missing model not named: $(cat "$tmp/err")"
expect_status 1 "eval with missing data" "$doodle" eval -m "$model" -d "$tmp/nope.dset" -o "$tmp/bad"
grep -q "nope.dset" "$tmp/err" || fail "missing data not named: $(cat "$tmp/err")"
head -c 3000 "$model" >"$tmp/cut.safetensors"
expect_status 1 "eval with a truncated model" "$doodle" eval -m "$tmp/cut.safetensors" -d "$fx/bitmaps.dset" -o "$tmp/bad"
grep -q "cut.safetensors" "$tmp/err" || fail "truncated model not named: $(cat "$tmp/err")"
cp "$model" "$tmp/garbled.safetensors"
printf 'XXXXXXXXXXXXXXXX' | dd of="$tmp/garbled.safetensors" bs=1 seek=8 conv=notrunc 2>/dev/null
expect_status 1 "eval with a garbled model header" "$doodle" eval -m "$tmp/garbled.safetensors" -d "$fx/bitmaps.dset" -o "$tmp/bad"
printf 'not a model at all' >"$tmp/text.safetensors"
expect_status 1 "eval with a text file as model" "$doodle" eval -m "$tmp/text.safetensors" -d "$fx/bitmaps.dset" -o "$tmp/bad"
expect_status 1 "eval of an empty test split" "$doodle" eval -m "$model" -d "$fx/empty-test.dset" -o "$tmp/bad"
grep -q "no records in the test split" "$tmp/err" || fail "empty split unclear: $(cat "$tmp/err")"
[ ! -e "$tmp/bad" ] || fail "failed evals wrote files"

# --- predict ---
for kind in simplified raw; do
  file=$sample/strokes/$kind/cat.ndjson.gz
  expect_status 0 "predict $kind ndjson" "$doodle" predict -m "$model" "$file"
  want=$(gzip -dc "$file" | grep -c .)
  [ "$(grep -vc '^accuracy ' "$tmp/out")" -eq "$want" ] || fail "predict $kind: $(wc -l <"$tmp/out") lines for $want drawings"
  tail -1 "$tmp/out" | grep -q "^accuracy over $want labelled drawings: top-1" || fail "predict $kind: no accuracy line"
  grep -qv ':1 (cat):  [a-z]* 0\.[0-9]*  [a-z]* 0\.[0-9]*  [a-z]* 0\.[0-9]*$' <(head -1 "$tmp/out") &&
    fail "predict line: $(head -1 "$tmp/out")"
done
expect_status 0 "predict --json --top 2" "$doodle" predict -m "$model" --json --top 2 "$sample/strokes/simplified/fish.ndjson.gz"
node -e 'const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n");
  let line = 0;
  for (const l of lines) {
    const o = JSON.parse(l);
    if (o.accuracy && l === lines[lines.length - 1] && o.accuracy.n === 25) continue; /* the last line: accuracy */
    if (o.line !== ++line || o.word !== "fish" || o.top.length !== 2 || !(o.top[0].p >= o.top[1].p)
        || typeof o.top[0].class !== "string" || typeof o.key_id !== "string") throw new Error("bad: " + l);
  }
  if (lines.length !== 26) throw new Error(lines.length + " lines");' "$tmp/out" || fail "predict --json output"
expect_status 0 "predict --top 99" "$doodle" predict -m "$model" --top 99 --json "$sample/strokes/simplified/fish.ndjson.gz"
json_check <(head -1 "$tmp/out") 'o.top.length === 5 && Math.abs(o.top.reduce((s, t) => s + t.p, 0) - 1) < 1e-4'

# .npy rows of the model's size; another size is a clear error
"$doodle" render -o "$tmp/cats.npy" -n 10 "$sample/strokes/simplified/cat.ndjson.gz" >/dev/null || fail "render cats.npy"
expect_status 0 "predict npy" "$doodle" predict -m "$model" "$tmp/cats.npy"
[ "$(wc -l <"$tmp/out")" -eq 10 ] || fail "predict npy: $(cat "$tmp/out")"
grep -q 'cats.npy\[9\]:' "$tmp/out" || fail "predict npy rows not named: $(tail -1 "$tmp/out")"
expect_status 1 "predict npy with a 66x100 model" "$doodle" predict -m "$fx/seed.safetensors" "$tmp/cats.npy"
grep -q "28x28" "$tmp/err" && grep -q "66x100" "$tmp/err" || fail "predict size mismatch unclear: $(cat "$tmp/err")"

# PNG: a picture of any size, dark ink on white; the same drawing as ndjson and as a 28x28 PNG agree at top 1
"$doodle" render -o "$tmp/grid.png" -n 4 --cols 2 "$sample/strokes/simplified/star.ndjson.gz" >/dev/null || fail "render grid.png"
expect_status 0 "predict png" "$doodle" predict -m "$model" --json "$tmp/grid.png"
json_check "$tmp/out" 'o.file.endsWith("grid.png") && o.top.length === 3'
expect_status 0 "predict png with a 66x100 model" "$doodle" predict -m "$fx/seed.safetensors" "$tmp/grid.png"
[ "$(wc -l <"$tmp/out")" -eq 1 ] || fail "predict png: $(cat "$tmp/out")"
printf 'not a png' >"$tmp/fake.png"
expect_status 1 "predict a broken png" "$doodle" predict -m "$model" "$tmp/fake.png" "$tmp/cats.npy"
grep -q "fake.png: not a PNG" "$tmp/err" || fail "broken png not named: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/out")" -eq 10 ] || fail "predict stopped at a broken png"
head -c 100 "$tmp/grid.png" >"$tmp/cut.png"
expect_status 1 "predict a truncated png" "$doodle" predict -m "$model" "$tmp/cut.png"
grep -Eq "cut.png: (cannot read|.*truncated)" "$tmp/err" || fail "truncated png unclear: $(cat "$tmp/err")"

# a missing file and a bad record: reported, exit 1, everything else still predicted
expect_status 1 "predict with a missing file" "$doodle" predict -m "$model" "$tmp/nope.ndjson" "$tmp/cats.npy"
grep -q "nope.ndjson" "$tmp/err" || fail "missing input not named: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/out")" -eq 10 ] || fail "predict stopped at a missing file"
gzip -dc "$sample/strokes/simplified/apple.ndjson.gz" | head -3 >"$tmp/mixed.ndjson"
echo '{"word":"apple","drawing":[[[1,2],[3]]]}' >>"$tmp/mixed.ndjson"
gzip -dc "$sample/strokes/simplified/apple.ndjson.gz" | sed -n 4,5p >>"$tmp/mixed.ndjson"
expect_status 1 "predict with a bad record" "$doodle" predict -m "$model" "$tmp/mixed.ndjson"
[ "$(grep -vc '^accuracy ' "$tmp/out")" -eq 5 ] || fail "predict with a bad record: $(cat "$tmp/out")"
grep -q "mixed.ndjson:4" "$tmp/err" || fail "bad record not located: $(cat "$tmp/err")"
expect_status 1 "predict with a missing model" "$doodle" predict -m "$tmp/nope.safetensors" "$tmp/cats.npy"
grep -q "nope.safetensors" "$tmp/err" || fail "predict: missing model not named: $(cat "$tmp/err")"
expect_status 1 "predict with a truncated model" "$doodle" predict -m "$tmp/cut.safetensors" "$tmp/cats.npy"

# --- the example program agrees with predict ---
if [ -x "$example" ]; then
  expect_status 0 "example_classify" "$example" "$model" "$sample/strokes/raw/fish.ndjson.gz"
  awk '{ print $4, $6, $8 }' "$tmp/out" >"$tmp/example.top"
  "$doodle" predict -m "$model" "$sample/strokes/raw/fish.ndjson.gz" | grep -v '^accuracy ' | awk '{ print $3, $5, $7 }' >"$tmp/predict.top"
  cmp -s "$tmp/example.top" "$tmp/predict.top" || fail "example_classify and predict disagree"
  [ -s "$tmp/example.top" ] || fail "example_classify printed nothing"
else
  fail "no example program at $example"
fi
finish
