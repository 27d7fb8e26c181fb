#!/usr/bin/env bash
# doodle prep / info / show as a user runs them on the bundled sample: tables, files, exit codes, messages.
name=prep_info_show
source "$(dirname "$0")/common.bash"
sample=${DOODLE_SAMPLE_DIR:?}

for verb in prep info show; do
  expect_status 0 "$verb --help" "$doodle" "$verb" --help
  grep -q "usage: doodle $verb" "$tmp/out" || fail "$verb --help prints no usage"
  expect_status 2 "$verb --bogus" "$doodle" "$verb" --bogus
done
expect_status 2 "unknown verb" "$doodle" frobnicate
expect_status 2 "prep without output" "$doodle" prep --input "$sample/strokes"
expect_status 2 "prep --test-frac 2" "$doodle" prep --input "$sample/strokes" --test-frac 2 -o "$tmp/x.dset"
expect_status 1 "prep of a missing file" "$doodle" prep --input "$tmp/nope.ndjson" -o "$tmp/x.dset"
grep -q "nope.ndjson" "$tmp/err" || fail "missing file not named: $(cat "$tmp/err")"
[ ! -e "$tmp/x.dset" ] || fail "a failed prep left an output file"

# strokes: raw + simplified of the same drawings, kept once
expect_status 0 "prep strokes" "$doodle" prep --input "$sample/strokes" --test-frac 0.2 --seed 3 -o "$tmp/s.dset"
cp "$tmp/out" "$tmp/prep-table"
grep -q "^cat " "$tmp/prep-table" || fail "prep table has no cat row: $(cat "$tmp/prep-table")"
grep -q "duplicate" "$tmp/prep-table" || fail "prep table does not count duplicates"
expect_status 0 "info" "$doodle" info "$tmp/s.dset"
# info prints back the same table prep printed
grep -v '^wrote ' "$tmp/prep-table" >"$tmp/prep-rows"
grep -A100 '^class ' "$tmp/out" >"$tmp/info-rows"
cmp -s "$tmp/prep-rows" "$tmp/info-rows" || fail "info table differs from prep's: $(diff "$tmp/prep-rows" "$tmp/info-rows")"
grep -q "seed 3, test fraction 0.2" "$tmp/out" || fail "info does not say how the set was made"

# overwriting keeps the old file when the new prep fails
cp "$tmp/s.dset" "$tmp/s.copy"
expect_status 2 "prep of an unknown class" "$doodle" prep --input "$sample/strokes" --classes cat,unicorn -o "$tmp/s.dset"
grep -q "unicorn" "$tmp/err" || fail "unknown class not named"
cmp -s "$tmp/s.dset" "$tmp/s.copy" || fail "a failed prep changed the existing output"
ls "$tmp" | grep -q 'tmp\.' && fail "temporary file left behind"

# bitmaps
expect_status 0 "prep bitmaps" "$doodle" prep --input "$sample/bitmaps" --classes "cat, star" --per-class 200 -o "$tmp/b.dset"
expect_status 0 "info bitmaps" "$doodle" info "$tmp/b.dset"
grep -q "400 bitmaps of 28x28, 2 classes" "$tmp/out" || fail "info: $(head -2 "$tmp/out")"

# galleries
expect_status 0 "show classes" "$doodle" show "$tmp/s.dset" --per-class 6 -o "$tmp/classes.png"
expect_status 0 "show one class" "$doodle" show "$tmp/s.dset" --class fish --count 20 --size 66x100 -o "$tmp/fish.png"
expect_status 0 "show bitmaps" "$doodle" show "$tmp/b.dset" -o "$tmp/bitmaps.png"
for f in classes fish bitmaps; do
  [ "$(head -c 8 "$tmp/$f.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$f.png is not a PNG"
done
expect_status 2 "show unknown class" "$doodle" show "$tmp/s.dset" --class unicorn -o "$tmp/u.png"
expect_status 1 "show of a non-dataset" "$doodle" show "$sample/ATTRIBUTION" -o "$tmp/u.png"
grep -q "ATTRIBUTION" "$tmp/err" || fail "bad dataset not named: $(cat "$tmp/err")"
[ ! -e "$tmp/u.png" ] || fail "a failed show wrote a picture"

# a mistyped verb, sub-verb or class name gets "did you mean"; one far from every name does not
expect_status 2 "a mistyped verb" "$doodle" trian
grep -q "'trian' is not a verb; did you mean 'train'?" "$tmp/err" || fail "verb typo: $(cat "$tmp/err")"
expect_status 2 "an unknown verb" "$doodle" frobnicate
grep -q "did you mean" "$tmp/err" && fail "a far verb got a suggestion: $(cat "$tmp/err")"
expect_status 2 "a mistyped explain" "$doodle" explain salency
grep -q "did you mean 'saliency'?" "$tmp/err" || fail "explain typo: $(cat "$tmp/err")"
expect_status 0 "prep for the class typo" "$doodle" prep -q --input "$sample/bitmaps" --per-class 20 -o "$tmp/t.dset"
expect_status 2 "show a mistyped class" "$doodle" show "$tmp/t.dset" --class ct -o "$tmp/t.png"
grep -q "has no class 'ct'; did you mean 'cat'?" "$tmp/err" || fail "class typo: $(cat "$tmp/err")"

# --val-frac is stored in the set: info says how many, and doodle train keeps them apart unless told otherwise
expect_status 0 "prep --val-frac" "$doodle" prep -q --input "$sample/bitmaps" --per-class 300 --test-frac 0.2 \
  --val-frac 0.25 -o "$tmp/v.dset"
expect_status 0 "info of a set with a validation share" "$doodle" info "$tmp/v.dset"
grep -q "^validation: 0.25 of each class's train split (300 drawings)" "$tmp/out" || fail "info: $(head -4 "$tmp/out")"
expect_status 0 "train on it" "$doodle" train --data "$tmp/v.dset" -o "$tmp/vrun" --model mnist28 --epochs 1 --no-report
grep -q "training on 900 drawings, validating on 300" "$tmp/out" || fail "train did not take the set's share: $(head -2 "$tmp/out")"
expect_status 2 "prep --val-frac 0.95" "$doodle" prep -q --input "$sample/bitmaps" --val-frac 0.95 -o "$tmp/w.dset"
grep -q "0.95" "$tmp/err" || fail "the bad value is not echoed: $(cat "$tmp/err")"

finish
