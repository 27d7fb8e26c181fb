// Compares the weights of two .safetensors models or checkpoints (a checkpoint's optimizer moments are left out): prints the largest difference relative to
// the larger magnitude of the pair (floored at 1e-3, so that weights near zero are compared absolutely) and the
// tensor it is in. Exit 0 when every tensor has the same name and shape in both, 1 otherwise.
//   node tests/cli/st_compare.js A.safetensors B.safetensors
'use strict';
const fs = require('fs');

function read(path) {
  const buf = fs.readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const data = buf.subarray(8 + n);
  const tensors = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__' || t.dtype !== 'F32' || name.startsWith('optimizer.')) continue;
    const [a, b] = t.data_offsets;
    const bytes = data.subarray(a, b);
    tensors[name] = { shape: t.shape.join('x'), v: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)) };
  }
  return tensors;
}

const [x, y] = [read(process.argv[2]), read(process.argv[3])];
let worst = 0, where = '', bad = false;
for (const name of Object.keys(x)) {
  if (!y[name] || y[name].shape !== x[name].shape) { console.log(`${name}: not in both with one shape`); bad = true; continue; }
  const a = x[name].v, b = y[name].v;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]) / Math.max(Math.abs(a[i]), Math.abs(b[i]), 1e-3);
    if (!(d <= worst)) { worst = d; where = `${name}[${i}]`; }
  }
}
if (Object.keys(y).length !== Object.keys(x).length) bad = true;
console.log(`max relative difference ${worst.toExponential(3)}${where ? ' at ' + where : ''}`);
process.exit(bad ? 1 : 0);
