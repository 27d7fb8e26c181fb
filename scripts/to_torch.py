#!/usr/bin/env python3
"""A doodle model file as a PyTorch module.

    /usr/bin/python3 scripts/to_torch.py RUN/model.safetensors                       prints the module
    /usr/bin/python3 scripts/to_torch.py RUN/model.safetensors --save model.pt       torch.save(module)
    /usr/bin/python3 scripts/to_torch.py RUN/model.safetensors --check cat.ndjson    the first drawing's logits
                                                          in PyTorch and in `doodle predict`, compared
    /usr/bin/python3 scripts/to_torch.py RUN/model.safetensors --logits images.npy   logits of each image, JSON

The module is built from what the file holds (src/nn/model_io.c): the cfg text in the safetensors metadata
(include/doodle/model_spec.h: [conv2d] [batchnorm] [activation] [maxpool] [flatten] [dense] [dropout] [globalavgpool]), the input
size, the class names, the BatchNorm layers' epsilon and momentum ("batchnorm"; files written before it was stored
use the cfg's, whose defaults are 0.001 and 0.99), and the tensors "<layer>.weight", ".bias", ".running_mean",
".running_var", named as doodle names layers (Keras' names: conv2d, conv2d_1, batch_normalization, …). doodle's
layouts are PyTorch's (NCHW, conv weight [out, in, kh, kw], dense weight [out, in]); what differs is handled here:
Keras' "same" padding (the odd pixel after, bottom/right: a ZeroPad2d), Keras' momentum (PyTorch's is 1 - it).
Input: pixels / 255 of the image doodle renders (0 = background, 1 = ink), shape [N, 1, H, W]; output: logits.
Needs only python3-torch and numpy. Exit status: 0 done (and --check agrees), 1 it does not agree or a file
cannot be read, 2 bad usage.
"""
import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

DTYPES = {'F32': np.float32, 'F64': np.float64, 'F16': np.float16, 'I32': np.int32, 'I64': np.int64, 'U8': np.uint8}
KERAS_NAMES = {'conv2d': 'conv2d', 'batchnorm': 'batch_normalization', 'activation': 'activation',
               'maxpool': 'max_pooling2d', 'flatten': 'flatten', 'dense': 'dense', 'dropout': 'dropout',
               'globalavgpool': 'global_average_pooling2d'}


class ModelError(Exception):
    pass


def read_safetensors(path):
    """(tensors as numpy arrays, metadata dict) of a .safetensors file."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 8:
        raise ModelError(f'{path}: not a safetensors file (too short)')
    n = struct.unpack('<Q', data[:8])[0]
    if n > len(data) - 8:
        raise ModelError(f'{path}: not a safetensors file (header of {n} bytes in a file of {len(data)})')
    try:
        header = json.loads(data[8:8 + n])
    except ValueError as e:
        raise ModelError(f'{path}: not a safetensors file: {e}')
    meta = header.pop('__metadata__', {}) or {}
    body = data[8 + n:]
    tensors = {}
    for name, t in header.items():
        if t['dtype'] not in DTYPES:
            raise ModelError(f'{path}: tensor {name} has dtype {t["dtype"]}, which this script does not read')
        start, end = t['data_offsets']
        a = np.frombuffer(body[start:end], dtype=np.dtype(DTYPES[t['dtype']]).newbyteorder('<'))
        tensors[name] = a.reshape(t['shape']).astype(a.dtype.newbyteorder('='))
    return tensors, meta


def parse_cfg(text):
    """[(section, {key: value}, line)] of the cfg text: '#' and ';' start comments, names and keys in any case."""
    sections = []
    for i, raw in enumerate(text.split('\n'), 1):
        line = re.split('[#;]', raw, 1)[0].strip()
        if not line:
            continue
        if line.startswith('[') and line.endswith(']'):
            sections.append((line[1:-1].strip().lower(), {}, i))
        elif '=' in line and sections:
            key, value = line.split('=', 1)
            sections[-1][1][key.strip().lower()] = value.strip()
        else:
            raise ModelError(f'cfg line {i}: cannot read "{raw.strip()}"')
    if not sections or sections[0][0] != 'net':
        raise ModelError('the cfg does not start with [net]')
    return sections


def dims(text):
    return [int(v) for v in re.split(r'\s*[xX]\s*', text.strip())]


def same_padding(size, kernel, stride):
    """Keras' (TensorFlow's) "same": output ceil(size / stride), the odd padding pixel after (bottom/right)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2, total - total // 2


