#!/usr/bin/env bash
# doodle export --onnx (issue 18 §1): the ONNX checker (python3-onnx, full_check) accepts the file, its metadata say
# how to feed it, and ONNX Runtime (npm onnxruntime-node, installed by scripts/npm_ort.sh) gives the probabilities of
# doodle predict within 1e-5 on real drawings of the bundled sample, for the four built-in networks (seed, lenet,
# mnist28, doodle28) and for two cfgs with every layer kind (a stride-2 "same" conv with an odd padding, BatchNorm on
# images and on a flat input, linear activation, overlapping max-pool, dense without bias, dropout; global average
# pooling), each trained a few steps so that its weights and BatchNorm statistics are not the initial ones. Bad
# input: a non-model file, a truncated model, an unwritable output, a write cut short by the file size limit -> a
# clear error, exit 1, no file left. Skipped (77) without python3-onnx or npm, and for a doodle built without ONNX
# export (which must say so).
name=export_onnx
source "$(dirname "$0")/common.bash"
root=$(cd "$(dirname "$0")/../.." && pwd)
sample=${DOODLE_SAMPLE_DIR:-$root/data/sample}
py=/usr/bin/python3

"$doodle" export --help >"$tmp/help" 2>&1 || fail "export --help: $(head -3 "$tmp/help")"
# a doodle built without protobuf-c or the ONNX schema has the verb, which says so
echo "not a model" >"$tmp/text.safetensors"
"$doodle" export --onnx "$tmp/text.safetensors" -o "$tmp/built.onnx" 2>"$tmp/built.err"
if grep -q "built without ONNX export" "$tmp/built.err"; then
  [ -e "$tmp/built.onnx" ] && fail "a doodle without ONNX export wrote a file"
  echo "skipped: this doodle is built without ONNX export ($(cat "$tmp/built.err"))"
  [ "$fails" -eq 0 ] && exit 77
  finish
fi
if ! "$py" -c 'import onnx' 2>/dev/null; then
  echo "skipped: python3-onnx is not installed for $py (scripts/deps.sh installs it)"
  exit 77
fi
ort_modules=$(bash "$root/scripts/npm_ort.sh" 2>"$tmp/npm.err")
case $? in
  0) export NODE_PATH=$ort_modules ;;
  77) echo "skipped: $(cat "$tmp/npm.err")"; exit 77 ;;
  *) fail "scripts/npm_ort.sh: $(tail -3 "$tmp/npm.err")"; finish ;;
esac

# the sample's strokes (25 a class) for the 66x100 networks, its bitmaps for the 28x28 ones
"$doodle" prep -q --input "$sample/strokes/simplified" -o "$tmp/strokes.dset" >/dev/null || fail "prep strokes"
"$doodle" prep -q --input "$sample/bitmaps" --per-class 200 -o "$tmp/bitmaps.dset" >/dev/null || fail "prep bitmaps"

cp "$root/tests/data/every_kind.cfg" "$tmp/every.cfg" || fail "no tests/data/every_kind.cfg"

cat >"$tmp/gap.cfg" <<'CFG'
[net]
input = 28x28x1
classes = 5
[conv2d]
filters = 8
kernel = 5
stride = 2
padding = same
[batchnorm]
[activation]
type = relu
[globalavgpool]
[dense]
units = classes
CFG

