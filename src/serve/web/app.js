// doodle serve's drawing page: strokes in Quick, Draw!'s raw format ([[x…], [y…], [t…]] per stroke, times in
// milliseconds since the drawing began) go to POST /api/predict while you draw: one request in flight at a time,
// the next one as soon as it returns if you drew meanwhile.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const canvas = $('canvas');
  const ctx = canvas.getContext('2d');
  const TOP = 5;
  const SEND_DELAY_MS = 60; // gathers a few pointer moves into one request

  let strokes = [];      // [{x: [], y: [], t: []}]
  let current = null;    // the stroke being drawn
  let pointer = null;    // the pointer drawing it (one at a time: a second finger is ignored)
  let start = null;      // performance.now() of the drawing's first point
  let inFlight = false;  // a request is out
  let dirty = false;     // strokes changed since the last request
  let timer = null;
  let generation = 0;    // bumped by Clear and Undo: answers for older strokes are dropped
  let shownBody = null;  // the request body whose answer is on the page

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

  function updateState() {
    const busy = inFlight || dirty || timer !== null || current !== null;
    document.body.dataset.state = busy ? 'busy' : 'idle';
    $('undo').disabled = $('clear').disabled = strokes.length === 0;
    $('explain').disabled = strokes.length === 0;
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
    if (pointer !== null || (e.pointerType === 'mouse' && e.button !== 0)) return;
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
        const g = j.top[0];
        setStatus(g.p > 0.5 ? 'I\'m fairly sure it\'s a ' + g.class + '.' : 'Maybe a ' + g.class + '? Keep drawing…');
      }
    } catch (err) {
      if (gen === generation) setStatus(err.message, true);
    } finally {
      inFlight = false;
      if (dirty) send();
      updateState();
    }
  }

  // ---- buttons ----
  function reset() {
    generation++;
    dirty = false;
    shownBody = null;
    showGuesses([]);
    $('seen').removeAttribute('src');
    $('explanation').hidden = true;
  }

  $('clear').addEventListener('click', () => {
    strokes = [];
    current = null;
    pointer = null;
    start = null;
    reset();
    redraw();
    setStatus('Cleared. Draw something new.');
    updateState();
  });

  $('undo').addEventListener('click', () => {
    strokes.pop();
    current = null;
    pointer = null;
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
      for (const a of j.activations) {
        const div = document.createElement('div');
        div.className = 'layer';
        const h = document.createElement('h3');
        h.textContent = a.layer + ' (' + a.type + '): ' + a.channels + ' feature maps of ' + a.height + '×' + a.width;
        const img = document.createElement('img');
        img.src = a.png;
        img.alt = 'activations of ' + a.layer;
        // at least 3 screen pixels a map pixel, at most the panel's width
        img.style.width = Math.max(3 * (Math.ceil(Math.sqrt(a.channels)) * (a.width + 1)), 120) + 'px';
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

  // ---- what the model knows ----
  async function loadModel() {
    try {
      const r = await fetch('/api/model');
      const m = await r.json();
      $('class-count').textContent = m.classes.length;
      const list = $('classes');
      list.textContent = '';
      for (const c of m.classes) {
        const span = document.createElement('span');
        span.textContent = c;
        list.appendChild(span);
      }
      $('input-size').textContent = m.input.height + '×' + m.input.width;
      $('model-name').textContent = 'Model: ' + m.name + ', ' + m.params.toLocaleString('en') + ' parameters.';
      $('report-link').hidden = !m.report;
    } catch (err) {
      setStatus('Cannot reach the server: ' + err.message, true);
    }
  }

  // for tests and the curious: the strokes, and the request whose answer is shown
  window.doodle = {
    strokes: () => strokes.map((s) => [s.x.slice(), s.y.slice(), s.t.slice()]),
    shownBody: () => shownBody,
  };

  window.addEventListener('resize', resize);
  resize();
  showGuesses([]);
  updateState();
  loadModel();
})();
