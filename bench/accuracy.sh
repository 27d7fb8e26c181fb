#!/usr/bin/env bash
# Accuracy runs on the 13 bitmap classes of ../shared/data/quickdraw (2,500 per class, 10% test, seed 1):
#   1. the same network (mnist28), epochs and optimizer in doodle and in PyTorch (../shared/peers)
#   2. doodle's default recipe (`doodle train` with no flags: doodle28, augmentation, Adam, cosine, 12 epochs)
# Takes about 25 minutes on 2 cores. Usage: bench/accuracy.sh [build-dir] [out-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=${2:-out/accuracy}
data=${DOODLE_SHARED_DATA:-../shared/data/quickdraw}/bitmaps_28x28
scripts/deps.sh
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import torch' 2>/dev/null ||
  { apt-get update -qq && apt-get install -y -qq python3-torch python3-numpy >/dev/null; }
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
doodle=$build/doodle
mkdir -p "$out"
$doodle prep -q --input "$data/HR-Shekhar_Doodle_Predictor" --input "$data/sukumr_Doodle-Classifier" \
  --per-class 2500 --test-frac 0.1 --seed 1 -o "$out/bench13.dset" | tail -1
epochs=10
echo "== mnist28, Adam 1e-3, batch 64, $epochs epochs, no augmentation: doodle =="
$doodle train --data "$out/bench13.dset" --model mnist28 --no-augment --schedule constant --warmup 0 \
  --weight-decay 0 --lr 0.001 --batch 64 --epochs $epochs -o "$out/mnist28-doodle"
echo "== the same in PyTorch =="
/usr/bin/python3 bench/accuracy_torch.py --data "$out/bench13.dset" --model mnist28 --epochs $epochs --batch 64 \
  --lr 0.001 | tee "$out/mnist28-torch.jsonl"
echo "== doodle's default recipe =="
/usr/bin/time -f "%e s" $doodle train --data "$out/bench13.dset" -o "$out/default"
$doodle eval --model "$out/default/model.safetensors" --data "$out/bench13.dset" | head -5
