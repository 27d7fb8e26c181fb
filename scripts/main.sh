#!/usr/bin/env bash
# The main job, end to end on the bundled sample: install what is missing, build, prepare the data sets and
# show them, train doodle's default network on the sample bitmaps (which writes the run's HTML report) and
# evaluate it; the last line is the report's path. Everything it makes goes to
# out/ (or $DOODLE_OUT).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
out=${DOODLE_OUT:-out}
mkdir -p "$out"
doodle=build/doodle

echo "== bitmaps: 28x28 .npy, 5 classes =="
$doodle prep --input data/sample/bitmaps --test-frac 0.1 --seed 1 -o "$out/sample-bitmaps.dset"
echo
echo "== strokes: raw and simplified ndjson of the same 5 classes =="
$doodle prep --input data/sample/strokes --test-frac 0.2 --seed 1 -o "$out/sample-strokes.dset"
echo
$doodle info "$out/sample-strokes.dset"
echo
$doodle show "$out/sample-strokes.dset" --per-class 8 -o "$out/classes.png"
$doodle show "$out/sample-strokes.dset" --class cat --count 48 -o "$out/variation-cat.png"
$doodle show "$out/sample-bitmaps.dset" --per-class 10 -o "$out/classes-bitmaps.png"
echo
echo "== train doodle28 on the 5 x 900 training bitmaps, evaluate on the 5 x 100 test bitmaps =="
$doodle summary doodle28 --classes 5
$doodle train --data "$out/sample-bitmaps.dset" --model doodle28 --epochs "${DOODLE_EPOCHS:-6}" --force -o "$out/run"
echo
$doodle eval --model "$out/run/model.safetensors" --data "$out/sample-bitmaps.dset"
echo
echo "done: $out/sample-bitmaps.dset, $out/sample-strokes.dset, $out/classes.png, $out/variation-cat.png,"
echo "      $out/classes-bitmaps.png, $out/run/ (model.safetensors, history.csv, eval.json, confusion.csv, misclassified.csv,"
echo "      explain/ with the report's pictures)"
echo "report: $out/run/report.html   (one self-contained page: open it in any browser)"
