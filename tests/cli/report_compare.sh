#!/usr/bin/env bash
# doodle report RUN_A RUN_B …: two small runs on the bundled sample (mnist28 for one epoch, doodle28 for two with
# another learning rate and seed) compared on one self-contained page. The settings that differ are listed and
# highlighted; accuracy per class, the test counts and the right-in-one-wrong-in-the-other counts agree with
# `doodle eval --json` and misclassified.csv of each model; runs with different classes are refused naming both;
# --data chooses the test split and the page says so. With chromium installed, a screenshot goes to
# $tmp/compare.png.
name=report_compare
source "$(dirname "$0")/common.bash"
sample=${DOODLE_SAMPLE_DIR:-$(dirname "$0")/../../data/sample}
doodle=$(cd "$(dirname "$doodle")" && pwd)/$(basename "$doodle") # the default output is written from $tmp

# 300 drawings a class keep the runs short (under a sanitizer too)
"$doodle" prep --input "$sample/bitmaps" --per-class 300 --test-frac 0.2 --seed 1 -o "$tmp/bm.dset" >/dev/null ||
  fail "prep"
expect_status 0 "train A" "$doodle" train --data "$tmp/bm.dset" --model mnist28 --epochs 1 --no-report -o "$tmp/a"
expect_status 0 "train B" "$doodle" train --data "$tmp/bm.dset" --model doodle28 --epochs 2 --lr 0.001 --seed 7 \
  --no-report -o "$tmp/b"

# one run's report has the settings table
expect_status 0 "report of one run" "$doodle" report "$tmp/b" -o "$tmp/b.html" -q
grep -q '<section id="settings">' "$tmp/b.html" || fail "the one-run report has no settings section"
for row in '<tr><th>model</th><td>doodle28, ' '<tr><th>learning rate</th><td>0.001</td>' '<tr><th>seed</th><td>7</td>' \
  '<tr><th>epochs</th><td>2 run' '<tr><th>batch</th><td>64</td>' '<tr><th>data set hash</th><td>FNV-1a 64 '; do
  grep -qF "$row" "$tmp/b.html" || fail "the one-run settings lack: $row"
done

# the comparison, with the default output ./compare.html
(cd "$tmp" && "$doodle" report a b -q >out 2>err)
[ $? -eq 0 ] && grep -q '^wrote compare.html$' "$tmp/out" || fail "compare: $(cat "$tmp/out" "$tmp/err" | head -5)"
html=$tmp/compare.html
[ -s "$html" ] || { fail "no compare.html"; finish; }
expect_status 0 "compare -o" "$doodle" report "$tmp/a" "$tmp/b" -o "$tmp/ab.html"
grep -q "^wrote $tmp/ab.html$" "$tmp/out" && grep -q "^report: evaluating" "$tmp/err" ||
  fail "compare -o output: $(cat "$tmp/out" "$tmp/err" | head -5)"
html=$tmp/ab.html

# self-contained: every picture inline, one inline script, nothing fetched
imgs=$(grep -o '<img ' "$html" | wc -l)
inline=$(grep -o '<img alt="[^"]*" src="data:image/png;base64,' "$html" | wc -l)
[ "$imgs" -ge 1 ] && [ "$imgs" -eq "$inline" ] || fail "$imgs images, $inline inline"
[ "$(grep -o '<script' "$html" | wc -l)" -eq 1 ] && grep -q '<script>document' "$html" || fail "want one inline script"
grep -Eqi '(src|href)="(https?:|//|file:)' "$html" && fail "the page refers to something outside it"
for id in settings curves test classes pairs drawings; do
  grep -q "<section id=\"$id\">" "$html" || fail "no section $id"
done
# curves overlaid: train and validation loss and accuracy of both runs, and both learning rates
[ "$(grep -o '<polyline' "$html" | wc -l)" -eq 10 ] || fail "want 10 curves, got $(grep -o '<polyline' "$html" | wc -l)"

