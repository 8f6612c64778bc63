"""PyTorch CPU peer of each method's WHOLE student training step on the MNIST benchmark (issue #19).

Run with Debian's PyTorch:  /usr/bin/python3 tools/reference/step_torch.py [--threads N] [--rounds R] [--quick]
Writes tools/reference/step_torch.json; when present, the "whole steps" section of `npm run bench`
(packages/bench/src/wholeSteps.ts) shows tfjs/torch ratios per method.
`--fixture` writes packages/bench/fixtures/torch_steps.json instead (see below) and exits.

What one step is, per method (the same as the tfjs `Distiller.step` with the recipe and the tuned
configuration of examples/mnist/tuned.json, as examples/mnist/src/arms.ts builds it):

  ce     student forward (training mode) -> CE -> backward -> Adam update
  kd     + teacher forward (inference, no grad); loss (1 - a) CE + a KD(T), tuned T = 2, a = 0.5
  vrm    + a virtual view of the batch made per step (below); teacher and student each run on the
         real batch and on the view (separate passes, as the Distiller does); CE + 16 vrmLoss with
         unreliable-edge pruning (joint entropy, ratio 0.1)
  stkd   mixup per step (lambda ~ Beta(1, 1) per batch, a random permutation); teacher and student
         on the mixed batch; stkdLoss(T = 2, ceWeight 0.5, kdWeight 0.5), no plain CE
  icc    teacher forward; iccStudentLoss(T = 8, correlation temperature 8, kdWeight 1, iccWeight 1)
  mtkd   teacher forward with its stage features; the teacher's stage heads (inference mode, no
         grad); the student's channel adapters and stage heads (trained with the student);
         mtkdLoss(T = 4, SCD/SRD/CRD weights 0.5)
  corsd  no teacher; triplets drawn per step from the labels (a Python loop over the batch, as
         the recipe's JavaScript `tripletIndices`); 3 relation networks on the (anchor, positive)
         and (anchor, negative) stage pairs in one joint batch each; CE + corsdLoss (defaults,
         tSquared as tuned) + the monitoring accuracies the recipe logs (no grad)

The loss functions are imported from bench_torch.py (checked against the packages by
packages/bench/src/torchPeer.test.ts). Models mirror examples/mnist/src/models.ts (3-stage by default:
student conv 8 - pool - conv 32 - pool - conv 64 - pool - GAP - dense 10; teacher conv 16/32/64 -
flatten - dropout - dense 128 - dense 10; 'same' 3x3 convs = padding 1; 'same' 2x2 max-pool =
ceil_mode) and the relkd modules (core SepConv, stage-distill ChannelAdapter/StageHead,
relation-network RelationNetwork) with the same parameter shapes; the fixture mode and
packages/bench/src/stepPeer.test.ts prove it. Batch 64 (the issue's), 28x28x1 inputs, 10 classes,
Adam(lr 0.005, eps 1e-7: tf.train.adam's epsilon), float32, torch.set_num_threads(1) by default
(tfjs-backend-wasm in Node runs on one thread).

The virtual view (vrm): the recipe calls `virtualView(x, { numOps: 2, magnitude: 9, ops:
DIGIT_SAFE_OPS })` every step, a fused host kernel on cpu/wasm that applies, per image, two ops
drawn uniformly from identity, brightness, contrast, posterize, translateX/Y, rotate, shearX/Y with
a random sign at level 9/30, clipping to [0, 1]. The peer draws the same ops, signs and levels per
image and step and applies them vectorised: per slot one `affine_grid` + bilinear `grid_sample`
(zero fill) for the geometric ops and masked element-wise formulas for the photometric ones.
Equivalent: the op distribution, strengths, per-image independence, bilinear resampling, clipping,
the work per step; stepPeer.test.ts checks that the mean |view - x| over 128 views of the fixture
images agrees with virtualView's (4 sigma; a 15% stronger view fails it). Not equivalent: the random streams (different views), torch's pixel-centre and
rotation-centre conventions (align_corners=False), and the kernel structure (tfjs: one fused host
kernel; torch: a handful of ATen ops). torchvision's RandAugment (a Python loop over images) is
not used: it is not installed and would be far slower than either.

Timing: every variant runs `--warmup` steps, then `--rounds` rounds in which each variant runs one
step, round-robin (the order rotates every round), so a slow phase of this bimodal machine hits
all methods alike. Reported per variant: min, p10, median, p90 (ms), and the ratio over the CE
step of the same arch: the median of the per-round ratios and min/min.

Fixture mode (`--fixture`): small fixed inputs (B = 8, 28x28) and deterministic weights (an integer
hash of each element's index in tfjs layout, reproduced by the test), two steps per method, and writes
for each method the loss of step 1 (before any update) and of step 2 (after one Adam update), the
per-step random draws (virtual view, mixup lambda and permutation, triplets) and the tfjs-layout
shape of every parameter of every model and module. The test sets the same weights in the tfjs
models and modules, replays the same draws through the recipes' terms and compares. It also
writes the mean |view - x| of 128 views of the fixture images, which the test compares with
`virtualView`'s on the same images (a 4-sigma two-sample test of the augmentation's strength).
"""
import argparse
import datetime
import json
import math
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_torch import ce, corsd, icc, kd, mtkd, stkd, vrm  # noqa: E402  (the checked loss definitions)

