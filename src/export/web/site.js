// doodle export --web: the server of the drawing page, inside the page. app.js (doodle serve's page, unchanged)
// asks GET /api/model and POST /api/predict with fetch(); here those two are answered without a network: the
// strokes are simplified and rendered with Google's recipe as doodle does it (src/data/simplify.c and render.c,
// ported), and the model runs in onnxruntime-web (single-threaded WebAssembly). /api/explain needs doodle serve.
//
// Everything comes from classic <script> files beside this one, so that the page works opened from disk (file://
// pages may not fetch() files nor import modules): model.js sets DOODLE_SITE_MODEL (the model's facts and its ONNX
// bytes, base64), ort/ort-wasm.js sets DOODLE_ORT (ORT's WebAssembly, gzip then base64, and its loader's module
// text, handed to ORT as a blob: URL), ort/ort.wasm.min.js is onnxruntime-web itself.
//
// window.doodleSite, for tests and the curious: ready (a promise), simplify, render, classify, guess.
'use strict';
(() => {
  const MODEL = window.DOODLE_SITE_MODEL;
  const ORT = window.DOODLE_ORT;
  const H = MODEL.input.height;
  const W = MODEL.input.width;
  const TOP = 5;
  const EPSILON = 2.0; // Ramer-Douglas-Peucker, in the 0..255 box (DD_SIMPLIFY_EPSILON)
  const BOX = 256.0;   // the simplified drawings' box (DD_RENDER_BOX)

  function base64Bytes(text) {
    const s = atob(text);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }

  async function gunzip(bytes) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  // ---- Google's simplification (src/data/simplify.c, the same double arithmetic; JavaScript has no fused
  // multiply-add, as simplify.c is built without it) ----
  function roundEven(v) { // Python's round(), C's nearbyint
    const f = Math.floor(v);
    const d = v - f;
    const r = d < 0.5 ? f : d > 0.5 ? f + 1 : (f % 2 === 0 ? f : f + 1);
    return r === 0 ? 0 : r; // no -0
  }

  function resample(xs, ys, minX, minY, extent) {
    const ox = [], oy = [];
    let x0 = (xs[0] - minX) * 255 / extent, y0 = (ys[0] - minY) * 255 / extent;
    ox.push(x0);
    oy.push(y0);
    let travelled = 0, next = 1;
    for (let i = 1; i < xs.length; i++) {
      const x1 = (xs[i] - minX) * 255 / extent, y1 = (ys[i] - minY) * 255 / extent;
      const dx = x1 - x0, dy = y1 - y0;
      const len = Math.sqrt(dx * dx + dy * dy);
      if (len > 0) {
        const after = travelled + len;
        for (; next <= after; next += 1) {
          const t = (next - travelled) / len;
          ox.push(x0 * (1 - t) + x1 * t);
          oy.push(y0 * (1 - t) + y1 * t);
        }
        travelled = after;
      }
      x0 = x1;
      y0 = y1;
    }
    ox.push(x0);
    oy.push(y0);
    return [ox, oy];
  }

  function rdp(xs, ys) {
    const n = xs.length;
    const keep = new Uint8Array(n);
    keep[0] = keep[n - 1] = 1;
    let a = 0, b = n - 1;
    while (a < n - 1) {
      const ax = xs[a], ay = ys[a], dx = xs[b] - ax, dy = ys[b] - ay;
      const len = Math.sqrt(dx * dx + dy * dy);
      let best = -1, split = 0;
      for (let i = a + 1; i < b; i++) {
        const px = xs[i], py = ys[i];
        const d = len === 0 ? Math.sqrt((px - ax) * (px - ax) + (py - ay) * (py - ay))
          : Math.abs(dx * (ay - py) - dy * (ax - px)) / len;
        if (d > best) {
          best = d;
          split = i;
        }
      }
      if (split && best > EPSILON) {
        keep[split] = 1;
        b = split;
      } else {
        a = b;
        for (b = a + 1; b < n && !keep[b]; b++) { /* the next kept point */ }
      }
    }
    return keep;
  }

  // strokes: [[x…], [y…], …] (raw, any coordinates) -> [[x…], [y…]] in the 0..255 box, integers
  function simplify(strokes) {
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (const s of strokes) {
      for (const x of s[0]) { minX = Math.min(minX, x); maxX = Math.max(maxX, x); }
      for (const y of s[1]) { minY = Math.min(minY, y); maxY = Math.max(maxY, y); }
    }
    let extent = Math.max(maxX - minX, maxY - minY);
    if (extent === 0) extent = 1;
    return strokes.filter((s) => s[0].length > 0).map((s) => {
      const [xs, ys] = resample(s[0], s[1], minX, minY, extent);
      const keep = rdp(xs, ys);
      const out = [[], []];
      for (let i = 0; i < xs.length; i++) {
        if (keep[i]) {
          out[0].push(roundEven(xs[i]));
          out[1].push(roundEven(ys[i]));
        }
      }
      return out;
    });
  }

  // ---- Google's rendering (src/data/render.c) on a canvas: round caps and joins, the line width and padding of
  // the model, the square of 256 + 2 * padding + line width units fitted to the shorter side and centred, each
  // drawing shifted by (256 - max) / 2, each stroke its own path (move_to, then line_to every point including the
  // first) stroked with OVER; the canvas's alpha is the ink ----
  // The canvas anti-aliases a path analytically, which goes wrong where a thin stroke overlaps itself (at 28x28 a
  // pixel where a star's lines cross came out 15 instead of cairo's 233); cairo samples coverage on a sub-pixel
  // grid. So each stroke is drawn SUPER times larger and each SUPER x SUPER block averaged (its ink's area, which
  // is what cairo's grid measures), then composited onto the image with OVER in 8 bits, as cairo composites one
  // stroke after another (strokes drawn over each other darken their edges: compositing the large picture
  // instead loses that, up to 105 grey levels off where a child dotted the same point three times).
  const SUPER = 8; // 16 is no closer to cairo on the sample (largest difference 17 grey levels either way)
  const paper = document.createElement('canvas');
  paper.width = W * SUPER;
  paper.height = H * SUPER;
  const pen = paper.getContext('2d', { willReadFrequently: true });

  // pixman's a * b / 255, rounded
  function mul255(a, b) {
    const t = a * b + 128;
    return (t + (t >> 8)) >> 8;
  }

  function render(simplified) {
    let maxX = 0, maxY = 0;
    for (const s of simplified) {
      for (const x of s[0]) maxX = Math.max(maxX, x);
      for (const y of s[1]) maxY = Math.max(maxY, y);
    }
    const offX = (BOX - maxX) / 2, offY = (BOX - maxY) / 2;
    const lw = MODEL.render.line_width, total = 2 * MODEL.render.padding + lw;
    const side = Math.min(H, W), scale = side / (BOX + total);
    const k = SUPER * scale, dx = SUPER * ((W - side) / 2 + scale * total / 2);
    const dy = SUPER * ((H - side) / 2 + scale * total / 2);
    const image = new Uint8Array(W * H);
    const n = SUPER * SUPER;
    for (const s of simplified) {
      // the stroke's pixels: its points' box grown by half the line width and a pixel, clipped to the image
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (let i = 0; i < s[0].length; i++) {
        x0 = Math.min(x0, s[0][i]); x1 = Math.max(x1, s[0][i]);
        y0 = Math.min(y0, s[1][i]); y1 = Math.max(y1, s[1][i]);
      }
      const px0 = Math.max(0, Math.floor(((x0 + offX - lw / 2) * k + dx) / SUPER) - 1);
      const py0 = Math.max(0, Math.floor(((y0 + offY - lw / 2) * k + dy) / SUPER) - 1);
      const px1 = Math.min(W, Math.ceil(((x1 + offX + lw / 2) * k + dx) / SUPER) + 1);
      const py1 = Math.min(H, Math.ceil(((y1 + offY + lw / 2) * k + dy) / SUPER) + 1);
      if (px1 <= px0 || py1 <= py0) continue;
      pen.setTransform(1, 0, 0, 1, 0, 0);
      pen.clearRect(px0 * SUPER, py0 * SUPER, (px1 - px0) * SUPER, (py1 - py0) * SUPER);
      pen.setTransform(k, 0, 0, k, dx, dy);
      pen.lineWidth = lw;
      pen.lineCap = 'round';
      pen.lineJoin = 'round';
      pen.strokeStyle = pen.fillStyle = '#000';
      pen.beginPath();
      if (s[0].every((x, i) => x === s[0][0] && s[1][i] === s[1][0])) {
        // a stroke of one point: cairo draws its zero-length segment as a round dot; a canvas draws nothing
        pen.arc(s[0][0] + offX, s[1][0] + offY, lw / 2, 0, 2 * Math.PI);
        pen.fill();
      } else {
        pen.moveTo(s[0][0] + offX, s[1][0] + offY);
        for (let i = 0; i < s[0].length; i++) pen.lineTo(s[0][i] + offX, s[1][i] + offY);
        pen.stroke();
      }
      const bw = (px1 - px0) * SUPER, bh = (py1 - py0) * SUPER;
      const rgba = pen.getImageData(px0 * SUPER, py0 * SUPER, bw, bh).data;
      const pw = px1 - px0;
      const sum = new Uint32Array(pw * (py1 - py0));
      for (let y = 0; y < bh; y++) {
        const row = ((y / SUPER) | 0) * pw;
        for (let x = 0, j = y * 4 * bw + 3; x < bw; x++, j += 4) sum[row + ((x / SUPER) | 0)] += rgba[j];
      }
      for (let y = py0; y < py1; y++) {
        for (let x = px0; x < px1; x++) {
          const c = Math.round(sum[(y - py0) * pw + (x - px0)] / n);
          const i = y * W + x;
          image[i] = Math.min(255, c + mul255(image[i], 255 - c));
        }
      }
    }
    return image;
  }

  // the image as doodle serve shows it: a grey PNG, ink white on black
  const shown = document.createElement('canvas');
  shown.width = W;
  shown.height = H;
  function png(image) {
    const c = shown.getContext('2d');
    const data = c.createImageData(W, H);
    for (let i = 0; i < image.length; i++) {
      data.data[4 * i] = data.data[4 * i + 1] = data.data[4 * i + 2] = image[i];
      data.data[4 * i + 3] = 255;
    }
    c.putImageData(data, 0, 0);
    return shown.toDataURL('image/png');
  }

  // ---- the model ----
  let session = null;
  const ready = (async () => {
    ort.env.wasm.numThreads = 1; // pages opened from disk cannot share memory between threads
    ort.env.wasm.proxy = false;
    ort.env.wasm.wasmBinary = await gunzip(base64Bytes(ORT.wasm_gz));
    ort.env.wasm.wasmPaths = { mjs: URL.createObjectURL(new Blob([ORT.loader], { type: 'text/javascript' })) };
    session = await ort.InferenceSession.create(base64Bytes(MODEL.onnx), { executionProviders: ['wasm'] });
  })();

  let queue = Promise.resolve(); // one run at a time
  function classify(image) {
    const run = queue.then(async () => {
      await ready;
      const x = new Float32Array(H * W);
      for (let i = 0; i < x.length; i++) x[i] = image[i] / 255;
      const out = await session.run({ input: new ort.Tensor('float32', x, [1, 1, H, W]) });
      return Array.from(out.probabilities.data);
    });
    queue = run.catch(() => {});
    return run;
  }

  function top(p, k) {
    const order = p.map((_, i) => i).sort((i, j) => p[j] - p[i] || i - j);
    return order.slice(0, k).map((i) => ({ class: MODEL.classes[i], p: p[i] }));
  }

  async function guess(strokes) {
    const image = render(simplify(strokes));
    const p = await classify(image);
    return { top: top(p, TOP), probabilities: p, image };
  }

  // ---- the server's answers ----
  function answer(status, body) {
    return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  }

  const networkFetch = window.fetch.bind(window);
  window.fetch = async (resource, options) => {
    const path = typeof resource === 'string' ? resource : resource.url;
    if (path === '/api/model') {
      return answer(200, { name: MODEL.name, params: MODEL.params, classes: MODEL.classes, input: MODEL.input,
        render: MODEL.render, report: false, mistakes: false });
    }
    if (path === '/api/predict') {
      try {
        const drawing = JSON.parse(options.body).drawing;
        if (!Array.isArray(drawing) || !drawing.length) return answer(400, { error: 'drawing: no strokes' });
        const g = await guess(drawing);
        return answer(200, { top: g.top, input_png: png(g.image) });
      } catch (err) {
        return answer(500, { error: 'the model could not run here: ' + err.message });
      }
    }
    if (path === '/api/explain') {
      return answer(501, { error: 'Explanations need doodle serve: this page runs the model on its own.' });
    }
    return networkFetch(resource, options);
  };

  window.doodleSite = { ready, simplify, render, classify, guess, top };
})();