# the settings that differ, highlighted, and one that is shared
node -e '
  const s = require("fs").readFileSync(process.argv[1], "utf8");
  const differ = (s.split("<table class=\"settings differ\">")[1] || "").split("</table>")[0];
  const shared = (s.split("<table class=\"settings shared\">")[1] || "").split("</table>")[0];
  const rows = (t) => (t.match(/<tr[^>]*><th>[^<]*<\/th>/g) || []).map((r) => r.replace(/<tr[^>]*><th>|<\/th>/g, ""));
  const want = ["model", "learning rate", "epochs", "seed"];
  const d = rows(differ).filter((r) => r !== "setting"), h = rows(shared);
  for (const w of want) if (!d.includes(w)) throw new Error(`"${w}" is not among the differing settings: ${d}`);
  if ((differ.match(/<tr class="diff">/g) || []).length !== d.length) throw new Error("differing rows not highlighted");
  for (const w of ["batch", "data set", "data set hash", "augmentation"])
    if (!h.includes(w)) throw new Error(`"${w}" is not among the shared settings: ${h}`);
  if (!/<tr class="diff"><th>learning rate<\/th><td>0.002<\/td><td>0.001<\/td>/.test(differ))
    throw new Error("the learning rates are not 0.002 and 0.001");
' "$html" 2>"$tmp/node.err" || fail "settings: $(head -3 "$tmp/node.err")"

# the numbers: doodle eval of each model on the same test split
for r in a b; do
  "$doodle" eval -m "$tmp/$r/model.safetensors" -d "$tmp/bm.dset" --json -o "$tmp/ev-$r" >"$tmp/$r.json" ||
    fail "eval $r"
done
node -e '
  const fs = require("fs");
  const [page, ja, jb, ma, mb] = process.argv.slice(1);
  const s = fs.readFileSync(page, "utf8");
  const ev = [JSON.parse(fs.readFileSync(ja)), JSON.parse(fs.readFileSync(jb))];
  const problems = [];
  // the test table: "correct of total"
  ["A", "B"].forEach((run, i) => {
    const row = (s.split(`<tr data-run="${run}">`)[1] || "").split("</tr>")[0];
    if (!row.includes(`<td>${ev[i].correct} of ${ev[i].records}</td>`))
      problems.push(`test table ${run}: not ${ev[i].correct} of ${ev[i].records}`);
    if (!row.includes(`<b>${(100 * ev[i].accuracy).toFixed(2)}%</b>`)) problems.push(`test accuracy ${run}`);
  });
  // per class: support, correct and accuracy of both, the change, sorted by the largest change
  const table = (s.split("<table class=\"sortable cmp perclass\">")[1] || "").split("</table>")[0];
  const body = (table.split("<tbody>")[1] || "").split("</tbody>")[0];
  const rows = body.split("</tr>").filter((r) => r.includes("<td>")).map((r) => {
    const cells = [...r.matchAll(/<td([^>]*)>([^<]*)<\/td>/g)];
    return { name: cells[0][2], support: +cells[1][2], correct: [cells[2], cells[3]].map((c) => +c[1].match(/\d+/)[0]),
      acc: [cells[2][2], cells[3][2]], change: parseFloat(cells[4][2]) };
  });
  if (rows.length !== ev[0].classes.length) problems.push(`${rows.length} per-class rows, want ${ev[0].classes.length}`);
  let last = Infinity;
  for (const row of rows) {
    ev.forEach((e, i) => {
      const c = e.classes.indexOf(row.name), pc = e.per_class[c];
      if (row.correct[i] !== e.confusion[c][c]) problems.push(`${row.name}: run ${i} correct ${row.correct[i]}, eval ${e.confusion[c][c]}`);
      if (row.support !== pc.support) problems.push(`${row.name}: support ${row.support}, eval ${pc.support}`);
      if (row.acc[i] !== `${(100 * pc.recall).toFixed(1)}%`) problems.push(`${row.name}: accuracy ${row.acc[i]}, eval recall ${pc.recall}`);
    });
    const c0 = ev[0].classes.indexOf(row.name), c1 = ev[1].classes.indexOf(row.name);
    const want = 100 * (ev[1].per_class[c1].recall - ev[0].per_class[c0].recall);
    if (Math.abs(row.change - want) > 0.051) problems.push(`${row.name}: change ${row.change}, want ${want}`);
    if (Math.abs(row.change) > last + 1e-9) problems.push(`${row.name}: not sorted by the largest change`);
    last = Math.abs(row.change);
  }
  // right in one, wrong in the other: from the two misclassified.csv files
  const wrong = (f) => new Set(fs.readFileSync(f, "utf8").trim().split("\n").slice(1).map((l) => l.split(",")[0]));
  const wa = wrong(ma), wb = wrong(mb);
  const aOnly = [...wb].filter((i) => !wa.has(i)).length, bOnly = [...wa].filter((i) => !wb.has(i)).length;
  const both = [...wa].filter((i) => wb.has(i)).length;
  const agree = (s.split("<table class=\"cmp agree\" data-a=\"A\" data-b=\"B\">")[1] || "").split("</table>")[0];
  const n = (k) => Number((agree.match(new RegExp(`data-n="${k}">(\\d+)<`)) || [])[1]);
  const got = { right: n("both-right"), a: n("a-only"), b: n("b-only"), wrong: n("both-wrong"), total: n("total") };
  if (got.a !== aOnly || got.b !== bOnly || got.wrong !== both)
    problems.push(`agreement ${JSON.stringify(got)}; from misclassified.csv: A only ${aOnly}, B only ${bOnly}, both wrong ${both}`);
  if (got.a + got.right !== ev[0].correct) problems.push(`A right & B wrong + both right = ${got.a + got.right}, A correct ${ev[0].correct}`);
  if (got.b + got.right !== ev[1].correct) problems.push(`B right & A wrong + both right = ${got.b + got.right}, B correct ${ev[1].correct}`);
  if (got.right + got.a + got.b + got.wrong !== ev[0].records) problems.push(`the counts do not add up to ${ev[0].records}`);
  // the pictures: one each way when there are such drawings, at most 40 shown, the right total in the title
  for (const [x, y, count] of [["A", "B", aOnly], ["B", "A", bOnly]]) {
    const m = s.match(new RegExp(`alt="Right in ${x}, wrong in ${y}: (\\d+) test drawings \\((\\d+) shown\\)`));
    if (count === 0) { if (m) problems.push(`a picture of no drawings (${x} over ${y})`); continue; }
    if (!m) { problems.push(`no picture right in ${x}, wrong in ${y}`); continue; }
    if (+m[1] !== count || +m[2] > 40 || +m[2] < Math.min(count, 8)) problems.push(`picture ${x} over ${y}: ${m[1]} (${m[2]} shown), want ${count}`);
  }
  if (problems.length) { console.error(problems.join("\n")); process.exit(1); }
  console.log(`agreement ${JSON.stringify(got)}`);
