#!/usr/bin/env bash
# doodle serve --run: the one file the server writes (RUNDIR/labels.json, saved from the Mistakes view) on a full
# disk, as tests/cli/disk_full.sh checks every other writer: under a file size limit (ulimit -f: EFBIG; doodle
# ignores SIGXFSZ) a save is answered 500 with a JSON error naming the file and saying "File too large", the older
# labels.json stays byte for byte, no temporary file is left, and the server goes on (a save fits again once the
# older file is small enough: the limit bears on each file).
name=serve_labels_disk_full
source "$(dirname "$0")/common.bash"
source "$(dirname "$0")/serve_lib.bash"
need_command curl "scripts/deps.sh installs it"

train_sample_model "$tmp/m" # writes the run's report, and with it explain/clusters
run=$tmp/m/run
[ -s "$run/explain/clusters/labels.csv" ] || { fail "the run has no clusters: $(tail -3 "$tmp/m/train.log")"; finish; }
save() {
  curl -s -o "$tmp/save.out" -w '%{http_code}' -H 'Content-Type: application/json' -d "$1" "${url}api/labels"
}
long=$(printf 'x%.0s' $(seq 1 200))

# an older labels.json, saved without a limit
start_server free --model "$model" --run "$run"
got=$(save '{"method":"kmeans","names":[{"cluster":0,"name":"older"}]}')
[ "$got" = 200 ] || { fail "a save without a limit: $got $(cat "$tmp/save.out")"; finish; }
stop_server TERM
cp "$run/labels.json" "$tmp/older.json"
size=$(wc -c <"$run/labels.json")
# a limit of the older file's size, rounded down to KB: a save with a longer name does not fit
kb=$((size / 1024))
[ "$kb" -ge 1 ] || { fail "labels.json of $size bytes: too small for a limit in KB"; finish; }

# the server under the limit (its stdout and stderr are a few hundred bytes: they fit)
(ulimit -f "$kb" && exec "$doodle" serve --port 0 --model "$model" --run "$run") >"$tmp/limited.out" \
  2>"$tmp/limited.err" &
server_pid=$!
url=
for _ in $(seq 1 200); do
  url=$(grep -o 'http://[^ ]*/' "$tmp/limited.out" 2>/dev/null | head -1)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { fail "doodle serve under ulimit -f $kb did not start: $(cat "$tmp/limited.err")"; finish; }
got=$(save "{\"method\":\"kmeans\",\"names\":[{\"cluster\":0,\"name\":\"$long\"},{\"cluster\":1,\"name\":\"$long\"}]}")
[ "$got" = 500 ] || fail "a save over the file size limit ($kb KB): HTTP $got, expected 500 ($(cat "$tmp/save.out"))"
grep -q '"status":500' "$tmp/save.out" || fail "no JSON error: $(cat "$tmp/save.out")"
grep -q 'labels\.json' "$tmp/save.out" || fail "the error does not name labels.json: $(cat "$tmp/save.out")"
grep -q 'File too large' "$tmp/save.out" || fail "the error does not say File too large: $(cat "$tmp/save.out")"
echo "a save over the limit: $(cat "$tmp/save.out")"
cmp -s "$tmp/older.json" "$run/labels.json" || fail "the older labels.json was changed"
[ -z "$(find "$run" -maxdepth 1 -name '*.tmp.*')" ] || fail "temporary files left: $(ls "$run")"
[ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "${url}healthz")" = 200 ] || fail "/healthz after the failed save"
stop_server TERM
finish