NUM_CLASSES = 10
LR = 0.005  # examples/mnist/src/cliArgs.ts: Adam 0.005
ADAM_EPS = 1e-7  # tf.train.adam's default epsilon (backend epsilon, float32)

# examples/mnist/tuned.json ("chosen") merged with examples/mnist/src/tuning.ts FIXED, as arms.ts maps them
TUNED = {
    'kd': {'temperature': 2, 'alpha': 0.5},
    'vrm': {'weight': 16, 'uepRatio': 0.1, 'magnitude': 9},
    'stkd': {'temperature': 2, 'kdWeight': 0.5, 'alpha': 1},
    'icc': {'temperature': 8, 'iccWeight': 1},
    'mtkd': {'temperature': 4, 'weight': 0.5},
    'corsd': {'weight': 1},
}


def load_tuned():
    """TUNED with examples/mnist/tuned.json's "chosen" configurations merged in (when present)."""
    path = os.path.join(HERE, '..', '..', 'examples', 'mnist', 'tuned.json')
    chosen = {}
    if os.path.exists(path):
        with open(path) as fh:
            chosen = json.load(fh).get('chosen', {})
    cfg = {k: {**v, **chosen.get(k, {})} for k, v in TUNED.items()}
    if cfg['vrm'].get('uep', 'jointEntropy') != 'jointEntropy':
        raise SystemExit('step_torch.py: the vrm peer implements uep = jointEntropy only')
    return cfg


# ----------------------------------------------------------------------------- models and modules

class Net(nn.Module):
    """examples/mnist/src/models.ts buildStudent / buildTeacher. forward -> (stage features, logits)."""

    def __init__(self, widths, hidden=None, gap=False, side=28):
        super().__init__()
        self.convs = nn.ModuleList()
        cin = 1
        s = side
        for w in widths:
            self.convs.append(nn.Conv2d(cin, w, 3, padding=1))
            cin = w
            s = (s + 1) // 2
        self.pool = nn.MaxPool2d(2, ceil_mode=True)  # tfjs 'same' 2x2 pooling (7 -> 4)
        self.gap = gap
        feat = cin if gap else cin * s * s
        layers = []
        if hidden is not None:
            fc = nn.Linear(feat, hidden)
            fc.chw = (cin, s, s)  # NCHW flatten here, NHWC in tfjs: the tfjs-layout export reorders rows
            layers += [fc, nn.ReLU(), nn.Linear(hidden, NUM_CLASSES)]
            # dropout 0.3 sits before the hidden dense; the teacher only runs in inference mode
        else:
            fc = nn.Linear(feat, NUM_CLASSES)
            if not gap:
                fc.chw = (cin, s, s)
            layers.append(fc)
        self.head = nn.Sequential(*layers)

    def forward(self, x):
        feats = []
        for conv in self.convs:
            x = self.pool(F.relu(conv(x)))
            feats.append(x)
        x = x.mean((2, 3)) if self.gap else x.flatten(1)
        return feats, self.head(x)


def student(arch):
    return Net([8, 32, 64], gap=True) if arch == '3stage' else Net([8, 16])


def teacher(arch):
    return Net([16, 32, 64], hidden=128) if arch == '3stage' else Net([16, 32], hidden=64)


def sepconv(cin, cout, stride):
    """core SepConv: dw 3x3 (stride, pad 1) -> 1x1 -> BN -> ReLU -> dw 3x3 -> 1x1 -> BN -> ReLU, no conv bias."""
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.Conv2d(cin, cin, 1, bias=False),
        nn.BatchNorm2d(cin), nn.ReLU(),
        nn.Conv2d(cin, cin, 3, 1, 1, groups=cin, bias=False), nn.Conv2d(cin, cout, 1, bias=False),
        nn.BatchNorm2d(cout), nn.ReLU())


