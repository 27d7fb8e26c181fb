#!/usr/bin/env bash
# doodle against the PyTorch peer and, for inference, ONNX Runtime, same settings, same run, interleaved: training
# images/s of the study's networks (seed, lenet) and mnist28 on 2 and 1 threads, one drawing and 256 drawings
# through seed and mnist28, with the GFLOP/s each reaches, its share of this machine's sgemm peak (measured here,
# in the same run), peak RSS and the ratios doodle/PyTorch and doodle/ONNX Runtime (> 1: doodle is faster).
#
#   bench/speed.sh [--seconds S] [--repeats N] [--build DIR] [--infer] [--smoke]
#
# --seconds: how long each measurement runs (default 15, as ../shared/peers/bench.py). --repeats: each row is
# measured N times, doodle and its peers one after the other each time, and the medians are shown (default 1; on a
# shared machine 3 or 5 keep one busy moment from deciding a ratio). --infer: the inference rows only. --smoke: one
# short pass over mnist28 only, training and one drawing (CI runs it). Without python3-torch (or ../shared/peers)
# the PyTorch columns say "-"; ONNX Runtime runs when node finds onnxruntime-node (NODE_PATH; see
# ../shared/peers/README.md) and the ONNX files can be exported (export_onnx.py, with python3-torch), else its
# columns say "-".
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=15 build=build smoke=0 repeats=1 infer_only=0
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --infer) infer_only=1; shift ;;
    --smoke) smoke=1; seconds=0.3; shift ;;
    -h|--help) sed -n 2,15p "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/speed.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
