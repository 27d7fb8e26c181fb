"""Writes tests/data/reference.safetensors with ../shared/peers/safetensors_np.py (numpy only), so that
tests/test_safetensors.c checks doodle reads what the Python side writes. Run: /usr/bin/python3 THIS_FILE."""
import os, sys
import numpy as np
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '..', '..', '..', 'shared', 'peers'))
import safetensors_np

tensors = {
    'conv1.weight': np.arange(2 * 1 * 3 * 3, dtype=np.float32).reshape(2, 1, 3, 3) / 8 - 1,
    'conv1.bias': np.array([0.5, -0.25], dtype=np.float32),
    'bn1.num_batches_tracked': np.array(7, dtype=np.int64),
    'labels': np.array([3, 1, 4, 1, 5], dtype=np.uint8),
}
safetensors_np.write(os.path.join(here, 'reference.safetensors'), tensors,
                     {'format': 'doodle-test', 'cfg': '[net]\ninput = 28x28x1\n# "quoted" \\ text\n'})
