#!/usr/bin/env bash
# doodle serve's JSON API as clients (and attackers) use it: usage and exit codes; /healthz, /api/model,
# /api/predict (the same answer as doodle predict), /api/explain, /report; then bodies that are truncated, too big,
# too many strokes or points, huge numbers, NaN, deep nesting, wrong types, empty drawings, garbage, unknown paths
# and methods, a slow client, a connection cut mid-body, more connections than --max-connections: each answered with
# its 4xx (or closed), and the server stays up after every one (/healthz is still 200). Slow clients by the hundred,
# pipelining and cross-origin requests: tests/cli/serve_abuse.sh. SIGINT and SIGTERM stop it cleanly (exit 0; the sanitizer build checks leaks).
name=serve_api
source "$(dirname "$0")/common.bash"
source "$(dirname "$0")/serve_lib.bash"
need_command curl "scripts/deps.sh installs it"
need_command node
# json_check FILE EXPR: node evaluates EXPR with o = the JSON in FILE; fails unless it is true
json_check() {
  node -e 'const o = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
           if (!(eval(process.argv[2]))) { console.error("false: " + process.argv[2]); process.exit(1); }' "$1" "$2" ||
    fail "$1: $2 ($(head -c 300 "$1"))"
}
# post WANT WHAT PATH BODYFILE [curl args…]: POSTs the file, checks the status, then that /healthz is still 200
post() {
  local want=$1 what=$2 path=$3 body=$4; shift 4
  local got
  got=$(curl -s -o "$tmp/resp" -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary @"$body" \
    "$@" "$url${path#/}")
  [ "$got" = "$want" ] || fail "$what: HTTP $got, expected $want ($(head -c 300 "$tmp/resp"))"
  alive "$what"
}
get() {
  local want=$1 what=$2 path=$3; shift 3
  local got
  got=$(curl -s -o "$tmp/resp" -w '%{http_code}' "$@" "$url${path#/}")
  [ "$got" = "$want" ] || fail "$what: HTTP $got, expected $want ($(head -c 300 "$tmp/resp"))"
  alive "$what"
}
alive() {
  [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "${url}healthz")" = 200 ] || { fail "server down after: $1"; finish; }
}
# body FILE TEXT: writes TEXT (no newline) to FILE
body() { printf '%s' "$2" >"$tmp/$1"; }

# --- usage ---
expect_status 0 "serve --help" "$doodle" serve --help
grep -q "usage: doodle serve" "$tmp/out" || fail "serve --help prints no usage"
"$doodle" --help | grep -q "serve" || fail "doodle --help does not list serve"
expect_status 2 "serve without --model" "$doodle" serve
expect_status 2 "serve --port 70000" "$doodle" serve -m x --port 70000
expect_status 2 "serve --port abc" "$doodle" serve -m x --port abc
expect_status 2 "serve --threads 0" "$doodle" serve -m x --threads 0
expect_status 2 "serve --bogus" "$doodle" serve -m x --bogus
expect_status 2 "serve extra argument" "$doodle" serve -m x extra
expect_status 1 "serve a missing model" "$doodle" serve -m "$tmp/nope.safetensors" --port 0
grep -q "nope.safetensors" "$tmp/err" || fail "missing model not named: $(cat "$tmp/err")"
printf 'not a model' >"$tmp/text.safetensors"
expect_status 1 "serve a text file as model" "$doodle" serve -m "$tmp/text.safetensors" --port 0

