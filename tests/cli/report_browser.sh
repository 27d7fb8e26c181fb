#!/usr/bin/env bash
# The report in real headless Chromium (Debian's chromium through playwright-core, tests/browser/): it loads from a
# file:// URL with no console error, page error or network request, and every <img> decodes (naturalWidth > 0).
# A full-page screenshot goes to $tmp/report.png. Skipped (77) only when node or chromium cannot be had.
name=report_browser
source "$(dirname "$0")/common.bash"
sample=${DOODLE_SAMPLE_DIR:-$(dirname "$0")/../../data/sample}
browser_dir=$(cd "$(dirname "$0")/../browser" && pwd)
chromium=$(bash "$browser_dir/setup.sh" 2>"$tmp/setup.err")
case $? in
  0) ;;
  77) echo "skipped: $(cat "$tmp/setup.err")"; exit 77 ;;
  *) fail "tests/browser/setup.sh: $(cat "$tmp/setup.err")"; finish ;;
esac

"$doodle" prep --input "$sample/bitmaps" --test-frac 0.1 --seed 1 -o "$tmp/bm.dset" >/dev/null || fail "prep"
"$doodle" train --data "$tmp/bm.dset" --model doodle28 --epochs 1 -o "$tmp/run" >"$tmp/train.log" 2>&1 ||
  fail "train: $(tail -3 "$tmp/train.log")"
[ -s "$tmp/run/report.html" ] || { fail "no report"; finish; }
DOODLE_CHROMIUM=$chromium node "$browser_dir/report_page.js" "$tmp/run/report.html" "$tmp/report.png" \
  >"$tmp/browser.log" 2>&1 || fail "browser checks: $(head -20 "$tmp/browser.log")"
cat "$tmp/browser.log"
[ -s "$tmp/report.png" ] || fail "no screenshot"
finish
