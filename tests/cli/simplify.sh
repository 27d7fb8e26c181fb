#!/usr/bin/env bash
# doodle simplify as a user runs it: raw drawings become exactly Google's simplified lines (whole lines, metadata
# included), simplified input passes through, .bin input, stdout, bad records, --strict, exit codes, messages,
# atomic output.
name=simplify
source "$(dirname "$0")/common.bash"
require_shared_data
raw=$data/strokes_raw/borismus_exupery
simp=$data/strokes_simplified/lamnguyen5464_Sketch-dataset
# compare GOOGLE OURS: prints "pairs identical" - lines of OURS whose key_id is in GOOGLE, and how many of them
# are byte for byte the same line
compare() {
  awk 'function key(s) { if (!match(s, /"key_id":"[0-9]+"/)) return ""; return substr(s, RSTART, RLENGTH) }
       NR == FNR { g[key($0)] = $0; next }
       { k = key($0); if (k != "" && k in g) { n++; if (g[k] == $0) same++ } }
       END { print n + 0, same + 0 }' "$1" "$2"
}

# --- usage ---
expect_status 0 "simplify --help" "$doodle" simplify --help
grep -q "usage: doodle simplify" "$tmp/out" || fail "simplify --help prints no usage on stdout"
expect_status 2 "simplify --bogus" "$doodle" simplify --bogus -o "$tmp/x.ndjson" "$raw/cat.ndjson.gz"
grep -q "Try 'doodle simplify --help'" "$tmp/err" || fail "usage error without a hint: $(cat "$tmp/err")"
expect_status 2 "simplify without output" "$doodle" simplify "$raw/cat.ndjson.gz"
expect_status 2 "simplify without inputs" "$doodle" simplify -o "$tmp/x.ndjson"
expect_status 2 "simplify -o without value" "$doodle" simplify "$raw/cat.ndjson.gz" -o
expect_status 2 "simplify to .gz" "$doodle" simplify -o "$tmp/x.ndjson.gz" "$raw/cat.ndjson.gz"
[ ! -e "$tmp/x.ndjson" ] && [ ! -e "$tmp/x.ndjson.gz" ] || fail "a usage error left an output file"

# --- missing input: named, exit 1, nothing written ---
expect_status 1 "simplify of a missing file" "$doodle" simplify -o "$tmp/x.ndjson" "$raw/cat.ndjson.gz" "$tmp/nope.ndjson"
grep -q "nope.ndjson" "$tmp/err" || fail "missing file not named: $(cat "$tmp/err")"
[ ! -e "$tmp/x.ndjson" ] || fail "a failed simplify left an output file"
ls "$tmp" | grep -q '\.tmp\.' && fail "a temporary file was left behind"

# --- one raw file: every drawing also in Google's file is the same line, byte for byte ---
expect_status 0 "simplify cat" "$doodle" simplify -o "$tmp/cat.ndjson" "$raw/cat.ndjson.gz"
grep -q "wrote 25 drawings to .*cat.ndjson (25 simplified, 0 already simplified) from 1 file, 0 bad records" "$tmp/err" ||
  fail "no summary line on stderr: $(cat "$tmp/err")"
[ ! -s "$tmp/out" ] || fail "simplify -o FILE printed on stdout: $(head -c 200 "$tmp/out")"
[ "$(wc -l <"$tmp/cat.ndjson")" -eq 25 ] || fail "cat.ndjson has $(wc -l <"$tmp/cat.ndjson") lines"
gzip -dc "$simp/cat.ndjson.gz" >"$tmp/google_cat.ndjson"
read -r pairs same < <(compare "$tmp/google_cat.ndjson" "$tmp/cat.ndjson")
[ "$pairs" -ge 20 ] && [ "$same" -eq "$pairs" ] || fail "cat: $same of $pairs lines identical to Google's"

# --- stdout gives the same bytes ---
"$doodle" simplify -o - "$raw/cat.ndjson.gz" >"$tmp/cat_stdout.ndjson" 2>"$tmp/err" || fail "simplify -o - failed"
cmp -s "$tmp/cat.ndjson" "$tmp/cat_stdout.ndjson" || fail "-o - differs from -o FILE"
grep -q "to stdout" "$tmp/err" || fail "no summary for stdout: $(cat "$tmp/err")"