train_sample_model "$tmp/m"
expect_status 2 "serve --host that does not resolve" "$doodle" serve -m "$model" --host no.such.host.invalid --port 0
start_server serve --model "$model"
[[ $url =~ ^http://127\.0\.0\.1:[0-9]+/$ ]] || fail "not a loopback URL: $url"
port=${url##*:}; port=${port%/}
expect_status 1 "a second server on the same port" "$doodle" serve -m "$model" --port "$port"
grep -q "$port" "$tmp/err" || fail "port in use unclear: $(cat "$tmp/err")"

# --- the good paths ---
get 200 "GET /healthz" /healthz
get 200 "GET /" /
grep -q '<canvas' "$tmp/resp" || fail "/ is not the drawing page"
get 200 "GET /app.js" /app.js
grep -q "api/predict" "$tmp/resp" || fail "/app.js is not the page's script"
get 200 "GET /style.css" /style.css
curl -sI "$url" | grep -qi "^content-security-policy: default-src 'self'" || fail "the page has no CSP"
get 200 "GET /api/model" /api/model
json_check "$tmp/resp" 'o.classes.join() === "airplane,apple,cat,fish,star" && o.input.height === 28 && o.input.width === 28'
json_check "$tmp/resp" 'o.report === false && o.summary.includes("Total params") && o.layers.length > 3'
gzip -dc "$sample/strokes/raw/cat.ndjson.gz" | head -20 >"$tmp/cats.ndjson"
"$doodle" predict -m "$model" --json --top 5 "$tmp/cats.ndjson" >"$tmp/predict.jsonl" || fail "doodle predict"
for i in 1 7 20; do
  sed -n "${i}p" "$tmp/cats.ndjson" >"$tmp/cat$i.json"
  post 200 "predict cat $i" /api/predict "$tmp/cat$i.json"
  sed -n "${i}p" "$tmp/predict.jsonl" >"$tmp/want$i.json"
  node -e 'const fs = require("fs"), got = JSON.parse(fs.readFileSync(process.argv[1])),
             want = JSON.parse(fs.readFileSync(process.argv[2])).top;
    if (got.top.length !== 5 || got.top.some((g, i) => g.class !== want[i].class || g.index !== want[i].index ||
        Math.abs(g.p - want[i].p) > 2e-6)) throw new Error("differs from doodle predict");
    if (!got.input_png.startsWith("data:image/png;base64,iVBORw0KGgo")) throw new Error("input_png");
    const png = Buffer.from(got.input_png.split(",")[1], "base64");
    if (png.readUInt32BE(16) !== 28 || png.readUInt32BE(20) !== 28) throw new Error("input_png is not 28x28");' \
    "$tmp/resp" "$tmp/want$i.json" || fail "predict cat $i: $(head -c 300 "$tmp/resp")"
done
# simplified drawings (no times) are taken as they are, as doodle predict takes them
gzip -dc "$sample/strokes/simplified/star.ndjson.gz" | head -1 >"$tmp/star.json"
post 200 "predict a simplified drawing" /api/predict "$tmp/star.json" 
"$doodle" predict -m "$model" --json "$tmp/star.json" | head -1 >"$tmp/star.want" # the drawing's line, not the accuracy
node -e 'const fs = require("fs"); const a = JSON.parse(fs.readFileSync(process.argv[1])).top[0].class,
  b = JSON.parse(fs.readFileSync(process.argv[2])).top[0].class; if (a !== b) throw new Error(a + " vs " + b)' \
  "$tmp/resp" "$tmp/star.want" || fail "simplified drawing: server and doodle predict disagree"
post 200 "predict ?top=2" "/api/predict?top=2" "$tmp/cat1.json"
json_check "$tmp/resp" 'o.top.length === 2 && o.top[0].p >= o.top[1].p'
post 200 "predict ?top=100 (more than the classes)" "/api/predict?top=100" "$tmp/cat1.json"
json_check "$tmp/resp" 'o.top.length === 5 && Math.abs(o.top.reduce((s, g) => s + g.p, 0) - 1) < 1e-4'
post 200 "explain" /api/explain "$tmp/cat1.json"
json_check "$tmp/resp" 'o.class === o.top[0].class && o.saliency_png.startsWith("data:image/png") && o.gradcam_png.startsWith("data:image/png")'
json_check "$tmp/resp" 'o.activations.length >= 2 && o.activations[0].channels === 32 && o.activations[0].height === 28 && o.activations.every(a => a.png.startsWith("data:image/png") && a.max >= 0)'
cmp -s <(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).top[0].class)' "$tmp/resp") \
  <(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).top[0].class)' "$tmp/want1.json") ||
  fail "explain's top class is not predict's"

# --- bad requests: 400 with a message, and the server stays up ---
bad() { # bad WHAT TEXT [PATH]
  body bad.json "$2"
  post 400 "$1" "${3:-/api/predict}" "$tmp/bad.json"
  json_check "$tmp/resp" 'o.status === 400 && typeof o.error === "string" && o.error.length > 5'
}
head -c 120 "$tmp/cat1.json" >"$tmp/truncated.json"
post 400 "a truncated body" /api/predict "$tmp/truncated.json"
post 400 "a truncated body to explain" /api/explain "$tmp/truncated.json"
bad "an empty body" ""
bad "an empty object" "{}"
bad "an empty drawing" '{"drawing":[]}'
bad "an empty drawing to explain" '{"drawing":[]}' /api/explain
bad "an empty stroke" '{"drawing":[[[],[]]]}'
bad "x and y of different lengths" '{"drawing":[[[1,2,3],[1,2]]]}'
bad "times of another length" '{"drawing":[[[1,2,3],[1,2,3],[0,1]]]}'
bad "a stroke with only x" '{"drawing":[[[1,2,3]]]}'
bad "a huge number" '{"drawing":[[[1e308,2],[3,4]]]}'
bad "an infinite number" '{"drawing":[[[1e999,2],[3,4]]]}'
bad "a negative huge number" '{"drawing":[[[-1e300,2],[3,4]]]}'
bad "NaN" '{"drawing":[[[NaN,2],[3,4]]]}'
bad "Infinity" '{"drawing":[[[Infinity,2],[3,4]]]}'
bad "a number with 10,000 digits" "{\"drawing\":[[[$(printf '9%.0s' $(seq 1 10000)),2],[3,4]]]}"
bad "a time that is NaN" '{"drawing":[[[1,2],[3,4],[0,NaN]]]}'
bad "drawing is a string" '{"drawing":"cat"}'
bad "drawing is a number" '{"drawing":42}'
bad "drawing is null" '{"drawing":null}'
bad "drawing is an object" '{"drawing":{"x":[1],"y":[2]}}'
bad "strings as coordinates" '{"drawing":[[["1","2"],["3","4"]]]}'
bad "booleans as coordinates" '{"drawing":[[[true,false],[true,false]]]}'
bad "objects as coordinates" '{"drawing":[[[{},{}],[{},{}]]]}'
bad "a top-level array" '[[[1,2],[3,4]]]'
bad "a top-level string" '"drawing"'
bad "a top-level number" '42'
bad "null" 'null'
bad "no drawing key" '{"strokes":[[[1,2],[3,4]]]}'
bad "deep nesting in an unknown key" "{\"x\":$(printf '[%.0s' $(seq 1 5000))1$(printf ']%.0s' $(seq 1 5000)),\"drawing\":[[[1,2],[3,4]]]}"
bad "deep nesting in the drawing" "{\"drawing\":$(printf '[%.0s' $(seq 1 5000))$(printf ']%.0s' $(seq 1 5000))}"
bad "unclosed nesting" "{\"drawing\":$(printf '[%.0s' $(seq 1 100000))"
bad "a trailing comma" '{"drawing":[[[1,2],[3,4]],]}'
bad "garbage after the object" '{"drawing":[[[1,2],[3,4]]]} trailing'
bad "an unterminated string" '{"drawing":[[[1,2],[3,4]]],"word":"cat'
bad "a bad escape" '{"word":"\u12","drawing":[[[1,2],[3,4]]]}'
head -c 20000 "$model" >"$tmp/binary.json"
post 400 "binary garbage" /api/predict "$tmp/binary.json"
printf '{"drawing":[[[1,2],[3,4]]]}\0\377\376' >"$tmp/nul.json"
post 400 "NUL and invalid UTF-8 after the object" /api/predict "$tmp/nul.json"
for top in 0 -1 abc 101 1e3 ""; do post 400 "?top=$top" "/api/predict?top=$top" "$tmp/cat1.json"; done

# --- limits: 413 ---
head -c $((256 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$tmp/big.json"
post 413 "a body of 256 KiB + 1" /api/predict "$tmp/big.json"
json_check "$tmp/resp" 'o.status === 413 && o.error.includes("262144")'
post 413 "a body of 256 KiB + 1 sent chunked (no length)" /api/predict "$tmp/big.json" -H 'Transfer-Encoding: chunked'
head -c $((5 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$tmp/huge.json"
post 413 "a body of 5 MiB" /api/explain "$tmp/huge.json"
node -e 'const s = []; for (let i = 0; i < 1001; i++) s.push([[i % 256], [i % 200]]);
  process.stdout.write(JSON.stringify({ drawing: s }))' >"$tmp/strokes.json"
post 413 "1,001 strokes" /api/predict "$tmp/strokes.json"
json_check "$tmp/resp" 'o.error.includes("1001 strokes")'
node -e 'const x = [], y = []; for (let i = 0; i < 20001; i++) { x.push(i % 50); y.push((i * 7) % 50); }
  process.stdout.write(JSON.stringify({ drawing: [[x, y]] }))' >"$tmp/points.json"
post 413 "20,001 points" /api/predict "$tmp/points.json"
json_check "$tmp/resp" 'o.error.includes("20001 points")'
node -e 'const x = [], y = [], t = []; for (let i = 0; i < 2000; i++) { x.push(i % 2 ? 0 : 1000); y.push(i / 2000); t.push(i); }
  process.stdout.write(JSON.stringify({ drawing: [[x, y, t]] }))' >"$tmp/zigzag.json"
post 413 "a zig-zag of 2,000 points (500,000 units of ink)" /api/predict "$tmp/zigzag.json"
json_check "$tmp/resp" 'o.error.includes("ink")'
# just under the limits: answered
node -e 'const s = []; for (let i = 0; i < 1000; i++) s.push([[i % 256], [i % 200]]);
  process.stdout.write(JSON.stringify({ drawing: s }))' >"$tmp/strokes1000.json"
post 200 "1,000 strokes" /api/predict "$tmp/strokes1000.json"

# --- paths and methods ---
get 404 "an unknown path" /nope
json_check "$tmp/resp" 'o.status === 404 && o.error.includes("/nope")'
get 404 "an unknown API" /api/nope
get 404 "a path outside" /../../../../etc/passwd --path-as-is
get 404 "an encoded path outside" /%2e%2e/%2e%2e/etc/passwd --path-as-is
get 404 "a file of the sources" /src/serve/web/app.js
get 404 "/report without --run" /report
get 405 "GET /api/predict" /api/predict
curl -s -D "$tmp/headers" -o /dev/null "${url}api/predict"
grep -qi "^allow: POST" "$tmp/headers" || fail "405 without Allow: POST"
get 405 "DELETE /" / -X DELETE
get 405 "PUT /api/predict" /api/predict -X PUT -d '{}'
post 405 "POST /healthz" /healthz "$tmp/cat1.json"
get 404 "POST to an unknown path" /nope -X POST -d '{}'
get 200 "HEAD /" / -I
# on loopback, only loopback names are answered (a page elsewhere cannot reach it by DNS rebinding)
get 403 "a request for another host name" /api/model -H 'Host: evil.example:8080'
get 403 "another host name without a port" / -H 'Host: attacker.test'
get 200 "Host: localhost" /api/model -H "Host: localhost:$port"
get 200 "Host: 127.0.0.2" /healthz -H 'Host: 127.0.0.2'

# --- raw connections: a body cut short, garbage instead of HTTP, a slow client ---
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'POST /api/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"drawing":[[[1,2' >&3
exec 3>&-
alive "a connection closed in the middle of a body"
exec 3<>"/dev/tcp/127.0.0.1/$port"
head -c 3000 "$model" >&3
timeout 5 cat <&3 >"$tmp/garbage.resp"
exec 3>&-
# answered with a 4xx, or the connection is closed
[ ! -s "$tmp/garbage.resp" ] || grep -qa "^HTTP/1.[01] 4" "$tmp/garbage.resp" ||
  fail "garbage instead of HTTP: $(head -c 100 "$tmp/garbage.resp")"
alive "garbage instead of HTTP"
stop_server INT

# a slow client is dropped after --timeout; a report is served from RUNDIR when there is one
mkdir -p "$tmp/rundir"
start_server slow --model "$model" --timeout 1 --run "$tmp/rundir"
port=${url##*:}; port=${port%/}
get 404 "/report when RUNDIR has none" /report
json_check "$tmp/resp" 'o.error.includes("report.html")'
get 200 "/api/model with --run" /api/model
json_check "$tmp/resp" 'o.report === false'
printf '<!doctype html><title>run report</title><p>the report</p>\n' >"$tmp/rundir/report.html"
get 200 "/report" /report
grep -q "the report" "$tmp/resp" || fail "/report is not RUNDIR/report.html"
curl -sI "${url}report" | grep -qi "^content-type: text/html" || fail "/report is not text/html"
# the report may run its inline script and styles but load or send nothing
curl -sI "${url}report" | grep -i "^content-security-policy:" | grep -q "default-src 'none'" ||
  fail "/report has no Content-Security-Policy that keeps it from loading or sending anything"
get 200 "/api/model with a report" /api/model
json_check "$tmp/resp" 'o.report === true'
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n' >&3 # never ends its headers
start=$(date +%s)
timeout 10 cat <&3 >/dev/null
took=$(($(date +%s) - start))
exec 3>&-
[ "$took" -le 5 ] || fail "a slow client was kept for $took s with --timeout 1"
alive "a slow client"
stop_server TERM

# at --max-connections, the connection that has waited longest for a request is closed to make room for a new one
start_server limit --model "$model" --max-connections 2 --threads 1
port=${url##*:}; port=${port%/}
exec 4<>"/dev/tcp/127.0.0.1/$port" # idle: no request yet
sleep 0.2
exec 5<>"/dev/tcp/127.0.0.1/$port"
sleep 0.3
[ "$(curl -s -m 1 -o /dev/null -w '%{http_code}' "${url}healthz")" = 200 ] ||
  fail "a new client was not served with --max-connections 2 and two idle connections"
timeout 2 cat <&4 >/dev/null || fail "the oldest idle connection was not closed to make room"
exec 4>&- 5>&-
alive "connections over the limit"
stop_server TERM

# --host: another address; the URL names it
start_server host --model "$model" --host localhost
[[ $url =~ ^http://(127\.0\.0\.1|\[::1\]):[0-9]+/$ ]] || fail "--host localhost: $url"
alive "--host localhost"
stop_server INT
finish
