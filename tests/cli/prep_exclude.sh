#!/usr/bin/env bash
# doodle prep --exclude FILE on real data: the drawings listed (CSV with a key_id and a class column, a labels.json,
# a plain JSON array) are absent from the set and every other drawing is there with the same split as without
# --exclude; prep counts what it excluded and what it never met; the output is the same bytes for any --threads;
# a bad FILE is refused naming the file and the line (or entry); key_ids without a class are refused for .npy sets.
name=prep_exclude
source "$(dirname "$0")/common.bash"
require_shared_data
bitmaps=$data/bitmaps_28x28/sukumr_Doodle-Classifier
strokes=$data/strokes_simplified/lamnguyen5464_Sketch-dataset
mkdir -p "$tmp/strokes"
for c in cat apple "The Eiffel Tower" bicycle; do cp "$strokes/$c.ndjson.gz" "$tmp/strokes/"; done

# (class, key_id, split) of every record of a .dset, one line each, from the documented layout (docs/dset-format.md)
records() {
  /usr/bin/python3 - "$1" <<'EOF'
import struct, sys
b = open(sys.argv[1], 'rb').read()
n_classes, = struct.unpack_from('<I', b, 16)
n, roff, _, coff, csize = struct.unpack_from('<QQQQQ', b, 32)
iof, = struct.unpack_from('<Q', b, 80)
names = b[coff:coff + csize].split(b'\0')[:n_classes]
for i in range(n):
    o = roff + struct.unpack_from('<Q', b, iof + 8 * i)[0]
    label, split = struct.unpack_from('<HB', b, o)
    key, = struct.unpack_from('<Q', b, o + 10)
    print('%s,%d,%s' % (names[label].decode(), key, 'test' if split else 'train'))
EOF
}

# --- bitmaps: explain quality's CSV layout (index,key_id,split,label,…), classes in a quoted field too ---
expect_status 0 "prep bitmaps" "$doodle" prep -q --input "$bitmaps" --per-class 400 --test-frac 0.2 -o "$tmp/all.dset"
records "$tmp/all.dset" >"$tmp/all.txt"
[ "$(wc -l <"$tmp/all.txt")" -eq 2400 ] || fail "the whole set has $(wc -l <"$tmp/all.txt") records, not 2400"
# 13 drawings of the set (train and test, every class), and two it does not hold (row 5000 of cat; a class not there)
{ echo "index,key_id,split,label,predicted,p_predicted,p_label"
  awk -F, 'NR % 199 == 7 { printf "%d,%s,%s,\"%s\",x,0.99,0.01\n", NR, $2, $3, $1 }' "$tmp/all.txt"
  echo "1,5000,train,cat,dog,0.95,0.02"
  echo "2,3,train,giraffe,dog,0.95,0.02"; } >"$tmp/suspects.csv"
listed=$(($(wc -l <"$tmp/suspects.csv") - 1))
[ "$listed" -eq 15 ] || fail "the suspects list has $listed rows, not 15"
for t in 1 2 3; do
  expect_status 0 "prep --exclude, $t threads" "$doodle" prep --input "$bitmaps" --per-class 400 --test-frac 0.2 \
    --exclude "$tmp/suspects.csv" --threads $t -o "$tmp/clean$t.dset"
  grep -q '^excluded: 13 drawings (--exclude listed 15; 2 of them were not in the set)$' "$tmp/out" ||
    fail "$t threads: prep did not count the exclusion: $(grep -i exclu "$tmp/out")"
  grep -q '^total  *2400  *2387 ' "$tmp/out" || fail "$t threads: the table's total: $(grep '^total' "$tmp/out")"
done
cmp -s "$tmp/clean1.dset" "$tmp/clean2.dset" && cmp -s "$tmp/clean1.dset" "$tmp/clean3.dset" ||
  fail "prep --exclude gives different bytes for 1, 2 and 3 threads"
records "$tmp/clean1.dset" >"$tmp/clean.txt"
awk -F, 'NR > 1 && $4 != "giraffe" && $2 != 5000 { gsub(/"/, "", $4); print $4 "," $2 "," $3 }' "$tmp/suspects.csv" |
  sort >"$tmp/gone.txt"
[ "$(wc -l <"$tmp/gone.txt")" -eq 13 ] || fail "13 drawings should be gone, the list has $(wc -l <"$tmp/gone.txt")"
sort "$tmp/all.txt" >"$tmp/all.sorted"
sort "$tmp/clean.txt" >"$tmp/clean.sorted"
# every drawing kept has its class, key_id AND split unchanged: the whole set minus exactly the listed ones
comm -23 "$tmp/all.sorted" "$tmp/clean.sorted" >"$tmp/missing.txt"
cmp -s "$tmp/missing.txt" "$tmp/gone.txt" || fail "not exactly the listed drawings are missing: $(diff "$tmp/missing.txt" "$tmp/gone.txt" | head -5)"
[ -z "$(comm -13 "$tmp/all.sorted" "$tmp/clean.sorted")" ] || fail "the clean set holds drawings (or splits) the whole set has not"
grep -q ',test$' "$tmp/gone.txt" && grep -q ',train$' "$tmp/gone.txt" || fail "the test should exclude train and test drawings"
# apple's row 6 is listed, bicycle's row 6 is not and stays: an entry with a class names that class's drawing only
grep -q '^apple,6,' "$tmp/gone.txt" && grep -q '^bicycle,6,' "$tmp/clean.txt" || fail "bicycle row 6 went with apple's"

# --sample random: the same sample and splits, less the listed drawings
expect_status 0 "prep --sample random" "$doodle" prep -q --input "$bitmaps" --per-class 300 --sample random --seed 7 \
  --test-frac 0.2 -o "$tmp/rs-all.dset"
