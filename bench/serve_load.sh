#!/usr/bin/env bash
# Load test of doodle serve (a benchmark, not a test): wrk on loopback, 64 connections kept alive, 60 s, POSTing
# the bundled sample's raw drawings (data/sample/strokes/raw, 125 drawings of 5 classes) to /api/predict with the
# default 28x28 network (doodle28, trained one epoch on the sample: its speed does not depend on its weights).
# Prints predictions/s, latency percentiles, errors (must be 0) and the server's RSS at start and end.
# Usage: bench/serve_load.sh [build-dir] [seconds] [connections]   (default: build, 60, 64)
# A soak: more than 60 seconds runs in one-minute rounds, each printing its throughput, p99 latency and the server's
# RSS, while a second client sends bad requests beside the load (malformed JSON, an unknown field, an oversized body,
# a wrong Content-Type) that must each get a 4xx answer; it fails if RSS at the end is more than 10% above the first
# round's (e.g. bench/serve_load.sh build 600: ten minutes).
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
# (|| true: under set -e a failed kill of a server already stopped would end the trap, leaving $work, and exit 1)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
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
if [ "$seconds" -le 60 ]; then
  BODIES=$work/bodies.ndjson wrk -t2 -c"$conns" -d"${seconds}s" --latency -s bench/serve_load.lua "$url"
  echo "RSS at end: $(rss)"
else
  # bad requests beside the load, one every 50 ms; each must be answered 4xx. Anything else is counted as wrong and
  # listed with curl's exit status: a 5xx, or 000 = no answer (curl 28: its 5 s timeout, 52: closed without an
  # answer, 55: the connection failed while sending, 56: while receiving). The server answers 503 only while it
  # stops: under load its queue is bounded by the connections (--max-connections), and overload shows as latency.
  head -c 300000 /dev/zero | tr '\0' 'x' >"$work/big.json"
  bad_requests() {
    local ok=0 wrong=0 code rc args
    # one_bad ARGS…: one bad request to /api/predict
    one_bad() {
      code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "$@" "${url}api/predict") && rc=0 || rc=$?
      if [[ $code == 4* ]]; then
        ok=$((ok + 1))
      else
        wrong=$((wrong + 1))
        echo "$code (curl exit $rc) $*" >>"$work/bad.wrong"
      fi
    }
    while [ ! -e "$work/stop" ]; do
      for args in "-d {\"word\":" "-d {\"drawing\":[[[1,2],[3]]]}" "--data-binary @$work/big.json"; do
        # shellcheck disable=SC2086
        one_bad -H 'Content-Type: application/json' $args
      done
      one_bad -H 'Content-Type: text/plain' -d '{}'
      sleep 0.05
    done
    echo "$ok $wrong" >"$work/bad.count"
  }
  bad_requests &
  bad_pid=$!
  rounds=$(((seconds + 59) / 60))
  printf '%-6s %14s %10s %10s %12s %8s\n' minute predictions/s "p50 ms" "p99 ms" "RSS kB" errors
  first_rss=
  for ((m = 1; m <= rounds; m++)); do
    BODIES=$work/bodies.ndjson wrk -t2 -c"$conns" -d60s --latency -s bench/serve_load.lua "$url" >"$work/round.txt"
    r=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
    [ -n "$first_rss" ] || first_rss=$r
    awk -v m="$m" -v rss="$r" '
      function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
      /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) } /^Requests\/sec/ { rps = $2 }
      /^errors:/ { e = $2 + $4 + $6 + $8 + $11 }
      END { printf "%-6d %14.0f %10.1f %10.1f %12d %8d\n", m, rps, p50, p99, rss, e }' "$work/round.txt"
    grep -q '^errors: 0 connect, 0 read, 0 write, 0 timeout, 0 not 200' "$work/round.txt" ||
      { echo "round $m had errors:"; cat "$work/round.txt"; touch "$work/stop"; exit 1; }
  done
  touch "$work/stop"
  wait "$bad_pid"
  read -r bad_ok bad_wrong <"$work/bad.count"
  last_rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
  echo "bad requests beside the load: $bad_ok answered 4xx, $bad_wrong otherwise"
  # what the others got, by request
  [ "$bad_wrong" -eq 0 ] || sort "$work/bad.wrong" | sed "s|$work/||" | uniq -c | sort -rn | head -8
  echo "RSS: first round $first_rss kB, end $last_rss kB"
  [ "$bad_wrong" -eq 0 ] || { echo "FAIL: bad requests not answered 4xx"; exit 1; }
  [ "$last_rss" -le $((first_rss * 11 / 10)) ] || { echo "FAIL: RSS grew more than 10%"; exit 1; }
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
kill -TERM "$pid"
wait "$pid" || { echo "doodle serve exited with $?"; exit 1; }
