#!/usr/bin/env bash
# doodle summary: Keras' table for the built-in networks and cfg files, overrides, errors and exit codes.
name=summary
source "$(dirname "$0")/common.bash"

expect_status 0 "summary --help" "$doodle" summary --help
grep -q "usage: doodle summary" "$tmp/out" || fail "--help prints no usage"
grep -q "seed" "$tmp/out" && grep -q "lenet" "$tmp/out" || fail "--help does not list the built-in networks"
grep -q "safetensors" "$tmp/out" || fail "--help does not mention trained models (.safetensors)"
"$doodle" --help | grep -q "summary" || fail "doodle --help does not list summary"

expect_status 0 "summary seed" "$doodle" summary seed
grep -q '^Model: "seed"$' "$tmp/out" || fail "seed: no model line"
grep -qF " conv2d (Conv2D)             (None, 66, 100, 64)       640" "$tmp/out" || fail "seed: conv2d line: $(cat "$tmp/out")"
grep -qF " batch_normalization (BatchN  (None, 66, 100, 64)      256" "$tmp/out" || fail "seed: wrapped batchnorm line"
grep -qF " flatten (Flatten)           (None, 3072)              0" "$tmp/out" || fail "seed: flatten line"
grep -qx "Total params: 255,589" "$tmp/out" || fail "seed: total"
grep -qx "Trainable params: 255,269" "$tmp/out" || fail "seed: trainable"
grep -qx "Non-trainable params: 320" "$tmp/out" || fail "seed: non-trainable"
[ -s "$tmp/err" ] && fail "seed: wrote to stderr: $(cat "$tmp/err")"

expect_status 0 "summary lenet" "$doodle" summary lenet
for line in " conv2d (Conv2D)             (None, 61, 95, 6)         222" \
            " conv2d_1 (Conv2D)           (None, 10, 18, 16)        3472" \
            " dense (Dense)               (None, 3000)              387000" \
            " dense_1 (Dense)             (None, 3000)              9003000" \
            " dense_2 (Dense)             (None, 5)                 15005"; do
  grep -qF -- "$line" "$tmp/out" || fail "lenet: no line '$line'"
done
grep -qx "Total params: 9,408,699" "$tmp/out" || fail "lenet: total"
grep -qx "Non-trainable params: 0" "$tmp/out" || fail "lenet: non-trainable"

expect_status 0 "summary mnist28" "$doodle" summary mnist28
grep -qx "Total params: 421,642" "$tmp/out" || fail "mnist28: total"

# overrides
expect_status 0 "seed --classes 10" "$doodle" summary seed --classes 10
grep -qF " dense_2 (Dense)             (None, 10)                330" "$tmp/out" || fail "--classes 10: last layer"
grep -qx "Total params: 255,754" "$tmp/out" || fail "--classes 10: total"
expect_status 0 "mnist28 --input 56x56" "$doodle" summary mnist28 --input 56x56
grep -qF "(None, 12544)" "$tmp/out" || fail "--input 56x56: flatten size"
expect_status 1 "lenet --input 20x20" "$doodle" summary lenet --input 20x20
grep -q "lenet.cfg:[0-9]*: \[conv2d\] kernel 6x6 is larger than its input 3x3" "$tmp/err" ||
  fail "lenet too small: $(cat "$tmp/err")"
expect_status 2 "--classes 0" "$doodle" summary seed --classes 0
expect_status 2 "--input 66" "$doodle" summary seed --input 66
expect_status 2 "no model" "$doodle" summary
expect_status 2 "two models" "$doodle" summary seed lenet
expect_status 2 "unknown option" "$doodle" summary seed --bogus

# cfg files
cat >"$tmp/tiny.cfg" <<'EOF'
# a tiny network
[net]
input = 8x8x1
classes = 3
[conv2d]
filters = 4
kernel = 3
activation = relu
[flatten]
[dense]
units = classes
EOF
expect_status 0 "summary tiny.cfg" "$doodle" summary "$tmp/tiny.cfg"
grep -q '^Model: "tiny"$' "$tmp/out" || fail "tiny: model name"
grep -qF " conv2d (Conv2D)             (None, 6, 6, 4)           40" "$tmp/out" || fail "tiny: conv line"
grep -qx "Total params: 475" "$tmp/out" || fail "tiny: total $(cat "$tmp/out")"

