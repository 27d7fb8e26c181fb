#!/usr/bin/env bash
# doodle tune as a user runs it, on a tiny search (3 trials of 2 epochs on 5 classes of the bundled sample, one
# halving): usage errors; the same seed gives the same trials.csv (all but the timing column); a search killed
# part-way (SIGKILL, its trial with it) and run again ends as the uninterrupted one did; and the printed command
# trains the best trial again bit for bit (cmp of model.safetensors).
name=tune
source "$(dirname "$0")/common.bash"
sample=${DOODLE_SAMPLE_DIR:?}

expect_status 0 "tune --help" "$doodle" tune --help
grep -q "usage: doodle tune" "$tmp/out" || fail "--help prints no usage"
expect_status 0 "tune --print-space" "$doodle" tune --print-space
grep -q "^lr log-uniform" "$tmp/out" || fail "--print-space: $(head -c 300 "$tmp/out")"
expect_status 2 "tune without --trials" "$doodle" tune --data x.dset -o "$tmp/t" --budget 1
expect_status 2 "tune --budget 0" "$doodle" tune --data x.dset -o "$tmp/t" --trials 2 --budget 0
printf 'lr log-uniform 0 1\n' >"$tmp/bad.txt"
expect_status 1 "a log-uniform from 0" "$doodle" tune --data x.dset -o "$tmp/t" --trials 2 --budget 1 --space "$tmp/bad.txt"
grep -q "bad.txt line 1: log-uniform wants LO > 0" "$tmp/err" || fail "bad space: $(cat "$tmp/err")"
printf 'learning-rate uniform 0 1\n' >"$tmp/bad.txt"
expect_status 1 "an unknown option" "$doodle" tune --data x.dset -o "$tmp/t" --trials 2 --budget 1 --space "$tmp/bad.txt"
grep -q "'learning-rate' is not a doodle train option" "$tmp/err" || fail "unknown option: $(cat "$tmp/err")"

"$doodle" prep -q --input "$sample/bitmaps" --per-class 60 --test-frac 0.2 -o "$tmp/d.dset" >/dev/null || fail "prep"
cat >"$tmp/space.txt" <<'SPACE'
# a tiny space: mnist28 is quick
lr log-uniform 1e-3 5e-3
epochs choice 2
label-smoothing uniform 0 0.1
ema choice 0 0.9
model choice mnist28
SPACE
tune() { "$doodle" tune --data "$tmp/d.dset" --trials 3 --budget 10 --space "$tmp/space.txt" --seed 3 --threads 1 "$@"; }
no_time() { sed "s/,[^,]*$//" "$1"; } # every column but the last, seconds

expect_status 0 "a tiny search" tune -o "$tmp/a"
cp "$tmp/out" "$tmp/a.out"
[ "$(grep -c '^trial-' "$tmp/a.out")" -eq 5 ] || fail "3 trials of 1 epoch, then the better 2 on to 2: $(cat "$tmp/a.out")"
[ "$(grep -c ',finished,' "$tmp/a/trials.csv")" -eq 2 ] || fail "2 finished trials: $(cat "$tmp/a/trials.csv")"
[ "$(grep -c ',stopped,1,2,' "$tmp/a/trials.csv")" -eq 1 ] || fail "1 trial stopped after 1 epoch: $(cat "$tmp/a/trials.csv")"
grep -q "<h1>doodle tune" "$tmp/a/summary.html" || fail "no summary page"
grep -q "<svg" "$tmp/a/summary.html" || fail "the summary has no plot"
for t in 0 1 2; do [ -f "$tmp/a/trial-00$t/history.csv" ] || fail "trial-00$t is not a run folder"; done

expect_status 0 "the same search again" tune -o "$tmp/b"
diff <(no_time "$tmp/a/trials.csv") <(no_time "$tmp/b/trials.csv") >/dev/null || fail "same seed, other trials"

# kill it (and its trial) once the first trial's checkpoint is there, then run the same command again
tune -o "$tmp/c" >"$tmp/c.out" 2>&1 &
pid=$!
for _ in $(seq 1 600); do [ -f "$tmp/c/trial-001/checkpoint.safetensors" ] && break; sleep 0.05; done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
[ -f "$tmp/c/trials.csv" ] && fail "the killed search got to its end before the kill"
expect_status 0 "the killed search, again" tune -o "$tmp/c"
grep -q "trial-000: epochs 1..1" "$tmp/out" && fail "trial-000's first epoch was done again: $(cat "$tmp/out")"
diff <(no_time "$tmp/a/trials.csv") <(no_time "$tmp/c/trials.csv") >/dev/null ||
  fail "the resumed search differs: $(diff <(no_time "$tmp/a/trials.csv") <(no_time "$tmp/c/trials.csv"))"
for t in 0 1 2; do
  cmp -s "$tmp/a/trial-00$t/checkpoint.safetensors" "$tmp/c/trial-00$t/checkpoint.safetensors" ||
    fail "trial-00$t: other bits after the kill"
done
expect_status 2 "another search in the same folder" "$doodle" tune --data "$tmp/d.dset" -o "$tmp/c" --trials 2 \
  --budget 10 --space "$tmp/space.txt" --seed 3 --threads 1
grep -q "holds another search" "$tmp/err" || fail "another search: $(cat "$tmp/err")"

# the printed command trains the best trial again, bit for bit
cmd=$(grep -A1 "^the best trial again:" "$tmp/a.out" | tail -n 1)
best=$(sed -n 's/^best: \(trial-[0-9]*\),.*/\1/p' "$tmp/a.out")
[ -n "$best" ] && [[ $cmd == "doodle train "* ]] || fail "no best trial or command: $(cat "$tmp/a.out")"
read -r -a words <<<"${cmd#doodle }"
for i in "${!words[@]}"; do [ "${words[$i]}" = RUNDIR ] && words[$i]=$tmp/again; done
expect_status 0 "the best trial's command" "$doodle" "${words[@]}" --no-report
cmp -s "$tmp/again/model.safetensors" "$tmp/a/$best/model.safetensors" ||
  fail "the printed command gave other bits than $best"
finish
