// Opens a report.html (doodle report) in headless Chromium from a file:// URL and checks that it loads with no
// console error, page error or failed request, makes no network request at all, that every <img> has decoded
// (naturalWidth > 0), that the sections are there, that its one inline script sorts the per-class table by a
// clicked column, and (with MAX_HEIGHT) that the page is at most that many CSS pixels tall. Saves a full-page
// screenshot and prints the page's height.
// usage: node report_page.js REPORT.html SCREENSHOT.png [MAX_HEIGHT]
'use strict';
const path = require('path');
const { launch } = require('./chromium');

// Clicks the per-class table's headings: F1 ascending then descending, class names ascending. The table starts
// worst first (F1 ascending).
async function checkSorting(page) {
  const problems = [];
  const column = (i) => page.evaluate((i) => Array.from(document.querySelector('table.metrics').tBodies[0].rows)
    .map((r) => r.cells[i].textContent), i);
  const sorted = (a, cmp) => a.every((v, k) => k === 0 || cmp(a[k - 1], v) <= 0);
  const num = (x, y) => parseFloat(x) - parseFloat(y);
  if (!sorted(await column(3), num)) problems.push('the per-class table is not worst first (by F1)');
  const heading = (i) => page.locator('table.metrics thead th').nth(i);
  await heading(3).click();
  if (!sorted(await column(3), num)) problems.push('F1 heading clicked once: not ascending');
  await heading(3).click();
  if (!sorted(await column(3), (x, y) => num(y, x))) problems.push('F1 heading clicked twice: not descending');
  await heading(0).click();
  if (!sorted(await column(0), (x, y) => x.localeCompare(y))) problems.push('class heading clicked: not by name');
  if ((await page.evaluate(() => document.querySelector('table.metrics').tFoot.rows.length)) !== 2)
    problems.push('the averages left the table foot');
  return problems;
}

async function main() {
  const [file, shot, maxHeight] = process.argv.slice(2);
  if (!file || !shot) throw new Error('usage: node report_page.js REPORT.html SCREENSHOT.png');
  const browser = await launch();
  const problems = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('request', (r) => {
      const u = r.url();
      if (!u.startsWith('file:') && !u.startsWith('data:')) problems.push(`network request: ${u}`);
    });
    const url = 'file://' + path.resolve(file);
    const response = await page.goto(url, { waitUntil: 'load' });
    if (response && !response.ok()) problems.push(`load: status ${response.status()}`);
    const info = await page.evaluate(async () => {
      const imgs = Array.from(document.images);
      await Promise.all(imgs.map((i) => (i.decode ? i.decode().catch(() => {}) : null)));
      return {
        title: document.title,
        images: imgs.length,
        broken: imgs.filter((i) => !(i.complete && i.naturalWidth > 0)).map((i) => i.alt),
        external: imgs.filter((i) => !i.src.startsWith('data:image/png;base64,')).map((i) => i.src.slice(0, 80)),
        sections: Array.from(document.querySelectorAll('section')).map((s) => s.id),
        svgs: document.querySelectorAll('svg polyline').length,
        confusionCells: document.querySelectorAll('table.confusion td').length,
        confusionPicture: Array.from(document.images).some((i) => i.alt === 'Confusion matrix'),
        scripts: document.scripts.length,
        scriptSources: Array.from(document.scripts).filter((s) => s.src).map((s) => s.src),
        height: document.documentElement.scrollHeight,
        links: Array.from(document.querySelectorAll('link[href]')).map((l) => l.href).filter((h) => !h.startsWith('data:')),
      };
    });
    if (!info.title.startsWith('doodle report')) problems.push(`title: ${info.title}`);
    if (info.images < 5) problems.push(`only ${info.images} images`);
    if (info.broken.length) problems.push(`images that do not decode: ${info.broken.join(', ')}`);
    if (info.external.length) problems.push(`images not inline: ${info.external.join(', ')}`);
    if (info.scripts !== 1) problems.push(`${info.scripts} scripts (the report has one, inline: table sorting)`);
    if (info.scriptSources.length) problems.push(`scripts fetched: ${info.scriptSources.join(', ')}`);
    if (maxHeight && info.height > Number(maxHeight)) problems.push(`the page is ${info.height} px tall, over ${maxHeight}`);
    problems.push(...await checkSorting(page));
    if (info.links.length) problems.push(`external links: ${info.links.join(', ')}`);
    for (const id of ['data', 'model', 'training', 'evaluation', 'misclassified', 'clusters', 'activations', 'saliency', 'suspect'])
      if (!info.sections.includes(id)) problems.push(`no section ${id}`);
    if (info.svgs !== 5) problems.push(`${info.svgs} curves, want 5 (train and validation loss and accuracy, learning rate)`);
    if (info.confusionCells < 4 && !info.confusionPicture) problems.push('no confusion heat map (table or picture)');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`ok: ${info.images} images decoded, sections ${info.sections.join(' ')}, ${info.svgs} curves, ` +
      `${info.height} px tall`);
  } finally {
    await browser.close();
  }
  if (problems.length) {
    for (const p of problems) console.error(p);
    process.exit(1);
  }
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
