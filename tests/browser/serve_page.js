// The drawing page of `doodle serve` in headless Chromium, as a person uses it:
//   node serve_page.js URL DOODLE MODEL DRAWING.ndjson OUTDIR
// draws DRAWING (one raw Quick, Draw! drawing) by moving the pointer along its strokes, waits for the guesses,
// checks that the top guesses shown are `doodle predict --json` on the strokes the page sent, saves screenshots,
// asks for an explanation, checks Undo and Clear, then draws again with a finger on a phone-sized screen.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { launch, check, run, place, drawWithMouse, drawWithFinger } = require('./chromium.js');

const [url, doodle, model, drawingFile, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: node serve_page.js URL DOODLE MODEL DRAWING.ndjson OUTDIR');
  process.exit(2);
}
const drawing = JSON.parse(fs.readFileSync(drawingFile, 'utf8').split('\n')[0]).drawing;

// Waits until the page shows the answer to its current strokes.
async function settled(page) {
  await page.waitForFunction(() => document.body.dataset.state === 'idle' && window.doodle.shownBody() !== null,
    null, { timeout: 20000 });
}

// The guesses on the page against doodle predict on the body the page sent.
async function comparePredict(page, name) {
  const sent = await page.evaluate(() => window.doodle.shownBody());
  const now = await page.evaluate(() => JSON.stringify({ drawing: window.doodle.strokes() }));
  check(sent === now, name + ': the guesses shown are for the strokes on the canvas');
  const o = JSON.parse(sent);
  const file = path.join(outDir, name + '.ndjson');
  fs.writeFileSync(file, JSON.stringify({ word: 'drawn', drawing: o.drawing }) + '\n');
  // the drawing's line (labelled input ends with an accuracy object)
  const want = JSON.parse(execFileSync(doodle, ['predict', '-m', model, '--json', '--top', '5', file]).toString()
    .split('\n')[0]).top;
  const shown = await page.$$eval('#guesses li', (lis) => lis.map((li) => ({
    cls: li.dataset.class,
    pct: li.querySelector('.pct').textContent,
    width: parseFloat(li.querySelector('.fill').style.width),
  })));
  console.log(name + ': page ' + shown.map((g) => g.cls + ' ' + g.pct).join(', '));
  console.log(name + ': doodle predict ' + want.map((g) => g.class + ' ' + g.p).join(', '));
  check(shown[0].cls === want[0].class, name + ': top guess shown "' + shown[0].cls + '" is doodle predict\'s "' + want[0].class + '"');
  check(shown.every((g, i) => want[i] && g.cls === want[i].class && Math.abs(g.width - 100 * want[i].p) < 0.06),
    name + ': all five bars match doodle predict (class and length)');
  const strokes = o.drawing.length, points = o.drawing.reduce((n, s) => n + s[0].length, 0);
  check(o.drawing.every((s) => s.length === 3 && s[0].length === s[1].length && s[1].length === s[2].length),
    name + ': strokes sent as [[x…], [y…], [t…]] (' + strokes + ' strokes, ' + points + ' points)');
  check(o.drawing.every((s) => s[2].every((t, i) => i === 0 || t >= s[2][i - 1])), name + ': times never go back');
  return want;
}

async function canvasBlank(page) {
  return page.evaluate(() => {
    const c = document.getElementById('canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return false;
    return true;
  });
}

run(async () => {
  const browser = await launch();
  try {
    // ---- desktop, mouse ----
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById('class-count').textContent !== '…');
    const classCount = Number(await page.textContent('#class-count'));
    const chips = await page.$$eval('#classes span', (s) => s.map((e) => e.textContent));
    check(classCount > 1 && chips.length === classCount, 'the page lists the ' + classCount + ' classes the model knows: ' + chips.join(', '));
    check(await canvasBlank(page), 'the canvas starts blank');
    const box = await page.locator('#canvas').boundingBox();
    await drawWithMouse(page, place(drawing, box, 40));
    await settled(page);
    const want = await comparePredict(page, 'mouse');
    check(chips.includes(want[0].class), 'the top guess is one of the listed classes');
    const seen = await page.getAttribute('#seen', 'src');
    check(seen && seen.startsWith('data:image/png;base64,'), 'the image the model saw is shown');
    check(!(await canvasBlank(page)), 'the drawing is on the canvas');
    await page.click('#explain');
    await page.waitForSelector('#explanation:not([hidden]) .layer img', { timeout: 20000 });
    await page.waitForFunction(() => [...document.querySelectorAll('#explanation img')].every((i) => i.complete && i.naturalWidth > 0));
    const layers = await page.$$eval('.layer h3', (h) => h.map((e) => e.textContent));
    check(layers.length > 0, 'Explain shows activations: ' + layers.join('; '));
    check((await page.textContent('#explain-class')) === want[0].class, 'Explain explains the top guess');
    check((await page.getAttribute('#saliency', 'src')).startsWith('data:image/png'), 'Explain shows the saliency map');
    await page.screenshot({ path: path.join(outDir, 'serve.png'), fullPage: true });

    // Undo takes the last stroke away and the guesses follow
    const before = (await page.evaluate(() => window.doodle.strokes())).length;
    if (before > 1) {
      await page.click('#undo');
      await settled(page);
      check((await page.evaluate(() => window.doodle.strokes())).length === before - 1, 'Undo removes one stroke');
      await comparePredict(page, 'undo');
    }
    // Clear empties the canvas, the guesses and the image
    await page.click('#clear');
    await page.waitForFunction(() => document.body.dataset.state === 'idle');
    check((await page.evaluate(() => window.doodle.strokes())).length === 0, 'Clear forgets the strokes');
    check(await canvasBlank(page), 'Clear blanks the canvas');
    check((await page.$$eval('#guesses li.empty', (l) => l.length)) === 5, 'Clear empties the guesses');
    check((await page.getAttribute('#seen', 'src')) === null, 'Clear removes the image the model saw');
    check(await page.isDisabled('#clear') && await page.isDisabled('#undo'), 'nothing to clear or undo after Clear');
    check(errors.length === 0, 'no errors in the page: ' + errors.join('; '));

    // ---- a phone: 390x844, drawn with a finger ----
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true });
    const pp = await phone.newPage();
    await pp.goto(url);
    await pp.waitForFunction(() => document.getElementById('class-count').textContent !== '…');
    const cbox = await pp.locator('#canvas').boundingBox();
    check(cbox.x >= 0 && cbox.x + cbox.width <= 390 && cbox.width >= 250 && cbox.y + cbox.height <= 844,
      'phone: the canvas fits the screen (' + Math.round(cbox.width) + ' px wide)');
    await drawWithFinger(pp, place(drawing, cbox, 30));
    await settled(pp);
    const kinds = await pp.evaluate(() => window.doodle.strokes().length);
    check(kinds === drawing.length, 'phone: a finger draws strokes (' + kinds + ' of ' + drawing.length + ')');
    await comparePredict(pp, 'phone');
    const gbox = await pp.locator('#guesses li:first-child').boundingBox();
    check(gbox && gbox.y >= 0 && gbox.y + gbox.height <= 844 && gbox.x + gbox.width <= 390,
      'phone: the top guess is on screen without scrolling (at y = ' + Math.round(gbox.y) + ')');
    const lbox = await pp.locator('#guesses li:last-child').boundingBox();
    check(lbox && lbox.y + lbox.height <= 844, 'phone: all five guesses are on screen');
    await pp.screenshot({ path: path.join(outDir, 'serve-phone.png') });
    await phone.close();
  } finally {
    await browser.close();
  }
}, 'all browser checks passed');
