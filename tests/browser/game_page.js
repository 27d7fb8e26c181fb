// The drawing page's game ("Play: 6 rounds") in headless Chromium, as a person plays it:
//   node game_page.js URL DOODLE MODEL STROKES_DIR OUTDIR [URL_345]
// URL serves MODEL (trained on the bundled sample); STROKES_DIR holds <class>.ndjson.gz raw drawings of its classes.
// For each class the drawing `doodle predict` is surest of is drawn, by moving the pointer along its strokes, when
// the page asks for that class. A game on a desktop with the mouse (one round left empty until the time is up) and
// one on a 390x844 phone with a finger (one round skipped, after a line; on the desktop the line is drawn with a pen), rounds of 5 s (?round=5): every round must end with
// "Oh, I know" (the model sure of the class asked) or with the time up / the skip, and the summary must list the
// six rounds with the class asked, the verdict, the best guess, the time and the image the model saw.
// URL_345, a model of 345 classes: the list of classes is a count, collapsed, with a filter that works.
// Screenshots in OUTDIR: game-round.png, game-card.png, game-summary.png, game-phone-round.png, game-phone-card.png,
// game-phone-summary.png,
// classes-345.png, classes-345-phone.png.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { execFileSync } = require('child_process');
const { launch, check, run, place } = require('./chromium.js');

const [url, doodle, model, strokesDir, outDir, url345] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: node game_page.js URL DOODLE MODEL STROKES_DIR OUTDIR [URL_345]');
  process.exit(2);
}
const ROUND_S = 5; // long enough that a loaded machine still draws a whole doodle and the skip inside a round

// class -> the raw drawing of that class that doodle predict is surest of
function pickDrawings(classes, dir) {
  const out = {};
  for (const c of classes) {
    const file = path.join(dir, c + '.ndjson.gz');
    if (!fs.existsSync(file)) continue;
    const lines = zlib.gunzipSync(fs.readFileSync(file)).toString().split('\n').filter((l) => l.trim());
    const preds = execFileSync(doodle, ['predict', '-m', model, '--json', '--top', '5', file]).toString()
      .split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)).filter((p) => p.top); // not the accuracy object
    let best = 0, bestP = -1;
    preds.forEach((p, i) => {
      const mine = p.top.find((t) => t.class === c);
      if (mine && mine.p > bestP && p.top[0].class === c) { best = i; bestP = mine.p; }
    });
    out[c] = { drawing: JSON.parse(lines[best]).drawing, p: bestP, top: preds[best].top };
  }
  return out;
}

const mouse = {
  async stroke(page, pts) {
    await page.mouse.move(pts[0].x, pts[0].y);
    await page.mouse.down();
    for (const p of pts.slice(1)) await page.mouse.move(p.x, p.y);
    await page.mouse.up();
  },
};
const finger = {
  async stroke(page, pts) {
    if (!page._cdp) page._cdp = await page.context().newCDPSession(page);
    const cdp = page._cdp;
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: pts[0].x, y: pts[0].y }] });
    for (const p of pts.slice(1)) await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x: p.x, y: p.y }] });
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  },
};

// a pen (stylus): pointer events with pointerType "pen", through the DevTools protocol
const pen = {
  async stroke(page, pts) {
    if (!page._cdp) page._cdp = await page.context().newCDPSession(page);
    const ev = (type, p, extra) => page._cdp.send('Input.dispatchMouseEvent',
      Object.assign({ type, x: p.x, y: p.y, pointerType: 'pen', button: 'left', buttons: 1, clickCount: 1, force: 0.5 }, extra));
    await ev('mousePressed', pts[0]);
    for (const p of pts.slice(1)) await ev('mouseMoved', p);
    await ev('mouseReleased', pts[pts.length - 1], { buttons: 0 });
  },
};

const game = (page) => page.evaluate(() => window.doodle.game());

function inView(box, vp) {
  return box && box.x >= 0 && box.y >= 0 && box.x + box.width <= vp.width + 0.5 && box.y + box.height <= vp.height + 0.5;
}

