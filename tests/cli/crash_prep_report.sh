#!/usr/bin/env bash
# doodle prep and doodle report killed with SIGKILL while they write: the previous output (if any) stays byte for
# byte, nothing partial sits under the output's name, and the next run removes the temporary files the kills left.
# Moments: part-way through the data (timed on the temporary file's size) and with the file complete but not yet
# renamed (the DOODLE_TEST_SLOW_WRITE hook of src/util/atomic_file.c: the process stops itself there).
name=crash_prep_report
source "$(dirname "$0")/common.bash"
sample=${DOODLE_SAMPLE_DIR:?}

tmps() { find "$1" -name '*.tmp.??????' | wc -l; } # DIR: the temporary files under it
kills=0

# ---- prep: the sample's bitmaps read 6 times over (30,000 drawings, a 24 MB file written over a fraction of a
# second), so that a kill can land in the middle of the data
big=()
for _ in $(seq 1 6); do big+=(--input "$sample/bitmaps"); done
prep_big=(prep -q "${big[@]}" --test-frac 0.2 -o) # an array, not a function: $! must be doodle's pid
"$doodle" prep -q --input "$sample/bitmaps" --per-class 50 -o "$tmp/d.dset" >/dev/null || fail "prep (old file) failed"
cp "$tmp/d.dset" "$tmp/old.dset"
"$doodle" "${prep_big[@]}" "$tmp/ref.dset" >/dev/null || fail "prep (reference) failed"

# prep_mid_write OUT OLDER WHAT: starts the big prep into OUT and kills it once its temporary file holds 4 MB or more.
# A prep that ends before the kill (a slow poll on a loaded machine) has its output put back as it was (OLDER, or
# none) and is tried again, up to three times.
prep_mid_write() {
  local out=$1 older=$2 what=$3 size t pid status
  for attempt in 1 2 3; do
    size=0
    "$doodle" "${prep_big[@]}" "$out" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 4000); do
      t=$(ls "$out".tmp.?????? 2>/dev/null | head -1)
      size=$([ -n "$t" ] && stat -c %s "$t" 2>/dev/null || echo 0)
      [ "${size:-0}" -ge 4000000 ] && break
      [ -n "$(state "$pid")" ] || break
      sleep 0.002
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    status=$?
    [ "$status" -eq 137 ] && [ "${size:-0}" -ge 4000000 ] && break
    echo "note: $what: attempt $attempt: the prep ended (exit $status) before the kill; again"
    if [ -n "$older" ]; then cp "$older" "$out"; else rm -f "$out"; fi
  done
  kills=$((kills + 1))
  [ "$status" -eq 137 ] && [ "${size:-0}" -ge 4000000 ] || { fail "$what: never killed with 4 MB written"; return; }
  echo "kill $kills, $what: killed with ${size} of $(stat -c %s "$tmp/ref.dset") bytes written"
}

prep_mid_write "$tmp/d.dset" "$tmp/old.dset" "prep over an older file, mid-write"
cmp -s "$tmp/d.dset" "$tmp/old.dset" || fail "prep killed mid-write: the older d.dset changed"
prep_mid_write "$tmp/new.dset" "" "prep of a new file, mid-write"
[ -e "$tmp/new.dset" ] && fail "prep of a new file killed mid-write: new.dset is there"

# complete but not renamed
DOODLE_TEST_SLOW_WRITE=d.dset "$doodle" "${prep_big[@]}" "$tmp/d.dset" >/dev/null 2>&1 &
pid=$!
if wait_stopped "$pid"; then
  # its own and new.dset's; its start removed the one of d.dset that the first kill left
  [ "$(tmps "$tmp")" -eq 2 ] || fail "prep stopped before the rename: expected 2 temporary files, found $(tmps "$tmp")"
  killed "$pid"
  kills=$((kills + 1))
  echo "kill $kills, prep with its file complete, before the rename"
  cmp -s "$tmp/d.dset" "$tmp/old.dset" || fail "prep killed before the rename: the older d.dset changed"
else
  fail "prep with the hook set did not stop before the rename"
fi
expect_status 0 "info on the older file after the kills" "$doodle" info "$tmp/d.dset"