# --- every raw drawing of the test data (a directory as input): at least 99.9% identical to Google's lines ---
expect_status 0 "simplify a directory" "$doodle" simplify -q -o "$tmp/all.ndjson" "$raw"
gzip -dc "$simp"/*.ndjson.gz >"$tmp/google_all.ndjson"
read -r pairs same < <(compare "$tmp/google_all.ndjson" "$tmp/all.ndjson")
echo "simplify: $same of $pairs drawings identical to Google's simplified lines"
[ "$pairs" -ge 7500 ] || fail "only $pairs key_ids in both sets"
[ $((same * 1000)) -ge $((pairs * 999)) ] || fail "only $same of $pairs lines identical to Google's"

# --- simplified input passes through unchanged ---
expect_status 0 "simplify of simplified input" "$doodle" simplify -o "$tmp/again.ndjson" "$simp/cat.ndjson.gz"
cmp -s "$tmp/again.ndjson" "$tmp/google_cat.ndjson" || fail "simplified input did not pass through unchanged"
grep -q "(0 simplified, 25 already simplified)" "$tmp/err" || fail "pass-through not counted: $(cat "$tmp/err")"

# --- .bin input (the layout of test_bin: key_id, countrycode, recognized, timestamp, strokes) ---
printf '\010\007\006\005\004\003\002\001VE\001\212\121\001\000\002\000\002\000\001\002\003\004\001\000\377\000' \
  >"$tmp/one.bin"
expect_status 0 "simplify of .bin" "$doodle" simplify -o "$tmp/bin.ndjson" "$tmp/one.bin"
want='{"countrycode":"VE","timestamp":"1970-01-02 00:00:10 UTC","recognized":true,"key_id":"72623859790382856","drawing":[[[1,2],[3,4]],[[255],[0]]]}'
[ "$(cat "$tmp/bin.ndjson")" = "$want" ] || fail ".bin: got $(cat "$tmp/bin.ndjson")"

# --- bad records: reported as file:line, skipped, counted; --strict stops with no output ---
gzip -dc "$raw/cat.ndjson.gz" | head -n 2 >"$tmp/mixed.ndjson"
echo '{"word":"cat","drawing":[[[1,2],[3]]]}' >>"$tmp/mixed.ndjson"
gzip -dc "$raw/cat.ndjson.gz" | sed -n 3p >>"$tmp/mixed.ndjson"
echo 'not json' >>"$tmp/mixed.ndjson"
expect_status 0 "simplify with bad records" "$doodle" simplify -o "$tmp/mixed_out.ndjson" "$tmp/mixed.ndjson"
grep -q "mixed.ndjson:3:" "$tmp/err" || fail "bad record 3 not reported as file:line: $(cat "$tmp/err")"
grep -q "mixed.ndjson:5:" "$tmp/err" || fail "bad record 5 not reported as file:line: $(cat "$tmp/err")"
grep -q "wrote 3 drawings.*2 bad records skipped" "$tmp/err" || fail "bad records not counted: $(cat "$tmp/err")"
head -n 3 "$tmp/cat.ndjson" | cmp -s - "$tmp/mixed_out.ndjson" || fail "the good records of mixed.ndjson differ"
expect_status 0 "simplify -q with bad records" "$doodle" simplify -q -o "$tmp/mixed_out.ndjson" "$tmp/mixed.ndjson"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "-q still lists records: $(cat "$tmp/err")"
echo previous >"$tmp/strict.ndjson"
expect_status 1 "simplify --strict with a bad record" "$doodle" simplify --strict -o "$tmp/strict.ndjson" "$tmp/mixed.ndjson"
grep -q "mixed.ndjson:3:" "$tmp/err" || fail "--strict does not name the record: $(cat "$tmp/err")"
[ "$(cat "$tmp/strict.ndjson")" = previous ] || fail "--strict failure replaced the output file"
ls "$tmp" | grep -q '\.tmp\.' && fail "a temporary file was left behind"

# --- a file that is not strokes, and an unwritable output ---
printf 'garbage' | gzip -c >"$tmp/bad.bin.gz"
expect_status 1 "simplify of a truncated .bin" "$doodle" simplify -o "$tmp/y.ndjson" "$tmp/bad.bin.gz"
[ ! -e "$tmp/y.ndjson" ] || fail "a fatal read error left an output file"
expect_status 1 "simplify into a missing directory" "$doodle" simplify -o "$tmp/no/such/dir.ndjson" "$raw/cat.ndjson.gz"

finish
