#!/usr/bin/env bash
# doodle render as a user runs it: .npy and .png outputs, options, bad records, exit codes, messages, and the
# official 28x28 cat bitmaps reproduced from the simplified strokes (within 1 grey level).
name=render
source "$(dirname "$0")/common.bash"
require_shared_data
simp=$data/strokes_simplified/lamnguyen5464_Sketch-dataset
official=$data/bitmaps_28x28/sukumr_Doodle-Classifier
# npy_header FILE: the header dict of a .npy (v1/v2), e.g. {'descr': '|u1', ..., 'shape': (25, 28, 28), }
npy_header() {
  local len
  len=$(od -An -tu2 -j8 -N2 "$1" | tr -d ' ')
  dd if="$1" bs=1 skip=10 count="$len" 2>/dev/null
}
npy_data_offset() { echo $((10 + $(od -An -tu2 -j8 -N2 "$1" | tr -d ' '))); }

# --- usage ---
expect_status 0 "render --help" "$doodle" render --help
grep -q "usage: doodle render" "$tmp/out" || fail "render --help prints no usage"
expect_status 2 "render --bogus" "$doodle" render --bogus -o "$tmp/x.npy" "$simp/cat.ndjson.gz"
expect_status 2 "render without output" "$doodle" render "$simp/cat.ndjson.gz"
expect_status 2 "render without inputs" "$doodle" render -o "$tmp/x.npy"
expect_status 2 "render to .jpg" "$doodle" render -o "$tmp/x.jpg" "$simp/cat.ndjson.gz"
grep -q "x.jpg" "$tmp/err" || fail "bad output name not named: $(cat "$tmp/err")"
expect_status 2 "render --size 28" "$doodle" render --size 28 -o "$tmp/x.npy" "$simp/cat.ndjson.gz"
expect_status 2 "render --size 0x5" "$doodle" render --size 0x5 -o "$tmp/x.npy" "$simp/cat.ndjson.gz"
expect_status 2 "render --line-width 0" "$doodle" render --line-width 0 -o "$tmp/x.npy" "$simp/cat.ndjson.gz"
expect_status 2 "render --limit 0" "$doodle" render --limit 0 -o "$tmp/x.npy" "$simp/cat.ndjson.gz"
expect_status 2 "render --limit without value" "$doodle" render -o "$tmp/x.npy" "$simp/cat.ndjson.gz" --limit
[ ! -e "$tmp/x.npy" ] || fail "a usage error left an output file"

# --- missing input: named, exit 1, nothing written ---
expect_status 1 "render of a missing file" "$doodle" render -o "$tmp/x.npy" "$simp/cat.ndjson.gz" "$tmp/nope.ndjson"
grep -q "nope.ndjson" "$tmp/err" || fail "missing file not named: $(cat "$tmp/err")"
[ ! -e "$tmp/x.npy" ] || fail "a failed render left an output file"

