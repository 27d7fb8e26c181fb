"""Reference outputs of the study's networks in PyTorch (../shared/peers/models.py), for tests/test_torch_reference.c.

Both sides fill the weights with the same formula (so no weights are stored): tensor k of the model (in layer
order: weight, bias, then a BatchNorm's running_mean and running_var) gets
    value[i] = scale * sin(0.37 * i + 1.3 * k)       (float64, then rounded to float32)
with scale 1/sqrt(fan_in) for conv and dense weights, 0.1 for biases and BatchNorm beta, and gamma = 1 + 0.1 sin,
running_mean = 0.05 sin, running_var = 1 + 0.5 |sin|. The input is two real drawings of data/sample (cat row 0,
airplane row 0), 28x28 pixels /255 upscaled 2x into a 66x100 frame at row 5, column 22. Dropout is turned off
(p = 0) so both sides are deterministic; BatchNorm runs in training mode for the gradients.

Writes torch_seed.safetensors and torch_lenet.safetensors into OUT_DIR (default: a new temporary folder, printed),
never into tests/data unless asked: the committed references are what the test checks, and a run must not change
them behind the test's back.
    /usr/bin/python3 tests/data/make_torch_reference.py build/torch-ref
    DOODLE_TORCH_REFERENCE_DIR=build/torch-ref build/tests/test_torch_reference   # checks doodle against them
To replace the committed references (after a change in ../shared/peers/models.py, say), give tests/data itself.
"""
import gzip, io, os, sys, tempfile
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, '..', '..')
sys.path.insert(0, os.path.join(root, '..', 'shared', 'peers'))
import models, safetensors_np

torch.manual_seed(0)
torch.set_num_threads(1)


def formula(n, k, scale, offset=0.0, absolute=False):
    s = np.sin(0.37 * np.arange(n, dtype=np.float64) + 1.3 * k)
    if absolute:
        s = np.abs(s)
    return (offset + scale * s).astype(np.float32)


def fill(model):
    """Fills the parametrised layers in order; returns the doodle names of those layers' tensors."""
    k = 0
    for mod in model:
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            fan_in = mod.weight[0].numel()
            mod.weight.data = torch.from_numpy(formula(mod.weight.numel(), k, 1 / np.sqrt(fan_in))).reshape(mod.weight.shape)
            if mod.bias is not None:  # an absent bias still takes its number k + 1
                mod.bias.data = torch.from_numpy(formula(mod.bias.numel(), k + 1, 0.1))
            k += 2
        elif isinstance(mod, nn.BatchNorm2d):
            c = mod.num_features
            mod.weight.data = torch.from_numpy(formula(c, k, 0.1, 1.0))
            mod.bias.data = torch.from_numpy(formula(c, k + 1, 0.1))
            mod.running_mean.data = torch.from_numpy(formula(c, k + 2, 0.05))
            mod.running_var.data = torch.from_numpy(formula(c, k + 3, 0.5, 1.0, absolute=True))
            k += 4
        elif isinstance(mod, nn.Dropout):
            mod.p = 0.0


def keras_names(model):
    """Keras' layer names for the parametrised layers, as doodle's cfg gives them."""
    counts, names = {}, []
    for mod in model:
        base = {nn.Conv2d: 'conv2d', nn.Linear: 'dense', nn.BatchNorm2d: 'batch_normalization'}.get(type(mod))
        if base is None:
            continue
        i = counts.get(base, 0)
        counts[base] = i + 1
        names.append((mod, base if i == 0 else f'{base}_{i}'))
    return names


def sample_input():
    x = np.zeros((2, 1, 66, 100), dtype=np.float32)
    for b, cls in enumerate(['cat', 'airplane']):
        raw = gzip.open(os.path.join(root, 'data', 'sample', 'bitmaps', cls + '.npy.gz')).read()
        img = np.load(io.BytesIO(raw))[0].reshape(28, 28).astype(np.float32) / 255
        x[b, 0, 5:61, 22:78] = np.kron(img, np.ones((2, 2), dtype=np.float32))
    return x


def references(model, x, labels, grads_of=lambda layer, suffix: True):
    """The model's training-mode logits, loss, gradients and BatchNorm statistics after one backward pass on x, and
    its eval-mode logits, by doodle's tensor names."""
    out = {'input': x.numpy()}
    model.train()
    logits = model(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    out['logits_train'] = logits.detach().numpy()
    out['loss'] = np.array([loss.item()], dtype=np.float32)
    for mod, lname in keras_names(model):
        tensors = [('weight', mod.weight), ('bias', mod.bias)]
        for suffix, p in tensors:
            if p is not None and grads_of(lname, suffix):
                out[f'{lname}.{suffix}.grad'] = p.grad.numpy()
        if isinstance(mod, nn.BatchNorm2d):
            out[f'{lname}.running_mean'] = mod.running_mean.numpy()
            out[f'{lname}.running_var'] = mod.running_var.numpy()
    model.eval()
    with torch.no_grad():
        out['logits_eval'] = model(x).numpy()
    return out


def out_folder():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix='torch-reference-')
    os.makedirs(out_dir, exist_ok=True)
    return out_dir


def run(name, grads_of, out_dir):
    model = models.MODELS[name][0]()
    fill(model)
    x = torch.from_numpy(sample_input())
    labels = torch.tensor([3, 1])
    out = {'labels': labels.numpy().astype(np.int64), **references(model, x, labels, grads_of)}
    safetensors_np.write(os.path.join(out_dir, f'torch_{name}.safetensors'), out,
                         {'made_by': 'tests/data/make_torch_reference.py', 'torch': torch.__version__})


if __name__ == '__main__':
    out_dir = out_folder()
    run('seed', lambda layer, suffix: True, out_dir)
    # lenet's two big dense layers (1.5 MB and 36 MB of gradients) keep only their bias gradients
    run('lenet', lambda layer, suffix: not (layer in ('dense', 'dense_1') and suffix == 'weight'), out_dir)
    print(f'wrote torch_seed.safetensors and torch_lenet.safetensors in {out_dir}')
