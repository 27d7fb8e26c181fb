"""Reference outputs of a small network with global average pooling in PyTorch, for tests/test_globalavgpool.c.

The network (the test's cfg says the same in doodle's words):
    conv 8 3x3 same (no bias) -> BatchNorm -> ReLU -> maxpool 2 -> conv 16 3x3 same + ReLU
    -> AdaptiveAvgPool2d(1) + flatten (Keras' GlobalAveragePooling2D) -> dense 5
Weights follow make_torch_reference.py's formula: tensor k (in layer order: weight, bias, then a BatchNorm's
running_mean and running_var; an absent bias still takes its number) gets value[i] = scale * sin(0.37 i + 1.3 k)
with scale 1/sqrt(fan_in) for weights, 0.1 for biases and beta, gamma = 1 + 0.1 sin, running_mean = 0.05 sin,
running_var = 1 + 0.5 |sin|. The input is two real drawings of data/sample (cat row 0, airplane row 0), 28x28 / 255.

Writes torch_gap.safetensors into OUT_DIR (default: a new temporary folder, printed); give tests/data to replace
the committed one.
    /usr/bin/python3 tests/data/make_torch_gap_reference.py build/torch-ref
    DOODLE_TORCH_REFERENCE_DIR=build/torch-ref build/tests/test_globalavgpool
"""
import gzip, io, os, sys, tempfile
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, '..', '..')
sys.path.insert(0, os.path.join(root, '..', 'shared', 'peers'))
import safetensors_np

out_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix='torch-reference-')
os.makedirs(out_dir, exist_ok=True)
torch.manual_seed(0)
torch.set_num_threads(1)


def formula(n, k, scale, offset=0.0, absolute=False):
    s = np.sin(0.37 * np.arange(n, dtype=np.float64) + 1.3 * k)
    if absolute:
        s = np.abs(s)
    return (offset + scale * s).astype(np.float32)


model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8, eps=1e-3, momentum=0.01), nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    nn.Linear(16, 5))
names = {0: 'conv2d', 1: 'batch_normalization', 4: 'conv2d_1', 8: 'dense'}

k = 0
for mod in model:
    if isinstance(mod, (nn.Conv2d, nn.Linear)):
        fan_in = mod.weight[0].numel()
        w = formula(mod.weight.numel(), k, 1 / np.sqrt(fan_in))
        mod.weight.data = torch.from_numpy(w).reshape(mod.weight.shape)
        if mod.bias is not None:
            mod.bias.data = torch.from_numpy(formula(mod.bias.numel(), k + 1, 0.1))
        k += 2
    elif isinstance(mod, nn.BatchNorm2d):
        c = mod.num_features
        mod.weight.data = torch.from_numpy(formula(c, k, 0.1, 1.0))
        mod.bias.data = torch.from_numpy(formula(c, k + 1, 0.1))
        mod.running_mean.data = torch.from_numpy(formula(c, k + 2, 0.05))
        mod.running_var.data = torch.from_numpy(formula(c, k + 3, 0.5, 1.0, absolute=True))
        k += 4

x = np.zeros((2, 1, 28, 28), dtype=np.float32)
for b, cls in enumerate(['cat', 'airplane']):
    raw = gzip.open(os.path.join(root, 'data', 'sample', 'bitmaps', cls + '.npy.gz')).read()
    x[b, 0] = np.load(io.BytesIO(raw))[0].reshape(28, 28).astype(np.float32) / 255
x = torch.from_numpy(x)
labels = torch.tensor([3, 1])
out = {'input': x.numpy()}
model.train()
logits = model(x)
loss = F.cross_entropy(logits, labels)
loss.backward()
out['logits_train'] = logits.detach().numpy()
out['loss'] = np.array([loss.item()], dtype=np.float32)
for i, name in names.items():
    mod = model[i]
    out[f'{name}.weight.grad'] = mod.weight.grad.numpy()
    if mod.bias is not None:
        out[f'{name}.bias.grad'] = mod.bias.grad.numpy()
    if isinstance(mod, nn.BatchNorm2d):
        out[f'{name}.running_mean'] = mod.running_mean.numpy()
        out[f'{name}.running_var'] = mod.running_var.numpy()
model.eval()
with torch.no_grad():
    out['logits_eval'] = model(x).numpy()
safetensors_np.write(os.path.join(out_dir, 'torch_gap.safetensors'), out,
                     {'made_by': 'tests/data/make_torch_gap_reference.py', 'torch': torch.__version__})
print(f'wrote torch_gap.safetensors in {out_dir}')
