"""Writes the .npy test fixture of @relkd/teacher-outputs with numpy only (no relkd code).

Rows r = 0 … 49 of a toy data set whose labels are r % 10, in two shards whose rows are in a
shuffled order (so readers must use the index files). Values follow a formula the tests recompute:
  logits[r, c]       = r + c / 100
  stage[r, h, w, k]  = -r - (h * 6 + w * 3 + k) / 1000      (shape [2, 2, 3], NHWC)
Run from the repository root:  python3 tools/teacher-outputs/make_npy_fixture.py
"""
import json
import os

import numpy as np

OUT = os.path.join('packages', 'teacher-outputs', 'fixtures', 'npy')
N, C = 50, 10


def labels_hash(labels):
    h = 0x811C9DC5
    for b in np.asarray(labels, dtype='<i4').tobytes():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return 'fnv1a32:%08x' % h


def main():
    os.makedirs(OUT, exist_ok=True)
    rows = np.random.default_rng(7).permutation(N)
    shards = [rows[:30], rows[30:]]
    manifest_shards = []
    for k, idx in enumerate(shards):
        logits = (idx[:, None] + np.arange(C)[None, :] / 100).astype('<f4')
        stage = (-idx[:, None] - np.arange(12)[None, :] / 1000).astype('<f4').reshape(-1, 2, 2, 3)
        np.save(os.path.join(OUT, 'index-%d.npy' % k), idx.astype('<i8'))
        np.save(os.path.join(OUT, 'logits-%d.npy' % k), logits)
        np.save(os.path.join(OUT, 'stage-%d.npy' % k), stage)
        manifest_shards.append({
            'rows': int(len(idx)),
            'index': 'index-%d.npy' % k,
            'outputs': {'logits': 'logits-%d.npy' % k, 'stage': 'stage-%d.npy' % k},
        })
    manifest = {
        'format': 'relkd-teacher-outputs',
        'version': 1,
        'dataset': {'name': 'toy-50', 'labelsHash': labels_hash(np.arange(N) % 10)},
        'rows': N,
        'outputs': {
            'logits': {'shape': [C], 'dtype': 'float32'},
            'stage': {'shape': [2, 2, 3], 'dtype': 'float32'},
        },
        'shardFormat': 'npy',
        'shards': manifest_shards,
        'teacher': {'writer': 'numpy %s' % np.__version__},
    }
    with open(os.path.join(OUT, 'teacher.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main()