class StageHead(nn.Module):
    """stage-distill StageHead: `downsample` SepConv blocks (stride 2, channels doubling) -> GAP -> dense."""

    def __init__(self, cin, downsample):
        super().__init__()
        self.blocks = nn.Sequential(*[sepconv(cin * 2 ** i, cin * 2 ** (i + 1), 2) for i in range(downsample)])
        self.fc = nn.Linear(cin * 2 ** downsample, NUM_CLASSES)

    def forward(self, x):
        return self.fc(self.blocks(x).mean((2, 3)))


def downsample_for(hw, deepest):
    h, w = hw
    d = 0
    while h > deepest[0] or w > deepest[1]:
        h, w, d = (h + 1) // 2, (w + 1) // 2, d + 1
    return d


def stage_heads(shapes):
    """A head per stage but the deepest (stage-distill buildStageModules' rule); shapes are (C, H, W)."""
    deepest = shapes[-1][1:]
    return nn.ModuleList([StageHead(c, downsample_for((h, w), deepest)) for c, h, w in shapes[:-1]])


class StageModules(nn.Module):
    """stage-distill StageModules: adapters (1x1 conv -> BN -> ReLU, student width -> teacher width), then heads."""

    def __init__(self, s_shapes, t_shapes):
        super().__init__()
        self.adapters = nn.ModuleList([
            nn.Sequential(nn.Conv2d(s[0], t[0], 1, bias=False), nn.BatchNorm2d(t[0]), nn.ReLU())
            for s, t in zip(s_shapes, t_shapes)])
        self.heads = stage_heads(s_shapes)


