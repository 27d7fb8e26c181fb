#!/usr/bin/env bash
# The drawing page in real headless Chromium (Debian's chromium through playwright-core, tests/browser/): a model
# trained on the bundled sample, `doodle serve --port 0`, a sample drawing drawn by moving the pointer along its
# strokes; the top guess shown must be `doodle predict --json` on the same strokes. Also Explain, Undo, Clear and a
# phone-sized screen drawn with a finger (tests/browser/serve_page.js). Screenshots: $tmp/serve.png and
# $tmp/serve-phone.png. Skipped (77) only when node or chromium cannot be had.
name=serve_browser
source "$(dirname "$0")/common.bash"
source "$(dirname "$0")/serve_lib.bash"
need_browser

train_sample_model "$tmp/m"
gzip -dc "$sample/strokes/raw/fish.ndjson.gz" | sed -n 3p >"$tmp/fish.ndjson"
start_server serve --model "$model"
DOODLE_CHROMIUM=$chromium node "$browser_dir/serve_page.js" "$url" "$doodle" "$model" "$tmp/fish.ndjson" "$tmp" \
  >"$tmp/browser.log" 2>&1 || fail "browser checks: $(grep -v '^ok:' "$tmp/browser.log" | head -20)"
cat "$tmp/browser.log"
[ -s "$tmp/serve.png" ] || fail "no screenshot"
curl -s "${url}healthz" | grep -qx ok || fail "the server is not up after the browser test"
stop_server TERM
grep -q "Sanitizer\|runtime error" "$tmp/serve.err" && fail "the server reported: $(head -5 "$tmp/serve.err")"
finish
