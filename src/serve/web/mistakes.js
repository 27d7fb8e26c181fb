// doodle serve's Mistakes view: the clusters of the run's misclassified drawings (GET /api/mistakes), a name for
// each, the drawings whose label is wrong marked by a click or a tap, all saved to RUNDIR/labels.json with
// POST /api/labels. Names follow their drawings if the clusters are made again (docs/labels-format.md).
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const NAME_MAX = 200; // bytes, as the server takes them
  let data = null;      // the last GET /api/mistakes
  let method = 'kmeans';
  const names = {};     // method -> {cluster: name typed}, only the ones changed since the last load
  let marked = new Set(); // drawing numbers marked mislabelled
  let savedMarks = '';  // marked as the server has it, to know when something changed
  let saving = false;

  function text(tag, content, cls) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    e.textContent = content;
    return e;
  }

  function bytes(s) { return new TextEncoder().encode(s).length; }

  function marksKey() { return [...marked].sort((a, b) => a - b).join(','); }

  function changed() {
    return marksKey() !== savedMarks || Object.values(names).some((m) => Object.keys(m).length > 0);
  }

  function setNotice(msg, error) {
    $('notice').textContent = msg || '';
    $('notice').className = error ? 'error' : '';
  }

  const count = (n, one, many) => `${n} ${n === 1 ? one : many}`;

  function updateBar() {
    const m = data && data.methods ? data.methods.find((x) => x.method === method) : null;
    const named = m ? m.clusters.filter((c) => !c.noise && currentName(c) !== '').length : 0;
    $('counts').textContent = data && data.drawings
      ? `${count(data.drawings.length, 'misclassified drawing', 'misclassified drawings')} · ` +
        `${count(named, 'cluster', 'clusters')} named · ${marked.size} marked mislabelled`
      : '';
    $('save').disabled = saving || !data || !data.writable || !changed();
    document.body.dataset.state = saving ? 'saving' : changed() ? 'changed' : 'saved';
  }

  function currentName(c) {
    const typed = names[method] && names[method][c.cluster];
    return typed !== undefined ? typed : (c.name || '');
  }

  // "5 cat → dog, 3 cat → face, …": the cluster's (true, predicted) pairs, most frequent first
  function pairs(members) {
    const count = new Map();
    for (const i of members) {
      const d = data.drawings[i];
      const k = d.true + ' \u2192 ' + d.predicted;
      count.set(k, (count.get(k) || 0) + 1);
    }
    const list = [...count].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const shown = list.slice(0, 4).map(([k, n]) => `${n} ${k}`).join(', ');
    return list.length > 4 ? shown + ', …' : shown;
  }

  function drawingButton(i) {
    const d = data.drawings[i];
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'drawing';
    b.dataset.drawing = String(i);
    b.setAttribute('aria-pressed', marked.has(i) ? 'true' : 'false');
    b.title = `${d.true} drawn, taken for ${d.predicted} (key_id ${d.key_id}, record ${d.index})` +
      (d.note ? ` — ${d.note}` : '') + '. Click to mark its label as wrong.';
    const img = document.createElement('img');
    img.src = d.png;
    img.alt = `a ${d.true} the model took for a ${d.predicted}`;
    b.append(img, text('span', `${d.true}\u2192${d.predicted}`), text('span', 'mislabelled', 'mark'));
    b.addEventListener('click', () => {
      if (marked.has(i)) marked.delete(i);
      else marked.add(i);
      // the same drawing may show twice (K-Means and DBSCAN are both on the page data): keep every copy in step
      document.querySelectorAll(`button.drawing[data-drawing="${i}"]`).forEach((x) =>
        x.setAttribute('aria-pressed', marked.has(i) ? 'true' : 'false'));
      updateBar();
    });
    return b;
  }

  function clusterCard(c) {
    const sec = document.createElement('section');
    sec.className = 'cluster';
    sec.dataset.cluster = String(c.cluster);
    const title = c.noise ? 'Noise (no cluster)' : `Cluster ${c.cluster}`;
    const h = document.createElement('h2');
    h.append(text('span', title), text('span', `${c.size} drawing${c.size === 1 ? '' : 's'}`, 'size'));
    sec.append(h, text('p', pairs(c.members), 'pairs'));
    if (!c.noise) {
      const label = document.createElement('label');
      label.className = 'name';
      label.textContent = 'What these drawings have in common';
      const input = document.createElement('input');
      input.type = 'text';
      input.maxLength = NAME_MAX;
      input.autocomplete = 'off';
      input.placeholder = 'e.g. cats drawn as a face only';
      input.value = currentName(c);
      input.disabled = !data.writable;
      input.dataset.cluster = String(c.cluster);
      input.addEventListener('input', () => {
        let v = input.value;
        while (bytes(v) > NAME_MAX) v = v.slice(0, -1);
        if (v !== input.value) input.value = v;
        names[method] = names[method] || {};
        if (v.trim() === (c.name || '')) delete names[method][c.cluster];
        else names[method][c.cluster] = v.trim();
        input.classList.toggle('changed', names[method][c.cluster] !== undefined);
        updateBar();
      });
      label.append(input);
      sec.append(label);
    }
    if (c.montage) {
      const det = document.createElement('details');
      det.append(text('summary', 'Montage (most typical drawings first)'));
      const img = document.createElement('img');
      img.loading = 'lazy';
      img.alt = `montage of ${title}`;
      img.src = `/api/mistakes/montage?method=${method}&cluster=${c.noise ? 'noise' : c.cluster}`;
      det.append(img);
      sec.append(det);
    }
    const grid = document.createElement('div');
    grid.className = 'drawings';
    grid.setAttribute('aria-label', `the drawings of ${title}: press one to mark it mislabelled`);
    for (const i of c.members) grid.append(drawingButton(i));
    sec.append(grid);
    return sec;
  }

  function render() {
    const box = $('clusters');
    box.replaceChildren();
    document.querySelectorAll('.modes button[data-method]').forEach((b) => {
      const has = data && data.methods && data.methods.some((m) => m.method === b.dataset.method);
      b.hidden = !has;
      b.setAttribute('aria-pressed', b.dataset.method === method ? 'true' : 'false');
    });
    if (!data) return;
    $('source').textContent = data.source ? `Clusters from ${data.source}; names and marks are saved to ${data.labels}.` : '';
    if (data.missing) {
      setNotice('Nothing to show: ' + data.missing, true);
      updateBar();
      return;
    }
    if (data.labels_error) setNotice('The labels file cannot be read, so it will not be overwritten: ' + data.labels_error, true);
    else if (!data.writable) setNotice('Read-only: ' + data.read_only_reason);
    else if (data.other_marks) setNotice(`${data.other_marks} other drawings are marked mislabelled in the labels file (not among these clusters); they are kept.`);
    else setNotice('');
    const m = data.methods.find((x) => x.method === method);
    if (m) m.clusters.forEach((c) => box.append(clusterCard(c)));
    updateBar();
  }

  async function load() {
    const r = await fetch('/api/mistakes', { cache: 'no-store' });
    const j = await r.json();
    if (!r.ok) throw new Error(j.error || r.statusText);
    data = j;
    if (data.methods && !data.methods.some((m) => m.method === method) && data.methods.length) method = data.methods[0].method;
    marked = new Set();
    (data.drawings || []).forEach((d, i) => { if (d.mislabelled) marked.add(i); });
    savedMarks = marksKey();
    for (const k of Object.keys(names)) delete names[k];
    render();
  }

  async function save() {
    if (!data || !data.writable || saving) return;
    saving = true;
    updateBar();
    $('save-status').textContent = 'Saving…';
    $('save-status').className = '';
    const mislabelled = [...marked].sort((a, b) => a - b).map((i) => {
      const d = data.drawings[i];
      return d.note ? { drawing: i, note: d.note } : { drawing: i };
    });
    // one request per method whose names changed (the marks go with each); just the marks when no name did
    const methods = Object.keys(names).filter((k) => Object.keys(names[k]).length > 0);
    if (methods.length === 0) methods.push(method);
    try {
      let last = null;
      for (const mth of methods) {
        const body = { method: mth, mislabelled };
        if (names[mth]) body.names = Object.entries(names[mth]).map(([c, name]) => ({ cluster: Number(c), name }));
        const r = await fetch('/api/labels', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
        last = await r.json();
        if (!r.ok) throw new Error(last.error || r.statusText);
      }
      await load();
      $('save-status').textContent =
        `Saved: ${count(last.clusters, 'name', 'names')}, ${count(last.mislabelled, 'drawing', 'drawings')} marked mislabelled.`;
    } catch (e) {
      $('save-status').textContent = 'Not saved: ' + e.message;
      $('save-status').className = 'error';
    } finally {
      saving = false;
      updateBar();
    }
  }

  document.querySelectorAll('.modes button[data-method]').forEach((b) =>
    b.addEventListener('click', () => {
      method = b.dataset.method;
      render();
    }));
  $('save').addEventListener('click', save);
  window.addEventListener('beforeunload', (e) => {
    if (changed()) e.preventDefault();
  });
  load().catch((e) => {
    setNotice('Cannot load the clusters: ' + e.message, true);
    document.body.dataset.state = 'error';
  });
})();