# check NAME MODEL DSET SIZE STEPS: train, export, check, compare on 40 real drawings (two classes' files)
check() {
  local net=$1 model=$2 dset=$3 size=$4 steps=$5 run=$tmp/run_$1
  "$doodle" train --data "$dset" --model "$model" --max-steps "$steps" --batch 32 --no-report -o "$run" \
    >"$tmp/train.log" 2>&1 || { fail "$net: train: $(tail -3 "$tmp/train.log")"; return; }
  expect_status 0 "$net: export" "$doodle" export --onnx "$run/model.safetensors" -o "$tmp/$net.onnx"
  grep -q "ONNX opset 13" "$tmp/out" || fail "$net: export said: $(cat "$tmp/out")"
  # the checker, and the metadata against the model's own (render settings taken from it to render the drawings)
  "$py" - "$tmp/$net.onnx" "$size" >"$tmp/meta" 2>&1 <<'PY' || { fail "$net: checker: $(tail -3 "$tmp/meta")"; return; }
import json, sys
import onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
meta = {p.key: p.value for p in m.metadata_props}
h, w = map(int, sys.argv[2].split('x'))
assert meta['input'] == f'{h}x{w}x1', meta['input']
assert json.loads(meta['classes']) == ['airplane', 'apple', 'cat', 'fish', 'star'], meta['classes']
assert m.opset_import[0].version == 13 and m.producer_name == 'doodle', (m.opset_import, m.producer_name)
dims = [d.dim_param or d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
assert dims == ['batch', 1, h, w], dims
assert not any(n.op_type == 'Dropout' for n in m.graph.node) and m.graph.node[-1].op_type == 'Softmax'
r = json.loads(meta['render'])
print(r['line_width'], r['padding'])
PY
  read -r line_width padding <"$tmp/meta"
  "$doodle" render -q -s "$size" --line-width "$line_width" --padding "$padding" -n 20 -o "$tmp/$net.npy" \
    "$sample/strokes/raw/cat.ndjson.gz" "$sample/strokes/raw/airplane.ndjson.gz" >/dev/null || fail "$net: render"
  "$doodle" predict -m "$run/model.safetensors" --json --logits --top 5 "$tmp/$net.npy" >"$tmp/$net.jsonl" ||
    fail "$net: predict"
  node "$root/tests/cli/onnx_compare.js" "$tmp/$net.onnx" "$tmp/$net.npy" "$tmp/$net.jsonl" 1e-5 >"$tmp/cmp" 2>&1 ||
    fail "$net: ONNX Runtime against doodle predict: $(cat "$tmp/cmp")"
  echo "$net: $(cat "$tmp/cmp")"
}
check seed seed "$tmp/strokes.dset" 66x100 4
check lenet lenet "$tmp/strokes.dset" 66x100 3
check mnist28 mnist28 "$tmp/bitmaps.dset" 28x28 12
check doodle28 doodle28 "$tmp/bitmaps.dset" 28x28 12
check every "$tmp/every.cfg" "$tmp/bitmaps.dset" 28x28 12
check gap "$tmp/gap.cfg" "$tmp/bitmaps.dset" 28x28 12
grep -q 'BatchNormalization' "$tmp/every.onnx" || fail "every: no BatchNormalization node for the flat BatchNorm"
grep -q 'GlobalAveragePool' "$tmp/gap.onnx" || fail "gap: no GlobalAveragePool node"
# the comparison can fail: another model's predictions are not within 1e-5
node "$root/tests/cli/onnx_compare.js" "$tmp/mnist28.onnx" "$tmp/doodle28.npy" "$tmp/doodle28.jsonl" 1e-5 \
  >"$tmp/cmp" 2>&1 && fail "mnist28's ONNX agreed with doodle28's predictions: $(cat "$tmp/cmp")"

# bad input: a clear error naming the file, exit 1, no output file (nor a temporary one) left
model=$tmp/run_mnist28/model.safetensors
expect_status 1 "a text file" "$doodle" export --onnx "$tmp/text.safetensors" -o "$tmp/bad.onnx"
grep -q "text.safetensors" "$tmp/err" || fail "a text file: error does not name it: $(cat "$tmp/err")"
head -c $(($(stat -c %s "$model") / 2)) "$model" >"$tmp/half.safetensors"
expect_status 1 "a truncated model" "$doodle" export --onnx "$tmp/half.safetensors" -o "$tmp/bad.onnx"
grep -q "half.safetensors" "$tmp/err" || fail "a truncated model: error does not name it: $(cat "$tmp/err")"
expect_status 1 "a missing model" "$doodle" export --onnx "$tmp/none.safetensors" -o "$tmp/bad.onnx"
expect_status 1 "an output in a missing folder" "$doodle" export --onnx "$model" -o "$tmp/no/such/dir/m.onnx"
grep -q "no/such/dir" "$tmp/err" || fail "unwritable output: error does not name it: $(cat "$tmp/err")"
ls "$tmp" | grep -q '^bad\.onnx' && fail "a failed export left $(ls "$tmp" | grep '^bad\.onnx')"
# a write that fails part-way (lenet's 37 MB over a 1 MB file size limit: EFBIG) leaves nothing
(ulimit -f 1000; "$doodle" export --onnx "$tmp/run_lenet/model.safetensors" -o "$tmp/bad.onnx" >"$tmp/out" 2>"$tmp/err")
status=$?
[ "$status" -eq 1 ] || fail "over the file size limit: exit $status ($(cat "$tmp/err"))"
grep -q "bad.onnx: write failed: File too large" "$tmp/err" || fail "over the file size limit: $(cat "$tmp/err")"
ls "$tmp" | grep -q '^bad\.onnx' && fail "a write cut short left $(ls "$tmp" | grep '^bad\.onnx')"
# a layer named as the graph's output cannot be exported
printf '[net]\ninput = 28x28x1\nclasses = 5\n[flatten]\n[dense]\nunits = classes\nname = probabilities\n' \
  >"$tmp/clash.cfg"
"$doodle" train --data "$tmp/bitmaps.dset" --model "$tmp/clash.cfg" --max-steps 1 --no-report -o "$tmp/run_clash" \
  >"$tmp/train.log" 2>&1 || fail "train clash.cfg: $(tail -3 "$tmp/train.log")"
expect_status 1 "a layer named probabilities" \
  "$doodle" export --onnx "$tmp/run_clash/model.safetensors" -o "$tmp/bad.onnx"
grep -q "layer probabilities (cfg line 5): the ONNX graph's output has this name" "$tmp/err" ||
  fail "a layer named probabilities: $(cat "$tmp/err")"
# an export over an older file replaces it whole
cp "$tmp/seed.onnx" "$tmp/over.onnx"
expect_status 0 "export over an older file" "$doodle" export --onnx "$model" -o "$tmp/over.onnx"
cmp -s "$tmp/over.onnx" "$tmp/mnist28.onnx" || fail "export over an older file: not the new model"
expect_status 2 "no output" "$doodle" export --onnx "$model"
expect_status 2 "no model" "$doodle" export -o "$tmp/x.onnx"
finish
