# Shared by the doodle serve tests (tests/cli/serve_*.sh): source it after common.bash.
#   train_sample_model DIR   a small model trained on the bundled sample bitmaps (mnist28, one epoch: seconds)
#                            -> DIR/run/model.safetensors; sets $model
#   start_server NAME ARGS…  starts `doodle serve --port 0 ARGS…` in the background, waits for its URL;
#                            sets $url and $server_pid (stdout/stderr in $tmp/NAME.out / .err)
#   stop_server [SIGNAL]     sends SIGNAL (default TERM), waits; fails unless it exits 0
sample=${DOODLE_SAMPLE_DIR:-$(dirname "${BASH_SOURCE[0]}")/../../data/sample}
train_sample_model() {
  local dir=$1
  mkdir -p "$dir"
  "$doodle" prep --input "$sample/bitmaps" --test-frac 0.2 --seed 1 -o "$dir/bitmaps.dset" >"$dir/prep.log" 2>&1 ||
    { fail "prep of the sample: $(tail -3 "$dir/prep.log")"; finish; }
  "$doodle" train --data "$dir/bitmaps.dset" --model mnist28 --epochs 1 --seed 1 -o "$dir/run" >"$dir/train.log" 2>&1 ||
    { fail "training a sample model: $(tail -3 "$dir/train.log")"; finish; }
  model=$dir/run/model.safetensors
}
start_server() {
  local log=$1; shift
  "$doodle" serve --port 0 "$@" >"$tmp/$log.out" 2>"$tmp/$log.err" &
  server_pid=$!
  url=
  for _ in $(seq 1 200); do
    url=$(grep -o 'http://[^ ]*/' "$tmp/$log.out" 2>/dev/null | head -1)
    [ -n "$url" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  fail "doodle serve $* did not start: $(cat "$tmp/$log.err")"
  finish
}
stop_server() {
  kill -"${1:-TERM}" "$server_pid" 2>/dev/null
  wait "$server_pid"
  local rc=$?
  [ "$rc" -eq 0 ] || fail "doodle serve exited $rc after SIG${1:-TERM}"
}