// Plays the six rounds. `empty`: the round left undrawn (time runs out); `skip`: the round skipped after a stroke.
async function play(page, name, device, drawings, opts) {
  const vp = page.viewportSize();
  const t0 = Date.now();
  let shot = false, cardShot = false;
  const scroll0 = await page.evaluate(() => window.scrollY);
  await page.evaluate(() => {
    window.__pointerTypes = new Set();
    document.getElementById('canvas').addEventListener('pointerdown', (e) => window.__pointerTypes.add(e.pointerType));
  });
  await page.waitForFunction(() => window.doodle.game().phase === 'intro', null, { timeout: 10000 });
  let g = await game(page);
  check(g.mode === 'play' && g.rounds === 6 && g.roundSeconds === ROUND_S && g.targets.length === 6,
    name + ': the game opens with six rounds of ' + g.roundSeconds + ' s: ' + g.targets.join(', '));
  check(await page.getAttribute('#mode-play', 'aria-pressed') === 'true', name + ': the Play button is pressed');
  check(g.targets.every((t) => drawings[t]), name + ': every class asked is one the model knows');
  check((await page.textContent('#countdown')) === '0:' + String(ROUND_S).padStart(2, '0'), name + ': the countdown shows the round\'s time before it starts');
  for (let i = 0; i < 6; i++) {
    g = await game(page);
    const target = g.target;
    const card = await page.textContent('#card-text');
    check(card.includes('draw ') && card.includes(target) && g.round === i,
      name + ' round ' + (i + 1) + ': the card asks for "' + target + '": ' + JSON.stringify(card));
    check((await page.textContent('#target')) === target, name + ' round ' + (i + 1) + ': the bar names the class');
    if (i === 0) {
      check(await page.evaluate(() => document.activeElement && document.activeElement.id === 'go'),
        name + ': the Start button has the keyboard focus');
      await page.keyboard.press('Enter'); // the keyboard starts the first round
    } else {
      // the button comes alive half a second after a round (waiting here: Playwright's retries would scroll)
      await page.waitForFunction(() => !document.getElementById('go').disabled);
      await page.click('#go');
    }
    await page.waitForFunction(() => window.doodle.game().phase === 'drawing', null, { timeout: 5000 });
    const box = await page.locator('#canvas').boundingBox();
    const strokes = place(drawings[target].drawing, box, device === finger ? 25 : 40);
    // during a round: the class asked, the countdown, the guesses (once, at the first chance)
    const shoot = async () => {
      if (shot || (await game(page)).phase !== 'drawing') return;
      shot = true;
      const cd = await page.locator('#countdown').boundingBox();
      const tg = await page.locator('#target').boundingBox();
      const now = await page.locator('#canvas').boundingBox();
      check(inView(cd, vp) && inView(tg, vp) && inView(now, vp) && Math.abs(now.y - box.y) < 1,
        name + ': the class asked, the countdown and the canvas are on screen during a round (' +
        JSON.stringify([cd, tg, now].map((b) => b && [b.x, b.y, b.width, b.height].map(Math.round))) + ')');
      const left = await page.textContent('#countdown');
      check(/^0:0\d$/.test(left) && +left.slice(2) <= ROUND_S, name + ': the countdown runs (' + left + ')');
      await page.screenshot({ path: path.join(outDir, opts.shotFile) });
    };
    const guessed = () => page.waitForFunction(() => window.doodle.shownBody() !== null || window.doodle.game().phase !== 'drawing',
      null, { timeout: 5000 });
    if (i === opts.empty) {
      // nothing drawn: the time runs out
    } else if (i === opts.skip) {
      // a short line, then Skip
      const y = box.y + box.height * 0.8;
      const by = device === mouse ? pen : device; // on the desktop, with a pen
      await by.stroke(page, [{ x: box.x + 30, y }, { x: box.x + 50, y: y - 4 }, { x: box.x + 70, y }]);
      await guessed();
      if (by === pen) {
        const sent = await page.evaluate(() => window.doodle.strokes());
        check(sent.length === 1 && sent[0][0].length >= 3, name + ': a pen draws a stroke (' + (sent[0] ? sent[0][0].length : 0) + ' points)');
      }
      await shoot();
      if ((await game(page)).phase === 'drawing') await page.click('#skip');
    } else if (i === opts.shot && !shot) {
      // first a drawing of another class, with the guesses and the screenshot; then Clear, and the class asked
      // the other class whose (simplified: few points, quick to draw) drawing doodle predict finds least like
      // the class asked
      const pOf = (c) => (drawings[c].quick.top.find((t) => t.class === target) || { p: 0 }).p;
      const other = Object.keys(drawings).filter((c) => c !== target).sort((x, y) => pOf(x) - pOf(y))[0];
      if (other) {
        for (const pts of place(drawings[other].quick.drawing, box, device === finger ? 25 : 40)) await device.stroke(page, pts);
        await page.waitForFunction(() => document.body.dataset.state === 'idle' && window.doodle.shownBody() !== null ||
          window.doodle.game().phase !== 'drawing', null, { timeout: 5000 });
        const said = await page.textContent('#status');
        await shoot();
        if ((await game(page)).phase === 'drawing') {
          check(/^(I see|I'm not sure)/.test(said), name + ': a drawing of ' + other + ' when ' + target + ' is asked: "' + said + '"');
          await page.click('#clear');
          check((await page.evaluate(() => window.doodle.strokes().length)) === 0 && (await page.$$eval('#guesses li.empty', (l) => l.length)) === 5,
            name + ': Clear in a round empties the canvas and the guesses');
        }
      }
      for (const pts of strokes) {
        if ((await game(page)).phase !== 'drawing') break; // recognised before the last stroke
        await device.stroke(page, pts);
      }
    } else {
      for (let k = 0; k < strokes.length; k++) {
        await device.stroke(page, strokes[k]);
        if (i === opts.shot && k === 0) {
          await guessed();
          await shoot();
        }
        if ((await game(page)).phase !== 'drawing') break; // recognised before the last stroke
      }
    }
    await page.waitForFunction((n) => window.doodle.game().results.length === n, i + 1, { timeout: (ROUND_S + 8) * 1000 });
    g = await game(page);
    const r = g.results[i];
    const verdict = await page.textContent('#card-verdict');
    const status = await page.textContent('#status');
    console.log(name + ' round ' + (i + 1) + ': asked ' + r.asked + ', ' + r.how + ' after ' + r.ms + ' ms, best guess ' +
      (r.guess ? r.guess.class + ' ' + r.guess.p.toFixed(3) : '-') + ': "' + verdict + '"');
    check(r.asked === target, name + ' round ' + (i + 1) + ': the result is for the class asked');
    if (r.won) {
      check(r.guess.class === target && r.guess.p >= 0.8 && verdict === 'Oh, I know, it\'s ' + (target.match(/^[aeiou]/) ? 'an ' : 'a ') + target + '!',
        name + ' round ' + (i + 1) + ': won with "' + verdict + '" (p = ' + r.guess.p.toFixed(3) + ')');
      check(r.ms <= ROUND_S * 1000 && r.png && r.png.startsWith('data:image/png;base64,'),
        name + ' round ' + (i + 1) + ': within the time, with the image the model saw');
    } else {
      check(r.how === (i === opts.skip ? 'skip' : 'time'), name + ' round ' + (i + 1) + ': ended by ' + r.how);
      check(/^(Sorry, I couldn't guess it|Time's up! Nothing drawn)/.test(verdict),
        name + ' round ' + (i + 1) + ': not recognised: "' + verdict + '"');
      if (r.how === 'time') check(r.ms === ROUND_S * 1000, name + ' round ' + (i + 1) + ': took the whole round');
      if (r.guess && r.guess.p < 0.25) check(/not sure what that is/.test(verdict), name + ' round ' + (i + 1) + ': says it is not sure');
      if (r.guess && r.guess.p >= 0.25) check(verdict.includes(r.guess.class), name + ' round ' + (i + 1) + ': names its best guess');
    }
    if (i === opts.skip) check(r.won || r.how === 'skip', name + ' round ' + (i + 1) + ': skipped (unless the short line was enough)');
    if (i === opts.empty) check(!r.won && r.how === 'time' && r.png === null && r.guess === null, name + ' round ' + (i + 1) + ': nothing drawn, time up');
    check(status === verdict, name + ' round ' + (i + 1) + ': the verdict is in the live status line too');
    const scrolled = await page.evaluate(() => window.scrollY);
    check(scrolled === scroll0, name + ' round ' + (i + 1) + ': drawing did not scroll the page (scrollY ' + scrolled + ')');
    if (i < 5) check(!(await page.isHidden('#card')), name + ' round ' + (i + 1) + ': the card shows the verdict and the next class');
    if (opts.cardFile && !cardShot && r.png) {
      cardShot = true; // the card between two rounds: the verdict over the drawing, the next class
      await page.waitForFunction(() => !document.getElementById('go').disabled);
      await page.screenshot({ path: path.join(outDir, opts.cardFile) });
    }
  }
  check(shot, name + ': a screenshot during a round');
  const types = await page.evaluate(() => [...window.__pointerTypes].sort().join(','));
  check(types === (device === mouse ? 'mouse,pen' : 'touch'), name + ': drawn with pointer events of type ' + types);
  check((await page.textContent('#go')) === 'See how it went', name + ': after six rounds, a button to the summary');
  await page.waitForFunction(() => !document.getElementById('go').disabled);
  await page.click('#go');
  await page.waitForSelector('#summary:not([hidden])');
  check(await page.evaluate(() => document.activeElement && document.activeElement.id === 'summary-title'),
    name + ': the summary takes the focus');
  g = await game(page);
  const items = await page.$$eval('#rounds li', (lis) => lis.map((li) => ({
    asked: li.dataset.asked,
    won: li.dataset.won === 'true',
    title: li.querySelector('h3').textContent,
    verdict: li.querySelector('.verdict').textContent,
    guess: li.querySelector('.guess').textContent,
    img: li.querySelector('img') ? li.querySelector('img').getAttribute('src') : null,
    alt: li.querySelector('img') ? li.querySelector('img').alt : null,
    loaded: li.querySelector('img') ? li.querySelector('img').complete && li.querySelector('img').naturalWidth > 0 : null,
    none: li.querySelector('.no-image') ? li.querySelector('.no-image').textContent : null,
  })));
  check(items.length === 6, name + ': the summary lists six rounds');
  items.forEach((it, i) => {
    const r = g.results[i];
    console.log(name + ' summary ' + (i + 1) + ': ' + it.title + ' | ' + it.verdict + ' | ' + it.guess + ' | ' + (it.img ? 'image' : it.none));
    check(it.asked === g.targets[i] && it.title === (i + 1) + '. ' + g.targets[i], name + ' summary ' + (i + 1) + ': the class asked');
    check(it.won === r.won && (r.won ? /^✓ Recognised in \d+\.\d s$/ : /^✗ (Not recognised in|Skipped after) \d+\.\d s$/).test(it.verdict),
      name + ' summary ' + (i + 1) + ': whether it was recognised, and the time: ' + it.verdict);
    check(r.guess ? it.guess.startsWith('Best guess: ' + r.guess.class + ' (') : it.guess === 'No guess: nothing drawn',
      name + ' summary ' + (i + 1) + ': the best guess: ' + it.guess);
    if (r.png) check(it.img === r.png && it.loaded && /what the model saw in round/.test(it.alt), name + ' summary ' + (i + 1) + ': the image the model saw, with a text alternative');
    else check(it.none === 'nothing drawn', name + ' summary ' + (i + 1) + ': no image when nothing was drawn');
  });
  const won = g.results.filter((r) => r.won).length;
  check((await page.textContent('#summary-title')) === 'The network recognised ' + won + ' of your 6 doodles', name + ': the summary counts the rounds won (' + won + ')');
  check(!(await page.isVisible('#canvas')), name + ': the canvas gives way to the summary');
  await page.screenshot({ path: path.join(outDir, opts.summaryFile), fullPage: true });
  console.log(name + ': the game took ' + ((Date.now() - t0) / 1000).toFixed(1) + ' s');
  return g;
}

run(async () => {
  const browser = await launch();
  try {
    const errors = [];
    const watch = (page) => {
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    };
    // ---- desktop, mouse ----
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.setDefaultTimeout(10000);
    watch(page);
    await page.goto(url + '?round=' + ROUND_S);
    await page.waitForFunction(() => document.getElementById('class-count').textContent !== '…');
    const classes = await page.$$eval('#classes span', (s) => s.map((e) => e.textContent));
    const drawings = pickDrawings(classes, strokesDir);
    // drawings with few points, quick to draw: Google's simplified ones next to the raw ones, when there
    const simplifiedDir = path.join(strokesDir, '..', 'simplified');
    const quick = fs.existsSync(simplifiedDir) ? pickDrawings(classes, simplifiedDir) : drawings;
    for (const c of Object.keys(drawings)) drawings[c].quick = (quick[c] || drawings[c]);
    console.log('drawings: ' + Object.entries(drawings).map(([c, d]) => c + ' (predict ' + d.p.toFixed(3) + ')').join(', '));
    check(await page.evaluate(() => document.getElementById('class-list').open), 'a short list of classes is shown open');
    check(!(await page.isVisible('#class-filter')), 'a short list needs no filter');

    // what the page says, for given answers
    const say = (top, target) => page.evaluate(([t, c]) => window.doodle.speech(t, c), [top, target]);
    check((await say([{ class: 'cat', p: 0.91 }], 'cat')) === 'Oh, I know, it\'s a cat!', 'sure of the class asked: "Oh, I know, it\'s a cat!"');
    check((await say([{ class: 'apple', p: 0.85 }])) === 'Oh, I know, it\'s an apple!', 'free drawing, sure: "Oh, I know, it\'s an apple!"');
    check((await say([{ class: 'dog', p: 0.9 }], 'cat')) === 'I see a dog.', 'sure of another class: "I see a dog." (the round goes on)');
    const spread = [{ class: 'cat', p: 0.2 }, { class: 'dog', p: 0.18 }, { class: 'fish', p: 0.15 }, { class: 'star', p: 0.1 }];
    check((await say(spread, 'cat')) === 'I\'m not sure what that is.', 'top under 0.25, spread: "I\'m not sure what that is." (no class named)');
    check((await say(spread)) === 'I\'m not sure what that is.', 'the same in free drawing');
    check((await say([{ class: 'cat', p: 0.5 }, { class: 'dog', p: 0.3 }, { class: 'fish', p: 0.05 }], 'cat')) === 'I see a cat, or a dog…',
      'in between: "I see a cat, or a dog…"');
    check((await say([{ class: 'scissors', p: 0.9 }, { class: 'The Eiffel Tower', p: 0.05 }])) === 'Oh, I know, it\'s scissors!', 'no article for "scissors"');

    // the free page still works as before: the Play button starts a game, Free drawing comes back
    check(await page.getAttribute('#mode-free', 'aria-pressed') === 'true' && (await game(page)).mode === 'free', 'the page opens in free drawing');
    check(!(await page.isVisible('#game-bar')) && !(await page.isVisible('#skip')), 'no countdown in free drawing');
    await page.click('#mode-play');
    const g1 = await play(page, 'desktop', mouse, drawings, { empty: 3, skip: 4, shot: 1, shotFile: 'game-round.png', cardFile: 'game-card.png', summaryFile: 'game-summary.png' });
    check(new Set(g1.targets).size === Math.min(6, classes.length) || classes.length < 6, 'the six classes differ when the model knows six or more');
    check(page.url().endsWith('#play'), 'the game is in the address (#play)');
    await page.click('#again');
    await page.waitForFunction(() => window.doodle.game().phase === 'intro' && window.doodle.game().results.length === 0);
    check(!(await page.isHidden('#card')) && (await page.isVisible('#canvas')), 'Play again starts a new game');
    await page.click('#mode-free');
    await page.waitForFunction(() => window.doodle.game().mode === 'free');
    check((await page.isHidden('#card')) && (await page.isVisible('#explain')) && !page.url().includes('#play'), 'Free drawing ends the game');
    check(errors.length === 0, 'desktop: no errors in the page (CSP included): ' + errors.join('; '));

    // ---- a phone, a finger ----
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true });
    const pp = await phone.newPage();
    pp.setDefaultTimeout(10000);
    watch(pp);
    await pp.goto(url + '?round=' + ROUND_S + '#play');
    const cbox = await pp.locator('#canvas').boundingBox();
    check(cbox.x >= 0 && cbox.x + cbox.width <= 390 && cbox.width >= 250, 'phone: the canvas fits the screen (' + Math.round(cbox.width) + ' px wide)');
    await play(pp, 'phone', finger, drawings, { empty: -1, skip: 2, shot: 1, shotFile: 'game-phone-round.png', cardFile: 'game-phone-card.png', summaryFile: 'game-phone-summary.png' });
    check(errors.length === 0, 'phone: no errors in the page: ' + errors.join('; '));
    await phone.close();

    // ---- 345 classes ----
    if (url345) {
      for (const [vp, file] of [[{ width: 1100, height: 900 }, 'classes-345.png'], [{ width: 390, height: 844 }, 'classes-345-phone.png']]) {
        const ctx = await browser.newContext({ viewport: vp, hasTouch: vp.width < 500, isMobile: vp.width < 500 });
        const p = await ctx.newPage();
        watch(p);
        await p.goto(url345);
        await p.waitForFunction(() => document.getElementById('class-count').textContent !== '…');
        const all = await p.$$eval('#classes span', (s) => s.map((e) => e.textContent));
        const w = vp.width + '×' + vp.height;
        check((await p.textContent('#class-count')) === '345' && all.length === 345, w + ': 345 classes counted');
        check(!(await p.evaluate(() => document.getElementById('class-list').open)) && !(await p.isVisible('#classes')),
          w + ': the list starts collapsed (no wall of names)');
        const footer = await p.locator('footer').boundingBox();
        check(footer.height < 200, w + ': the footer is ' + Math.round(footer.height) + ' px high');
        await p.click('#class-list summary');
        check(await p.isVisible('#class-filter'), w + ': opened, the list has a filter');
        const listBox = await p.locator('#classes').boundingBox();
        check(listBox.height <= 300, w + ': the open list scrolls inside a box ' + Math.round(listBox.height) + ' px high');
        await p.fill('#class-filter', 'ca');
        const want = all.filter((c) => c.toLowerCase().includes('ca'));
        const shown = await p.$$eval('#classes span:not([hidden])', (s) => s.map((e) => e.textContent));
        check(JSON.stringify(shown) === JSON.stringify(want), w + ': "ca" keeps the ' + want.length + ' classes with "ca": ' + shown.slice(0, 8).join(', ') + '…');
        check((await p.textContent('#class-matches')) === want.length + ' of 345', w + ': and says how many');
        const visible = await p.$$eval('#classes span', (s) => s.filter((e) => e.getBoundingClientRect().height > 0).length);
        check(visible === want.length, w + ': the others are hidden');
        await p.fill('#class-filter', 'Eiffel');
        check(JSON.stringify(await p.$$eval('#classes span:not([hidden])', (s) => s.map((e) => e.textContent))) === '["The Eiffel Tower"]' || !all.includes('The Eiffel Tower'),
          w + ': the filter ignores case ("Eiffel")');
        await p.fill('#class-filter', 'ca');
        await p.locator('#class-list').scrollIntoViewIfNeeded();
        await p.screenshot({ path: path.join(outDir, file), fullPage: vp.width > 500 });
        await p.fill('#class-filter', 'zzzz');
        check((await p.textContent('#class-matches')) === 'none of 345', w + ': no match says so');
        await p.focus('#class-filter');
        await p.keyboard.press('Escape');
        check((await p.$$eval('#classes span:not([hidden])', (s) => s.length)) === 345, w + ': Escape clears the filter');
        if (vp.width > 500) {
          await p.goto(url345 + '?round=1#play');
          await p.waitForFunction(() => window.doodle.game().phase === 'intro');
          const g = await game(p);
          check(g.targets.length === 6 && new Set(g.targets).size === 6 && g.targets.every((t) => all.includes(t)),
            w + ': the game asks for six different classes of the 345: ' + g.targets.join(', '));
        }
        await ctx.close();
      }
      check(errors.length === 0, '345 classes: no errors in the page: ' + errors.join('; '));
    }
  } finally {
    await browser.close();
  }
}, 'all game checks passed');