# the next prep of each output removes what the kills left and writes the same bytes as a run never killed
[ "$(tmps "$tmp")" -eq 2 ] || fail "expected 2 temporary files left by the prep kills, found $(tmps "$tmp")"
"$doodle" "${prep_big[@]}" "$tmp/d.dset" >/dev/null || fail "prep after the kills failed"
"$doodle" "${prep_big[@]}" "$tmp/new.dset" >/dev/null || fail "prep of new.dset after the kill failed"
cmp -s "$tmp/d.dset" "$tmp/ref.dset" || fail "prep after the kills: d.dset differs from the reference"
[ "$(tmps "$tmp")" -eq 0 ] || fail "temporary files left after the next prep: $(find "$tmp" -name '*.tmp.*')"
rm -f "$tmp/new.dset" "$tmp/ref.dset" "$tmp/old.dset" "$tmp/d.dset"

# ---- report: a small run, its report once, then kills of the next report of the same run
"$doodle" prep -q --input "$sample/bitmaps" --per-class 200 --test-frac 0.2 -o "$tmp/r.dset" >/dev/null ||
  fail "prep for the run failed"
"$doodle" train --data "$tmp/r.dset" --model mnist28 --epochs 2 --threads 2 --no-report -o "$tmp/run" >/dev/null 2>&1 ||
  fail "train for the report failed"
expect_status 0 "the first report" "$doodle" report "$tmp/run"
cp -r "$tmp/run" "$tmp/before"
# same_as_before WHAT [new]: the page and every picture and table under their names are the first report's (the
# clusters' summary.json holds timings, so only its presence is checked; a new page differs in its minute of writing)
same_as_before() {
  local f
  if [ "${2:-}" = new ]; then
    cmp -s <(sed 's/written [0-9: -]* UTC/written/' "$tmp/before/report.html") \
      <(sed 's/written [0-9: -]* UTC/written/' "$tmp/run/report.html") || fail "$1: report.html differs"
  else
    cmp -s "$tmp/before/report.html" "$tmp/run/report.html" || fail "$1: report.html changed"
  fi
  while IFS= read -r f; do
    [ -e "$tmp/run/$f" ] || { fail "$1: $f is gone"; continue; }
    [ "${f##*/}" = summary.json ] && continue
    cmp -s "$tmp/before/$f" "$tmp/run/$f" || fail "$1: $f changed"
  done < <(cd "$tmp/before" && find explain -type f)
}

report_hook() { # PART WHAT: kills the report when the file whose path contains PART is complete, before its rename
  DOODLE_TEST_SLOW_WRITE=$1 "$doodle" report "$tmp/run" >/dev/null 2>&1 &
  local pid=$!
  if wait_stopped "$pid"; then
    killed "$pid"
    kills=$((kills + 1))
    echo "kill $kills, $2"
    same_as_before "$2"
  else
    fail "$2: the report did not stop in the hook"
  fi
}
report_hook explain/saliency.png "report writing a picture, before its rename"
report_hook report.html "report with its page complete, before the rename"

# part-way through the page: it is open (report.html.tmp.*) from the evaluation to the end; killed a moment in
"$doodle" report "$tmp/run" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 6000); do
  ls "$tmp/run"/report.html.tmp.?????? >/dev/null 2>&1 && break
  [ -n "$(state "$pid")" ] || break
  sleep 0.01
done
sleep 0.3
[ -n "$(state "$pid")" ] || echo "note: the report ended before the mid-write kill"
killed "$pid"
kills=$((kills + 1))
echo "kill $kills, report part-way through its page"
same_as_before "report killed part-way"

# each report removes the page's stale temporary file as it starts it, so the last kill's is left
[ "$(tmps "$tmp/run")" -ge 1 ] || fail "expected the kills to leave a temporary file, found none"
expect_status 0 "the report after the kills" "$doodle" report "$tmp/run"
same_as_before "the report after the kills" new
[ "$(tmps "$tmp/run")" -eq 0 ] || fail "temporary files left after the next report: $(find "$tmp/run" -name '*.tmp.*')"
echo "$kills kills of prep and report: older outputs intact, temporary files removed by the next run"
finish
