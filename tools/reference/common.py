"""Shared float64 helpers for relkd's reference scripts (numpy only).

Every script under tools/reference/ writes JSON fixtures into packages/<pkg>/fixtures/ with the
inputs, the expected values and the expected gradients, all computed in float64 independently of
the TypeScript code. Gradients come from central differences (`numeric_grad`) in float64, which
is also how the fixtures check the analytic formulas.

Regenerate: python3 tools/reference/<script>.py  (numpy; PyTorch is optional for cross-checks).
"""
import json
import os

import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..'))


def log_softmax(z, axis=-1):
    z = np.asarray(z, dtype=np.float64)
    m = np.max(z, axis=axis, keepdims=True)
    return z - m - np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))


def softmax(z, axis=-1):
    return np.exp(log_softmax(z, axis))


def numeric_grad(f, x, eps=1e-6):
    """Central-difference gradient of a scalar function f at x (float64)."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    it = np.nditer(x, flags=['multi_index'])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        fp = f(x)
        x[i] = old - eps
        fm = f(x)
        x[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


def f32(x):
    """Rounds to float32 so the TypeScript side receives exactly the inputs the reference used."""
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def to_list(x):
    return np.asarray(x, dtype=np.float64).tolist()


def write_fixture(package, name, payload):
    out_dir = os.path.join(ROOT, 'packages', package, 'fixtures')
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name + '.json')
    with open(path, 'w') as fh:
        json.dump(payload, fh, indent=1)
        fh.write('\n')
    print('wrote', os.path.relpath(path, ROOT))