records "$tmp/rs-all.dset" | sort >"$tmp/rs-all.txt"
{ echo "key_id,true"; awk -F, 'NR % 97 == 3 { print $2 "," $1 }' "$tmp/rs-all.txt"; } >"$tmp/rs-list.csv"
expect_status 0 "prep --sample random --exclude" "$doodle" prep -q --input "$bitmaps" --per-class 300 --sample random \
  --seed 7 --test-frac 0.2 --exclude "$tmp/rs-list.csv" -o "$tmp/rs-clean.dset"
records "$tmp/rs-clean.dset" | sort >"$tmp/rs-clean.txt"
n_listed=$(($(wc -l <"$tmp/rs-list.csv") - 1))
grep -q "^excluded: $n_listed drawings (--exclude listed $n_listed; 0 of them" "$tmp/out" ||
  fail "--sample random: $(grep -i exclu "$tmp/out") ($n_listed listed)"
[ "$(comm -13 "$tmp/rs-all.txt" "$tmp/rs-clean.txt" | wc -l)" -eq 0 ] &&
  [ "$(comm -23 "$tmp/rs-all.txt" "$tmp/rs-clean.txt" | wc -l)" -eq "$n_listed" ] ||
  fail "--sample random --exclude is not the sample less the $n_listed listed drawings"

# --- labels.json (its mislabelled list) and a plain array, on stroke drawings (key_ids unique, Google's) ---
expect_status 0 "prep strokes" "$doodle" prep -q --input "$tmp/strokes" --test-frac 0.2 -o "$tmp/s-all.dset"
records "$tmp/s-all.dset" >"$tmp/s-all.txt"
k1=$(sed -n 3p "$tmp/s-all.txt" | cut -d, -f2); c1=$(sed -n 3p "$tmp/s-all.txt" | cut -d, -f1)
k2=$(sed -n 40p "$tmp/s-all.txt" | cut -d, -f2); c2=$(sed -n 40p "$tmp/s-all.txt" | cut -d, -f1)
k3=$(sed -n 77p "$tmp/s-all.txt" | cut -d, -f2)
cat >"$tmp/labels.json" <<EOF
{
  "format": "doodle labels",
  "version": 1,
  "clusters": [],
  "mislabelled": [
    {"key_id": "$k1", "true": "$c1", "note": "a \"hat\", surely"},
    {"key_id": "$k2", "true": "$c2"}
  ]
}
EOF
echo "[\"$k3\", $k1, \"123\"]" >"$tmp/keys.json"
expect_status 0 "prep --exclude labels.json and an array" "$doodle" prep -q --input "$tmp/strokes" --test-frac 0.2 \
  --exclude "$tmp/labels.json" --exclude "$tmp/keys.json" -o "$tmp/s-clean.dset"
grep -q '^excluded: 3 drawings (--exclude listed 5; 1 of them were not in the set)$' "$tmp/out" ||
  fail "labels.json + array: $(grep -i exclu "$tmp/out")"
records "$tmp/s-clean.dset" >"$tmp/s-clean.txt"
for k in $k1 $k2 $k3; do grep -q ",$k," "$tmp/s-clean.txt" && fail "key_id $k is still in the set"; done
[ "$(wc -l <"$tmp/s-clean.txt")" -eq $(($(wc -l <"$tmp/s-all.txt") - 3)) ] || fail "the stroke set lost more than 3"

# --- bad files: the file and the line (or entry) named, nothing written ---
bad() { # want FILE-CONTENT NAME
  printf '%b' "$2" >"$tmp/$3"
  expect_status 1 "bad $3" "$doodle" prep -q --input "$tmp/strokes" --exclude "$tmp/$3" -o "$tmp/bad.dset"
  grep -q -- "$1" "$tmp/err" || fail "bad $3: the message lacks '$1': $(cat "$tmp/err")"
  [ -e "$tmp/bad.dset" ] && fail "bad $3: a set was written"
}
bad "nokey.csv:1: the header has no key_id column" 'index,label\n1,cat\n' nokey.csv
bad "keys.csv:3: key_id \"12x\" is not a whole number" 'key_id,label\n1,cat\n12x,cat\n' keys.csv
bad "fields.csv:2: 3 fields but the header has 2" 'key_id,label\n1,cat,dog\n' fields.csv
bad "quote.csv:2: bad quoting" 'key_id,label\n1,"cat\n' quote.csv
bad "empty.csv:2: column label is empty" 'key_id,label\n1,\n' empty.csv
bad "syntax.json:3: not valid JSON" '[\n  "1",\n  oops\n]\n' syntax.json
bad "big.json: \\[1\\]: 1e+30 is not a whole number" '["1", 1e30]' big.json
bad "labels-bad.json: mislabelled\\[0\\].true" '{"format": "doodle labels", "version": 1, "mislabelled": [{"key_id": "1"}]}' labels-bad.json
expect_status 1 "a missing FILE" "$doodle" prep -q --input "$tmp/strokes" --exclude "$tmp/missing.csv" -o "$tmp/bad.dset"
grep -q -- "--exclude $tmp/missing.csv: No such file" "$tmp/err" || fail "missing FILE: $(cat "$tmp/err")"
# a key_id alone cannot name a drawing of a .npy set (rows repeat across classes)
printf 'key_id\n5\n' >"$tmp/rows.csv"
expect_status 2 "classless key_ids for bitmaps" "$doodle" prep -q --input "$bitmaps" --exclude "$tmp/rows.csv" -o "$tmp/bad.dset"
grep -q "rows.csv:2: a key_id without its class" "$tmp/err" || fail "classless bitmaps: $(cat "$tmp/err")"
finish
