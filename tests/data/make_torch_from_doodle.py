"""Loads a model file written by doodle (tests/data/doodle_seed.safetensors: the study's seed network after one
epoch of `doodle train` on data/sample/strokes) into the PyTorch peer network of ../shared/peers/models.py, and
writes its logits on the input of torch_seed.safetensors to tests/data/torch_logits_doodle_seed.safetensors.
tests/test_torch_reference.c checks doodle gives the same logits from the same file.
Run: /usr/bin/python3 tests/data/make_torch_from_doodle.py"""
import json, os, sys
import numpy as np
import torch
import torch.nn as nn

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '..', '..', '..', 'shared', 'peers'))
import models, safetensors_np

tensors, meta = safetensors_np.read(os.path.join(here, 'doodle_seed.safetensors'))
assert meta['format'] == 'doodle-model', meta.get('format')
classes = json.loads(meta['classes'])
model = models.seed(classes=len(classes))
counts = {}
for mod in model:
    base = {nn.Conv2d: 'conv2d', nn.Linear: 'dense', nn.BatchNorm2d: 'batch_normalization'}.get(type(mod))
    if base is None:
        continue
    i = counts.get(base, 0)
    counts[base] = i + 1
    name = base if i == 0 else f'{base}_{i}'
    mod.weight.data = torch.from_numpy(tensors[name + '.weight'])
    mod.bias.data = torch.from_numpy(tensors[name + '.bias'])
    if isinstance(mod, nn.BatchNorm2d):
        mod.running_mean.data = torch.from_numpy(tensors[name + '.running_mean'])
        mod.running_var.data = torch.from_numpy(tensors[name + '.running_var'])
model.eval()
x, _ = safetensors_np.read(os.path.join(here, 'torch_seed.safetensors'))
with torch.no_grad():
    logits = model(torch.from_numpy(x['input'])).numpy()
safetensors_np.write(os.path.join(here, 'torch_logits_doodle_seed.safetensors'), {'logits': logits},
                     {'made_by': 'tests/data/make_torch_from_doodle.py', 'classes': meta['classes']})
print('classes', classes, 'logits', logits)
