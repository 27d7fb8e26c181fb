#!/usr/bin/env bash
# doodle export --web, the files (no browser: this runs in the sanitizer build too; tests/cli/export_web.sh opens
# the site in Chromium): the site's files are there, model.js holds model.onnx's very bytes and ort/ort-wasm.js
# onnxruntime-web's WebAssembly and loader unchanged, index.html links nothing at a server root or on the network;
# an older site is replaced, a folder that is not a site (or a site with someone else's file in it) is refused and
# left alone, and a failed export (no onnxruntime-web, no model) leaves nothing. Skipped (77) without npm's
# onnxruntime-web (scripts/npm_ort_web.sh) or the ONNX export.
name=export_web_files
source "$(dirname "$0")/common.bash"
src=$(cd "$(dirname "$0")/../.." && pwd)
sample=${DOODLE_SAMPLE_DIR:-$src/data/sample}
ort=$(bash "$src/scripts/npm_ort_web.sh" 2>"$tmp/npm.err")
case $? in
  0) ;;
  77) echo "skipped: $(cat "$tmp/npm.err")"; exit 77 ;;
  *) fail "scripts/npm_ort_web.sh: $(cat "$tmp/npm.err")"; finish ;;
esac

"$doodle" prep --input "$sample/bitmaps" --per-class 100 --test-frac 0.1 --seed 1 -o "$tmp/bitmaps.dset" \
  >"$tmp/prep.log" 2>&1 || { fail "prep: $(tail -3 "$tmp/prep.log")"; finish; }
"$doodle" train --data "$tmp/bitmaps.dset" --model mnist28 --max-steps 3 --batch 16 --no-report -o "$tmp/run" \
  >"$tmp/train.log" 2>&1 || { fail "train: $(tail -3 "$tmp/train.log")"; finish; }
model=$tmp/run/model.safetensors

site=$tmp/site
expect_status 0 "export --web RUNDIR" "$doodle" export --web "$tmp/run" -o "$site/" --ort "$ort"
grep -q "built without ONNX export" "$tmp/err" && { echo "skipped: doodle built without ONNX export"; exit 77; }
grep -q "open $site/index.html" "$tmp/out" || fail "export does not say what to open: $(cat "$tmp/out")"
for f in .doodle-site index.html app.js style.css site.js site.css model.onnx model.js ort/ort.wasm.min.js \
  ort/ort-wasm.js; do
  [ -s "$site/$f" ] || fail "the site has no $f"
done
[ "$(find "$site" -type f | wc -l)" -eq 10 ] || fail "the site holds other files: $(find "$site" -type f)"
[ -e "$site.tmp" ] && fail "$site.tmp is left behind"
cmp -s "$site/app.js" "$src/src/serve/web/app.js" || fail "app.js is not doodle serve's"
cmp -s "$site/ort/ort.wasm.min.js" "$ort/ort.wasm.min.js" || fail "ort.wasm.min.js is not onnxruntime-web's"
# (the links to the run's report and mistakes stay, hidden: serve's page hides them too without a run)
grep -q 'src="/\|stylesheet" href="/' "$site/index.html" && fail "index.html loads from a server root: $(grep '="/' "$site/index.html")"
grep -Eq 'https?://' "$site/index.html" "$site/site.js" "$site/app.js" && fail "the page names a network address"
for s in ort/ort.wasm.min.js ort/ort-wasm.js model.js site.js app.js; do
  grep -q "<script src=\"$s\"></script>" "$site/index.html" || fail "index.html does not load $s"
done
# what the scripts carry, decoded: the very bytes of model.onnx, and of ORT's WebAssembly and loader
/usr/bin/python3 - "$site" "$ort" >"$tmp/decode.log" 2>&1 <<'PY' || fail "the scripts' contents: $(cat "$tmp/decode.log")"
import base64, gzip, json, sys
site, ort = sys.argv[1:]
def script(path, name):
    text = open(path, encoding="utf-8").read()
    head = "window.%s = " % name
    start = text.index(head) + len(head)
    return json.loads(text[start:text.rindex(";")])