def build(path):
    """(module in eval mode, class names, (H, W), render settings) of a doodle model file."""
    tensors, meta = read_safetensors(path)
    if meta.get('format') != 'doodle-model' or 'cfg' not in meta:
        raise ModelError(f'{path}: not a doodle model (no doodle metadata: format, cfg)')
    classes = json.loads(meta['classes'])
    h, w, c = dims(meta['input'])
    render = json.loads(meta.get('render', '{}'))
    batchnorm = json.loads(meta.get('batchnorm', '{}'))
    layers, counters, used = [], {}, set()
    shape = (c, h, w)  # (C, H, W), or (C,) once flat
    modules = nn.Sequential()
    for kind, keys, line in parse_cfg(meta['cfg'])[1:]:
        if kind not in KERAS_NAMES:
            raise ModelError(f'cfg line {line}: unknown section [{kind}]')
        k = counters.get(kind, 0)
        if 'name' in keys:
            name = keys['name']
        else:
            counters[kind] = k + 1
            name = KERAS_NAMES[kind] + (f'_{k}' if k else '')
        if name in used:
            raise ModelError(f'cfg line {line}: two layers named {name}')
        used.add(name)
        act = keys.get('activation', keys.get('type', 'linear')).lower()

        def param(suffix, want_shape):
            key = f'{name}.{suffix}'
            if key not in tensors:
                raise ModelError(f'{path}: no tensor {key}')
            t = tensors[key].astype(np.float32)
            if tuple(t.shape) != tuple(want_shape):
                raise ModelError(f'{path}: tensor {key} has shape {list(t.shape)}, the cfg makes {list(want_shape)}')
            return torch.from_numpy(t.copy())

        if kind == 'conv2d':
            kd = dims(keys['kernel'])
            kh, kw = kd[0], kd[-1]
            stride, filters = int(keys.get('stride', 1)), int(keys['filters'])
            bias = keys.get('bias', '1').lower() not in ('0', 'false', 'no', 'off')
            if keys.get('padding', 'valid').lower() == 'same':
                oh, top, bottom = same_padding(shape[1], kh, stride)
                ow, left, right = same_padding(shape[2], kw, stride)
                if top or bottom or left or right:
                    modules.add_module(f'{name}_pad', nn.ZeroPad2d((left, right, top, bottom)))
            else:
                oh, ow = (shape[1] - kh) // stride + 1, (shape[2] - kw) // stride + 1
            conv = nn.Conv2d(shape[0], filters, (kh, kw), stride=stride, bias=bias)
            conv.weight.data = param('weight', (filters, shape[0], kh, kw))
            if bias:
                conv.bias.data = param('bias', (filters,))
            modules.add_module(name, conv)
            shape = (filters, oh, ow)
        elif kind == 'batchnorm':
            # doodle's momentum is Keras' (running = m * running + (1 - m) * batch); PyTorch's is 1 - m
            settings = batchnorm.get(name, {})
            eps = float(settings.get('epsilon', keys.get('epsilon', 0.001)))
            momentum = float(settings.get('momentum', keys.get('momentum', 0.99)))
            bn = (nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d)(shape[0], eps=eps, momentum=1 - momentum)
            bn.weight.data = param('weight', (shape[0],))
            bn.bias.data = param('bias', (shape[0],))
            bn.running_mean.data = param('running_mean', (shape[0],))
            bn.running_var.data = param('running_var', (shape[0],))
            modules.add_module(name, bn)
            act = 'linear'
        elif kind == 'maxpool':
            size = int(keys['size'])
            stride = int(keys.get('stride', size))
            modules.add_module(name, nn.MaxPool2d(size, stride))  # floor: Keras' "valid"
            shape = (shape[0], (shape[1] - size) // stride + 1, (shape[2] - size) // stride + 1)
        elif kind == 'flatten':
            modules.add_module(name, nn.Flatten())  # C, H, W order: doodle's activations are NCHW too
            shape = (int(np.prod(shape)),)
        elif kind == 'globalavgpool':
            modules.add_module(name, nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()))  # the mean of each map
            shape = (shape[0],)
        elif kind == 'dense':
            units = len(classes) if keys['units'].lower() == 'classes' else int(keys['units'])
            bias = keys.get('bias', '1').lower() not in ('0', 'false', 'no', 'off')
            dense = nn.Linear(shape[0], units, bias=bias)
            dense.weight.data = param('weight', (units, shape[0]))
            if bias:
                dense.bias.data = param('bias', (units,))
            modules.add_module(name, dense)
            shape = (units,)
        elif kind == 'dropout':
            modules.add_module(name, nn.Dropout(float(keys['rate'])))
            act = 'linear'
        if act == 'relu':
            modules.add_module(name if kind == 'activation' else f'{name}_relu', nn.ReLU())
        elif kind == 'activation':
            modules.add_module(name, nn.Identity())
    if shape != (len(classes),):
        raise ModelError(f'{path}: the network ends with shape {shape}, not {len(classes)} class scores')
    modules.eval()
    return modules, classes, (h, w), render