class RelationNetwork(nn.Module):
    """relation-network RelationNetwork: SepConv trunk -> GAP -> score head (dense, BN, ReLU, dense, sigmoid) and classifier."""

    def __init__(self, cin, blocks, embedding, hidden):
        super().__init__()
        widths = [embedding // 2 ** (blocks - 1 - j) for j in range(blocks)]
        self.trunk = nn.Sequential(*[sepconv(cin if j == 0 else widths[j - 1], w, 2) for j, w in enumerate(widths)])
        e = embedding if blocks else cin
        self.score = nn.Sequential(nn.Linear(e, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.classifier = nn.Linear(e, NUM_CLASSES)

    def forward(self, x):
        e = self.trunk(x).mean((2, 3))
        return torch.sigmoid(self.score(e)), self.classifier(e)


def relation_networks(shapes):
    """relation-network buildRelationNetworks defaults: embedding 16 c, hidden 2c (4c deepest), K-1-k blocks."""
    c = shapes[0][0]
    K = len(shapes)
    return nn.ModuleList([
        RelationNetwork(2 * ch, K - 1 - k, 16 * c if k < K - 1 else 2 * ch, 4 * c if k == K - 1 else 2 * c)
        for k, (ch, _, _) in enumerate(shapes)])


def stage_shapes(net, side=28):
    with torch.no_grad():
        feats, _ = net(torch.zeros(1, 1, side, side))
    return [tuple(f.shape[1:]) for f in feats]


# ------------------------------------------------------------------------- tfjs-layout parameters

def tfjs_params(module):
    """Every parameter and BatchNorm statistic in the order and layout the tfjs side stores them
    (tfjs-layers `model.getWeights()`, relkd `Module.namedVariables()`): a list of
    (role, tfjs shape, torch tensor, to_torch) where to_torch maps a tfjs-layout tensor to the torch one."""
    out = []
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            w = m.weight
            if m.groups > 1:  # depthwise [C, 1, kh, kw] <-> tfjs [kh, kw, C, 1]
                out.append(('kernel', [w.shape[2], w.shape[3], w.shape[0], 1], w,
                            lambda t: t.permute(2, 3, 0, 1)))
            else:  # [O, I, kh, kw] <-> tfjs HWIO
                out.append(('kernel', [w.shape[2], w.shape[3], w.shape[1], w.shape[0]], w,
                            lambda t: t.permute(3, 2, 0, 1)))
            if m.bias is not None:
                out.append(('bias', [m.bias.shape[0]], m.bias, lambda t: t))
        elif isinstance(m, nn.Linear):
            w = m.weight
            chw = getattr(m, 'chw', None)
            if chw is None:
                conv = lambda t: t.T  # noqa: E731
            else:  # tfjs flattens NHWC: kernel rows in (h, w, c) order
                c, h, wd = chw
                conv = lambda t, c=c, h=h, wd=wd: t.reshape(h, wd, c, -1).permute(3, 2, 0, 1).reshape(t.shape[1], -1)  # noqa: E731
            out.append(('kernel', [w.shape[1], w.shape[0]], w, conv))
            out.append(('bias', [m.bias.shape[0]], m.bias, lambda t: t))
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            ident = lambda t: t  # noqa: E731
            out += [('gamma', [m.weight.shape[0]], m.weight, ident), ('beta', [m.bias.shape[0]], m.bias, ident),
                    ('movingMean', [m.running_mean.shape[0]], m.running_mean, ident),
                    ('movingVariance', [m.running_var.shape[0]], m.running_var, ident)]
    return out


def hash_uniform(n, k):
    """n values in [-1, 1) from an integer hash of (i, k) (exact in Python and JavaScript):
    h = i * 0x9E3779B1 + k * 0x85EBCA77 + 0x165667B1 (mod 2^32), then murmur3's finaliser."""
    import numpy as np
    m = np.uint64(0xFFFFFFFF)
    i = np.arange(n, dtype=np.uint64)
    h = (((i * np.uint64(0x9E3779B1)) & m) + ((np.uint64(k) * np.uint64(0x85EBCA77)) & m) + np.uint64(0x165667B1)) & m
    h ^= h >> np.uint64(15)
    h = (h * np.uint64(0x2C1B3C6D)) & m
    h ^= h >> np.uint64(12)
    h = (h * np.uint64(0x297A2D39)) & m
    h ^= h >> np.uint64(15)
    return torch.from_numpy(h.astype(np.float64) / 2 ** 32 * 2 - 1)


def fixture_values(role, shape, k):
    """The deterministic fixture weights (packages/bench/src/stepPeer.test.ts computes the same):
    element i (row-major, tfjs layout) of the k-th tensor of a model is built from
    u = hash_uniform(i, k) in [-1, 1): kernels u * sqrt(6 / fan_in) (He-uniform scale, fan_in =
    size / last dim), biases, beta and moving mean 0.1 u, gamma 1 + 0.1 u, moving variance 1 + 0.5 |u|."""
    n = math.prod(shape)
    u = hash_uniform(n, k)
    if role == 'kernel':
        v = u * math.sqrt(6 / (n / shape[-1]))
    elif role in ('bias', 'beta', 'movingMean'):
        v = 0.1 * u
    elif role == 'gamma':
        v = 1 + 0.1 * u
    else:
        v = 1 + 0.5 * u.abs()
    return v.float().reshape(shape)


def set_fixture_weights(module):
    with torch.no_grad():
        for k, (role, shape, t, to_torch) in enumerate(tfjs_params(module)):
            t.copy_(to_torch(fixture_values(role, shape, k)))


def describe(module):
    """tfjs-layout roles and shapes, and the trainable parameter count (BatchNorm statistics excluded)."""
    ps = tfjs_params(module)
    return {'shapes': [[r, s] for r, s, _, _ in ps],
            'trainableParams': sum(math.prod(s) for r, s, _, _ in ps if r not in ('movingMean', 'movingVariance'))}


# ----------------------------------------------------------------------------- per-step draws

DIGIT_SAFE_OPS = ['identity', 'brightness', 'contrast', 'posterize', 'translateX', 'translateY', 'rotate',
                  'shearX', 'shearY']


def virtual_view(x, gen, magnitude=9, num_ops=2):
    """RandAugment-style view like affinity-graph virtualView(x, { numOps, magnitude, ops: DIGIT_SAFE_OPS })
    (torchvision scale: level = magnitude / 30), NCHW in [0, 1]; see the module docstring."""
    B, _, H, W = x.shape
    level = magnitude / 30
    for _ in range(num_ops):
        op = torch.randint(0, len(DIGIT_SAFE_OPS), (B,), generator=gen)
        sign = torch.randint(0, 2, (B,), generator=gen).float() * 2 - 1
        geo = op >= 4
        if bool(geo.any()):
            theta = torch.zeros(B, 2, 3)
            theta[:, 0, 0] = 1
            theta[:, 1, 1] = 1
            t = sign * (150 / 331) * level * 2  # translation in normalised [-1, 1] coordinates
            theta[:, 0, 2] = torch.where(op == 4, t, theta[:, 0, 2])
            theta[:, 1, 2] = torch.where(op == 5, t, theta[:, 1, 2])
            a = sign * math.radians(30 * level)
            rot = op == 6
            theta[:, 0, 0] = torch.where(rot, torch.cos(a), theta[:, 0, 0])
            theta[:, 0, 1] = torch.where(rot, -torch.sin(a), theta[:, 0, 1])
            theta[:, 1, 0] = torch.where(rot, torch.sin(a), theta[:, 1, 0])
            theta[:, 1, 1] = torch.where(rot, torch.cos(a), theta[:, 1, 1])
            theta[:, 0, 1] = torch.where(op == 7, sign * 0.3 * level, theta[:, 0, 1])
            theta[:, 1, 0] = torch.where(op == 8, sign * 0.3 * level, theta[:, 1, 0])
            grid = F.affine_grid(theta, list(x.shape), align_corners=False)
            x = F.grid_sample(x, grid, mode='bilinear', padding_mode='zeros', align_corners=False)
        f = (1 + sign * 0.9 * level).view(B, 1, 1, 1)
        o = op.view(B, 1, 1, 1)
        mean = x.mean((1, 2, 3), keepdim=True)
        bits = 8 - round(4 * level)
        step = 2 ** (8 - bits)
        post = torch.floor(x * 255 / step) * step / 255
        x = torch.where(o == 1, f * x, torch.where(o == 2, mean + f * (x - mean), torch.where(o == 3, post, x)))
        x = x.clamp(0, 1)
    return x


def mixup_draw(B, gen, alpha=1.0):
    """mixup-similarity mixup: lambda ~ Beta(alpha, alpha) per batch and a random permutation."""
    lam = float(torch.distributions.Beta(alpha, alpha).sample()) if alpha > 0 else 1.0
    return lam, torch.randperm(B, generator=gen)


def triplets(y, rnd):
    """relation-network tripletIndices: positive from the other samples of the anchor's class (itself
    when alone), negative class uniform over the other classes present, negative uniform in it."""
    labels = y.tolist()
    by_class = {}
    for i, c in enumerate(labels):
        by_class.setdefault(c, []).append(i)
    classes = list(by_class)
    pos, neg = [], []
    for i, c in enumerate(labels):
        same = [j for j in by_class[c] if j != i]
        pos.append(rnd.choice(same) if same else i)
        nc = rnd.choice([k for k in classes if k != c])
        neg.append(rnd.choice(by_class[nc]))
    pos, neg = torch.tensor(pos), torch.tensor(neg)
    return pos, neg, y[neg]


# ------------------------------------------------------------------------------------ the steps

def uep_margin(s, sv, ratio):
    """Gap between the k-th and (k+1)-th largest joint entropies of VRM's pruning: the fixture
    avoids near-ties there (the loss jumps when rounding changes which edge is dropped)."""
    with torch.no_grad():
        h = [-(F.softmax(z, 1) * F.log_softmax(z, 1)).sum(1) for z in (s, sv)]
        scores = (h[0][:, None] + h[1][None, :]).flatten().sort(descending=True).values
        k = int(ratio * s.shape[0] ** 2)
        return float(scores[k - 1] - scores[k]) if 0 < k < scores.numel() else float('inf')


def nhwc(fs):
    """bench_torch's stage losses average NHWC axes (1, 2): a permuted view of the NCHW maps."""
    return [f.permute(0, 2, 3, 1) for f in fs]


class Variant:
    """One timed configuration: a method on an arch, its models/modules and its step."""

    def __init__(self, method, arch, cfg, seed=0, draws=None):
        torch.manual_seed(seed)
        self.method, self.arch, self.cfg = method, arch, cfg
        self.draws = draws  # fixture mode: fixed per-step random draws
        self.student = student(arch)
        self.teacher = teacher(arch) if method not in ('ce', 'corsd') else None
        if self.teacher is not None:
            self.teacher.eval()
            for p in self.teacher.parameters():
                p.requires_grad_(False)
        self.modules = nn.ModuleList()
        self.teacher_heads = None
        if method == 'mtkd':
            s_shapes, t_shapes = stage_shapes(self.student), stage_shapes(self.teacher)
            self.modules = StageModules(s_shapes, t_shapes)
            self.teacher_heads = stage_heads(t_shapes).eval()
            for p in self.teacher_heads.parameters():
                p.requires_grad_(False)
        elif method == 'corsd':
            self.modules = relation_networks(stage_shapes(self.student))
        self.uep_margins = []
        self.gen = torch.Generator().manual_seed(seed + 1)
        self.rnd = random.Random(seed + 2)
        self.make_optimizer()

    def make_optimizer(self):
        self.opt = torch.optim.Adam(list(self.student.parameters()) + list(self.modules.parameters()),
                                    lr=LR, eps=ADAM_EPS)

    def parts(self):
        """The models and modules with their tfjs counterparts' names (fixture / parameter counts)."""
        out = {'student': self.student}
        if self.teacher is not None:
            out['teacher'] = self.teacher
        if self.method == 'mtkd':
            out['stageModules'] = self.modules
            out['teacherHeads'] = self.teacher_heads
        if self.method == 'corsd':
            for k, n in enumerate(self.modules):
                out[f'relationNetwork{k + 1}'] = n
        return out

    def loss(self, x, y, step):
        m, c = self.method, self.cfg
        d = self.draws[step] if self.draws is not None else None
        if m == 'ce':
            return ce(self.student(x)[1], y)
        if m in ('kd', 'icc'):
            with torch.no_grad():
                t = self.teacher(x)[1]
            s = self.student(x)[1]
            if m == 'kd':
                a = c['kd']['alpha']
                return (1 - a) * ce(s, y) + a * kd(s, t, c['kd']['temperature'])
            T = c['icc']['temperature']
            return icc(s, t, y, T=T, corr_T=T, kd_weight=1.0, icc_weight=c['icc']['iccWeight'])
        if m == 'vrm':
            xv = d['view'] if d is not None else virtual_view(x, self.gen, c['vrm']['magnitude'])
            with torch.no_grad():
                t, tv = self.teacher(x)[1], self.teacher(xv)[1]
            s, sv = self.student(x)[1], self.student(xv)[1]
            if d is not None:
                self.uep_margins.append(uep_margin(s, sv, c['vrm']['uepRatio']))
            return ce(s, y) + c['vrm']['weight'] * vrm(s, sv, t, tv, uep_ratio=c['vrm']['uepRatio'])
        if m == 'stkd':
            lam, perm = (d['lambda'], d['permutation']) if d is not None else mixup_draw(x.shape[0], self.gen, c['stkd']['alpha'])
            xm = lam * x + (1 - lam) * x[perm]
            oh = F.one_hot(y, NUM_CLASSES).float()
            targets = lam * oh + (1 - lam) * oh[perm]
            with torch.no_grad():
                t = self.teacher(xm)[1]
            s = self.student(xm)[1]
            w = c['stkd']['kdWeight']
            return stkd(s, t, targets, T=c['stkd']['temperature'], ce_weight=1 - w, kd_weight=w)
        if m == 'mtkd':
            with torch.no_grad():
                tfeat, t = self.teacher(x)
                tz = [h(f) for h, f in zip(self.teacher_heads, tfeat[:-1])]
            sfeat, s = self.student(x)
            adapted = [a(f) for a, f in zip(self.modules.adapters, sfeat)]
            sz = [h(f) for h, f in zip(self.modules.heads, sfeat[:-1])]
            w = c['mtkd']['weight']
            return mtkd(nhwc(adapted), nhwc(tfeat), sz + [s], tz + [t], y, T=c['mtkd']['temperature'],
                        scd_weight=w, srd_weight=w, crd_weight=w)
        if m == 'corsd':
            pos, neg, yn = (d['positive'], d['negative'], d['negativeLabels']) if d is not None else triplets(y, self.rnd)
            feats, s = self.student(x)
            B = x.shape[0]
            stages = []
            for net, f in zip(self.modules, feats):
                pairs = torch.cat([torch.cat([f, f[pos]], 1), torch.cat([f, f[neg]], 1)])
                score, logits = net(pairs)  # jointPairBatch: one BatchNorm batch of 2B pairs
                stages.append((score[:B], logits[:B], score[B:], logits[B:]))
            with torch.no_grad():  # logAccuracy: monitoring parts (no gradient)
                self.accuracy = [(st[1].argmax(1) == y).float().mean() for st in stages] + [
                    (s.argmax(1) == y).float().mean()]
            return ce(s, y) + c['corsd']['weight'] * corsd(stages, y, yn,
                                                        tSquared=c['corsd'].get('tSquared', False))
        raise ValueError(m)

    def step(self, x, y, i=0):
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss(x, y, i)
        loss.backward()
        self.opt.step()
        return float(loss)


VARIANTS = [('ce', '3stage'), ('kd', '3stage'), ('vrm', '3stage'), ('stkd', '3stage'), ('icc', '3stage'),
            ('mtkd', '3stage'), ('corsd', '3stage'), ('ce', '2stage'), ('kd', '2stage')]


def batch(B, gen):
    """A fixed MNIST-like batch: images in [0, 1] (NCHW) and labels covering every class."""
    x = torch.sigmoid(torch.randn(B, 1, 28, 28, generator=gen) * 2 - 1)
    y = torch.arange(B) % NUM_CLASSES
    return x, y[torch.randperm(B, generator=gen)]


def quantile(sorted_v, q):
    return sorted_v[min(len(sorted_v) - 1, max(0, round(q * (len(sorted_v) - 1))))]


def fixture_images(B, gen):
    """Two Gaussian blobs per image at random places, sizes and intensities, in [0, 1]: images that
    differ in structure, so the fixture's logits differ between samples (with i.i.d. noise images
    the 3-stage student's global average pool makes all rows nearly equal, and VRM's distances
    between them are then dominated by float32 cancellation on both sides)."""
    u = torch.linspace(0, 1, 28)
    yy, xx = torch.meshgrid(u, u, indexing='ij')
    p = torch.rand(B, 2, 4, generator=gen)
    img = sum(torch.exp(-((xx - p[:, k, 0, None, None]) ** 2 + (yy - p[:, k, 1, None, None]) ** 2)
                        / (0.005 + 0.05 * p[:, k, 2, None, None])) * (0.5 + 0.5 * p[:, k, 3, None, None])
              for k in range(2))
    return img.clamp(0, 1).unsqueeze(1)


def write_fixture(path, cfg):
    B = 8
    gen = torch.Generator().manual_seed(3)
    x = fixture_images(B, gen)
    y = torch.tensor([0, 1, 2, 0, 1, 2, 3, 3])  # CORSD: every class present twice or more
    rnd = random.Random(5)
    draws = [{'lambda': 0.7 - 0.2 * i, 'permutation': torch.randperm(B, generator=gen)} for i in range(2)]
    for d in draws:
        d['positive'], d['negative'], d['negativeLabels'] = triplets(y, rnd)
    # Views whose pruning has no near-tie at either step (margin > 1e-3 nats; float32 rounding
    # of the entropies is ~1e-7): a tie would make the loss depend on the last bit of rounding.
    for view_seed in range(100):
        vgen = torch.Generator().manual_seed(100 + view_seed)
        for d in draws:
            d['view'] = virtual_view(x, vgen, cfg['vrm']['magnitude'])
        v = Variant('vrm', '3stage', cfg, draws=draws)
        for part in v.parts().values():
            set_fixture_weights(part)
        v.make_optimizer()
        for i in range(2):
            v.step(x, y, i)
        if min(v.uep_margins) > 1e-3:
            break
    else:
        raise SystemExit('step_torch.py --fixture: no view draw without a near-tie in VRM pruning')
    margins = v.uep_margins
    # The view's strength: mean |view - x| of each of 128 views of the fixture images (the test
    # compares the distribution with virtualView's on the same images).
    vgen = torch.Generator().manual_seed(7)
    view_change = [float(f'{(virtual_view(x, vgen, cfg["vrm"]["magnitude"]) - x).abs().mean():.9g}')
                   for _ in range(128)]
    methods = {}
    for method in ['ce', 'kd', 'vrm', 'stkd', 'icc', 'mtkd', 'corsd']:
        v = Variant(method, '3stage', cfg, draws=draws)
        for part in v.parts().values():
            set_fixture_weights(part)
        v.make_optimizer()
        values = [v.step(x, y, i) for i in range(2)]
        methods[method] = {'values': values, 'modules': {k: describe(p) for k, p in v.parts().items()}}
    for method in ['ce', 'kd']:
        v = Variant(method, '2stage', cfg)
        for part in v.parts().values():
            set_fixture_weights(part)
        v.make_optimizer()
        methods[f'{method}@2stage'] = {'values': [v.step(x, y, i) for i in range(2)],
                                       'modules': {k: describe(p) for k, p in v.parts().items()}}
    def nhwc_list(t):  # float32 values written with 9 significant digits (exact in float32)
        return [[[[float(f'{v:.9g}') for v in px] for px in row] for row in img] for img in t.permute(0, 2, 3, 1).tolist()]
    out = {
        'generatedBy': 'tools/reference/step_torch.py --fixture',
        'config': cfg, 'lr': LR, 'adamEpsilon': ADAM_EPS,
        'x': nhwc_list(x), 'y': y.tolist(),
        'uepMargins': margins,
        'viewChange': view_change,
        'draws': [{'view': nhwc_list(d['view']), 'lambda': d['lambda'], 'permutation': d['permutation'].tolist(),
                   'positive': d['positive'].tolist(), 'negative': d['negative'].tolist(),
                   'negativeLabels': d['negativeLabels'].tolist()} for d in draws],
        'methods': methods,
    }
    with open(path, 'w') as fh:
        json.dump(out, fh)
        fh.write('\n')
    print(f'wrote {os.path.relpath(path)}')


def blas_info():
    """BLAS / LAPACK / oneDNN / OpenMP / SIMD level of this PyTorch build (from torch.__config__.show())."""
    cfg = torch.__config__.show()
    info = {}
    for key in ['BLAS_INFO', 'LAPACK_INFO', 'USE_MKLDNN', 'USE_OPENMP']:
        m = re.search(key + r'=([^,\s]+)', cfg)
        if m:
            info[key] = m.group(1)
    m = re.search(r'CPU capability usage: (\S+)', cfg)
    if m:
        info['cpuCapability'] = m.group(1)
    m = re.search(r'Intel\(R\) MKL-DNN (v[\d.]+)', cfg)
    if m:
        info['mkldnn'] = m.group(1)
    return info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--rounds', type=int, default=60)
    ap.add_argument('--warmup', type=int, default=5)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--quick', action='store_true', help='5 rounds, 2 warm-up steps (a smoke run)')
    ap.add_argument('--out', default=os.path.join(HERE, 'step_torch.json'))
    ap.add_argument('--fixture', action='store_true',
                    help='write packages/bench/fixtures/torch_steps.json (peer == recipes check) and exit')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(a.threads)
    cfg = load_tuned()
    if a.fixture:
        write_fixture(os.path.join(HERE, '..', '..', 'packages', 'bench', 'fixtures', 'torch_steps.json'), cfg)
        return
    rounds, warmup = (5, 2) if a.quick else (a.rounds, a.warmup)
    load_start = os.getloadavg()
    uptime_start = subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()
    x, y = batch(a.batch, torch.Generator().manual_seed(0))
    variants = [Variant(m, arch, cfg) for m, arch in VARIANTS]
    for v in variants:
        for _ in range(warmup):
            v.step(x, y)
    times = [[] for _ in variants]
    t_start = time.perf_counter()
    for r in range(rounds):
        order = list(range(len(variants)))
        order = order[r % len(order):] + order[:r % len(order)]  # rotate who goes first
        for i in order:
            t0 = time.perf_counter()
            variants[i].step(x, y)
            times[i].append((time.perf_counter() - t0) * 1000)
    seconds = time.perf_counter() - t_start
    results = []
    for v, ts in zip(variants, times):
        ce_i = next(i for i, w in enumerate(variants) if w.method == 'ce' and w.arch == v.arch)
        per_round = sorted(t / c for t, c in zip(ts, times[ce_i]))
        s = sorted(ts)
        results.append({
            'method': v.method, 'arch': v.arch,
            'params': {k: describe(p)['trainableParams'] for k, p in v.parts().items()},
            'minMs': s[0], 'p10Ms': quantile(s, 0.1), 'medianMs': statistics.median(s), 'p90Ms': quantile(s, 0.9),
            'steps': len(s),
            'overCe': {'median': statistics.median(per_round), 'ofMin': s[0] / min(times[ce_i])},
        })
        print(f'{v.method:6s} {v.arch}: min {s[0]:.2f} ms, median {statistics.median(s):.2f} ms, '
              f'p90 {quantile(s, 0.9):.2f} ms, x{statistics.median(per_round):.2f} of CE')
    out = {
        'generatedBy': 'tools/reference/step_torch.py' + (' --quick' if a.quick else ''),
        'version': torch.__version__,
        'threads': torch.get_num_threads(),
        'interopThreads': torch.get_num_interop_threads(),
        'blas': blas_info(),
        'date': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'machine': f'{platform.processor() or platform.machine()} x{os.cpu_count()}',
        'loadavg': [round(v, 2) for v in load_start],
        'loadavgEnd': [round(v, 2) for v in os.getloadavg()],
        'uptime': uptime_start,
        'batch': a.batch, 'lr': LR, 'adamEpsilon': ADAM_EPS, 'rounds': rounds, 'warmup': warmup,
        'seconds': round(seconds, 1),
        'config': cfg,
        'results': results,
    }
    with open(a.out, 'w') as fh:
        json.dump(out, fh, indent=2)
        fh.write('\n')
    print(f'wrote {os.path.relpath(a.out)}')


if __name__ == '__main__':
    main()
