// doodle serve's drawing page: strokes in Quick, Draw!'s raw format ([[x…], [y…], [t…]] per stroke, times in
// milliseconds since the drawing began) go to POST /api/predict while you draw: one request in flight at a time,
// the next one as soon as it returns if you drew meanwhile.
//
// Two modes: free drawing, and a game like Quick, Draw!'s: six rounds, each naming a class (at random from the
// model's) to draw in 20 seconds; the round ends when the model is sure it is that class, or when the time is up;
// a summary at the end shows each round with the image the model saw. URL parameters, for tests and demos:
// `?round=S` the seconds of a round (1–600), `#play` opens the game.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const canvas = $('canvas');
  const ctx = canvas.getContext('2d');
  const TOP = 5;
  const SEND_DELAY_MS = 60; // gathers a few pointer moves into one request

  // How sure is sure. The model's top probability decides what the page says:
  //   >= SURE     "Oh, I know, it's a cat!" (in the game, a round is won when this is the class asked for)
  //   <  UNSURE   "I'm not sure what that is": the probability is spread thin (with a top under 0.25, at least
  //               three other classes share the remaining 0.75), so naming the top class would be a confident
  //               word for a coin toss; with 345 classes this is what a few random lines give
  //   otherwise   "I see a cat, or a dog…": the classes with at least MENTION each
  const SURE = 0.8;
  const UNSURE = 0.25;
  const MENTION = 0.1;

  const ROUNDS = 6;
  const ROUND_SECONDS = (() => {
    const s = Number(new URLSearchParams(location.search).get('round'));
    return Number.isFinite(s) && s >= 1 && s <= 600 ? s : 20;
  })();
  const ROUND_MS = ROUND_SECONDS * 1000;
  const LOW_TIME_MS = Math.min(5000, ROUND_MS / 4); // the countdown turns red
  const JUDGE_WAIT_MS = 5000; // at the end of a round, how long the last answer may take
  // the card's button comes alive this long after a round ends, so that a stroke still being drawn when the model
  // guesses cannot start the next round by ending on the button
  const CARD_GUARD_MS = 500;

  // a list of classes up to this long is shown open; a longer one starts collapsed, with a filter
  const OPEN_LIST_UP_TO = 24;

  let classes = [];      // the model's, from GET /api/model
  let strokes = [];      // [{x: [], y: [], t: []}]
  let current = null;    // the stroke being drawn
  let pointer = null;    // the pointer drawing it (one at a time: a second finger is ignored)
  let start = null;      // performance.now() of the drawing's first point
  let inFlight = false;  // a request is out
  let dirty = false;     // strokes changed since the last request
  let timer = null;
  let generation = 0;    // bumped by Clear, Undo and each round: answers for older strokes are dropped
  let shownBody = null;  // the request body whose answer is on the page
  let lastAnswer = null; // {top, png} of the answer on the page

  let mode = 'free';     // 'free' or 'play'
  // the game: phase 'intro' (a card names the next class), 'drawing', 'judging' (time is up: the last answer is
  // awaited), 'summary'; in free mode the phase is 'free'
  const game = { phase: 'free', round: 0, targets: [], results: [], roundStart: 0, deadline: 0, ticker: null };

  // ---- words ----
  // "a cat", "an apple", "scissors", "The Eiffel Tower"
  const NO_ARTICLE = new Set(['animal migration', 'asparagus', 'binoculars', 'bread', 'broccoli', 'camouflage',
    'drums', 'eyeglasses', 'flip flops', 'grapes', 'grass', 'headphones', 'lightning', 'matches', 'pants', 'peas',
    'pliers', 'rain', 'rollerskates', 'scissors', 'shorts', 'snow', 'stairs', 'stitches', 'underwear', 'yoga']);
  function a(name) {
    if (/^the /i.test(name) || NO_ARTICLE.has(name.toLowerCase())) return name;
    const an = /^(hour|honest|[aeio]|u(?!ni|se|su|ku))/i.test(name);
    return (an ? 'an ' : 'a ') + name;
  }

  // What the model says about its top guesses; `target` is the class asked for in the game (or undefined).
  function speech(top, target) {
    const g = top && top[0];
    if (!g) return target ? 'Draw ' + a(target) + '!' : 'Draw something.';
    if (g.p < UNSURE) return 'I\'m not sure what that is.';
    if (g.p >= SURE && (target === undefined || g.class === target)) return 'Oh, I know, it\'s ' + a(g.class) + '!';
    if (g.p >= SURE) return 'I see ' + a(g.class) + '.';
    const likely = top.filter((x) => x.p >= MENTION).slice(0, 3);
    return 'I see ' + likely.map((x) => a(x.class)).join(', or ') + '…';
  }

  // ---- guesses ----
  const rows = [];
  for (let i = 0; i < TOP; i++) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.innerHTML = '<span class="name">…</span><div class="bar"><div class="fill"></div></div><span class="pct"></span>';
    $('guesses').appendChild(li);
    rows.push(li);
  }

  function showGuesses(top) {
    rows.forEach((li, i) => {
      const g = top[i];
      li.className = g ? '' : 'empty';
      li.dataset.class = g ? g.class : '';
      li.querySelector('.name').textContent = g ? g.class : '…';
      li.querySelector('.fill').style.width = g ? (100 * g.p).toFixed(1) + '%' : '0';
      li.querySelector('.pct').textContent = g ? Math.round(100 * g.p) + '%' : '';
    });
  }

  function setStatus(text, error) {
    $('status').textContent = text;
    $('status').className = error ? 'error' : '';
  }

  function canDraw() {
    return mode === 'free' || game.phase === 'drawing';
  }

  function updateState() {
    const busy = inFlight || dirty || timer !== null || current !== null;
    document.body.dataset.state = busy ? 'busy' : 'idle';
    document.body.dataset.mode = mode;
    document.body.dataset.phase = mode === 'free' ? 'free' : game.phase;
    $('undo').disabled = $('clear').disabled = strokes.length === 0 || !canDraw();
    $('explain').disabled = strokes.length === 0;
    $('skip').disabled = !(mode === 'play' && game.phase === 'drawing');
  }

  // ---- drawing ----
  function resize() {
    const r = canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(r.width * dpr));
    canvas.height = Math.max(1, Math.round(r.height * dpr));
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    redraw();
  }

  function penStyle() {
    ctx.lineWidth = 4;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.strokeStyle = '#1d2433';
  }

  function redraw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    penStyle();
    for (const s of strokes) {
      ctx.beginPath();
      ctx.moveTo(s.x[0], s.y[0]);
      for (let i = 1; i < s.x.length; i++) ctx.lineTo(s.x[i], s.y[i]);
      if (s.x.length === 1) ctx.lineTo(s.x[0] + 0.01, s.y[0]);
      ctx.stroke();
    }
  }

  function addPoint(e) {
    const r = canvas.getBoundingClientRect();
    const x = Math.round((e.clientX - r.left) * 10) / 10;
    const y = Math.round((e.clientY - r.top) * 10) / 10;
    const n = current.x.length;
    if (n && current.x[n - 1] === x && current.y[n - 1] === y) return;
    current.x.push(x);
    current.y.push(y);
    current.t.push(Math.round(performance.now() - start));
    penStyle();
    ctx.beginPath();
    ctx.moveTo(n ? current.x[n - 1] : x, n ? current.y[n - 1] : y);
    ctx.lineTo(x + (n ? 0 : 0.01), y);
    ctx.stroke();
  }

  canvas.addEventListener('pointerdown', (e) => {
    if (pointer !== null || (e.pointerType === 'mouse' && e.button !== 0) || !canDraw()) return;
    e.preventDefault();
    pointer = e.pointerId;
    canvas.setPointerCapture(e.pointerId);
    if (start === null) start = performance.now();
    current = { x: [], y: [], t: [] };
    strokes.push(current);
    addPoint(e);
    $('explanation').hidden = true;
    schedule();
  });

  canvas.addEventListener('pointermove', (e) => {
    if (e.pointerId !== pointer || !current) return;
    e.preventDefault();
    const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
    for (const ev of events.length ? events : [e]) addPoint(ev);
    schedule();
  });

  function endStroke(e) {
    if (e.pointerId !== pointer) return;
    if (current) addPoint(e);
    current = null;
    pointer = null;
    schedule();
  }
  canvas.addEventListener('pointerup', endStroke);
  canvas.addEventListener('pointercancel', endStroke);

  // stops the stroke being drawn (the round is over): the pointer's later moves are ignored
  function dropPointer() {
    if (pointer !== null && canvas.hasPointerCapture(pointer)) canvas.releasePointerCapture(pointer);
    current = null;
    pointer = null;
  }

  // ---- talking to the server ----
  function body() {
    return JSON.stringify({ drawing: strokes.map((s) => [s.x, s.y, s.t]) });
  }

  function schedule() {
    dirty = true;
    if (!inFlight && timer === null) timer = setTimeout(send, SEND_DELAY_MS);
    updateState();
  }

  async function post(path, text) {
    const r = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: text });
    let j = null;
    try {
      j = await r.json();
    } catch (err) {
      throw new Error(path + ': HTTP ' + r.status);
    }
    if (!r.ok) throw new Error(j && j.error ? j.error : path + ': HTTP ' + r.status);
    return j;
  }

  async function send() {
    timer = null;
    if (!dirty || inFlight) return updateState();
    dirty = false;
    if (strokes.length === 0) return updateState();
    inFlight = true;
    updateState();
    const gen = generation;
    const text = body();
    try {
      const j = await post('/api/predict', text);
      if (gen === generation) {
        showGuesses(j.top);
        $('seen').src = j.input_png;
        shownBody = text;
        lastAnswer = { top: j.top, png: j.input_png };
        if (mode === 'free') setStatus(speech(j.top));
        else answered();
      }
    } catch (err) {
      if (gen === generation) setStatus(err.message, true);
    } finally {
      inFlight = false;
      if (dirty) send();
      updateState();
    }
  }

  // resolves once the answer for the strokes drawn so far is on the page (or after `ms`)
  async function settle(ms) {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
      if (dirty && !inFlight) send();
    }
    const until = performance.now() + ms;
    while ((inFlight || dirty || timer !== null) && performance.now() < until) {
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  // ---- buttons ----
  function reset() {
    generation++;
    dirty = false;
    shownBody = null;
    lastAnswer = null;
    showGuesses([]);
    $('seen').removeAttribute('src');
    $('explanation').hidden = true;
  }

  function clearDrawing() {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    strokes = [];
    dropPointer();
    start = null;
    reset();
    redraw();
  }

  $('clear').addEventListener('click', () => {
    clearDrawing();
    setStatus(mode === 'play' ? 'Cleared. Draw ' + a(game.targets[game.round]) + '!' : 'Cleared. Draw something new.');
    updateState();
  });

  $('undo').addEventListener('click', () => {
    strokes.pop();
    dropPointer();
    reset();
    redraw();
    if (strokes.length) schedule();
    else {
      start = null;
      setStatus('Nothing left. Draw something.');
    }
    updateState();
  });

  $('explain').addEventListener('click', async () => {
    if (!strokes.length) return;
    $('explain').disabled = true;
    setStatus('Working out why…');
    const gen = generation;
    try {
      const j = await post('/api/explain', body());
      if (gen !== generation) return;
      $('explain-class').textContent = j.class;
      $('saliency').src = j.saliency_png;
      $('gradcam-figure').hidden = !j.gradcam_png;
      if (j.gradcam_png) $('gradcam').src = j.gradcam_png;
      const box = $('activations');
      box.textContent = '';
      for (const act of j.activations) {
        const div = document.createElement('div');
        div.className = 'layer';
        const h = document.createElement('h3');
        h.textContent = act.layer + ' (' + act.type + '): ' + act.channels + ' feature maps of ' + act.height + '×' + act.width;
        const img = document.createElement('img');
        img.src = act.png;
        img.alt = 'activations of ' + act.layer;
        // at least 3 screen pixels a map pixel, at most the panel's width
        img.style.width = Math.max(3 * (Math.ceil(Math.sqrt(act.channels)) * (act.width + 1)), 120) + 'px';
        div.append(h, img);
        box.appendChild(div);
      }
      $('explanation').hidden = false;
      setStatus('Red to yellow: the pixels that mattered most for "' + j.class + '".');
    } catch (err) {
      setStatus(err.message, true);
    } finally {
      updateState();
    }
  });

  // ---- the game ----
  function shuffled(list) {
    const l = list.slice();
    for (let i = l.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [l[i], l[j]] = [l[j], l[i]];
    }
    return l;
  }

  // ROUNDS classes at random, all different when the model knows enough of them
  function pickTargets() {
    let out = [];
    while (out.length < ROUNDS) out = out.concat(shuffled(classes));
    return out.slice(0, ROUNDS);
  }

  function clock(ms) {
    const s = Math.ceil(ms / 1000);
    return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
  }

  function seconds(ms) {
    return (ms / 1000).toFixed(1) + ' s';
  }

  function showClock(remaining) {
    $('countdown').textContent = clock(remaining);
    $('countdown').classList.toggle('low', remaining <= LOW_TIME_MS && game.phase === 'drawing');
    $('timefill').style.width = (100 * remaining / ROUND_MS).toFixed(2) + '%';
  }

  function showRoundBar() {
    const n = Math.min(game.round, ROUNDS - 1);
    $('round-no').textContent = 'Round ' + (n + 1) + ' of ' + ROUNDS;
    $('target').textContent = game.targets[n];
  }

  function stopGame() {
    if (game.ticker !== null) clearInterval(game.ticker);
    game.ticker = null;
    game.phase = 'free';
    $('card').hidden = true;
    $('summary').hidden = true;
  }

  function startGame() {
    stopGame();
    clearDrawing();
    game.targets = pickTargets();
    game.results = [];
    game.round = 0;
    showIntro('');
  }

  // the card over the canvas: the last round's verdict, and the next class to draw
  function showIntro(verdict) {
    game.phase = 'intro';
    showRoundBar();
    showClock(ROUND_MS);
    $('card-verdict').textContent = verdict;
    $('card-verdict').hidden = !verdict;
    const text = $('card-text');
    text.textContent = '';
    if (game.round < ROUNDS) {
      const b = document.createElement('strong');
      b.textContent = a(game.targets[game.round]);
      text.append('Round ' + (game.round + 1) + ' of ' + ROUNDS + ': draw ', b,
        ' in under ' + ROUND_SECONDS + ' seconds.');
      $('go').textContent = game.round === 0 ? 'Start' : 'Next round';
    } else {
      text.textContent = 'That was the last round.';
      $('go').textContent = 'See how it went';
    }
    $('card').hidden = false;
    setStatus(verdict || text.textContent);
    updateState();
    const go = $('go');
    go.disabled = game.round > 0;
    const live = () => {
      go.disabled = false;
      if (game.phase === 'intro') go.focus();
    };
    if (go.disabled) setTimeout(live, CARD_GUARD_MS);
    else live();
  }

  function beginRound() {
    clearDrawing();
    $('card').hidden = true;
    game.phase = 'drawing';
    game.roundStart = performance.now();
    game.deadline = game.roundStart + ROUND_MS;
    game.ticker = setInterval(tick, 100);
    setStatus('Draw ' + a(game.targets[game.round]) + '!');
    tick();
    updateState();
  }

  function tick() {
    if (game.phase !== 'drawing') return;
    const remaining = Math.max(0, game.deadline - performance.now());
    showClock(remaining);
    if (remaining <= 0) endRound('time');
  }

  function won(answer) {
    const g = answer && answer.top[0];
    return !!g && g.class === game.targets[game.round] && g.p >= SURE;
  }

  // an answer for the round's strokes has arrived (it is in lastAnswer)
  function answered() {
    if (game.phase !== 'drawing') return;
    if (won(lastAnswer)) endRound('won');
    else setStatus(speech(lastAnswer.top, game.targets[game.round]));
  }

  // how: 'won' (the model is sure of the class asked), 'time' (up), 'skip'
  async function endRound(how) {
    if (game.phase !== 'drawing') return;
    const at = performance.now();
    game.phase = 'judging';
    clearInterval(game.ticker);
    game.ticker = null;
    dropPointer();
    updateState();
    if (how === 'time') {
      setStatus('Time\'s up!');
      const gen = generation;
      await settle(JUDGE_WAIT_MS); // the strokes drawn until the last moment count
      if (gen !== generation || game.phase !== 'judging') return; // left the game meanwhile
      if (won(lastAnswer)) how = 'won';
    }
    const asked = game.targets[game.round];
    const g = lastAnswer ? lastAnswer.top[0] : null;
    const ms = how === 'time' ? ROUND_MS : Math.min(at - game.roundStart, ROUND_MS);
    game.results.push({
      asked,
      won: how === 'won',
      how,
      ms: Math.round(ms),
      guess: g ? { class: g.class, p: g.p } : null,
      sure: g ? (g.p >= SURE ? 'sure' : g.p < UNSURE ? 'unsure' : 'maybe') : 'nothing',
      png: lastAnswer ? lastAnswer.png : null,
      strokes: strokes.length,
    });
    let verdict;
    if (how === 'won') verdict = 'Oh, I know, it\'s ' + a(asked) + '!';
    else if (!g) verdict = (how === 'time' ? 'Time\'s up! ' : '') + 'Nothing drawn.';
    else if (g.p < UNSURE) verdict = 'Sorry, I couldn\'t guess it: I\'m not sure what that is.';
    else verdict = 'Sorry, I couldn\'t guess it. My best guess: ' + a(g.class) + '.';
    generation++; // answers still on their way belong to the finished round
    game.round++;
    showIntro(verdict);
  }

  function showSummary() {
    game.phase = 'summary';
    $('card').hidden = true;
    const list = $('rounds');
    list.textContent = '';
    game.results.forEach((r, i) => {
      const li = document.createElement('li');
      li.className = 'round ' + (r.won ? 'won' : 'lost');
      li.dataset.asked = r.asked;
      li.dataset.won = r.won;
      li.dataset.guess = r.guess ? r.guess.class : '';
      li.dataset.ms = r.ms;
      if (r.png) {
        const img = document.createElement('img');
        img.src = r.png;
        img.width = img.height = 112;
        img.alt = 'what the model saw in round ' + (i + 1) + ': your drawing of ' + a(r.asked);
        li.appendChild(img);
      } else {
        const none = document.createElement('div');
        none.className = 'no-image';
        none.textContent = 'nothing drawn';
        li.appendChild(none);
      }
      const text = document.createElement('div');
      const h = document.createElement('h3');
      h.textContent = (i + 1) + '. ' + r.asked;
      const v = document.createElement('p');
      v.className = 'verdict';
      v.textContent = r.won ? '✓ Recognised in ' + seconds(r.ms)
        : r.how === 'skip' ? '✗ Skipped after ' + seconds(r.ms)
          : '✗ Not recognised in ' + seconds(r.ms);
      const guess = document.createElement('p');
      guess.className = 'guess';
      guess.textContent = !r.guess ? 'No guess: nothing drawn'
        : 'Best guess: ' + r.guess.class + ' (' + Math.round(100 * r.guess.p) + '%' +
          (r.sure === 'unsure' ? ', not sure' : '') + ')';
      text.append(h, v, guess);
      li.appendChild(text);
      list.appendChild(li);
    });
    const n = game.results.filter((r) => r.won).length;
    $('summary-title').textContent = 'The network recognised ' + n + ' of your ' + game.results.length + ' doodles';
    $('summary').hidden = false;
    setStatus($('summary-title').textContent + '.');
    updateState();
    $('summary-title').focus();
  }

  $('go').addEventListener('click', () => {
    if (game.phase !== 'intro') return;
    if (game.round < ROUNDS) beginRound();
    else showSummary();
  });
  $('skip').addEventListener('click', () => endRound('skip'));
  $('again').addEventListener('click', startGame);
  $('to-free').addEventListener('click', () => setMode('free'));

  // ---- modes ----
  let modelLoaded = null; // resolves when the classes are known

  async function setMode(m) {
    if (m === 'play') {
      await modelLoaded;
      if (!classes.length) return;
    }
    stopGame();
    clearDrawing();
    mode = m;
    $('mode-free').setAttribute('aria-pressed', String(m === 'free'));
    $('mode-play').setAttribute('aria-pressed', String(m === 'play'));
    history.replaceState(null, '', location.pathname + location.search + (m === 'play' ? '#play' : ''));
    if (m === 'play') startGame();
    else setStatus('Draw something: one of the things listed below.');
    updateState();
  }
  $('mode-free').addEventListener('click', () => setMode('free'));
  $('mode-play').addEventListener('click', () => setMode('play'));

  // ---- what the model knows ----
  function listClasses() {
    $('class-count').textContent = classes.length;
    const list = $('classes');
    list.textContent = '';
    for (const c of classes) {
      const span = document.createElement('span');
      span.setAttribute('role', 'listitem');
      span.textContent = c;
      list.appendChild(span);
    }
    const long = classes.length > OPEN_LIST_UP_TO;
    $('class-list').open = !long;
    $('class-search').hidden = !long;
    filterClasses();
  }

  function filterClasses() {
    const q = $('class-filter').value.trim().toLowerCase();
    let n = 0;
    for (const span of $('classes').children) {
      const match = !q || span.textContent.toLowerCase().includes(q);
      span.hidden = !match;
      n += match;
    }
    $('class-matches').textContent = q ? (n ? n + ' of ' + classes.length : 'none of ' + classes.length) : '';
  }
  $('class-filter').addEventListener('input', filterClasses);
  $('class-filter').addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      $('class-filter').value = '';
      filterClasses();
    }
  });

  async function loadModel() {
    try {
      const r = await fetch('/api/model');
      const m = await r.json();
      classes = m.classes;
      listClasses();
      $('input-size').textContent = m.input.height + '×' + m.input.width;
      $('model-name').textContent = 'Model: ' + m.name + ', ' + m.params.toLocaleString('en') + ' parameters.';
      $('report-link').hidden = !m.report;
      $('mistakes-link').hidden = !m.mistakes;
    } catch (err) {
      setStatus('Cannot reach the server: ' + err.message, true);
    }
  }

  // for tests and the curious: the strokes, the request whose answer is shown, the game
  window.doodle = {
    strokes: () => strokes.map((s) => [s.x.slice(), s.y.slice(), s.t.slice()]),
    shownBody: () => shownBody,
    game: () => ({
      mode,
      phase: mode === 'free' ? 'free' : game.phase,
      round: game.round,
      rounds: ROUNDS,
      roundSeconds: ROUND_SECONDS,
      target: game.targets[game.round] || null,
      targets: game.targets.slice(),
      remainingMs: game.phase === 'drawing' ? Math.max(0, game.deadline - performance.now()) : null,
      results: game.results.map((r) => Object.assign({}, r)),
    }),
    speech,
    thresholds: { sure: SURE, unsure: UNSURE },
  };

  window.addEventListener('resize', resize);
  resize();
  showGuesses([]);
  updateState();
  modelLoaded = loadModel();
  if (location.hash === '#play') setMode('play');
})();
