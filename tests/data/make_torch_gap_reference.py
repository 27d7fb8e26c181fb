"""Reference outputs of a small network with global average pooling in PyTorch, for tests/test_globalavgpool.c.

The network (the test's cfg says the same in doodle's words):
    conv 8 3x3 same (no bias) -> BatchNorm -> ReLU -> maxpool 2 -> conv 16 3x3 same + ReLU
    -> AdaptiveAvgPool2d(1) + flatten (Keras' GlobalAveragePooling2D) -> dense 5
Weights follow make_torch_reference.py's formula (its functions, imported): tensor k (in layer order: weight, bias, then a BatchNorm's
running_mean and running_var; an absent bias still takes its number) gets value[i] = scale * sin(0.37 i + 1.3 k)
with scale 1/sqrt(fan_in) for weights, 0.1 for biases and beta, gamma = 1 + 0.1 sin, running_mean = 0.05 sin,
running_var = 1 + 0.5 |sin|. The input is two real drawings of data/sample (cat row 0, airplane row 0), 28x28 / 255.

Writes torch_gap.safetensors into OUT_DIR (default: a new temporary folder, printed); give tests/data to replace
the committed one.
    /usr/bin/python3 tests/data/make_torch_gap_reference.py build/torch-ref
    DOODLE_TORCH_REFERENCE_DIR=build/torch-ref build/tests/test_globalavgpool
"""
import gzip, io, os
import numpy as np
import torch
import torch.nn as nn

from make_torch_reference import fill, out_folder, references, root, safetensors_np

model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8, eps=1e-3, momentum=0.01), nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    nn.Linear(16, 5))
fill(model)

x = np.zeros((2, 1, 28, 28), dtype=np.float32)
for b, cls in enumerate(['cat', 'airplane']):
    raw = gzip.open(os.path.join(root, 'data', 'sample', 'bitmaps', cls + '.npy.gz')).read()
    x[b, 0] = np.load(io.BytesIO(raw))[0].reshape(28, 28).astype(np.float32) / 255
out_dir = out_folder()
out = references(model, torch.from_numpy(x), torch.tensor([3, 1]))
safetensors_np.write(os.path.join(out_dir, 'torch_gap.safetensors'), out,
                     {'made_by': 'tests/data/make_torch_gap_reference.py', 'torch': torch.__version__})
print(f'wrote torch_gap.safetensors in {out_dir}')
