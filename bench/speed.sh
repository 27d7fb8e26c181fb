#!/usr/bin/env bash
# doodle against the PyTorch peer, same settings, same run, interleaved: training images/s of the study's networks
# (seed, lenet) and mnist28 on 2 and 1 threads, one drawing through seed (ms) and 256 drawings (images/s), with
# the GFLOP/s each reaches, its share of this machine's sgemm peak (measured here, in the same run), peak RSS and
# the ratio doodle/PyTorch.
#
#   bench/speed.sh [--seconds S] [--build DIR] [--smoke]
#
# --seconds: how long each measurement runs (default 15, as ../shared/peers/bench.py). --smoke: one short pass
# over mnist28 only (CI runs it). Without python3-torch (or ../shared/peers) the PyTorch columns say "-".
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=15 build=build smoke=0
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --smoke) smoke=1; seconds=0.3; shift ;;
    -h|--help) sed -n 2,10p "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/speed.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
doodle=$build/doodle sgemm=$build/bench/bench_sgemm
[ -x "$doodle" ] && [ -x "$sgemm" ] || { echo "bench/speed.sh: build first (cmake --build $build)" >&2; exit 1; }
peer=../shared/peers/bench.py
have_peer=0
if [ -f "$peer" ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then have_peer=1; fi

# field NAME JSON -> the number after "NAME":
field() { sed -n "s/.*\"$1\": *\([0-9.eE+-]*\).*/\1/p" <<<"$2"; }

declare -A peak
for t in 2 1; do
  peak[$t]=$(field gflop_per_s "$("$sgemm" "$t" "$( [ $smoke = 1 ] && echo 0.2 || echo 3 )")")
done

printf '%-34s %3s %10s %10s %7s %8s %7s %9s %9s\n' what thr doodle PyTorch ratio GFLOP/s %peak "RSS MB" "torch MB"
row() { # label threads unit doodle-json peer-json
  local label=$1 t=$2 unit=$3 dj=$4 pj=$5 d p g rss prss ratio pct
  if [ "$unit" = ms ]; then d=$(field ms_per_batch "$dj"); else d=$(field images_per_s "$dj"); fi
  g=$(field gflop_per_s "$dj") rss=$(field peak_rss_mb "$dj")
  p=- prss=- ratio=-
  if [ -n "$pj" ]; then
    if [ "$unit" = ms ]; then p=$(field ms_per_batch "$pj"); else p=$(field images_per_s "$pj"); fi
    prss=$(field peak_rss_mb "$pj")
    # ratio > 1 means doodle is faster: images/s divide as they are, milliseconds the other way round
    if [ "$unit" = ms ]; then ratio=$(awk -v a="$p" -v b="$d" 'BEGIN{printf "%.2f", a/b}')
    else ratio=$(awk -v a="$d" -v b="$p" 'BEGIN{printf "%.2f", a/b}'); fi
  fi
  pct=$(awk -v a="$g" -v b="${peak[$t]}" 'BEGIN{printf "%.0f%%", 100*a/b}')
  printf '%-34s %3s %10s %10s %7s %8s %7s %9s %9s\n' "$label" "$t" "$d" "$p" "$ratio" "$g" "$pct" "$rss" "$prss"
}
measure() { # label unit mode model batch threads
  local dj pj=""
  dj=$("$doodle" bench "$3" --model "$4" --batch "$5" --threads "$6" --seconds "$seconds" --json)
  if [ $have_peer = 1 ]; then
    pj=$(/usr/bin/python3 "$peer" "$3" --model "$4" --batch "$5" --threads "$6" --seconds "$seconds")
  fi
  row "$1" "$6" "$2" "$dj" "$pj"
}

if [ $smoke = 1 ]; then
  measure "train mnist28 (img/s)" img train mnist28 64 2
else
  for t in 2 1; do
    measure "train seed 66x100 (img/s)" img train seed 64 $t
    measure "train lenet 66x100 (img/s)" img train lenet 64 $t
    measure "train mnist28 28x28 (img/s)" img train mnist28 64 $t
    measure "classify 1 drawing, seed (ms)" ms infer seed 1 $t
    measure "classify 256 drawings, seed (img/s)" img infer seed 256 $t
  done
fi
echo "sgemm peak (OpenBLAS 2048^3, this run): ${peak[2]} GFLOP/s on 2 threads, ${peak[1]} on 1"
[ $have_peer = 1 ] || echo "(PyTorch peer not run: needs /usr/bin/python3 with torch and ../shared/peers/bench.py)"