doodle=$build/doodle sgemm=$build/bench/bench_sgemm
[ -x "$doodle" ] && [ -x "$sgemm" ] || { echo "bench/speed.sh: build first (cmake --build $build)" >&2; exit 1; }
peer=../shared/peers/bench.py
have_peer=0
if [ -f "$peer" ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then have_peer=1; fi

ort_bench=../shared/peers/ort_bench.js have_ort=0 onnx_dir=
if [ $have_peer = 1 ] && [ -f "$ort_bench" ] && command -v node >/dev/null &&
   node -e "require('onnxruntime-node')" 2>/dev/null; then
  onnx_dir=$(mktemp -d)
  trap 'rm -rf "$onnx_dir"' EXIT
  if /usr/bin/python3 ../shared/peers/export_onnx.py "$onnx_dir" >/dev/null 2>&1; then have_ort=1; fi
fi

# field NAME JSON -> the number after "NAME":
field() { sed -n "s/.*\"$1\": *\([0-9.eE+-]*\).*/\1/p" <<<"$2"; }
# ratio UNIT PEER DOODLE -> doodle's speed over the peer's (milliseconds divide the other way round), or "-"
ratio() {
  if [ "$2" = - ]; then echo -; elif [ "$1" = ms ]; then awk -v a="$2" -v b="$3" 'BEGIN{printf "%.2f", a/b}'
  else awk -v a="$3" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; fi
}

declare -A peak
for t in 2 1; do
  peak[$t]=$(field gflop_per_s "$("$sgemm" "$t" "$( [ $smoke = 1 ] && echo 0.2 || echo 3 )")")
done

fmt='%-36s %3s %9s %9s %6s %9s %6s %8s %6s %8s %8s\n'
# shellcheck disable=SC2059
printf "$fmt" what thr doodle PyTorch ratio "ONNX RT" ratio GFLOP/s %peak "RSS MB" "torch MB"
value() { # UNIT JSON -> milliseconds to 3 decimals or images/s to 2, as doodle bench prints them
  if [ "$1" = ms ]; then awk -v v="$(field ms_per_batch "$2")" 'BEGIN{printf "%.3f", v}'
  else awk -v v="$(field images_per_s "$2")" 'BEGIN{printf "%.2f", v}'; fi
}
row() { # label threads unit doodle-json torch-json ort-json
  local label=$1 t=$2 unit=$3 dj=$4 pj=$5 oj=$6 d p=- o=- g rss prss=- pct
  d=$(value "$unit" "$dj") g=$(field gflop_per_s "$dj") rss=$(field peak_rss_mb "$dj")
  if [ -n "$pj" ]; then p=$(value "$unit" "$pj") prss=$(field peak_rss_mb "$pj"); fi
  if [ -n "$oj" ]; then o=$(value "$unit" "$oj"); fi
  pct=$(awk -v a="$g" -v b="${peak[$t]}" 'BEGIN{printf "%.0f%%", 100*a/b}')
  # shellcheck disable=SC2059
  printf "$fmt" "$label" "$t" "$d" "$p" "$(ratio "$unit" "$p" "$d")" "$o" "$(ratio "$unit" "$o" "$d")" "$g" "$pct" \
    "$rss" "$prss"
}
# median JSON-LINES... -> the line with the median images/s (the lower middle one for an even count); "" for none
median() {
  [ $# -gt 0 ] || return 0
  for j in "$@"; do printf '%s\t%s\n' "$(field images_per_s "$j")" "$j"; done | sort -g -k1,1 |
    sed -n "$(( ($# + 1) / 2 ))p" | cut -f2-
}
# glibc gives large freed blocks back to the kernel and maps them again at the next step; on a virtual machine whose
# page faults are dear (this project's: PyTorch spent 28% of a seed training step in the kernel's fault path, 27
# images/s against 68 with the settings below, same minute) that measures the machine, not the peer. Every program
# below (doodle, PyTorch, ONNX Runtime) runs with glibc keeping freed memory for reuse.
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456

measure() { # label unit mode model batch threads
  local dj=() pj=() oj=() r
  for ((r = 0; r < repeats; r++)); do
    dj+=("$("$doodle" bench "$3" --model "$4" --batch "$5" --threads "$6" --seconds "$seconds" --json)")
    if [ $have_peer = 1 ]; then
      pj+=("$(/usr/bin/python3 "$peer" "$3" --model "$4" --batch "$5" --threads "$6" --seconds "$seconds")")
    fi
    if [ $have_ort = 1 ] && [ "$3" = infer ]; then
      oj+=("$(node "$ort_bench" "$onnx_dir/$4.onnx" --batch "$5" --threads "$6" --seconds "$seconds")")
    fi
  done
  row "$1" "$6" "$2" "$(median "${dj[@]}")" "$(median "${pj[@]}")" "$(median "${oj[@]}")"
}

if [ $smoke = 1 ]; then
  measure "train mnist28 (img/s)" img train mnist28 64 2
  measure "classify 1 drawing, mnist28 (ms)" ms infer mnist28 1 2
else
  for t in 2 1; do
    if [ $infer_only = 0 ]; then
      measure "train seed 66x100 (img/s)" img train seed 64 $t
      measure "train lenet 66x100 (img/s)" img train lenet 64 $t
      measure "train mnist28 28x28 (img/s)" img train mnist28 64 $t
    fi
    measure "classify 1 drawing, seed (ms)" ms infer seed 1 $t
    measure "classify 256 drawings, seed (img/s)" img infer seed 256 $t
    measure "classify 1 drawing, mnist28 (ms)" ms infer mnist28 1 $t
    measure "classify 256 drawings, mnist28 (img/s)" img infer mnist28 256 $t
  done
fi
echo "sgemm peak (OpenBLAS 2048^3, this run): ${peak[2]} GFLOP/s on 2 threads, ${peak[1]} on 1;" \
  "OpenBLAS kernels: $(sed -n 's/.*"blas": *"\([^"]*\)".*/\1/p' <<<"$("$doodle" bench infer --model mnist28 --seconds 0 --json)")" \
  "(OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
echo "load average at the end (1, 5, 15 min): $(sed 's/ [0-9]*\/.*//' /proc/loadavg); repeats: $repeats (medians)"
[ $have_peer = 1 ] || echo "(PyTorch peer not run: needs /usr/bin/python3 with torch and ../shared/peers/bench.py)"
[ $have_ort = 1 ] || echo "(ONNX Runtime not run: needs node with onnxruntime-node on NODE_PATH, python3-torch and ../shared/peers)"
