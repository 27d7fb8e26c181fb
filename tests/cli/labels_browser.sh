#!/usr/bin/env bash
# The Mistakes view of `doodle serve --run RUNDIR` in headless Chromium (tests/browser/labels_page.js): a model
# trained on the bundled sample (its report clusters the misclassified test drawings), a cluster named and a drawing
# marked with the mouse, saved, RUNDIR/labels.json checked, the page reloaded; then a tap and a rename on a phone.
# Also the write endpoint's rules: a read-only server (--read-only) refuses to save and writes nothing; a save from
# another site's page, as text/plain, with an unknown drawing or a name too long is refused and changes nothing; a
# labels file that cannot be read is reported and not overwritten (409);
# only RUNDIR/labels.json is ever written. Skipped (77) only when node or chromium cannot be had.
name=labels_browser
source "$(dirname "$0")/common.bash"
source "$(dirname "$0")/serve_lib.bash"
need_browser

train_sample_model "$tmp/m" # writes the run's report, and with it explain/clusters
run=$tmp/m/run
[ -s "$run/explain/clusters/labels.csv" ] || { fail "the run has no clusters: $(tail -3 "$tmp/m/train.log")"; finish; }
find "$run" -type f -newer "$run/report.html" >"$tmp/before" # nothing, unless the server writes something

# --- read-only: the view shows, saving is refused, nothing is written ---
start_server ro --model "$model" --run "$run" --read-only
curl -s "${url}api/mistakes" >"$tmp/ro.json"
grep -q '"writable":false' "$tmp/ro.json" && grep -q 'started with --read-only' "$tmp/ro.json" ||
  fail "a --read-only server says it is writable: $(head -c 300 "$tmp/ro.json")"
code=$(curl -s -o "$tmp/ro.out" -w '%{http_code}' -H 'Content-Type: application/json' \
  -d '{"method":"kmeans","names":[{"cluster":0,"name":"x"}]}' "${url}api/labels")
[ "$code" = 403 ] || fail "a save to a --read-only server: $code $(cat "$tmp/ro.out")"
[ -e "$run/labels.json" ] && fail "a --read-only server wrote labels.json"
stop_server TERM

start_server serve --model "$model" --run "$run"
post() { curl -s -o "$tmp/post.out" -w '%{http_code}' "$@" "${url}api/labels"; }
[ "$(post -H 'Content-Type: text/plain' -d '{"method":"kmeans"}')" = 415 ] || fail "a text/plain save was not refused (415)"
[ "$(post -H 'Content-Type: application/json' -H 'Origin: http://evil.example' -d '{"method":"kmeans"}')" = 403 ] ||
  fail "a save from another site's page was not refused (403)"
[ "$(post -H 'Content-Type: application/json' -d '{"method":"kmeans","mislabelled":[{"drawing":99999}]}')" = 400 ] ||
  fail "a save marking an unknown drawing was not refused: $(cat "$tmp/post.out")"
grep -q 'mislabelled\[0\].drawing' "$tmp/post.out" || fail "the refusal does not name the field: $(cat "$tmp/post.out")"
long=$(printf 'x%.0s' $(seq 1 201))
[ "$(post -H 'Content-Type: application/json' -d "{\"method\":\"kmeans\",\"names\":[{\"cluster\":0,\"name\":\"$long\"}]}")" = 400 ] ||
  fail "a 201-byte name was not refused"
[ "$(post -H 'Content-Type: application/json' -d '{"method":"kmeans","names":[{"cluster":0,"name":"a\u0007"}]}')" = 400 ] ||
  fail "a name with a control character was not refused"
[ "$(post -H 'Content-Type: application/json' -d '{"method":"kmeans","path":"/etc/passwd"}')" = 400 ] ||
  fail "a save with an unknown field was not refused"
[ "$(curl -s -o /dev/null -w '%{http_code}' "${url}api/mistakes/montage?method=kmeans&cluster=../../etc")" = 400 ] ||
  fail "a montage named by a path was not refused"
[ -e "$run/labels.json" ] && fail "a refused save wrote labels.json"

DOODLE_CHROMIUM=$chromium node "$browser_dir/labels_page.js" "$url" "$run" "$tmp" >"$tmp/browser.log" 2>&1 ||
  fail "browser checks: $(grep -v '^ok:' "$tmp/browser.log" | head -20)"
cat "$tmp/browser.log"
[ -s "$tmp/mistakes.png" ] && [ -s "$tmp/mistakes-phone.png" ] || fail "no screenshots"
# the one file written: labels.json (no temporary file left beside it)
find "$run" -type f -newer "$run/report.html" | grep -v '/labels.json$' >"$tmp/written"
[ -s "$tmp/written" ] && fail "the server wrote other files: $(head -3 "$tmp/written")"
# the name shows where the clusters are read again: explain clusters in the report's space, and the report itself
"$doodle" explain clusters -m "$model" -d "$tmp/m/bitmaps.dset" --space embedding -o "$tmp/named" >"$tmp/named.out" 2>&1 ||
  fail "explain clusters with labels.json: $(tail -3 "$tmp/named.out")"
grep -q '^kmeans 0 "single lines": [0-9]* drawings' "$tmp/named.out" ||
  fail "explain clusters does not show the cluster's name: $(head -30 "$tmp/named.out")"
"$doodle" report "$run" -q -o "$tmp/named.html" >"$tmp/report.out" 2>&1 || fail "report with labels.json: $(tail -3 "$tmp/report.out")"
grep -q '<strong>&ldquo;single lines&rdquo;</strong> cluster' "$tmp/named.html" || fail "the report does not show the cluster's name"
# a labels file that cannot be read (edited by hand, badly) is shown as such and never overwritten by a save
printf '{"format": "doodle labels", "version": 1, "mislabelled": [{"key_id": "12a", "true": "cat"}]}\n' >"$run/labels.json"
cp "$run/labels.json" "$tmp/bad-labels.json"
curl -s "${url}api/mistakes" | grep -q '"labels_error":"[^"]*mislabelled\[0\].key_id' ||
  fail "the view does not say the labels file is bad: $(curl -s "${url}api/mistakes" | head -c 300)"
[ "$(post -H 'Content-Type: application/json' -d '{"method":"kmeans","names":[{"cluster":0,"name":"x"}]}')" = 409 ] ||
  fail "a save over an unreadable labels file was not refused (409): $(cat "$tmp/post.out")"
cmp -s "$run/labels.json" "$tmp/bad-labels.json" || fail "a refused save changed the unreadable labels file"
curl -s "${url}healthz" | grep -qx ok || fail "the server is not up after the browser test"
stop_server TERM
grep -q "Sanitizer\|runtime error" "$tmp/serve.err" && fail "the server reported: $(head -5 "$tmp/serve.err")"
finish
