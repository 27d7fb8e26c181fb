#!/usr/bin/env bash
# bench/scale_prep.sh: doodle prep at scale, on a corpus directory (bench/make_corpus writes Google-shaped ones).
#
#   bench/scale_prep.sh CORPUS_DIR [--doodle BIN] [--threads "1 2"] [--repeat N] [--work DIR] [--prep-args "…"]
#
# Times, on the same files: `zcat` (or `cat` for plain files) of every input to /dev/null, `doodle prep` with each
# thread count (best of --repeat runs, default 1; wall time, CPU time (user + system) and peak RSS from
# /usr/bin/time), and `doodle info` on the set written. CPU seconds say more than wall times on a loaded machine. Checks that every thread count wrote the same bytes. Prints one table row per run and the machine
# load before each (other processes on the 2 cores skew the figures: run it on a quiet machine).
# --prep-args: more prep options (e.g. "--per-class 1000"). --work: where the .dset files go (default a temporary
# directory beside the corpus, removed at the end). The corpus is synthetic: its figures are for speed and memory
# only.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
corpus= doodle=$root/build/doodle threads="1 2" repeat=1 work= prep_args=
while [ $# -gt 0 ]; do
  case $1 in
    --doodle) doodle=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --prep-args) prep_args=$2; shift 2 ;;
    -h|--help) sed -n 2,12p "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "scale_prep: unknown option $1" >&2; exit 2 ;;
    *) corpus=$1; shift ;;
  esac
done
[ -d "$corpus" ] || { echo "usage: bench/scale_prep.sh CORPUS_DIR [options] (see --help)" >&2; exit 2; }
[ -x "$doodle" ] || { echo "scale_prep: no doodle binary at $doodle (build it, or give --doodle)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "scale_prep: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
mapfile -t files < <(find "$corpus" -type f \( -name '*.ndjson*' -o -name '*.bin*' -o -name '*.npy*' \) ! -name '*.tmp' | sort)
[ "${#files[@]}" -gt 0 ] || { echo "scale_prep: no .ndjson/.bin/.npy files in $corpus" >&2; exit 1; }
own_work=0
if [ -z "$work" ]; then work=$(mktemp -d "$(dirname "$(realpath "$corpus")")/scale_prep.XXXXXX"); own_work=1; fi
mkdir -p "$work"
cleanup() { [ "$own_work" = 1 ] && rm -rf "$work"; return 0; }
trap cleanup EXIT

load() { cut -d' ' -f1 /proc/loadavg; }
bytes=$(du -cb "${files[@]}" | tail -1 | cut -f1)
echo "corpus: $corpus, ${#files[@]} files, $((bytes / 1000000)) MB; $(nproc) cores; doodle: $doodle"

# zcat reads plain files too (-f); the time of inflating alone, one core
best=
for ((r = 0; r < repeat; r++)); do
  l=$(load)
  read -r t u s < <( { /usr/bin/time -f "%e %U %S" zcat -f -- "${files[@]}" > /dev/null; } 2>&1 | tail -1)
  if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; zl=$l; zcpu=$(awk "BEGIN{print $u + $s}"); fi
done
zcat_s=$best
printf '%-28s %8s s   CPU %s s   load %s\n' "zcat (inflate only)" "$zcat_s" "$zcpu" "$zl"

first_dset=
for th in $threads; do
  best= rss= bl=
  for ((r = 0; r < repeat; r++)); do
    l=$(load)
    out=$work/t$th.dset
    # shellcheck disable=SC2086
    /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$doodle" prep -q --threads "$th" $prep_args -o "$out" -- "${files[@]}" > "$work/prep.out"
    read -r t m u s < "$work/time"
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; rss=$m; bl=$l; cpu=$(awk "BEGIN{print $u + $s}"); fi
  done
  n=$(sed -n 's/^wrote .*: \([0-9]*\) \(drawings\|bitmaps\), .*/\1/p' "$work/prep.out")
  read_n=$(awk '$1 == "total" || $1 == "all" {print $2; exit}' "$work/prep.out")
  [ -n "$read_n" ] || read_n=$n
  rate=$(awk "BEGIN{printf \"%.0f\", $read_n / $best}")
  ratio=$(awk "BEGIN{printf \"%.2f\", $best / $zcat_s}")
  cpu_ratio=$(awk "BEGIN{printf \"%.2f\", $cpu / $zcpu}")
  printf '%-28s %8s s   %s kept of %s read, %s drawings/s read, %sx zcat; CPU %s s (%sx zcat'"'"'s); peak RSS %d MB   load %s\n' \
    "prep --threads $th" "$best" "$n" "$read_n" "$rate" "$ratio" "$cpu" "$cpu_ratio" $((rss / 1024)) "$bl"
  if [ -z "$first_dset" ]; then first_dset=$out.first; mv "$out" "$first_dset"
  elif cmp -s "$first_dset" "$out"; then echo "  (the same bytes as the first thread count)"; rm -f "$out"
  else echo "scale_prep: --threads $th wrote other bytes than the first run" >&2; exit 1; fi
done

best=
for ((r = 0; r < 3; r++)); do
  t=$( { /usr/bin/time -f "%e" "$doodle" info "$first_dset" > /dev/null; } 2>&1 | tail -1)
  if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
done
printf '%-28s %8s s   (%s MB set)\n' "doodle info" "$best" "$(($(stat -c %s "$first_dset") / 1000000))"
