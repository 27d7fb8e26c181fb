#!/usr/bin/env bash
# Accuracy runs on the bitmap classes of ../shared/data/quickdraw (2,500 per class, 10% test, seed 1):
#   1. the same network (mnist28), epochs and optimizer in doodle and in PyTorch (../shared/peers)
#   2. doodle's default recipe (`doodle train` with no flags: doodle28, augmentation, Adam, cosine, 12 epochs)
# SET is 13 (the first two folders: 13 classes, 32,500 bitmaps) or 21 (with the 8 classes of elicorrales: 52,500).
# Reported: the test accuracy after the last epoch (no epoch is chosen on the test split), and for reference the
# best epoch. Takes about 25 minutes (13) or 40 minutes (21) on 2 cores.
# Usage: bench/accuracy.sh [build-dir] [out-dir] [13|21]   (RECIPES=1: also the table of issue 14's recipe changes)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=${2:-out/accuracy}
set=${3:-13}
data=${DOODLE_SHARED_DATA:-../shared/data/quickdraw}/bitmaps_28x28
inputs=(--input "$data/HR-Shekhar_Doodle_Predictor" --input "$data/sukumr_Doodle-Classifier")
case $set in
  13) ;;
  21) inputs+=(--input "$data/elicorrales_doodle-classifier-neural-network-demo") ;;
  *) echo "usage: bench/accuracy.sh [build-dir] [out-dir] [13|21]" >&2; exit 2 ;;
esac
scripts/deps.sh
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import torch' 2>/dev/null ||
  { apt-get update -qq && apt-get install -y -qq python3-torch python3-numpy >/dev/null; }
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
doodle=$build/doodle
mkdir -p "$out"
dset=$out/bench$set.dset
$doodle prep -q "${inputs[@]}" --per-class 2500 --test-frac 0.1 --seed 1 -o "$dset" | tail -1

# history.csv -> "last X%, best Y% (epoch E)"
summarise() {
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "test_acc") c = i; next }
           { last = $c; if ($c > best) { best = $c; be = $1 } }
           END { printf "test accuracy after the last epoch %.2f%%, best epoch %d: %.2f%%\n", 100 * last, be, 100 * best }' "$1"
}
epochs=10
echo "== $set classes: mnist28, Adam 1e-3, batch 64, $epochs epochs, no augmentation: doodle =="
$doodle train --data "$dset" --model mnist28 --no-augment --schedule constant --warmup 0 \
  --weight-decay 0 --lr 0.001 --batch 64 --epochs $epochs --no-report --force -o "$out/mnist28-doodle-$set"
summarise "$out/mnist28-doodle-$set/history.csv"
echo "== the same in PyTorch =="
/usr/bin/python3 bench/accuracy_torch.py --data "$dset" --model mnist28 --epochs $epochs --batch 64 \
  --lr 0.001 | tee "$out/mnist28-torch-$set.jsonl"
echo "== doodle's default recipe =="
uptime
/usr/bin/time -f "%e s wall, %U+%S s CPU" $doodle train --data "$dset" --no-report --force -o "$out/default-$set"
summarise "$out/default-$set/history.csv"

# RECIPES=1: the default recipe against each of issue 14's changes, one at a time from the old recipe (no label
# smoothing; bitmaps are shifted only unless --warp-bitmaps), as a markdown table: validation
# accuracy (the chosen epoch's), test accuracy (test.json, evaluated once), wall and CPU time, load. About 10 runs
# of 5-15 CPU minutes each.
[ "${RECIPES:-0}" = 1 ] || exit 0
old=(--label-smoothing 0)
variants=(
  "old recipe (doodle28, shift only, Adam, cosine, 12 epochs)|${old[*]}"
  "+ bitmaps turned and scaled (--warp-bitmaps: up to 10 degrees, scale 0.9-1)|${old[*]} --warp-bitmaps"
  "+ EMA of the weights 0.999|${old[*]} --ema 0.999"
  "+ mixup 0.2|${old[*]} --mixup 0.2"
  "+ 24 epochs|${old[*]} --epochs 24"
  "+ wider network (bench/doodle28w.cfg: 48, 96, 192 filters)|${old[*]} --model bench/doodle28w.cfg"
  "today's default (label smoothing 0.1)|"
  "+ bitmaps turned and scaled + EMA 0.999|--warp-bitmaps --ema 0.999"
  "today's default, 24 epochs|--epochs 24"
)
echo
echo "| change | validation accuracy | test accuracy | time (wall, CPU) | load before |"
echo "|---|---|---|---|---|"
i=0
for v in "${variants[@]}"; do
  label=${v%%|*} flags=${v#*|} run=$out/recipe-$set-$i load=$(cut -d' ' -f1 /proc/loadavg)
  # shellcheck disable=SC2086 # the flags are words
  /usr/bin/time -o "$run.time" -f "%e s, %U+%S s" $doodle train --data "$dset" --no-report --force -o "$run" $flags \
    >"$run.log" 2>&1 || { echo "| $label | failed: see $run.log | | | |"; i=$((i + 1)); continue; }
  val=$(awk -F, 'NR > 1 && $5 > b { b = $5 } END { printf "%.2f%%", 100 * b }' "$run/history.csv")
  test=$(sed -n 's/.*"accuracy": *\([0-9.]*\).*/\1/p' "$run/test.json" | awk '{ printf "%.2f%%", 100 * $1 }')
  echo "| $label | $val | $test | $(cat "$run.time") | $load |"
  i=$((i + 1))
done
