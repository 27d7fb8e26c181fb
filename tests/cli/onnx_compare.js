// For tests/cli/export_onnx.sh: runs an ONNX model doodle exported in ONNX Runtime (npm onnxruntime-node) on the
// images of an .npy (uint8 (N, H, W), as doodle render writes them) and compares its probabilities with those of
// `doodle predict --json --top <all classes>` on the same file, class by class.
//   node onnx_compare.js MODEL.onnx IMAGES.npy PREDICT.jsonl TOLERANCE
// PREDICT.jsonl also has --logits: a barely trained model's probabilities are all close to 1/C, so the log-ratios of
// ONNX's probabilities are held to doodle's logit differences too (within 1e-4 of the logits' spread, as
// tests/cli/to_torch.sh holds PyTorch's logits). Prints what it found; exit 1 when a probability is more than
// TOLERANCE off, a log-ratio is off, a top-1 differs (but for a tie within TOLERANCE in doodle), or the batch of all
// drawings and one drawing alone disagree (the batch is dynamic).
const ort = require('onnxruntime-node');
const fs = require('fs');

function readNpy(path) {
  const b = fs.readFileSync(path);
  if (b.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${path}: not an .npy file`);
  const major = b[6], len = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8), start = major === 1 ? 10 : 12;
  const header = b.toString('latin1', start, start + len);
  if (!/'descr': '\|u1'/.test(header)) throw new Error(`${path}: not uint8: ${header}`);
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').filter(s => s.trim()).map(Number);
  return { shape, data: b.subarray(start + len) };
}

async function main() {
  const [model, npyPath, predPath, tolText] = process.argv.slice(2);
  const tol = Number(tolText);
  const npy = readNpy(npyPath);
  const n = npy.shape[0], h = npy.shape[1], w = npy.shape[2];
  // what doodle's classifier feeds: each pixel / 255 in float32 (src/nn/classify.c)
  const x = Float32Array.from(npy.data.subarray(0, n * h * w), p => Math.fround(p / 255));
  const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  if (s.inputNames[0] !== 'input' || s.outputNames[0] !== 'probabilities')
    throw new Error(`names: ${s.inputNames} -> ${s.outputNames}`);
  const all = (await s.run({ input: new ort.Tensor('float32', x, [n, 1, h, w]) })).probabilities;
  const one = (await s.run({ input: new ort.Tensor('float32', x.subarray(0, h * w), [1, 1, h, w]) })).probabilities;
  const classes = all.dims[1];
  const rows = fs.readFileSync(predPath, 'utf8').split('\n').filter(l => l.includes('"top"')).map(l => JSON.parse(l));
  if (rows.length !== n) throw new Error(`${rows.length} predictions for ${n} images`);
  let worst = 0, same = 0, batchDiff = 0, worstLogit = 0;
  rows.forEach((r, i) => {
    if (r.top.length !== classes)
      throw new Error(`drawing ${i}: ${r.top.length} classes in doodle, ${classes} in ONNX`);
    const p = all.data.subarray(i * classes, (i + 1) * classes), z = r.logits;
    for (const t of r.top) worst = Math.max(worst, Math.abs(p[t.index] - t.p));
    const best = p.indexOf(Math.max(...p));
    if (best === r.top[0].index || r.top[0].p - r.top[1].p <= tol) same++;
    const spread = Math.max(...z) - Math.min(...z) || 1;
    for (let c = 1; c < classes; c++)
      worstLogit = Math.max(worstLogit, Math.abs(Math.log(p[c] / p[0]) - (z[c] - z[0])) / spread);
  });
  for (let c = 0; c < classes; c++) batchDiff = Math.max(batchDiff, Math.abs(one.data[c] - all.data[c]));
  console.log(`${n} drawings, ${classes} classes: probabilities within ${worst.toExponential(2)} of doodle ` +
    `predict's, log-ratios within ${worstLogit.toExponential(2)} of the logits' spread, same top-1 on ${same}; ` +
    `batch of 1 against ${n}: ${batchDiff.toExponential(2)}`);
  process.exit(worst <= tol && worstLogit <= 1e-4 && same === n && batchDiff <= tol ? 0 : 1);
}
main().catch(e => { console.error(`onnx_compare.js: ${e.message}`); process.exit(2); });
