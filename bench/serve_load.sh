#!/usr/bin/env bash
# Load test of doodle serve (a benchmark, not a test): wrk on loopback, 64 connections kept alive, 60 s, POSTing
# the bundled sample's raw drawings (data/sample/strokes/raw, 125 drawings of 5 classes) to /api/predict with the
# default 28x28 network (doodle28, trained one epoch on the sample: its speed does not depend on its weights).
# Prints predictions/s, latency percentiles, errors (must be 0) and the server's RSS at start and end.
# Usage: bench/serve_load.sh [build-dir] [seconds] [connections]   (default: build, 60, 64)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
seconds=${2:-60}
conns=${3:-64}
scripts/deps.sh
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target doodle >/dev/null
doodle=$build/doodle
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
"$doodle" prep --input data/sample/bitmaps --test-frac 0.2 -o "$work/b.dset" >/dev/null
"$doodle" train --data "$work/b.dset" --model doodle28 --epochs 1 --force -o "$work/run" >/dev/null
for f in data/sample/strokes/raw/*.ndjson.gz; do gzip -dc "$f"; echo; done | grep . >"$work/bodies.ndjson"
"$doodle" serve --model "$work/run/model.safetensors" --port 0 >"$work/serve.out" 2>"$work/serve.err" &
pid=$!
url=
for _ in $(seq 1 100); do
  url=$(grep -o 'http://[^ ]*/' "$work/serve.out" 2>/dev/null | head -1) && [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "doodle serve did not start: $(cat "$work/serve.err")"; exit 1; }
rss() { awk '/^VmRSS/ { print $2 " kB" }' "/proc/$pid/status"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "server: $url, model doodle28, $(wc -l <"$work/bodies.ndjson") drawings as bodies"
# warm up (every worker makes its scratch buffers), then measure
BODIES=$work/bodies.ndjson wrk -t2 -c"$conns" -d3s -s bench/serve_load.lua "$url" >/dev/null
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other jobs on the machine skew the figures)"
echo "RSS at start: $(rss)"
BODIES=$work/bodies.ndjson wrk -t2 -c"$conns" -d"${seconds}s" --latency -s bench/serve_load.lua "$url"
echo "RSS at end: $(rss)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
kill -TERM "$pid"
wait "$pid" || { echo "doodle serve exited with $?"; exit 1; }
