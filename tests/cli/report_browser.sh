#!/usr/bin/env bash
# The report in real headless Chromium (Debian's chromium through playwright-core, tests/browser/): it loads from a
# file:// URL with no console error, page error or network request, every <img> decodes (naturalWidth > 0) and
# clicking a column heading sorts the per-class table; a 345-class run (the real strokes of ../shared, a tiny
# network, one epoch) gives a page at most 30,000 pixels tall. Full-page screenshots go to $tmp/report.png and
# $tmp/report345.png. Skipped (77) only when node or chromium cannot be had.
name=report_browser
source "$(dirname "$0")/common.bash"
sample=${DOODLE_SAMPLE_DIR:-$(dirname "$0")/../../data/sample}
need_browser

"$doodle" prep --input "$sample/bitmaps" --test-frac 0.1 --seed 1 -o "$tmp/bm.dset" >/dev/null || fail "prep"
"$doodle" train --data "$tmp/bm.dset" --model doodle28 --epochs 1 -o "$tmp/run" >"$tmp/train.log" 2>&1 ||
  fail "train: $(tail -3 "$tmp/train.log")"
[ -s "$tmp/run/report.html" ] || { fail "no report"; finish; }
DOODLE_CHROMIUM=$chromium node "$browser_dir/report_page.js" "$tmp/run/report.html" "$tmp/report.png" \
  >"$tmp/browser.log" 2>&1 || fail "browser checks: $(head -20 "$tmp/browser.log")"
cat "$tmp/browser.log"
[ -s "$tmp/report.png" ] || fail "no screenshot"

data=${DOODLE_SHARED_DATA:-}
if [ -z "$data" ] || [ ! -d "$data/strokes_raw" ]; then
  echo "the 345-class page is skipped: no Quick, Draw! test data (DOODLE_SHARED_DATA=${data:-unset})"
  finish
fi
"$doodle" prep --input "$data/strokes_raw" --input "$data/strokes_simplified" --test-frac 0.2 --seed 1 \
  -o "$tmp/all.dset" >/dev/null || fail "prep 345"
printf '[net]\ninput = 28x28x1\nclasses = 345\n[conv2d]\nfilters = 8\nkernel = 3\nactivation = relu\n[maxpool]\n'\
'size = 2\n[flatten]\n[dense]\nunits = classes\n' >"$tmp/tiny.cfg"
"$doodle" train --data "$tmp/all.dset" --model "$tmp/tiny.cfg" --epochs 1 -o "$tmp/run345" >"$tmp/train345.log" 2>&1 ||
  fail "train 345: $(tail -3 "$tmp/train345.log")"
DOODLE_CHROMIUM=$chromium node "$browser_dir/report_page.js" "$tmp/run345/report.html" "$tmp/report345.png" 30000 \
  >"$tmp/browser345.log" 2>&1 || fail "browser checks, 345 classes: $(head -20 "$tmp/browser345.log")"
cat "$tmp/browser345.log"
finish
