#!/usr/bin/env bash
# doodle serve under abuse (issue 16): 300 slow clients (slowloris) and bodies trickled forever while /healthz still
# answers within a second, and each slow connection closed after --timeout; more connections than
# --max-connections while a new client is still served; pipelined requests answered one by one on a keep-alive
# connection; HTTP/1.1 without Host (400); other sites' pages (a foreign Origin: 403, no CORS grant, not even to a
# preflight; a text/plain or form POST: 415); and 25 restarts hammered with Host: evil.example from the first moment
# the port listens (never answered: the loopback-only check is on before the daemon starts; without it, one to a few
# dozen answers of 200 in a release build, and a ThreadSanitizer report on the first request in a TSan build).
name=serve_abuse
source "$(dirname "$0")/common.bash"
source "$(dirname "$0")/serve_lib.bash"
need_command curl "scripts/deps.sh installs it"
need_command node
cat >"$tmp/client.js" <<'EOF'
// Raw TCP clients for serve_abuse.sh. Modes (print "FAIL: …" lines and exit 1 when a check fails):
//   slowloris PORT N SECS TIMEOUT  N connections each sending a header line a second, never ending the request;
//                                  /healthz probed each second must answer 200 within 1 s; the server must close
//                                  every slow connection within TIMEOUT + 2 s of its opening
//   flood PORT N LIMIT             N silent connections (N > LIMIT = --max-connections); /healthz must still answer
//                                  within 1 s, and at least N - LIMIT of them are closed to make room
//   trickle PORT KIND TIMEOUT      a POST body (KIND: length or chunked) trickled a few bytes every 300 ms, never
//                                  idle and never complete: closed after TIMEOUT s (not before TIMEOUT - 0.5, not
//                                  after TIMEOUT + 2)
//   raw PORT FILE MS               sends FILE's bytes in one write; prints what comes back within MS ms (or until
//                                  the server closes), then "[closed]" if it closed
//   freeport                       prints a free port of 127.0.0.1 below the ephemeral range (32768 up)
//   race PORT STOPFILE             until STOPFILE exists (or 2 minutes pass), connects again and again sending
//                                  Host: evil.example (while the server restarts); prints the count of each
//                                  status; fails on any answer but 403
const net = require('net'), http = require('http'), fs = require('fs');
const [mode, ...args] = process.argv.slice(2);
const port = Number(args[0]);
let fails = 0;
const fail = msg => { console.log('FAIL: ' + msg); fails++; };
const done = () => process.exit(fails ? 1 : 0);
const probes = [];
function probe() {
  const t = Date.now();
  let over = false;
  const end = status => { if (!over) probes.push({ ms: Date.now() - t, status }); over = true; };
  const req = http.get({ port, host: '127.0.0.1', path: '/healthz', agent: false }, r => {
    r.resume();
    r.on('end', () => end(r.statusCode));
  });
  req.setTimeout(1000, () => { end('no answer'); req.destroy(); });
  req.on('error', e => end(e.code));
}
function checkProbes(want) {
  if (probes.length !== want) fail(`${probes.length} of ${want} /healthz probes came back`);
  for (const p of probes)
    if (p.status !== 200 || p.ms >= 1000) fail(`/healthz under attack: ${p.status} after ${p.ms} ms`);
  console.log('healthz ms: ' + probes.map(p => p.ms).join(' '));
}
function connect(onOpen) {
  const c = { open: null, closed: null };
  c.sock = net.connect(port, '127.0.0.1', () => { c.open = Date.now(); onOpen(c); });
  c.sock.on('data', () => {});
  c.sock.on('error', () => {});
  c.sock.on('close', () => { c.closed = Date.now(); clearInterval(c.tick); });
  return c;
}
if (mode === 'slowloris') {
  const [n, secs, timeout] = args.slice(1).map(Number), conns = [];
  for (let i = 0; i < n; i++)
    conns.push(connect(c => {
      c.sock.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n');
      c.tick = setInterval(() => c.sock.write(`X-Slow-${i}: still coming\r\n`), 1000);
    }));
  for (let k = 1; k < secs; k++) setTimeout(probe, k * 1000 + 500);
  setTimeout(() => {
    checkProbes(secs - 1);
    const opened = conns.filter(c => c.open), closed = opened.filter(c => c.closed);
    const life = closed.map(c => c.closed - c.open);
    console.log(`slow connections: ${opened.length} opened, ${closed.length} closed by the server, longest kept ` +
                `${Math.max(0, ...life)} ms`);
    if (opened.length !== n) fail(`only ${opened.length} of ${n} slow connections opened`);
    if (closed.length !== opened.length) fail(`${opened.length - closed.length} slow connections still open`);
    if (Math.max(0, ...life) > (timeout + 2) * 1000) fail(`a slow connection was kept ${Math.max(...life)} ms`);
    done();
  }, secs * 1000);
} else if (mode === 'flood') {
  const [n, limit] = args.slice(1).map(Number), conns = [];
  for (let i = 0; i < n; i++) conns.push(connect(() => {}));
  setTimeout(probe, 1000);
  setTimeout(probe, 2000);
  setTimeout(probe, 3000);
  setTimeout(() => {
    checkProbes(3);
    const closed = conns.filter(c => c.closed).length;
    console.log(`silent connections: ${n}, closed to make room: ${closed}`);
    if (closed < n - limit) fail(`only ${closed} of ${n} silent connections closed with --max-connections ${limit}`);
    done();
  }, 4500);
} else if (mode === 'trickle') {
  const [kind, timeout] = [args[1], Number(args[2])];
  const c = connect(c => {
    c.sock.write('POST /api/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
                 (kind === 'chunked' ? 'Transfer-Encoding: chunked\r\n\r\n' : 'Content-Length: 100000\r\n\r\n'));
    c.tick = setInterval(() => c.sock.write(kind === 'chunked' ? '2\r\n[[\r\n' : '[['), 300);
  });
  const check = () => {
    const kept = (c.closed || Date.now()) - c.open;
    console.log(`a ${kind} body trickled: closed after ${c.closed ? kept + ' ms' : 'never'}`);
    if (!c.closed || kept > (timeout + 2) * 1000) fail(`a body trickled (${kind}) was kept over ${kept} ms`);
    else if (kept < (timeout - 0.5) * 1000) fail(`a body trickled (${kind}) was closed after only ${kept} ms`);
    done();
  };
  c.sock.on('close', check);
  setTimeout(check, (timeout + 3) * 1000);
} else if (mode === 'raw') {
  const s = net.connect(port, '127.0.0.1', () => s.write(fs.readFileSync(args[1])));
  const out = [];
  s.on('data', d => out.push(d));
  s.on('error', () => {});
  const end = closed => { process.stdout.write(Buffer.concat(out)); if (closed) console.log('\n[closed]'); process.exit(0); };
  s.on('close', () => end(true));
  setTimeout(() => end(false), Number(args[2]));
} else if (mode === 'race') {
  const counts = {}, stop = Date.now() + 120000;
  const once = () => {
    if (fs.existsSync(args[1]) || Date.now() > stop) {
      console.log('answers: ' + JSON.stringify(counts));
      for (const k of Object.keys(counts)) if (k !== '403') fail(`Host: evil.example answered ${k}`);
      if (!counts['403']) fail('no request was answered');
      return done();
    }
    let got = '';
    const s = net.connect(port, '127.0.0.1', () => s.write('GET /api/model HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n'));
    s.on('data', d => { got += d; });
    s.on('error', () => {});
    s.on('close', () => {
      const m = /^HTTP\/1\.[01] (\d+)/.exec(got);
      if (m) counts[m[1]] = (counts[m[1]] || 0) + 1;
      setImmediate(once);
    });
  };
  once();
} else if (mode === 'freeport') {
  const tryOne = () => {
    const p = 20000 + Math.floor(Math.random() * 12000), server = net.createServer();
    server.once('error', tryOne);
    server.listen(p, '127.0.0.1', () => server.close(() => { console.log(p); process.exit(0); }));
  };
  tryOne();
} else {
  console.error('unknown mode ' + mode);
  process.exit(2);
}
EOF
client() { node "$tmp/client.js" "$@"; }
port_of_url() { port=${url##*:}; port=${port%/}; }
alive() {
  [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "${url}healthz")" = 200 ] || { fail "server down after: $1"; finish; }
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status"; }

train_sample_model "$tmp/m"
gzip -dc "$sample/strokes/raw/cat.ndjson.gz" | head -1 >"$tmp/cat.json"

# --- slow clients: a whole request within --timeout, however it trickles ---
start_server slow --model "$model" --timeout 3
port_of_url
curl -s -o /dev/null -H 'Content-Type: application/json' --data-binary @"$tmp/cat.json" "${url}api/predict"
rss_before=$(rss_kb)
client slowloris "$port" 300 7 3 || fail "300 slow clients held the server"
client trickle "$port" length 3 || fail "a body trickled with Content-Length was kept past --timeout"
client trickle "$port" chunked 3 || fail "a chunked body with no end was kept past --timeout"
alive "slow clients"
rss_after=$(rss_kb)
echo "RSS: ${rss_before} kB before the slow clients, ${rss_after} kB after"
# (not under a sanitizer: its allocator keeps freed memory in quarantine)
if ! grep -qa '__asan_init\|__tsan_init' "$doodle"; then
  [ "$rss_after" -le $((rss_before * 11 / 10)) ] || fail "RSS grew from $rss_before kB to $rss_after kB"
fi
stop_server TERM

# --- more connections than --max-connections: the oldest silent ones make room ---
start_server flood --model "$model" --max-connections 20 --timeout 60
port_of_url
client flood "$port" 40 20 || fail "40 silent connections with --max-connections 20 kept a new client out"
alive "40 silent connections"
stop_server TERM

start_server http --model "$model"
port_of_url
origin="http://127.0.0.1:$port"
# req METHOD PATH, post_req PATH: one request's bytes (the cat drawing as the body of a POST)
req() { printf '%s /%s HTTP/1.1\r\nHost: localhost\r\n\r\n' "$1" "$2"; }
post_req() {
  printf 'POST /%s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n' \
    "$1" "$(wc -c <"$tmp/cat.json")"
  cat "$tmp/cat.json"
}
# send_raw NAME: sends $tmp/NAME.in in one write on one connection -> $tmp/NAME.out; $statuses: the answers' codes
send_raw() {
  client raw "$port" "$tmp/$1.in" 1500 >"$tmp/$1.out"
  statuses=$(grep -ao 'HTTP/1\.[01] [0-9][0-9][0-9]' "$tmp/$1.out" | cut -d' ' -f2 | tr '\n' ' ')
}

# --- pipelining: requests sent together on a keep-alive connection are answered one by one ---
{ req GET healthz; req GET healthz; } >"$tmp/two_gets.in"
send_raw two_gets
[ "$statuses" = "200 200 " ] || fail "two pipelined GETs answered: $statuses"
grep -q '\[closed\]' "$tmp/two_gets.out" && fail "two pipelined GETs: the connection was closed"
{ req GET api/model; post_req api/predict; req GET nope; post_req api/explain; req HEAD healthz; } >"$tmp/mixed.in"
send_raw mixed
[ "$statuses" = "200 200 404 200 200 " ] || fail "five pipelined requests answered: $statuses"
grep -q '"saliency_png"' "$tmp/mixed.out" || fail "the pipelined explain was not answered"
{ req DELETE healthz; req GET healthz; } >"$tmp/refused.in"
send_raw refused
[ "$statuses" = "405 200 " ] || fail "a DELETE then a GET pipelined answered: $statuses"

# --- HTTP/1.1 needs a Host ---
printf 'GET /healthz HTTP/1.1\r\n\r\n' >"$tmp/no_host.in"
send_raw no_host
[ "$statuses" = "400 " ] || fail "HTTP/1.1 without Host answered: $statuses"
grep -aq '"status":400' "$tmp/no_host.out" || fail "HTTP/1.1 without Host: no JSON error"
printf 'GET /healthz HTTP/1.0\r\n\r\n' >"$tmp/no_host_10.in"
send_raw no_host_10
[ "$statuses" = "200 " ] || fail "HTTP/1.0 without Host answered: $statuses"

# --- other sites' pages: no computing for them, no CORS grant ---
# send WANT WHAT [curl args…]: POSTs the cat to /api/predict (or $path), checks the status and that no answer
# grants CORS
send() {
  local want=$1 what=$2; shift 2
  local got
  got=$(curl -s -D "$tmp/headers" -o "$tmp/resp" -w '%{http_code}' --data-binary @"$tmp/cat.json" "$@"     "$url${path:-api/predict}")
  [ "$got" = "$want" ] || fail "$what: HTTP $got, expected $want ($(head -c 300 "$tmp/resp"))"
  grep -qi '^access-control-allow' "$tmp/headers" && fail "$what: CORS granted: $(grep -i '^access-control' "$tmp/headers")"
  [ "$want" = 200 ] || grep -q "\"status\":$want" "$tmp/resp" || fail "$what: no JSON error ($(head -c 200 "$tmp/resp"))"
}
send 200 "application/json" -H 'Content-Type: application/json'
send 200 "application/json; charset=utf-8" -H 'Content-Type: application/json; charset=utf-8'
send 200 "Application/JSON;charset="UTF-8"" -H 'Content-Type: Application/JSON;charset="UTF-8"'
send 200 "the page's own Origin" -H 'Content-Type: application/json' -H "Origin: $origin"
send 415 "text/plain" -H 'Content-Type: text/plain'
grep -q 'application/json' "$tmp/resp" || fail "415 does not say what to send: $(cat "$tmp/resp")"
send 415 "a form" -H 'Content-Type: application/x-www-form-urlencoded'
send 415 "multipart" -H 'Content-Type: multipart/form-data; boundary=x'
send 415 "no Content-Type" -H 'Content-Type:'
send 415 "application/json; charset=iso-8859-1" -H 'Content-Type: application/json; charset=iso-8859-1'
send 415 "application/jsonp" -H 'Content-Type: application/jsonp'
path=api/explain send 415 "text/plain to explain" -H 'Content-Type: text/plain'
send 403 "a text/plain POST from another site" -H 'Content-Type: text/plain' -H 'Origin: http://evil.example'
send 403 "a JSON POST from another site" -H 'Content-Type: application/json' -H 'Origin: http://evil.example'
grep -q 'evil.example' "$tmp/resp" || fail "403 for Origin does not name it: $(cat "$tmp/resp")"
send 403 "Origin: null (a sandboxed page, a file)" -H 'Content-Type: application/json' -H 'Origin: null'
send 403 "another port of this machine" -H 'Content-Type: application/json' -H "Origin: http://127.0.0.1:1"
send 403 "https on this port" -H 'Content-Type: application/json' -H "Origin: https://127.0.0.1:$port"
got=$(curl -s -D "$tmp/headers" -o "$tmp/resp" -w '%{http_code}' -H 'Origin: http://evil.example' "${url}api/model")
[ "$got" = 403 ] || fail "GET /api/model from another site: HTTP $got"
got=$(curl -s -D "$tmp/headers" -o "$tmp/resp" -w '%{http_code}' -X OPTIONS -H 'Origin: http://evil.example'   -H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: content-type' "${url}api/predict")
[ "$got" = 403 ] || fail "a preflight from another site: HTTP $got"
grep -qi '^access-control-allow' "$tmp/headers" && fail "a preflight was granted: $(grep -i '^access-control' "$tmp/headers")"
got=$(curl -s -D "$tmp/headers" -o /dev/null -w '%{http_code}' -X OPTIONS "${url}api/predict")
[ "$got" = 405 ] || fail "OPTIONS without Origin: HTTP $got"
grep -qi '^access-control-allow' "$tmp/headers" && fail "OPTIONS was granted CORS"
alive "cross-origin requests"
stop_server TERM

# --- 25 restarts, each hammered with Host: evil.example from the moment its port listens ---
# (on a fixed port below the ephemeral range: on a port from --port 0 the hammer did not reach the window)
port=$(client freeport)
client race "$port" "$tmp/race.stop" >"$tmp/race.out" &
hammer=$!
trap 'touch "$tmp/race.stop"' EXIT # the hammer stops even when a failure ends the test early
for i in $(seq 1 25); do
  start_server "race$i" --model "$model" --port "$port"
  got=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: evil.example' "${url}api/model")
  [ "$got" = 403 ] || fail "restart $i: Host: evil.example answered $got"
  stop_server TERM
done
touch "$tmp/race.stop"
wait "$hammer" || fail "restarts hammered with Host: evil.example: $(cat "$tmp/race.out")"
cat "$tmp/race.out"
# built with a sanitizer, every server must have run without a report (under ThreadSanitizer the first request of
# each restart, from another process, is where the start-up race showed)
for log in "$tmp"/*.err; do
  grep -q "Sanitizer\|runtime error" "$log" && fail "$(basename "$log" .err): $(grep -m1 -A3 "Sanitizer\|runtime error" "$log")"
done
finish
