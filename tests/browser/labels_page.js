// The Mistakes view of `doodle serve --run RUNDIR` in headless Chromium, as a person uses it:
//   node labels_page.js URL RUNDIR OUTDIR
// opens /mistakes, checks that every misclassified drawing of the clustering is shown, types a name for a cluster
// and marks a drawing mislabelled with the mouse, saves, checks RUNDIR/labels.json, reloads and sees the name and
// the mark; then on a phone-sized touch screen taps a second drawing, renames the cluster and saves again.
// Screenshots: OUTDIR/mistakes.png, OUTDIR/mistakes-phone.png.
'use strict';
const fs = require('fs');
const path = require('path');
const { launch, check, run } = require('./chromium.js');

const [url, runDir, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: node labels_page.js URL RUNDIR OUTDIR');
  process.exit(2);
}

// labels.csv of the clustering: the drawings the view must show, with their K-Means cluster
function clustering() {
  const lines = fs.readFileSync(path.join(runDir, 'explain/clusters/labels.csv'), 'utf8').trim().split('\n');
  const head = lines[0].split(',');
  const col = (n) => head.indexOf(n);
  return lines.slice(1).map((l) => {
    const f = l.split(',');
    return { key_id: f[col('key_id')], true: f[col('true')], kmeans: Number(f[col('kmeans')]) };
  });
}

function labelsFile() {
  return JSON.parse(fs.readFileSync(path.join(runDir, 'labels.json'), 'utf8'));
}

async function loaded(page) {
  await page.waitForFunction(() => ['saved', 'changed'].includes(document.body.dataset.state), null, { timeout: 20000 });
}

run(async () => {
  const want = clustering();
  const browser = await launch();
  const errors = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(url + 'mistakes');
    await loaded(page);
    const cards = await page.locator('section.cluster').count();
    const k = Math.max(...want.map((d) => d.kmeans)) + 1;
    check(cards === k, `K-Means shows ${cards} clusters, labels.csv has ${k}`);
    const shown = await page.locator('button.drawing').count();
    check(shown === want.length, `${shown} drawings shown, labels.csv lists ${want.length}`);
    const sizes = await page.locator('section.cluster h2 .size').allTextContents();
    const inFirst = want.filter((d) => d.kmeans === 0).length;
    check(sizes[0] === `${inFirst} drawings` || sizes[0] === `${inFirst} drawing`, `cluster 0 says "${sizes[0]}", has ${inFirst}`);
    check(await page.locator('#save').isDisabled(), 'Save is disabled while nothing changed');

    // a name, and the third drawing of cluster 0 marked, by mouse
    const name = 'planes drawn as a single line ✈';
    await page.locator('section.cluster[data-cluster="0"] input[type="text"]').fill(name);
    const tile = page.locator('section.cluster[data-cluster="0"] button.drawing').nth(2);
    const marked = Number(await tile.getAttribute('data-drawing'));
    await tile.click();
    check(await tile.getAttribute('aria-pressed') === 'true', 'a click marks the drawing');
    check(!(await page.locator('#save').isDisabled()), 'Save is enabled after a change');
    await page.screenshot({ path: path.join(outDir, 'mistakes.png'), fullPage: false });
    await page.locator('#save').click();
    await page.waitForFunction(() => /^Saved/.test(document.getElementById('save-status').textContent), null, { timeout: 20000 });

    const labels = labelsFile();
    const c0 = labels.clusters.filter((c) => c.method === 'kmeans' && c.cluster === 0);
    check(c0.length === 1 && c0[0].name === name, `labels.json names K-Means cluster 0: ${JSON.stringify(c0.map((c) => c.name))}`);
    check(c0.length === 1 && c0[0].members.length === inFirst, `with its ${inFirst} drawings as members`);
    const members = new Set(want.filter((d) => d.kmeans === 0).map((d) => d.true + '/' + d.key_id));
    check(c0.length === 1 && c0[0].members.every((m) => members.has(m.true + '/' + m.key_id)), 'the members are cluster 0 of labels.csv');
    const m = want[marked];
    check(labels.mislabelled.length === 1 && labels.mislabelled[0].key_id === m.key_id && labels.mislabelled[0].true === m.true,
      `labels.json marks ${m.true} ${m.key_id} mislabelled: ${JSON.stringify(labels.mislabelled)}`);

    // reload: the name and the mark come back from the file
    await page.reload();
    await loaded(page);
    check(await page.locator('section.cluster[data-cluster="0"] input[type="text"]').inputValue() === name, 'the name is there after a reload');
    check(await page.locator(`button.drawing[data-drawing="${marked}"]`).first().getAttribute('aria-pressed') === 'true',
      'the mark is there after a reload');
    check(await page.locator('#save').isDisabled(), 'nothing to save after a reload');

    // a phone with a finger: tap another drawing, rename the cluster, save
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const pp = await phone.newPage();
    pp.on('pageerror', (e) => errors.push(e.message));
    pp.on('console', (x) => { if (x.type() === 'error') errors.push(x.text()); });
    await pp.goto(url + 'mistakes');
    await loaded(pp);
    const other = pp.locator('section.cluster[data-cluster="0"] button.drawing').nth(0);
    const second = Number(await other.getAttribute('data-drawing'));
    await other.tap();
    check(await other.getAttribute('aria-pressed') === 'true', 'a tap marks a drawing');
    await pp.locator('section.cluster[data-cluster="0"] input[type="text"]').fill('single lines');
    await pp.screenshot({ path: path.join(outDir, 'mistakes-phone.png') });
    await pp.locator('#save').tap();
    await pp.waitForFunction(() => /^Saved/.test(document.getElementById('save-status').textContent), null, { timeout: 20000 });
    const again = labelsFile();
    const names = again.clusters.filter((c) => c.method === 'kmeans').map((c) => c.name);
    check(names.length === 1 && names[0] === 'single lines', `the rename replaced the name: ${JSON.stringify(names)}`);
    const keys = again.mislabelled.map((x) => x.true + '/' + x.key_id).sort();
    const wantKeys = [want[marked], want[second]].map((d) => d.true + '/' + d.key_id).sort();
    check(JSON.stringify(keys) === JSON.stringify(wantKeys), `both drawings marked: ${JSON.stringify(keys)}`);
    check(errors.length === 0, 'no console errors: ' + errors.join(' | '));
  } finally {
    await browser.close();
  }
}, 'all browser checks passed');
