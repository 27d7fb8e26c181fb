// What every page test shares: Debian's Chromium launched headless through playwright-core (no browser download;
// root needs --no-sandbox, and CI runs as root), the ok/FAIL checks and the exit status, and a drawing placed in a
// box of the page and drawn there by mouse or by finger.
'use strict';
const { chromium } = require('playwright-core');

function launch(extraArgs = []) {
  const args = ['--disable-gpu', '--disable-dev-shm-usage', ...extraArgs];
  if (typeof process.getuid === 'function' && process.getuid() === 0) args.push('--no-sandbox');
  return chromium.launch({ executablePath: process.env.DOODLE_CHROMIUM || '/usr/bin/chromium', headless: true, args });
}

let failures = 0;
function check(ok, what) {
  if (!ok) {
    failures++;
    console.error('FAIL: ' + what);
  } else console.log('ok: ' + what);
}

// Runs the test's body, then exits 1 if a check failed or the body threw; says `passed` otherwise.
function run(body, passed) {
  body().then(() => {
    if (failures) {
      console.error(failures + ' check(s) failed');
      process.exit(1);
    }
    console.log(passed);
  }).catch((e) => {
    console.error(e.stack || String(e));
    process.exit(1);
  });
}

// A drawing's points ([[xs, ys], ...]) mapped into a box of the page (x, y, width, height), keeping the aspect
// ratio, centred, `margin` pixels from the box's edges.
function place(drawing, box, margin) {
  const xs = drawing.flatMap((s) => s[0]), ys = drawing.flatMap((s) => s[1]);
  const minX = Math.min(...xs), minY = Math.min(...ys);
  const w = Math.max(...xs) - minX, h = Math.max(...ys) - minY;
  const scale = (Math.min(box.width, box.height) - 2 * margin) / Math.max(w, h, 1);
  const dx = (box.width - 2 * margin - w * scale) / 2, dy = (box.height - 2 * margin - h * scale) / 2;
  return drawing.map((s) => s[0].map((x, i) => ({
    x: box.x + margin + dx + (x - minX) * scale,
    y: box.y + margin + dy + (s[1][i] - minY) * scale,
  })));
}

async function drawWithMouse(page, strokes) {
  for (const pts of strokes) {
    await page.mouse.move(pts[0].x, pts[0].y);
    await page.mouse.down();
    for (const p of pts.slice(1)) await page.mouse.move(p.x, p.y);
    await page.mouse.up();
  }
}

async function drawWithFinger(page, strokes) {
  const cdp = await page.context().newCDPSession(page);
  for (const pts of strokes) {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: pts[0].x, y: pts[0].y }] });
    for (const p of pts.slice(1)) {
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x: p.x, y: p.y }] });
    }
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  }
}

module.exports = { launch, check, run, place, drawWithMouse, drawWithFinger };
