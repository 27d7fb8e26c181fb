#!/usr/bin/env bash
# doodle bench and bench/speed.sh, briefly (a smoke, not a measurement): the JSON line's fields are there and agree
# with each other, the FLOP counts are those of ../shared/peers/models.py, real data goes through the loader,
# and bad usage is refused.
name=bench
source "$(dirname "$0")/common.bash"
field() { sed -n "s/.*\"$1\": *\([0-9.eE+-]*\).*/\1/p" "$tmp/out"; }

expect_status 0 "bench --help" "$doodle" bench --help
grep -q "usage: doodle bench train|infer" "$tmp/out" || fail "--help prints no usage"
expect_status 2 "bench without a mode" "$doodle" bench
expect_status 2 "bench with a wrong mode" "$doodle" bench fly
expect_status 2 "bench --threads 0" "$doodle" bench train --threads 0
expect_status 2 "bench --batch x" "$doodle" bench train --batch x
expect_status 2 "bench an unknown model" "$doodle" bench train --model nosuchnet --seconds 0
grep -q "nosuchnet" "$tmp/err" || fail "unknown model: the message does not name it: $(cat "$tmp/err")"

# a network that fits for one drawing but not for the batch asked for is refused before it is allocated
DOODLE_MAX_MEMORY_MB=2000 expect_status 1 "bench seed batch 512 under a 2 GB bound" \
  "$doodle" bench train --model seed --batch 512 --seconds 0
grep -q "batch of 512.*limit of 2.0 GB" "$tmp/err" || fail "the memory bound for a batch: $(cat "$tmp/err")"

# forward MFLOP per image as models.py prints them: seed 144.4, lenet 22.5, mnist28 8.5; training is 3x
for m in seed:144.40 lenet:22.55 mnist28:8.48; do
  expect_status 0 "bench infer ${m%%:*}" "$doodle" bench infer --model "${m%%:*}" --batch 2 --seconds 0 --json
  [ "$(field mflop_per_image)" = "${m#*:}" ] || fail "${m%%:*}: $(field mflop_per_image) MFLOP per image, expected ${m#*:}"
done
expect_status 0 "bench train mnist28" "$doodle" bench train --model mnist28 --batch 8 --threads 2 --seconds 0 --json
ips=$(field images_per_s) ms=$(field ms_per_batch) steps=$(field steps) rss=$(field peak_rss_mb) g=$(field gflop_per_s)
[ "$(field mflop_per_image)" = 25.45 ] || fail "training counts 3x the forward FLOPs: $(field mflop_per_image)"
[ -n "$ips" ] && [ -n "$ms" ] && [ -n "$rss" ] && [ -n "$g" ] || fail "missing fields: $(cat "$tmp/out")"
awk -v s="$steps" 'BEGIN{exit !(s >= 5)}' || fail "fewer than 5 steps measured: $steps"
awk -v i="$ips" -v m="$ms" 'BEGIN{exit !(i > 0 && (i * m / 8000 - 1)^2 < 1e-4)}' ||
  fail "images/s $ips and ms per batch $ms disagree for batch 8"
awk -v g="$g" -v i="$ips" 'BEGIN{exit !(g > 0 && ((g / (i * 0.02545)) - 1)^2 < 1e-3)}' ||
  fail "GFLOP/s $g is not 25.45 MFLOP x $ips images/s"
awk -v r="$rss" 'BEGIN{exit !(r > 1 && r < 4000)}' || fail "peak RSS $rss MB"
grep -q '"mode": "train"' "$tmp/out" && grep -q '"data": "synthetic"' "$tmp/out" || fail "mode/data fields: $(cat "$tmp/out")"

# real data through the loader: the bundled sample's strokes, rendered and augmented at the model's input size
sample=${DOODLE_SAMPLE_DIR:?}
expect_status 0 "prep the sample" "$doodle" prep --input "$sample/strokes" -o "$tmp/strokes.dset"
expect_status 0 "bench train --data" "$doodle" bench train --model mnist28 --batch 16 --seconds 0 --data "$tmp/strokes.dset" --json
grep -q '"data": "dset"' "$tmp/out" || fail "--data: not reported: $(cat "$tmp/out")"
expect_status 1 "bench --data missing.dset" "$doodle" bench train --seconds 0 --data "$tmp/missing.dset"
grep -q "missing.dset" "$tmp/err" || fail "a missing dataset is not named: $(cat "$tmp/err")"

# the comparison table, in its short form (the PyTorch columns stay '-' without python3-torch)
build=$(dirname "$doodle")
root=$(cd "$(dirname "$0")/../.." && pwd)
if "$root/bench/speed.sh" --smoke --build "$build" >"$tmp/out" 2>"$tmp/err"; then
  grep -q "^train mnist28 (img/s) *2 " "$tmp/out" || fail "speed.sh --smoke: no mnist28 row: $(cat "$tmp/out")"
  grep -q "^sgemm peak" "$tmp/out" || fail "speed.sh --smoke: no sgemm peak line"
else
  fail "speed.sh --smoke failed: $(cat "$tmp/err")"
fi
finish
