#!/usr/bin/env bash
# Kaggle CSV input as a user has it (train_simplified/<class>.csv, test_simplified.csv): doodle prep, render,
# simplify and predict take it like ndjson — the same real drawings give the same dataset table, the same pixels and
# the same simplified lines; the class comes from the word column, else from the file name; bad records are
# reported as file:line and skipped; a file without a "drawing" column is refused naming file:1.
name=prep_csv
source "$(dirname "$0")/common.bash"
require_shared_data
simp=$data/strokes_simplified/lamnguyen5464_Sketch-dataset
raw=$data/strokes_raw/borismus_exupery
classes=("cat" "apple" "The Eiffel Tower")

# Google's ndjson line -> Kaggle's row (timestamp without " UTC", True/False, ", " in the drawing)
kaggle_rows() {
  sed -E 's/^\{"word":"([^"]*)","countrycode":"([^"]*)","timestamp":"([^"]*) UTC","recognized":(true|false),"key_id":"([0-9]+)","drawing":(.*)\}$/\2,"\6",\5,\4,\3,\1/;
          s/,true,/,True,/; s/,false,/,False,/' |
    sed -E 's/([]0-9]),([[0-9])/\1, \2/g; s/([]0-9]),([[0-9])/\1, \2/g' # twice: a match hides the next comma
}
mkdir -p "$tmp/ndjson" "$tmp/train_simplified"
for c in "${classes[@]}"; do
  cp "$simp/$c.ndjson.gz" "$tmp/ndjson/"
  { echo "countrycode,drawing,key_id,recognized,timestamp,word"; gzip -dc "$simp/$c.ndjson.gz" | kaggle_rows; } \
    >"$tmp/train_simplified/$c.csv"
done
grep -q '^VE,"\[\[\[.*\]\]\]",5201136883597312,True,2017-03-02 23:25:10.07453,cat$' "$tmp/train_simplified/cat.csv" ||
  fail "the Kaggle rows were not made: $(sed -n 2p "$tmp/train_simplified/cat.csv" | head -c 200)"
grep -q '\[\[\[[0-9]*, [0-9]*, ' "$tmp/train_simplified/cat.csv" || fail "the drawings have no ', ' as Kaggle's"
gzip -c "$tmp/train_simplified/apple.csv" >"$tmp/train_simplified/apple.csv.gz" && rm "$tmp/train_simplified/apple.csv"

# --- prep: the same table as from the ndjson, nothing skipped ---
expect_status 0 "prep ndjson" "$doodle" prep --input "$tmp/ndjson" --test-frac 0.2 -o "$tmp/ndjson.dset"
grep -E '^(cat|apple|The Eiffel Tower|total) ' "$tmp/out" >"$tmp/table_ndjson"
expect_status 0 "prep csv" "$doodle" prep --input "$tmp/train_simplified" --test-frac 0.2 -o "$tmp/csv.dset"
grep -E '^(cat|apple|The Eiffel Tower|total) ' "$tmp/out" >"$tmp/table_csv"
[ -s "$tmp/table_csv" ] && cmp -s "$tmp/table_ndjson" "$tmp/table_csv" ||
  fail "prep of the CSV differs from the ndjson: $(diff "$tmp/table_ndjson" "$tmp/table_csv" | head -5)"
grep -q '^total *75 *75 ' "$tmp/table_csv" || fail "prep of the CSV did not keep all 75 drawings: $(cat "$tmp/table_csv")"
grep -qi skip "$tmp/err" && fail "prep of the CSV skipped something: $(head -c 300 "$tmp/err")"
expect_status 0 "show the csv set" "$doodle" show "$tmp/csv.dset" --per-class 5 -o "$tmp/csv.png"
[ -s "$tmp/csv.png" ] || fail "no gallery of the CSV set"

# --- render: the same pixels ---
expect_status 0 "render ndjson" "$doodle" render -o "$tmp/ndjson.npy" "$tmp/ndjson/cat.ndjson.gz" "$tmp/ndjson/apple.ndjson.gz"
expect_status 0 "render csv" "$doodle" render -o "$tmp/csv.npy" "$tmp/train_simplified/cat.csv" "$tmp/train_simplified/apple.csv.gz"
cmp -s "$tmp/ndjson.npy" "$tmp/csv.npy" || fail "render of the CSV differs from the ndjson"