def logits_of(model, images):
    """Logits [N, classes] of uint8 images [N, H, W] (0 = background, 255 = ink)."""
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    with torch.no_grad():
        return model(x).numpy()


def find_doodle(given):
    if given:
        return given
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in [shutil.which('doodle'), os.path.join(here, '..', 'build', 'doodle')]:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise ModelError('no doodle binary: give --doodle PATH (or put doodle in PATH, or build it in build/)')


def check(model, classes, size, render, model_path, drawing, doodle):
    """The first drawing of the file: rendered by doodle as predict renders it, run in PyTorch, and its logits
    compared with `doodle predict --json --logits`. Returns (worst error relative to the largest logit, top class)."""
    with tempfile.TemporaryDirectory() as tmp:
        npy = os.path.join(tmp, 'input.npy')
        subprocess.run([doodle, 'render', '-q', '-n', '1', '-s', f'{size[0]}x{size[1]}',
                        '--line-width', repr(render.get('line_width', 16.0)),
                        '--padding', repr(render.get('padding', 16.0)), '-o', npy, drawing],
                       check=True, stdout=subprocess.DEVNULL)
        torch_logits = logits_of(model, np.load(npy))[0]
    out = subprocess.run([doodle, 'predict', '--json', '--logits', '-k', '1', '-m', model_path, drawing],
                         check=True, capture_output=True, text=True).stdout
    first = json.loads(out.split('\n')[0])
    doodle_logits = np.array(first['logits'], dtype=np.float64)
    worst = np.max(np.abs(torch_logits - doodle_logits)) / max(np.max(np.abs(doodle_logits)), 1e-6)
    return worst, classes[int(np.argmax(torch_logits))], first['top'][0]['class'], torch_logits, doodle_logits


def main():
    ap = argparse.ArgumentParser(description='A doodle model file as a PyTorch module.')
    ap.add_argument('model', help='MODEL.safetensors written by doodle train')
    ap.add_argument('--check', metavar='DRAWING.ndjson', help="compare the first drawing's logits with doodle predict")
    ap.add_argument('--doodle', metavar='PATH', help='the doodle binary for --check (default: PATH, then build/)')
    ap.add_argument('--logits', metavar='IMAGES.npy', help='print the logits of every image (uint8 [N, H, W]) as JSON')
    ap.add_argument('--save', metavar='FILE.pt', help='torch.save the module')
    ap.add_argument('--tolerance', type=float, default=1e-4, help='--check: largest error relative to the largest '
                    'logit (default 1e-4)')
    args = ap.parse_args()
    try:
        model, classes, size, render = build(args.model)
        if args.logits:
            images = np.load(args.logits)
            if images.ndim == 2:
                images = images.reshape(images.shape[0], *size)
            if tuple(images.shape[1:]) != size:
                raise ModelError(f'{args.logits}: images of {images.shape[1:]}, the model takes {size}')
            print(json.dumps({'classes': classes, 'logits': logits_of(model, images).tolist()}))
        if args.save:
            torch.save(model, args.save)
            print(f'wrote {args.save}', file=sys.stderr)
        if args.check:
            worst, torch_top, doodle_top, t, d = check(model, classes, size, render, args.model, args.check,
                                                       find_doodle(args.doodle))
            ok = worst <= args.tolerance and torch_top == doodle_top
            print(f'{args.check}, first drawing: PyTorch {torch_top}, doodle {doodle_top}; logits differ by '
                  f'{worst:.2g} of the largest ({"within" if ok else "NOT within"} {args.tolerance:g})')
            return 0 if ok else 1
        if not args.logits and not args.save:
            print(model)
            print(f'input [N, 1, {size[0]}, {size[1]}] (pixels / 255, ink = 1), {len(classes)} classes: '
                  + ', '.join(classes))
    except (ModelError, OSError, ValueError, KeyError, subprocess.CalledProcessError) as e:
        detail = getattr(e, 'stderr', None)
        print(f'to_torch.py: {e}{": " + detail.strip() if detail else ""}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