' "$html" "$tmp/a.json" "$tmp/b.json" "$tmp/ev-a/misclassified.csv" "$tmp/ev-b/misclassified.csv" \
  >"$tmp/node.out" 2>"$tmp/node.err" || fail "the numbers: $(head -8 "$tmp/node.err")"
cat "$tmp/node.out"

# three runs: every other run compared with the first
expect_status 0 "compare three runs" "$doodle" report "$tmp/a" "$tmp/b" "$tmp/a" -o "$tmp/aba.html" -q
[ "$(grep -o '<table class="cmp agree"' "$tmp/aba.html" | wc -l)" -eq 2 ] || fail "three runs: want 2 agreement tables"
grep -q 'From A to C, 0 classes got better, 0 worse' "$tmp/aba.html" || fail "three runs: A against itself changed"

# --data: another data set with the same classes, said on the page
"$doodle" prep --input "$sample/bitmaps" --per-class 200 --test-frac 0.3 --seed 5 -o "$tmp/other.dset" >/dev/null ||
  fail "prep other"
expect_status 0 "compare on --data" "$doodle" report "$tmp/a" "$tmp/b" --data "$tmp/other.dset" -o "$tmp/other.html" -q
grep -q "evaluated on the test split of <code>$tmp/other.dset</code> (given by --data; trained on another data set with the same classes: A, B)" \
  "$tmp/other.html" || fail "--data not said: $(grep -o 'evaluated on[^.]*' "$tmp/other.html" | head -c 300)"
grep -q '<td>[0-9]* of 300</td>' "$tmp/other.html" || fail "--data: not 300 test drawings"

# refusals: other classes (exit 1, naming both runs), usage errors (exit 2), nothing left behind
"$doodle" prep --input "$sample/bitmaps" --classes cat,fish --per-class 100 --test-frac 0.2 -o "$tmp/two.dset" \
  >/dev/null || fail "prep two"
expect_status 0 "train on two classes" "$doodle" train --data "$tmp/two.dset" --model mnist28 --epochs 1 --no-report \
  -o "$tmp/two"
expect_status 1 "compare runs with other classes" "$doodle" report "$tmp/a" "$tmp/two" -o "$tmp/bad.html"
grep -q "$tmp/a (5 classes) and $tmp/two (2 classes) were trained on different class lists" "$tmp/err" ||
  fail "class mismatch unclear: $(cat "$tmp/err")"
