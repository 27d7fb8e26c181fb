#!/usr/bin/python3
"""The same network, epochs and optimizer in PyTorch, on the same split: the peer side of bench/accuracy.sh.

  /usr/bin/python3 bench/accuracy_torch.py --data D.dset --model mnist28 --epochs 10 --batch 64 --lr 0.001

Reads a bitmap .dset (docs/dset-format.md) with numpy, trains ../shared/peers/models.py's network, initialised
as Keras and doodle do (Glorot-uniform weights, zero biases), with Adam (no augmentation, constant learning rate, no weight decay: what `doodle train --no-augment --schedule constant
--warmup 0 --weight-decay 0` does) and prints one JSON line per epoch with the test accuracy.
"""
import argparse, json, os, struct, sys, time
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument('--data', required=True)
ap.add_argument('--model', default='mnist28')
ap.add_argument('--epochs', type=int, default=10)
ap.add_argument('--batch', type=int, default=64)
ap.add_argument('--lr', type=float, default=1e-3)
ap.add_argument('--threads', type=int, default=2)
ap.add_argument('--seed', type=int, default=1)
a = ap.parse_args()
os.environ.setdefault('OMP_NUM_THREADS', str(a.threads))
import torch, torch.nn.functional as F
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '..', '..', 'shared', 'peers'))
from models import MODELS


def read_dset(path):
    raw = open(path, 'rb').read()
    if raw[:8] != b'DOODSET\0' or struct.unpack_from('<I', raw, 8)[0] != 1:
        sys.exit(f'{path}: not a version 1 .dset')
    kind, n_classes, h, w = struct.unpack_from('<IIII', raw, 12)
    if kind != 1:
        sys.exit(f'{path}: a stroke set; this script reads bitmap sets')
    n, rec_off = struct.unpack_from('<QQ', raw, 32)
    rec = 18 + h * w
    body = np.frombuffer(raw, dtype=np.uint8, count=n * rec, offset=rec_off).reshape(n, rec)
    labels = body[:, 0].astype(np.int64) | (body[:, 1].astype(np.int64) << 8)
    split = body[:, 2]
    pixels = body[:, 18:].reshape(n, 1, h, w).astype(np.float32) / 255
    return pixels, labels, split, n_classes


x, y, split, classes = read_dset(a.data)
xtr, ytr = torch.from_numpy(x[split == 0]), torch.from_numpy(y[split == 0])
xte, yte = torch.from_numpy(x[split == 1]), torch.from_numpy(y[split == 1])
torch.manual_seed(a.seed)
torch.set_num_threads(a.threads)
model = MODELS[a.model][0](classes=classes)
# Keras' (and doodle's) initialisation: Glorot-uniform weights, zero biases, instead of PyTorch's default
for mod in model.modules():
    if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)):
        torch.nn.init.xavier_uniform_(mod.weight)
        torch.nn.init.zeros_(mod.bias)
opt = torch.optim.Adam(model.parameters(), a.lr, eps=1e-7)
for epoch in range(1, a.epochs + 1):
    t0 = time.perf_counter()
    model.train()
    order = torch.randperm(len(xtr))
    for i in range(0, len(order), a.batch):
        idx = order[i:i + a.batch]
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(xtr[idx]), ytr[idx]).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(xte[i:i + 512]) for i in range(0, len(xte), 512)])
        acc = (logits.argmax(1) == yte).float().mean().item()
        loss = F.cross_entropy(logits, yte).item()
    print(json.dumps({'peer': 'pytorch', 'epoch': epoch, 'test_acc': round(acc, 4), 'test_loss': round(loss, 4),
                      'seconds': round(time.perf_counter() - t0, 1)}), flush=True)
