#!/usr/bin/env bash
# doodle predict on pictures of drawings against the drawings' own strokes (issue 12 §4): how much a PNG of a
# drawing loses, and whether the pen's width matters.
#   model: doodle28 (doodle's default recipe, 4 epochs) trained on the 21 bitmap classes of ../shared, each class
#          without its first 200 bitmaps (the stroke sets are the first drawings of the same official files);
#   drawings: the 21 classes' simplified strokes of ../shared (lamnguyen5464, 25 a class: 525 drawings), never seen
#          in training;
#   pictures: each drawing drawn by `doodle render` (cairo) on a 300x300 canvas, dark on white, with a 6 px and
#          a 16 px pen; the 6 px ones also light on dark, and as black ink on a transparent canvas.
# Prints top-1 / top-3 accuracy of predict on the strokes and on each kind of picture. Needs python3 with numpy.
# Usage: bench/predict_png.sh [doodle-binary] [out-dir]   (the model is kept in out-dir and reused)
set -euo pipefail
cd "$(dirname "$0")/.."
doodle=$(realpath "${1:-build/doodle}")
out=${2:-out/predict_png}
data=${DOODLE_SHARED_DATA:-../shared/data/quickdraw}
bitmaps=$data/bitmaps_28x28
strokes=$data/strokes_simplified/lamnguyen5464_Sketch-dataset
mkdir -p "$out/bitmaps" "$out/strokes" "$out/pictures"

if [ ! -s "$out/run/model.safetensors" ]; then
  for f in "$bitmaps"/HR-Shekhar_Doodle_Predictor/*.npy.gz "$bitmaps"/sukumr_Doodle-Classifier/*.npy.gz \
    "$bitmaps"/elicorrales_doodle-classifier-neural-network-demo/*.npy.gz; do
    /usr/bin/python3 - "$f" "$out/bitmaps/$(basename "${f%.gz}")" <<'EOF'
import gzip, io, sys
import numpy as np
a = np.load(io.BytesIO(gzip.open(sys.argv[1]).read()))
np.save(sys.argv[2], np.ascontiguousarray(a.reshape(a.shape[0], -1)[200:]))
EOF
  done
  "$doodle" prep -q --input "$out/bitmaps" --seed 1 -o "$out/train.dset" | tail -1
  "$doodle" train --data "$out/train.dset" --epochs 4 --no-report --force -o "$out/run" | tail -2
fi

classes=$(/usr/bin/python3 -c 'import json, struct, sys
f = open(sys.argv[1], "rb"); n = struct.unpack("<Q", f.read(8))[0]
print("\n".join(json.loads(json.loads(f.read(n))["__metadata__"]["classes"])))' "$out/run/model.safetensors")
rm -f "$out/strokes"/*.ndjson
while IFS= read -r c; do
  gzip -dc "$strokes/$c.ndjson.gz" >"$out/strokes/$c.ndjson"
done <<<"$classes"

# pen P pixels on a 300 px canvas with the renderer's padding of 16 units: line width = P * 288 / (300 - P) units
rm -rf "$out/pictures" && mkdir -p "$out/pictures"
for pen in 6 16; do
  lw=$(/usr/bin/python3 -c "print($pen * 288 / (300 - $pen))")
  while IFS= read -r c; do
    "$doodle" render -q -s 300x300 --line-width "$lw" -o "$out/pictures/$c-$pen.npy" "$out/strokes/$c.ndjson" >/dev/null
  done <<<"$classes"
done
/usr/bin/python3 - "$out/pictures" <<'EOF'
import glob, os, struct, sys, zlib
import numpy as np
def png(path, rows, mode):  # rows: (h, w) or (h, w, 2) uint8; mode 0 grey, 4 grey + alpha
    h, w = rows.shape[:2]
    raw = b''.join(b'\0' + rows[y].tobytes() for y in range(h))
    chunk = lambda t, d: struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, mode, 0, 0, 0)) +
                chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
d = sys.argv[1]
for f in sorted(glob.glob(os.path.join(d, '*.npy'))):
    cls, pen = os.path.basename(f)[:-4].rsplit('-', 1)
    for i, ink in enumerate(np.load(f)):
        base = os.path.join(d, f'{cls}-{i}')
        png(f'{base}-{pen}px.png', 255 - ink, 0)                 # dark on white
        if pen == '6':
            png(f'{base}-{pen}px-inverted.png', ink, 0)           # light on dark
            png(f'{base}-{pen}px-alpha.png', np.dstack([np.zeros_like(ink), ink]), 4)  # black ink, transparent
    os.remove(f)
EOF

uptime
echo "strokes:"
"$doodle" predict -m "$out/run/model.safetensors" "$out/strokes"/*.ndjson | tail -1
for kind in 6px 16px 6px-inverted 6px-alpha; do
  "$doodle" predict -m "$out/run/model.safetensors" --json "$out/pictures"/*-"$kind".png >"$out/$kind.jsonl"
  /usr/bin/python3 - "$out/$kind.jsonl" "$kind" <<'EOF'
import json, os, sys
n = top1 = top3 = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    if 'file' not in o: continue
    cls = os.path.basename(o['file']).rsplit('-', 2 if sys.argv[2] in ('6px', '16px') else 3)[0]
    n += 1
    top1 += o['top'][0]['class'] == cls
    top3 += any(t['class'] == cls for t in o['top'][:3])
print(f"pictures {sys.argv[2]:>13}: top-1 {100 * top1 / n:.1f}%, top-3 {100 * top3 / n:.1f}% (n = {n})")
EOF
done