grep -q "only in $tmp/a: airplane, apple, star" "$tmp/err" || fail "the classes only in A are not named: $(cat "$tmp/err")"
[ ! -e "$tmp/bad.html" ] || fail "a refused comparison left a file"
expect_status 1 "compare with a missing run" "$doodle" report "$tmp/a" "$tmp/nope" -o "$tmp/bad.html"
grep -q "nope" "$tmp/err" || fail "missing run not named: $(cat "$tmp/err")"
expect_status 2 "compare with --per-class" "$doodle" report "$tmp/a" "$tmp/b" --per-class 2 -o "$tmp/bad.html"
expect_status 2 "compare 9 runs" "$doodle" report "$tmp/a" "$tmp/b" "$tmp/a" "$tmp/b" "$tmp/a" "$tmp/b" "$tmp/a" \
  "$tmp/b" "$tmp/a" -o "$tmp/bad.html"
grep -q "at most 8" "$tmp/err" || fail "9 runs: $(cat "$tmp/err")"
[ ! -e "$tmp/bad.html" ] || fail "a refused comparison left a file"
ls "$tmp" | grep -q '\.tmp\.' && fail "temporary files left"

# a look in headless Chromium, when there is one
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$chromium" ]; then
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$tmp/chrome" \
    --window-size=1200,3000 --screenshot="$tmp/compare.png" "file://$html" >/dev/null 2>&1
  [ -s "$tmp/compare.png" ] && echo "screenshot: $tmp/compare.png" || fail "chromium made no screenshot"
fi

# 345 classes: every real stroke drawing of ../shared, a tiny network, one epoch against three with another seed
data=${DOODLE_SHARED_DATA:-}
if [ -z "$data" ] || [ ! -d "$data/strokes_raw" ]; then
  echo "the 345-class case is skipped: no Quick, Draw! test data (DOODLE_SHARED_DATA=${data:-unset})"
  finish
fi
"$doodle" prep --input "$data/strokes_raw" --input "$data/strokes_simplified" --test-frac 0.2 --seed 1 \
  -o "$tmp/all.dset" >/dev/null || fail "prep 345"
printf '[net]\ninput = 28x28x1\nclasses = 345\n[conv2d]\nfilters = 8\nkernel = 3\nactivation = relu\n[maxpool]\n'\
'size = 2\n[flatten]\n[dense]\nunits = classes\n' >"$tmp/tiny.cfg"
expect_status 0 "train 345 A" "$doodle" train --data "$tmp/all.dset" --model "$tmp/tiny.cfg" --epochs 1 --no-report \
  -o "$tmp/a345"
expect_status 0 "train 345 B" "$doodle" train --data "$tmp/all.dset" --model "$tmp/tiny.cfg" --epochs 3 --seed 3 \
  --no-report -o "$tmp/b345"
expect_status 0 "compare 345 classes" "$doodle" report "$tmp/a345" "$tmp/b345" -o "$tmp/345.html" -q
size=$(stat -c %s "$tmp/345.html")
[ "$size" -le 1000000 ] || fail "the 345-class comparison is $size bytes, over 1 MB"
echo "345 classes: a comparison of $size bytes"
# the 30 largest changes shown, every class collapsed, 30 pairs, pictures of at most 12 classes
node -e '
  const s = require("fs").readFileSync(process.argv[1], "utf8");
  const tables = s.split("<table class=\"sortable cmp perclass\">").slice(1).map((t) => t.split("</table>")[0]);
  const rows = (t) => (t.split("<tbody>")[1].match(/<tr>/g) || []).length;
  const problems = [];
  if (tables.length !== 2 || rows(tables[0]) !== 30 || rows(tables[1]) !== 345)
    problems.push(`per-class tables: ${tables.map(rows)}, want 30 and 345`);
  if (!/<details><summary>All 345 classes, the largest change first<\/summary>\n<table class="sortable cmp perclass">/.test(s))
    problems.push("the whole per-class table is not collapsed");
  const pairs = s.split("<table class=\"sortable cmp pairs\">")[1] || "";
  if ((pairs.split("</table>")[0].match(/<tr>/g) || []).length !== 31) problems.push("want 30 pairs");
  for (const m of s.matchAll(/alt="Right in [AB], wrong in [AB]: \d+ test drawings \((\d+) shown\) of \d+ classes \((\d+) shown\)/g))
    if (+m[1] > 40 || +m[2] > 12) problems.push(`a picture of ${m[1]} drawings of ${m[2]} classes`);
  if (problems.length) { console.error(problems.join("\n")); process.exit(1); }
' "$tmp/345.html" 2>"$tmp/node345.err" || fail "345 classes: $(head -5 "$tmp/node345.err")"
finish