# --- simplify: raw drawings in a CSV with another column order, quoted fields and CRLF give Google's lines ---
{ printf 'word,key_id,"drawing",countrycode,recognized,timestamp,extra\r\n'
  gzip -dc "$raw/cat.ndjson.gz" | sed -E 's/^\{"word":"([^"]*)","countrycode":"([^"]*)","timestamp":"([^"]*)","recognized":(true|false),"key_id":"([0-9]+)","drawing":(.*)\}$/"\1",\5,"\6",\2,\4,\3,"a ""quoted"", text"\r/'
} >"$tmp/cat-raw.csv"
expect_status 0 "simplify csv" "$doodle" simplify -o "$tmp/from_csv.ndjson" "$tmp/cat-raw.csv"
expect_status 0 "simplify ndjson" "$doodle" simplify -o "$tmp/from_ndjson.ndjson" "$raw/cat.ndjson.gz"
cmp -s "$tmp/from_csv.ndjson" "$tmp/from_ndjson.ndjson" ||
  fail "simplify of the raw CSV differs from the ndjson's: $(diff "$tmp/from_csv.ndjson" "$tmp/from_ndjson.ndjson" | head -c 300)"

# --- test_simplified.csv: no word column: the class is the file's name ---
mkdir -p "$tmp/test"
{ printf '\xef\xbb\xbfkey_id,countrycode,drawing\r\n'
  sed 1d "$tmp/train_simplified/cat.csv" | sed -E 's/^([A-Z]*),("[^"]*"),([0-9]+),.*$/\3,\1,\2\r/'; } >"$tmp/test/cat.csv"
expect_status 0 "prep without a word column" "$doodle" prep --input "$tmp/test/cat.csv" -o "$tmp/test.dset"
grep -q '^cat  *25  *25 ' "$tmp/out" || fail "class not taken from the file name: $(cat "$tmp/out")"

# --- bad records: file:line, skipped, counted; --strict stops ---
{ sed -n 1,3p "$tmp/train_simplified/cat.csv"; echo 'US,"[[[1, 2], [3]]]",1,True,2017-01-01 00:00:00,cat'
  echo 'US,"[[[1, 2], [3, 4]]]",2,maybe,2017-01-01 00:00:00,cat'; echo 'US,"[[[1]], [[2]]]",3,True,t'
  echo 'US,"[[[1, 2], [3, 4]]]",4,True,2017-01-01 00:00:00,cat'; } >"$tmp/bad.csv"
expect_status 0 "prep with bad records" "$doodle" prep --input "$tmp/bad.csv" -o "$tmp/bad.dset"
grep -q 'bad.csv:4: drawing stroke 1: x has 2 points but y has 1' "$tmp/err" || fail "line 4 not reported: $(cat "$tmp/err")"
grep -q 'bad.csv:5: recognized: "maybe" is not True or False' "$tmp/err" || fail "line 5 not reported: $(cat "$tmp/err")"
grep -q 'bad.csv:6: 5 fields but the header has 6' "$tmp/err" || fail "line 6 not reported: $(cat "$tmp/err")"
grep -q '^cat  *6  *3 ' "$tmp/out" || fail "bad records not counted: $(cat "$tmp/out")"
expect_status 1 "prep --strict with bad records" "$doodle" prep --strict --input "$tmp/bad.csv" -o "$tmp/strict.dset"
grep -q 'bad.csv:4:' "$tmp/err" || fail "--strict does not name the record: $(cat "$tmp/err")"

# --- no drawing column: refused, naming file:1 ---
printf 'countrycode,key_id,word\nUS,1,cat\n' >"$tmp/nodrawing.csv"
expect_status 0 "prep of a CSV without drawings" "$doodle" prep --input "$tmp/nodrawing.csv" --input "$tmp/train_simplified/cat.csv" -o "$tmp/x.dset"
cat "$tmp/out" "$tmp/err" | grep -q 'nodrawing.csv:1: header: no "drawing" column' ||
  fail "missing drawing column not named as file:1: $(cat "$tmp/err" "$tmp/out" | head -c 400)"

# --- predict takes .csv as strokes (usage accepts it; the missing model is the error, exit 1 not 2) ---
expect_status 1 "predict csv with a missing model" "$doodle" predict --model "$tmp/none.safetensors" "$tmp/train_simplified/cat.csv"
expect_status 2 "predict of an unknown kind" "$doodle" predict --model "$tmp/none.safetensors" "$tmp/x.txt"

finish