m = script(site + "/model.js", "DOODLE_SITE_MODEL")
assert base64.b64decode(m["onnx"]) == open(site + "/model.onnx", "rb").read(), "model.js's onnx is not model.onnx"
assert m["input"] == {"height": 28, "width": 28, "channels": 1}, m["input"]
assert m["render"] == {"line_width": 16, "padding": 16}, m["render"]
assert m["classes"] == ["airplane", "apple", "cat", "fish", "star"], m["classes"]
o = script(site + "/ort/ort-wasm.js", "DOODLE_ORT")
wasm = gzip.decompress(base64.b64decode(o["wasm_gz"]))
assert wasm == open(ort + "/ort-wasm-simd-threaded.wasm", "rb").read(), "the WebAssembly is not onnxruntime-web's"
assert o["loader"] == open(ort + "/ort-wasm-simd-threaded.mjs", encoding="utf-8").read(), "the loader differs"
print("model.js and ort-wasm.js decode to model.onnx and onnxruntime-web's files")
PY

# an older site is replaced (from the model file this time); anything else is refused and left alone
expect_status 0 "export over an older site, --web MODEL" "$doodle" export --web "$model" -o "$site" --ort "$ort"
[ -e "$site.old" ] || [ -e "$site.tmp" ] && fail "the older site is left as $site.old or $site.tmp"
expect_status 0 "export over an older site, --web --model" "$doodle" export --web --model "$model" -o "$site" \
  --ort "$ort"
echo mine >"$site/notes.txt"
expect_status 1 "a site with someone else's file in it" "$doodle" export --web "$model" -o "$site" --ort "$ort"
grep -q "notes.txt: not a file doodle export --web writes" "$tmp/err" || fail "the refusal does not name the file: $(cat "$tmp/err")"
[ "$(cat "$site/notes.txt")" = mine ] && [ -s "$site/index.html" ] || fail "the site with someone else's file was touched"
rm "$site/notes.txt"
mkdir -p "$tmp/mine" && echo keep >"$tmp/mine/notes.txt"
expect_status 1 "export into a folder that is not a site" "$doodle" export --web "$tmp/run" -o "$tmp/mine" --ort "$ort"
grep -q "mine: the folder exists and is not a site" "$tmp/err" || fail "the refusal does not say why: $(cat "$tmp/err")"
[ "$(ls "$tmp/mine")" = notes.txt ] && [ "$(cat "$tmp/mine/notes.txt")" = keep ] || fail "the folder that is not a site was touched"
echo file >"$tmp/afile"
expect_status 1 "export onto a file" "$doodle" export --web "$tmp/run" -o "$tmp/afile" --ort "$ort"
[ "$(cat "$tmp/afile")" = file ] || fail "the file was touched"

# failures leave nothing
expect_status 1 "without onnxruntime-web" "$doodle" export --web "$tmp/run" -o "$tmp/s2" --ort "$tmp/no-ort"
grep -q "npm_ort_web.sh" "$tmp/err" || fail "a missing onnxruntime-web does not say how to get it: $(cat "$tmp/err")"
[ -e "$tmp/s2" ] || [ -e "$tmp/s2.tmp" ] && fail "a failed export left $tmp/s2 or $tmp/s2.tmp"
expect_status 1 "a missing model" "$doodle" export --web "$tmp/nothing" -o "$tmp/s3" --ort "$ort"
grep -q "nothing/model.safetensors" "$tmp/err" || fail "a missing model is not named: $(cat "$tmp/err")"
[ -e "$tmp/s3" ] || [ -e "$tmp/s3.tmp" ] && fail "a missing model left $tmp/s3"
head -c 5000 "$model" >"$tmp/cut.safetensors"
expect_status 1 "a model cut short" "$doodle" export --web "$tmp/cut.safetensors" -o "$tmp/s5" --ort "$ort"
[ -e "$tmp/s5" ] || [ -e "$tmp/s5.tmp" ] && fail "a model cut short left $tmp/s5"
# a leftover of an export killed part-way is cleared
mkdir -p "$tmp/s6.tmp" && echo x >"$tmp/s6.tmp/.doodle-site"
expect_status 0 "export past a leftover SITE.tmp" "$doodle" export --web "$tmp/run" -o "$tmp/s6" --ort "$ort"
[ -e "$tmp/s6.tmp" ] && fail "the leftover $tmp/s6.tmp is still there"

expect_status 2 "--web without -o" "$doodle" export --web "$tmp/run"
expect_status 2 "--onnx and --web" "$doodle" export --onnx "$model" --web "$tmp/run" -o "$tmp/s4"
expect_status 2 "--model without --web" "$doodle" export --model "$model" -o "$tmp/s4"
expect_status 2 "--web with a run folder and --model" "$doodle" export --web "$tmp/run" --model "$model" -o "$tmp/s4"
finish