cat >"$tmp/bad.cfg" <<'EOF'
[net]
input = 2x3x1
classes = 3

[maxpool]
size = 4
[flatten]
[dense]
units = classes
EOF
expect_status 1 "summary bad.cfg" "$doodle" summary "$tmp/bad.cfg"
grep -qF "bad.cfg:6: [maxpool] size 4 is larger than its input 2x3" "$tmp/err" || fail "bad.cfg: $(cat "$tmp/err")"
[ -s "$tmp/out" ] && fail "bad.cfg: printed a table"

printf '[net]\ninput = 8x8x1\nclasses = 3\n[flatten]\n[dense]\nunits = classes\nunits = 3\n' >"$tmp/dup.cfg"
expect_status 1 "summary dup.cfg" "$doodle" summary "$tmp/dup.cfg"
grep -qF "dup.cfg:7: [dense] duplicate key 'units' (first given on line 6)" "$tmp/err" || fail "dup.cfg: $(cat "$tmp/err")"

expect_status 1 "missing .cfg" "$doodle" summary "$tmp/nope.cfg"
grep -q "nope.cfg" "$tmp/err" || fail "missing file not named: $(cat "$tmp/err")"
expect_status 2 "unknown model" "$doodle" summary resnet
grep -q "'resnet' is neither a built-in model (doodle28, lenet, mnist28, seed) nor a .cfg file" "$tmp/err" ||
  fail "unknown model: $(cat "$tmp/err")"
# a trained model: the seed network doodle wrote after one epoch on the sample (tests/data)
expect_status 0 "summary of a .safetensors" "$doodle" summary "$(dirname "$0")/../data/doodle_seed.safetensors"
grep -q "Total params: 255,589" "$tmp/out" || fail ".safetensors totals: $(tail -5 "$tmp/out")"
grep -q "(None, 5)" "$tmp/out" || fail ".safetensors: no 5-class output"
expect_status 1 "missing .safetensors" "$doodle" summary "$tmp/model.safetensors"
grep -q "model.safetensors" "$tmp/err" || fail "missing .safetensors not named: $(cat "$tmp/err")"

# a network too large for the memory bound: refused with the size, the limit and how to raise it, not printed
printf '[net]\ninput = 2048x1024x1\nclasses = 2\n[conv2d]\nfilters = 1000\nkernel = 3\npadding = same\nactivation = relu\n[maxpool]\nsize = 64\n[flatten]\n[dense]\nunits = classes\n' >"$tmp/wide.cfg"
expect_status 1 "summary wide.cfg" "$doodle" summary "$tmp/wide.cfg"
grep -qF "wide.cfg: network needs 8.5 GB for a batch of 1 (8.4 GB of activations" "$tmp/err" || fail "wide.cfg: $(cat "$tmp/err")"
grep -qF "limit of 8.0 GB; raise it with DOODLE_MAX_MEMORY_MB" "$tmp/err" || fail "wide.cfg: no limit: $(cat "$tmp/err")"
[ -s "$tmp/out" ] && fail "wide.cfg: printed a table"
DOODLE_MAX_MEMORY_MB=9000 expect_status 0 "summary wide.cfg with a raised bound" "$doodle" summary "$tmp/wide.cfg"
grep -q "Total params: 1,034,002" "$tmp/out" || fail "wide.cfg with a raised bound: $(tail -3 "$tmp/out")"
DOODLE_MAX_MEMORY_MB=1 expect_status 1 "summary seed with a lowered bound" "$doodle" summary seed
grep -qF "needs 5.9 MB for a batch of 1 (1.1 MB of activations, largest conv2d on line 10, 66x100x64; 4.8 MB of parameters and buffers): more than the limit of 1.0 MB" "$tmp/err" || fail "lowered bound: $(cat "$tmp/err")"
DOODLE_MAX_MEMORY_MB=lots expect_status 2 "a bad DOODLE_MAX_MEMORY_MB" "$doodle" summary seed
grep -qF "DOODLE_MAX_MEMORY_MB='lots' is not a whole number of megabytes" "$tmp/err" || fail "bad bound: $(cat "$tmp/err")"

finish