# --- the official cat bitmaps: rows 0-24 are lines 1-25 of the simplified file ---
expect_status 0 "render cat" "$doodle" render --size 28x28 -o "$tmp/cat.npy" "$simp/cat.ndjson.gz"
grep -q "wrote .*cat.npy: 25 drawings" "$tmp/out" || fail "no summary line: $(cat "$tmp/out")"
npy_header "$tmp/cat.npy" | grep -q "'shape': (25, 28, 28)" || fail "cat.npy header: $(npy_header "$tmp/cat.npy")"
npy_header "$tmp/cat.npy" | grep -q "'descr': '|u1'" || fail "cat.npy is not uint8"
gzip -dc "$official/cat.npy.gz" >"$tmp/official.npy"
off_ours=$(npy_data_offset "$tmp/cat.npy")
off_official=$(npy_data_offset "$tmp/official.npy")
tail -c +$((off_ours + 1)) "$tmp/cat.npy" >"$tmp/ours.raw"
tail -c +$((off_official + 1)) "$tmp/official.npy" | head -c $((25 * 784)) >"$tmp/official.raw"
[ "$(wc -c <"$tmp/ours.raw")" -eq $((25 * 784)) ] || fail "cat.npy holds $(wc -c <"$tmp/ours.raw") pixel bytes"
# cmp -l lists differing bytes (octal values); every difference must be at most 1 grey level
worst=$(cmp -l "$tmp/ours.raw" "$tmp/official.raw" | awk '
  function oct(s,  n, i) { n = 0; for (i = 1; i <= length(s); i++) n = n * 8 + substr(s, i, 1); return n }
  { d = oct($2) - oct($3); if (d < 0) d = -d; if (d > m) m = d } END { print m + 0 }')
[ "$worst" -le 1 ] || fail "official cat bitmaps differ by up to $worst grey levels"

# --- sizes, limits, options ---
expect_status 0 "render 66x100" "$doodle" render -s 66x100 -n 3 -o "$tmp/wide.npy" "$simp/cat.ndjson.gz" "$simp/apple.ndjson.gz"
npy_header "$tmp/wide.npy" | grep -q "'shape': (6, 66, 100)" || fail "wide.npy header: $(npy_header "$tmp/wide.npy")"
expect_status 0 "render --line-width 4" "$doodle" render --line-width 4 --padding 0 -n 5 -o "$tmp/thin.npy" "$simp/cat.ndjson.gz"
npy_header "$tmp/thin.npy" | grep -q "'shape': (5, 28, 28)" || fail "thin.npy header"
cmp -s <(tail -c $((5 * 784)) "$tmp/thin.npy") <(head -c $((off_ours + 5 * 784)) "$tmp/cat.npy" | tail -c $((5 * 784))) &&
  fail "--line-width/--padding changed nothing"
expect_status 0 "render to .npy.gz" "$doodle" render -n 2 -o "$tmp/two.npy.gz" "$simp/cat.ndjson.gz"
gzip -dc "$tmp/two.npy.gz" >"$tmp/two.npy" || fail "two.npy.gz is not gzip"
npy_header "$tmp/two.npy" | grep -q "'shape': (2, 28, 28)" || fail "two.npy.gz header"

# --- raw drawings are simplified first ---
raw=$data/strokes_raw/borismus_exupery/cat.ndjson.gz
n_raw=$(gzip -dc "$raw" | grep -c .)
expect_status 0 "render raw" "$doodle" render --strict -o "$tmp/raw.npy" "$raw"
npy_header "$tmp/raw.npy" | grep -q "'shape': ($n_raw, 28, 28)" || fail "raw.npy header: $(npy_header "$tmp/raw.npy")"

# --- PNG grid ---
expect_status 0 "render png" "$doodle" render -n 8 --cols 4 --scale 3 -o "$tmp/grid.png" "$simp/cat.ndjson.gz" "$simp/apple.ndjson.gz"
[ "$(head -c 8 "$tmp/grid.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "grid.png is not a PNG"
# 4 rows (two files of 8 in rows of 4) of 3x28 = 84 px tiles + frame + gaps: height 4 + 4 * (86 + 4) = 364
height=$(od -An -tu1 -j20 -N4 "$tmp/grid.png" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
[ "$height" -eq 364 ] || fail "grid.png is $height pixels high, expected 364"
expect_status 0 "render png of one file" "$doodle" render -o "$tmp/one.png" "$simp/cat.ndjson.gz"
[ -s "$tmp/one.png" ] || fail "one.png not written"

# --- bad records: reported as file:line, skipped and counted; --strict makes the first fatal ---
{
  gzip -dc "$simp/cat.ndjson.gz" | sed -n 1p
  echo '{"word":"cat","drawing":[[[1,2,3],[4,5]]]}'
  echo 'not json at all'
  gzip -dc "$simp/cat.ndjson.gz" | sed -n 2p
} >"$tmp/bad.ndjson"
expect_status 0 "render with bad records" "$doodle" render -o "$tmp/bad.npy" "$tmp/bad.ndjson"
grep -q "bad.ndjson:2" "$tmp/err" || fail "bad record not reported as file:line: $(cat "$tmp/err")"
grep -q "bad.ndjson:3" "$tmp/err" || fail "second bad record not reported: $(cat "$tmp/err")"
grep -q "2 bad records skipped" "$tmp/out" || fail "no count of skipped records: $(cat "$tmp/out")"
npy_header "$tmp/bad.npy" | grep -q "'shape': (2, 28, 28)" || fail "bad.npy header: $(npy_header "$tmp/bad.npy")"
expect_status 0 "render --quiet" "$doodle" render -q -o "$tmp/bad.npy" "$tmp/bad.ndjson"
[ ! -s "$tmp/err" ] || fail "--quiet still lists records: $(cat "$tmp/err")"
cp "$tmp/bad.npy" "$tmp/bad.copy"
expect_status 1 "render --strict" "$doodle" render --strict -o "$tmp/bad.npy" "$tmp/bad.ndjson"
grep -q "bad.ndjson:2" "$tmp/err" || fail "--strict does not name the record: $(cat "$tmp/err")"
cmp -s "$tmp/bad.npy" "$tmp/bad.copy" || fail "a failed render changed the existing output"
printf 'junk\n' >"$tmp/junk.ndjson"
expect_status 1 "render of nothing but bad records" "$doodle" render -o "$tmp/junk.npy" "$tmp/junk.ndjson"
[ ! -e "$tmp/junk.npy" ] || fail "a render with no drawings left an output file"
expect_status 2 "render of a .npy" "$doodle" render -o "$tmp/x.npy" "$official/cat.npy.gz"

ls "$tmp" | grep -q '\.tmp\.' && fail "temporary file left behind: $(ls "$tmp")"
finish
