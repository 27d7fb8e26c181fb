#!/usr/bin/env bash
# Data-pipeline benchmarks on ../shared/data/quickdraw (not tests: nothing here is asserted):
#   parse   doodle's ndjson parser vs Python's json module on the same decompressed files
#   render  drawings/s on one core at 28x28 and 66x100
#   prep    doodle prep over every stroke file: drawings/s and peak memory
# Usage: bench/run.sh [build-dir]   (default: build, configured as Release)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
data=${DOODLE_SHARED_DATA:-../shared/data/quickdraw}
raw=$data/strokes_raw/borismus_exupery
simp=$data/strokes_simplified/lamnguyen5464_Sketch-dataset
scripts/deps.sh
for tool in /usr/bin/time:time /usr/bin/python3:python3; do  # what this script needs beyond the build
  [ -x "${tool%%:*}" ] || { apt-get update -qq && apt-get install -y -qq "${tool#*:}" >/dev/null; }
done
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

echo
echo "== parse (MB/s of decompressed ndjson; parsing only, inflate excluded) =="
for set in raw simp; do
  dir=${!set}
  echo "-- $set: $dir"
  "$build/bench/bench_parse" "$dir"/*.ndjson.gz
  /usr/bin/python3 bench/parse_python.py "$dir"/*.ndjson.gz
done

echo
echo "== render (one core) =="
"$build/bench/bench_render" "$simp"/*.ndjson.gz

echo
echo "== prep over all stroke files (raw + simplified, 345 classes) =="
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/time -f "%e s, peak RSS %M KiB" -o "$tmp/time" \
  "$build/doodle" prep -q --input "$raw" --input "$simp" -o "$tmp/all.dset" >"$tmp/table"
tail -1 "$tmp/table"
read -r secs _ <"$tmp/time"
n=$(grep '^total ' "$tmp/table" | awk '{print $2}')
echo "$(cat "$tmp/time"); $n drawings read, $(awk -v n="$n" -v s="$secs" 'BEGIN{printf "%.0f", n/s}') drawings/s"
