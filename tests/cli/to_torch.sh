#!/usr/bin/env bash
# scripts/to_torch.py (issue 12 §6): a doodle model file as a PyTorch module gives doodle's logits (1e-4 of the
# largest). Models: the committed seed network (tests/data/doodle_seed.safetensors, written before the BatchNorm
# settings were stored in the metadata) and one made here in a temp dir with every layer kind the cfg has (stride-2
# "same" convolutions with an odd padding, BatchNorm on images and on a flat input, activations, an overlapping
# max-pool, dense without bias, dropout; global average pooling in a second one), a few training steps so that its BatchNorm statistics are not the
# initial ones, and its metadata's epsilon then changed, so only a script that reads the metadata agrees.
# Skipped (77) without python3-torch.
name=to_torch
source "$(dirname "$0")/common.bash"
root=$(cd "$(dirname "$0")/../.." && pwd)
sample=${DOODLE_SAMPLE_DIR:-$root/data/sample}
need_torch
py=$python3_torch
script=$root/scripts/to_torch.py

# compare_logits A.json B.jsonl: to_torch's --logits against doodle predict --json --logits, image by image
compare_logits() {
  "$py" - "$1" "$2" <<'EOF'
import json, sys
import numpy as np
t = np.array(json.load(open(sys.argv[1]))['logits'])
d = np.array([json.loads(l)['logits'] for l in open(sys.argv[2]) if '"logits"' in l])
assert t.shape == d.shape and t.shape[0] >= 10, (t.shape, d.shape)
worst = (np.abs(t - d).max(axis=1) / np.abs(d).max(axis=1)).max()
print(f'{t.shape[0]} images, {t.shape[1]} classes: logits within {worst:.2g} of the largest')
sys.exit(0 if worst <= 1e-4 and (t.argmax(1) == d.argmax(1)).all() else 1)
EOF
}

# --- the committed seed network (66x100, three BatchNorm layers, no "batchnorm" metadata) ---
seed=$root/tests/data/doodle_seed.safetensors
expect_status 0 "to_torch.py prints the module" "$py" "$script" "$seed"
grep -q "BatchNorm2d(.*eps=0.001" "$tmp/out" && grep -q "momentum=0.01" "$tmp/out" ||
  fail "seed: BatchNorm not the cfg's defaults: $(grep -m1 BatchNorm "$tmp/out")"
grep -q "5 classes: airplane, apple, cat, fish, star" "$tmp/out" || fail "seed: classes: $(tail -1 "$tmp/out")"
expect_status 0 "to_torch.py --check seed" "$py" "$script" "$seed" --check "$sample/strokes/raw/cat.ndjson.gz" --doodle "$doodle"
grep -q "within 0.0001" "$tmp/out" || fail "seed --check: $(cat "$tmp/out")"
"$doodle" render -q -s 66x100 -n 12 -o "$tmp/seed.npy" "$sample/strokes/simplified/fish.ndjson.gz" >/dev/null || fail "render"
expect_status 0 "to_torch.py --logits seed" "$py" "$script" "$seed" --logits "$tmp/seed.npy"
cp "$tmp/out" "$tmp/seed-torch.json"
expect_status 0 "predict --logits seed" "$doodle" predict -m "$seed" --json --logits "$tmp/seed.npy"
compare_logits "$tmp/seed-torch.json" "$tmp/out" || fail "seed: logits differ"

# --- every layer kind, trained a few steps ---
cp "$root/tests/data/every_kind.cfg" "$tmp/every.cfg" || fail "no tests/data/every_kind.cfg"
"$doodle" prep -q --input "$sample/bitmaps" --per-class 200 -o "$tmp/s.dset" >/dev/null || fail "prep"
"$doodle" train --data "$tmp/s.dset" --model "$tmp/every.cfg" --max-steps 6 --batch 32 --no-report -o "$tmp/run" \
  >"$tmp/train.log" 2>&1 || fail "train every.cfg: $(tail -3 "$tmp/train.log")"
