#!/usr/bin/env bash
# The drawing page's game (six rounds: draw the class asked before the time is up) in real headless Chromium
# (tests/browser/game_page.js): a model trained on the bundled sample, `doodle serve --port 0`, rounds of 5 s
# (?round=5); for each round the page's class is drawn by moving the pointer along the sample drawing that
# `doodle predict` is surest of. A game with the mouse on a desktop, one with a finger on a 390x844 phone; every
# round ends with "Oh, I know" or the time up (or the skip), and the summary lists the six rounds with the images
# the model saw. With ../shared/data/quickdraw, also a 345-class model (2 drawings a class, 1 epoch: only its
# class names matter) whose list of classes must be collapsed and searchable. Screenshots: $tmp/game-*.png,
# $tmp/classes-345*.png. Skipped (77) only when node or chromium cannot be had.
name=serve_game
source "$(dirname "$0")/common.bash"
source "$(dirname "$0")/serve_lib.bash"
need_browser

url345=
data=${DOODLE_SHARED_DATA:-}
if [ -n "$data" ] && [ -d "$data/strokes_raw" ]; then
  mkdir -p "$tmp/m345"
  if "$doodle" prep -q --input "$data/strokes_raw" --per-class 2 --test-frac 0 -o "$tmp/m345/all.dset" \
       >"$tmp/m345/prep.log" 2>&1 &&
     "$doodle" train --data "$tmp/m345/all.dset" --model mnist28 --epochs 1 --val-frac 0 --no-report \
       -o "$tmp/m345/run" >"$tmp/m345/train.log" 2>&1; then
    start_server serve345 --model "$tmp/m345/run/model.safetensors"
    url345=$url pid345=$server_pid
  else
    fail "a 345-class model: $(tail -3 "$tmp/m345/prep.log" "$tmp/m345/train.log")"
  fi
else
  echo "note: no ../shared/data/quickdraw: the 345-class list is not checked"
fi

train_sample_model "$tmp/m"
start_server serve --model "$model"
DOODLE_CHROMIUM=$chromium node "$browser_dir/game_page.js" "$url" "$doodle" "$model" "$sample/strokes/raw" "$tmp" \
  $url345 >"$tmp/browser.log" 2>&1 || fail "browser checks: $(grep -v '^ok:' "$tmp/browser.log" | head -30)"
cat "$tmp/browser.log"
for f in game-round game-summary game-phone-round game-phone-summary; do
  [ -s "$tmp/$f.png" ] || fail "no screenshot $f.png"
done
curl -s "${url}healthz" | grep -qx ok || fail "the server is not up after the browser test"
stop_server TERM
grep -q "Sanitizer\|runtime error" "$tmp/serve.err" && fail "the server reported: $(head -5 "$tmp/serve.err")"
if [ -n "$url345" ]; then
  [ -s "$tmp/classes-345.png" ] || fail "no screenshot classes-345.png"
  server_pid=$pid345
  stop_server TERM
fi
finish
