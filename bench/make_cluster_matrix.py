#!/usr/bin/python3
"""Writes ../shared/peers/sk_cluster.py's synthetic doodles (its own render(), same seed) as a uint8 .npy
(N, 66, 100), pixel = round(value * 255), for bench/bench_cluster. Usage: make_cluster_matrix.py N OUT.npy"""
import os, sys
import numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "peers"))
import sk_cluster  # noqa: E402

n, out = int(sys.argv[1]), sys.argv[2]
X, _ = sk_cluster.render(n, seed=n)
np.save(out, np.rint(X * 255).astype(np.uint8).reshape(n, sk_cluster.H, sk_cluster.W))
