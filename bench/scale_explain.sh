#!/usr/bin/env bash
# bench/scale_explain.sh: `doodle explain quality` and `explain clusters` on a large set, for time and memory.
#
#   bench/scale_explain.sh MODEL.safetensors DATA.dset [--doodle BIN] [--out DIR] [--only quality|clusters]
#
# Prints, for each verb, wall and CPU seconds, peak RSS, and the peak of anonymous memory (RssAnon, sampled every
# 2 s from /proc: the mapped .dset is in RSS but not in it), with the load average before and after. On
# bench/make_corpus sets its figures are for speed and memory only. --out: where the outputs go (default a
# temporary directory, removed at the end).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model= data= doodle=$root/build/doodle out= only=
while [ $# -gt 0 ]; do
  case $1 in
    --doodle) doodle=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    -h|--help) sed -n 2,9p "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "scale_explain: unknown option $1" >&2; exit 2 ;;
    *) if [ -z "$model" ]; then model=$1; else data=$1; fi; shift ;;
  esac
done
[ -f "$model" ] && [ -f "$data" ] || { echo "usage: bench/scale_explain.sh MODEL DATA.dset [options] (see --help)" >&2; exit 2; }
[ -x "$doodle" ] || { echo "scale_explain: no doodle binary at $doodle (build it, or give --doodle)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "scale_explain: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
own_out=0
if [ -z "$out" ]; then out=$(mktemp -d); own_out=1; else mkdir -p "$out"; fi
cleanup() { [ "$own_out" = 1 ] && rm -rf "$out"; return 0; }
trap cleanup EXIT

# run NAME ARGS…: the verb under /usr/bin/time, its anonymous memory sampled while it runs
run() {
  local name=$1; shift
  local before; before=$(cut -d' ' -f1-3 /proc/loadavg)
  /usr/bin/time -f "%e %U %S %M" -o "$out/$name.time" "$doodle" "$@" > "$out/$name.log" 2>&1 &
  local pid=$! anon=0 child
  while kill -0 "$pid" 2>/dev/null; do
    child=$(pgrep -P "$pid" | head -1 || true)
    if [ -n "$child" ] && [ -r "/proc/$child/status" ]; then
      local a; a=$(awk '/^RssAnon:/ {print $2}' "/proc/$child/status" 2>/dev/null || echo 0)
      [ -n "$a" ] && [ "$a" -gt "$anon" ] && anon=$a
    fi
    sleep 2
  done
  wait "$pid" || { echo "scale_explain: $name failed: $(tail -3 "$out/$name.log")" >&2; exit 1; }
  read -r wall user sys rss < "$out/$name.time"
  printf '%-18s %8s s wall, %7.0f s CPU, peak RSS %5d MB, peak anonymous %5d MB   load %s -> %s\n' "$name" "$wall" \
    "$(awk "BEGIN{print $user + $sys}")" $((rss / 1024)) $((anon / 1024)) "$before" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

echo "data: $data ($("$doodle" info "$data" | head -1)); model: $model; $(nproc) cores"
if [ -z "$only" ] || [ "$only" = quality ]; then
  run "explain quality" explain quality -m "$model" -d "$data" -o "$out/quality"
  sed -n '1,5p' "$out/explain quality.log" | sed 's/^/  /'
fi
if [ -z "$only" ] || [ "$only" = clusters ]; then
  run "explain clusters" explain clusters -m "$model" -d "$data" -o "$out/clusters" --quiet
fi
