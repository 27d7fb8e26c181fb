#!/usr/bin/env bash
# doodle export --web: the drawing page as a static site that runs the model in the browser (docs/export.md). A
# doodle28 trained a few steps on the bundled sample's bitmaps is exported; the site, opened from disk in headless
# Chromium with the network cut off (tests/browser/site_page.js), must give doodle predict's top-1 on >= 99% of the
# sample's raw stroke drawings (its own simplify, render and ONNX model against doodle's), be drawn on with a mouse
# and a finger, and run the game. The site's files and the export's refusals: tests/cli/export_web_files.sh. Skipped (77) without node and Chromium, onnxruntime-web (scripts/npm_ort_web.sh), or the
# ONNX export. Screenshots: $tmp/site.png, site-game.png, site-phone.png.
name=export_web
source "$(dirname "$0")/common.bash"
need_browser
src=$(cd "$(dirname "$0")/../.." && pwd)
sample=${DOODLE_SAMPLE_DIR:-$src/data/sample}
ort=$(bash "$src/scripts/npm_ort_web.sh" 2>"$tmp/npm.err")
case $? in
  0) ;;
  77) echo "skipped: $(cat "$tmp/npm.err")"; exit 77 ;;
  *) fail "scripts/npm_ort_web.sh: $(cat "$tmp/npm.err")"; finish ;;
esac
"$doodle" export --help | grep -q -- '--web' || fail "export --help does not name --web"

"$doodle" prep --input "$sample/bitmaps" --test-frac 0.1 --seed 1 -o "$tmp/bitmaps.dset" >"$tmp/prep.log" 2>&1 ||
  { fail "prep: $(tail -3 "$tmp/prep.log")"; finish; }
"$doodle" train --data "$tmp/bitmaps.dset" --model doodle28 --max-steps 150 --batch 32 --no-report -o "$tmp/run" \
  >"$tmp/train.log" 2>&1 || { fail "train: $(tail -3 "$tmp/train.log")"; finish; }
model=$tmp/run/model.safetensors

site=$tmp/site
expect_status 0 "export --web" "$doodle" export --web "$tmp/run" -o "$site/" --ort "$ort"
grep -q "built without ONNX export" "$tmp/err" && { echo "skipped: doodle built without ONNX export"; exit 77; }
cat "$tmp/out"
for f in index.html app.js style.css site.js site.css model.onnx model.js ort/ort.wasm.min.js ort/ort-wasm.js \
  .doodle-site; do
  [ -s "$site/$f" ] || fail "the site has no $f"
done
[ -e "$site.tmp" ] && fail "$site.tmp is left behind"

# the sample's raw drawings, rendered and predicted by doodle, for the page to match
for f in "$sample"/strokes/raw/*.ndjson.gz; do gzip -dc "$f" && echo; done | grep -v '^$' >"$tmp/drawings.ndjson"
"$doodle" render -q -s 28x28 --line-width 16 --padding 16 -o "$tmp/rendered.npy" "$tmp/drawings.ndjson" >/dev/null ||
  fail "render"
/usr/bin/python3 -c 'import json, sys, numpy as np
json.dump(np.load(sys.argv[1]).reshape(-1, 28 * 28).tolist(), open(sys.argv[2], "w"))' \
  "$tmp/rendered.npy" "$tmp/rendered.json" || fail "reading the rendered drawings"
"$doodle" predict -m "$model" --json --top 1 "$tmp/drawings.ndjson" >"$tmp/predict.jsonl" || fail "predict"
node -e 'const l = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter((s) => s).map(JSON.parse);
console.log(JSON.stringify(l.filter((o) => o.top).map((o) => o.top[0].class)))' "$tmp/predict.jsonl" \
  >"$tmp/predicted.json" || fail "reading doodle predict's answers"

DOODLE_CHROMIUM=$chromium node "$src/tests/browser/site_page.js" "$site" "$tmp/drawings.ndjson" "$tmp/rendered.json" \
  "$tmp/predicted.json" "$tmp" >"$tmp/browser.log" 2>&1 || fail "browser checks: $(grep -v '^ok:' "$tmp/browser.log" | head -20)"
cat "$tmp/browser.log"
for shot in site site-game site-phone; do [ -s "$tmp/$shot.png" ] || fail "no screenshot $shot.png"; done
echo "size: the site without the model $(du -cb --exclude=model.onnx --exclude=model.js "$site" | tail -1 | cut -f1) bytes;" \
  "model.onnx $(stat -c %s "$site/model.onnx"), model.js $(stat -c %s "$site/model.js")"
finish