every=$tmp/run/model.safetensors
# the metadata's epsilon 0.5 -> 0.9 (same length, so the header's size holds): doodle uses the metadata, and so must
# the script, although the cfg text still says 0.5
"$py" - "$every" <<'EOF' || fail "cannot edit the metadata"
import sys
b = open(sys.argv[1], 'rb').read()
old = b'\\"epsilon\\":0.5,'
assert b.count(old) == 1, b[:2000]
open(sys.argv[1], 'wb').write(b.replace(old, b'\\"epsilon\\":0.9,'))
EOF
expect_status 0 "to_torch.py every layer" "$py" "$script" "$every"
for want in "ZeroPad2d((0, 1, 0, 1))" "eps=0.9" "momentum=0.19" "BatchNorm1d(16" "MaxPool2d(kernel_size=3, stride=2" \
  "bias=False" "Dropout(p=0.3" "Identity()" "Flatten"; do
  grep -qF "$want" "$tmp/out" || fail "every.cfg module lacks $want"
done
expect_status 0 "to_torch.py --check every" "$py" "$script" "$every" --check "$sample/strokes/simplified/star.ndjson.gz" --doodle "$doodle"
grep -q "within 0.0001" "$tmp/out" || fail "every --check: $(cat "$tmp/out")"
"$doodle" render -q -n 6 -o "$tmp/every.npy" "$sample/strokes/simplified/cat.ndjson.gz" "$sample/strokes/simplified/apple.ndjson.gz" >/dev/null
expect_status 0 "to_torch.py --logits every" "$py" "$script" "$every" --logits "$tmp/every.npy"
cp "$tmp/out" "$tmp/every-torch.json"
expect_status 0 "predict --logits every" "$doodle" predict -m "$every" --json --logits "$tmp/every.npy"
compare_logits "$tmp/every-torch.json" "$tmp/out" || fail "every.cfg: logits differ"
# the script that ignored the metadata (the cfg's 0.5) would not agree: the check can fail
sed 's/settings.get(.epsilon., keys.get(.epsilon., 0.001))/keys.get("epsilon", 0.001)/' "$script" >"$tmp/cfg_only.py"
grep -q 'float(keys.get("epsilon", 0.001))' "$tmp/cfg_only.py" || fail "cannot make the cfg-only script"
expect_status 1 "a script that reads the cfg only" "$py" "$tmp/cfg_only.py" "$every" --check "$sample/strokes/simplified/star.ndjson.gz" --doodle "$doodle"
grep -q "NOT within" "$tmp/out" || fail "the cfg-only script agreed: $(cat "$tmp/out")"

# --- global average pooling (models/examples/doodle28_gap.cfg), a few steps ---
"$doodle" train --data "$tmp/s.dset" --model "$root/models/examples/doodle28_gap.cfg" --max-steps 4 --batch 32 --no-report \
  -o "$tmp/gap" >"$tmp/train-gap.log" 2>&1 || fail "train doodle28_gap.cfg: $(tail -3 "$tmp/train-gap.log")"
expect_status 0 "to_torch.py --check gap" "$py" "$script" "$tmp/gap/model.safetensors" \
  --check "$sample/strokes/simplified/star.ndjson.gz" --doodle "$doodle"
grep -q "within 0.0001" "$tmp/out" || fail "gap --check: $(cat "$tmp/out")"
grep -qF "AdaptiveAvgPool2d" "$tmp/out" || expect_status 0 "to_torch.py gap module" "$py" "$script" "$tmp/gap/model.safetensors"
grep -qF "AdaptiveAvgPool2d" "$tmp/out" || fail "the gap module has no AdaptiveAvgPool2d"

# --save, and errors
expect_status 0 "to_torch.py --save" "$py" "$script" "$every" --save "$tmp/every.pt"
"$py" -c 'import sys, torch; m = torch.load(sys.argv[1]); print(type(m).__name__)' "$tmp/every.pt" 2>/dev/null | grep -q Sequential ||
  fail "every.pt is not a module"
expect_status 1 "to_torch.py on a text file" "$py" "$script" "$tmp/every.cfg"
grep -q "every.cfg" "$tmp/err" || fail "bad model not named: $(cat "$tmp/err")"
expect_status 2 "to_torch.py without a model" "$py" "$script"
finish
