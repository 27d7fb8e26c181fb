#!/usr/bin/env bash
# A full disk, two ways: a file size limit (ulimit -f, RLIMIT_FSIZE: the write fails with EFBIG, doodle ignores
# SIGXFSZ) and a full 16 MB tmpfs (ENOSPC; skipped with a message when mount is not allowed). Every writer (prep, train's
# history, model and checkpoint, report, explain pictures, render, simplify, show, eval) must fail with exit 1 and
# a message naming the file and saying "File too large" or "No space left on device", leave the older file under
# that name byte for byte, and leave no temporary file.
name=disk_full
source "$(dirname "$0")/common.bash"
sample=${DOODLE_SAMPLE_DIR:?}
cases=0

# ---- inputs, made without limits
"$doodle" prep -q --input "$sample/bitmaps" --per-class 100 --test-frac 0.2 -o "$tmp/d.dset" >/dev/null ||
  { fail "prep failed"; finish; }
"$doodle" prep -q --input "$sample/strokes/simplified" --test-frac 0.2 -o "$tmp/s.dset" >/dev/null ||
  { fail "prep of strokes failed"; finish; }
train=(train --data "$tmp/d.dset" --model mnist28 --threads 2 --steps-per-epoch 2 --no-report)
"$doodle" "${train[@]}" --epochs 1 -o "$tmp/run" >/dev/null 2>&1 || { fail "train failed"; finish; }
"$doodle" report "$tmp/run" >/dev/null 2>&1 || fail "report failed"
model=$tmp/run/model.safetensors
raw=("$sample"/strokes/raw/*.ndjson.gz)

# check WHAT DIR FILE-REGEX REASON-REGEX CMD…: CMD fails with exit 1 naming a file that matches FILE-REGEX and saying
# REASON; the file it names is as it was before (the older one), or not there when there was none; the older files
# that older() put under DIR are as they were; no temporary file is left under DIR. (Files the command wrote whole
# before the one that failed are new, as they should be.)
check() {
  local what=$1 dir=$2 file=$3 reason=$4; shift 4
  local before=$tmp/before
  rm -rf "$before" && mkdir -p "$before" && cp -a "$dir/." "$before/"
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  cases=$((cases + 1))
  [ "$rc" -eq 1 ] || fail "$what: exit $rc, expected 1 ($(head -c 300 "$tmp/err"))"
  local msg named rel o
  msg=$(grep '^doodle [a-z ]*: /' "$tmp/err" | tail -1)
  [[ $msg =~ $file.*($reason) ]] || fail "$what: the message does not name $file and '$reason': $(head -c 400 "$tmp/err")"
  named=$(sed -E 's/^doodle [a-z ]*: ([^:]*): .*/\1/' <<<"$msg")
  rel=${named#"$dir"/}
  if [ -n "$named" ] && [ "$rel" != "$named" ]; then
    if [ -e "$before/$rel" ]; then
      cmp -s "$before/$rel" "$dir/$rel" || fail "$what: the older $rel changed"
    else
      [ -e "$dir/$rel" ] && fail "$what: $rel is there, half written or new"
    fi
  fi
  while IFS= read -r o; do
    cmp -s "$before/$o" "$dir/$o" || fail "$what: the older $o changed"
  done < <(cd "$before" && grep -rl '^older ' . 2>/dev/null)
  local left
  left=$(find "$dir" -name '*.tmp.*')
  [ -z "$left" ] || fail "$what: temporary files left: $left"
  echo "$what: $msg"
}
# limited KB CMD…: CMD with files limited to KB kilobytes; its stdout and stderr go through pipes to cat, which runs
# without the limit, so that the limit bears on what CMD writes and not on the test's capture of it
limited() {
  local kb=$1; shift
  { (ulimit -f "$kb" && exec "$@") 2>&1 1>&3 3>&- | cat >&2; } 3>&1 | cat
}
# older FILE: puts an older file there (the writers must leave it as it is)
older() { mkdir -p "$(dirname "$1")" && printf 'older %s\n' "$1" >"$1"; }

# ---- a file size limit
big='File too large'
out=$tmp/lim
older "$out/d.dset"
check "prep, 64 KB limit" "$out" 'd\.dset' "$big" limited 64 "$doodle" prep -q --input "$sample/bitmaps" -o "$out/d.dset"
cp -a "$tmp/run" "$tmp/lrun"
# epoch 2: history.csv (small) and model.safetensors (1.7 MB) are written, checkpoint.safetensors (5 MB) is not;
# the files are then epoch 2's history and model and epoch 1's checkpoint, and a resume without the limit goes on
cp -a "$tmp/lrun" "$tmp/lrun.1"
limited 2048 "$doodle" "${train[@]}" --epochs 2 --resume -o "$tmp/lrun" >"$tmp/out" 2>"$tmp/err"
rc=$?
cases=$((cases + 1))
[ "$rc" -eq 1 ] || fail "train, checkpoint over a 2 MB limit: exit $rc ($(head -c 300 "$tmp/err"))"
grep -qE "lrun/checkpoint\.safetensors.*$big" "$tmp/err" || fail "train, checkpoint: $(cat "$tmp/err")"
cmp -s "$tmp/lrun.1/checkpoint.safetensors" "$tmp/lrun/checkpoint.safetensors" || fail "train: the older checkpoint changed"
[ -z "$(find "$tmp/lrun" -name '*.tmp.*')" ] || fail "train, checkpoint: temporary files left"
echo "train, checkpoint over a 2 MB limit: $(head -1 "$tmp/err")"
expect_status 0 "resume after the failed checkpoint" "$doodle" "${train[@]}" --epochs 2 --resume -o "$tmp/lrun"
rm -rf "$tmp/lrun" "$tmp/lrun.1"
cp -a "$tmp/run" "$tmp/lrun"
check "train, model over a 1 MB limit" "$tmp/lrun" 'lrun/model\.safetensors' "$big" \
  limited 1024 "$doodle" "${train[@]}" --epochs 2 --resume -o "$tmp/lrun"
check "report, 64 KB limit" "$tmp/lrun" 'lrun/(report\.html|explain/)' "$big" limited 64 "$doodle" report "$tmp/lrun"
rm -rf "$tmp/lrun"
check "explain misclassified, 4 KB limit" "$tmp/run" 'run/explain/misclassified/' "$big" limited 4 "$doodle" \
  explain misclassified --model "$model" --data "$tmp/d.dset" -o "$tmp/run/explain/misclassified"
older "$out/r.npy"
check "render .npy, 8 KB limit" "$out" 'r\.npy' "$big" limited 8 "$doodle" render -q -o "$out/r.npy" "${raw[@]}"
older "$out/r.npy.gz"
check "render .npy.gz, 4 KB limit" "$out" 'r\.npy\.gz' "$big" limited 4 "$doodle" render -q -o "$out/r.npy.gz" "${raw[@]}"
older "$out/r.png"
check "render .png, 8 KB limit" "$out" 'r\.png' "$big" limited 8 "$doodle" render -q -o "$out/r.png" "${raw[@]}"
older "$out/s.ndjson"
check "simplify, 8 KB limit" "$out" 's\.ndjson' "$big" limited 8 "$doodle" simplify -q -o "$out/s.ndjson" "${raw[@]}"
older "$out/show.png"
check "show, 8 KB limit" "$out" 'show\.png' "$big" limited 8 "$doodle" show "$tmp/s.dset" -o "$out/show.png"
older "$out/eval/misclassified.csv"
check "eval -o, 1 KB limit" "$out" 'eval/' "$big" limited 1 "$doodle" eval --model "$model" --data "$tmp/d.dset" \
  -o "$out/eval"

# ---- a full file system: a 16 MB tmpfs, filled but for a few KB before each case (room)
mnt=$tmp/mnt
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=16m tmpfs "$mnt" 2>"$tmp/mount.err"; then
  echo "skipped the tmpfs part: cannot mount a tmpfs here ($(cat "$tmp/mount.err"))"
else
  trap 'umount "$mnt" 2>/dev/null' EXIT
  nospace='No space left on device'
  # room KB: fills the tmpfs but KB kilobytes
  room() {
    rm -f "$mnt/filler"
    cat /dev/zero >"$mnt/filler" 2>/dev/null
    truncate -s "-$1K" "$mnt/filler"
  }
  older "$mnt/d.dset"
  room 8
  check "prep, full disk" "$mnt" 'd\.dset' "$nospace" "$doodle" prep -q --input "$sample/bitmaps" -o "$mnt/d.dset"
  rm -f "$mnt"/*
  # a run folder on the full disk: dataset.txt and history.csv fit, model.safetensors does not
  mkdir -p "$mnt/run"
  room 16
  "$doodle" "${train[@]}" --epochs 1 -o "$mnt/run" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  cases=$((cases + 1))
  [ "$rc" -eq 1 ] || fail "train, full disk: exit $rc ($(head -c 300 "$tmp/err"))"
  grep -qE "mnt/run/(model|checkpoint)\.safetensors.*$nospace" "$tmp/err" || fail "train, full disk: $(cat "$tmp/err")"
  [ -z "$(find "$mnt" -name '*.tmp.*')" ] || fail "train, full disk: temporary files left: $(ls "$mnt/run")"
  echo "train, full disk: $(head -1 "$tmp/err")"
  rm -rf "${mnt:?}"/*
  # a resumed run on a disk with no room left: epoch 2's history.csv is the first write; the older one stays, and
  # so do the checkpoint and model
  cp -a "$tmp/run" "$mnt/run" && rm -rf "$mnt/run/explain" "$mnt/run/report.html"
  room 0
  check "train --resume, history on a full disk" "$mnt/run" 'mnt/run/history\.csv' "$nospace" \
    "$doodle" "${train[@]}" --epochs 2 --resume -o "$mnt/run"
  cmp -s "$tmp/run/checkpoint.safetensors" "$mnt/run/checkpoint.safetensors" || fail "train --resume: the checkpoint changed"
  rm -rf "${mnt:?}"/*
  older "$mnt/report.html"
  room 8
  check "report, full disk" "$mnt" 'mnt/report\.html' "$nospace" "$doodle" report "$tmp/run" -o "$mnt/report.html"
  rm -rf "${mnt:?}"/*
  older "$mnt/mis/misclassified-as-cat.png"
  room 4
  check "explain misclassified, full disk" "$mnt" 'mnt/mis/' "$nospace" \
    "$doodle" explain misclassified --model "$model" --data "$tmp/d.dset" -o "$mnt/mis"
  for f in r.npy r.npy.gz r.png; do
    rm -rf "${mnt:?}"/*
    older "$mnt/$f"
    room 4
    check "render $f, full disk" "$mnt" "mnt/${f//./\\.}" "$nospace" "$doodle" render -q -o "$mnt/$f" "${raw[@]}"
  done
  rm -rf "${mnt:?}"/*
  older "$mnt/s.ndjson"
  room 4
  check "simplify, full disk" "$mnt" 'mnt/s\.ndjson' "$nospace" "$doodle" simplify -q -o "$mnt/s.ndjson" "${raw[@]}"
  rm -rf "${mnt:?}"/*
  older "$mnt/show.png"
  room 4
  check "show, full disk" "$mnt" 'mnt/show\.png' "$nospace" "$doodle" show "$tmp/s.dset" -o "$mnt/show.png"
  rm -rf "${mnt:?}"/*
  umount "$mnt" || fail "cannot unmount $mnt"
  trap - EXIT
fi
echo "$cases disk-full cases"
finish
