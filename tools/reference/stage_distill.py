"""Float64 reference for @relkd/stage-distill (MTKD-SSR): SCD, SRD, CRD, mtkdLoss, ChannelAdapter
and StageHead forward passes, with gradients by central differences.

Independent of the TypeScript code: plain numpy, NHWC layout, PyTorch conventions
(BatchNorm biased variance for normalisation, unbiased for the running variance, momentum 0.1).

Regenerate: python3 tools/reference/stage_distill.py
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import f32, log_softmax, numeric_grad, softmax, to_list, write_fixture  # noqa: E402

PKG = 'stage-distill'
rng = np.random.default_rng(20230601)


def rnd(*shape, scale=1.0):
    return f32(rng.normal(size=shape) * scale)


# ---------------------------------------------------------------- losses

def kd(s, t, T):
    """Hinton KD: T^2 * batchmean KL(softmax(t/T) || softmax(s/T))."""
    lpt = log_softmax(t / T)
    lps = log_softmax(s / T)
    return T * T * np.sum(np.exp(lpt) * (lpt - lps)) / s.shape[0]


def ce(z, y):
    lp = log_softmax(z)
    return -np.mean(lp[np.arange(z.shape[0]), y])


def gap(f):
    return f.mean(axis=(1, 2))


def norm_channels(v, mode):
    if mode == 'l2':
        return v / np.maximum(np.sqrt(np.sum(v * v, axis=-1, keepdims=True)), 1e-12)
    if mode == 'softmax':
        return softmax(v)
    return v


def scd(sf, tf_, pairs, weights, mode):
    total = 0.0
    for (i, j), w in zip(pairs, weights):
        ps = norm_channels(gap(sf[i]), mode)
        pt = norm_channels(gap(tf_[j]), mode)
        total += w * np.mean((pt - ps) ** 2)
    return total


def srd(sz, tz, pairs, weights, T):
    return sum(w * kd(sz[i], tz[j], T) for (i, j), w in zip(pairs, weights))


def crd(z, T, pairs, normalize):
    K = len(z)
    total = 0.0
    for k in range(1, K):
        js = [k - 1] if pairs == 'adjacent' else list(range(k))
        inner = sum(kd(z[j], z[k], T) for j in js)
        if normalize:
            inner /= len(js)
        total += inner
    return total


def grads_of_list(f, xs):
    """Numeric gradient of f(list of arrays) with respect to every array of the list."""
    out = []
    for idx in range(len(xs)):
        def g(x, idx=idx):
            ys = list(xs)
            ys[idx] = x
            return f(ys)
        out.append(numeric_grad(g, xs[idx]))
    return out


def crd_grads(z, T, pairs, normalize):
    """CRD gradient with the deeper (teacher) side stop-gradiented: only student slots vary."""
    K = len(z)
    grads = [np.zeros_like(x) for x in z]
    for k in range(1, K):
        js = [k - 1] if pairs == 'adjacent' else list(range(k))
        for j in js:
            scale = 1.0 / len(js) if normalize else 1.0
            grads[j] += scale * numeric_grad(lambda x: kd(x, z[k], T), z[j])
    return grads


fixtures = {}

# SCD: two stages, teacher H×W differs from the student's, weights, three normalisations
sf = [rnd(2, 3, 3, 4), rnd(2, 2, 2, 5)]
tfeat = [rnd(2, 4, 4, 4), rnd(2, 1, 2, 5)]
scd_cases = []
for mode in ['none', 'l2', 'softmax']:
    pairs, weights = [(0, 0), (1, 1)], [1.0, 0.5]
    val = scd(sf, tfeat, pairs, weights, mode)
    g = grads_of_list(lambda xs: scd(xs, tfeat, pairs, weights, mode), sf)
    scd_cases.append({'normalize': mode, 'weights': weights, 'value': val, 'grads': [to_list(x) for x in g]})
# mapping: 2 student stages, 3 teacher stages
tmap = [rnd(2, 5, 5, 3), rnd(2, 4, 4, 4), rnd(2, 2, 2, 5)]
pairs = [(0, 1), (1, 2)]
val = scd(sf, tmap, pairs, [1.0, 1.0], 'none')
g = grads_of_list(lambda xs: scd(xs, tmap, pairs, [1.0, 1.0], 'none'), sf)
scd_map = {'mapping': pairs, 'value': val, 'grads': [to_list(x) for x in g], 'teacher': [to_list(x) for x in tmap]}
write_fixture(PKG, 'scd', {
    'student': [to_list(x) for x in sf], 'teacher': [to_list(x) for x in tfeat],
    'cases': scd_cases, 'mappingCase': scd_map,
})

# SRD: K = 3, B = 3, C = 5
sz = [rnd(3, 5, scale=2) for _ in range(3)]
tz = [rnd(3, 5, scale=2) for _ in range(3)]
srd_cases = []
for T, weights in [(4.0, [0.5, 1.0, 2.0]), (2.0, [1.0, 1.0, 1.0]), (1.0, [0.0, 0.3, 1.0])]:
    pairs = [(0, 0), (1, 1), (2, 2)]
    val = srd(sz, tz, pairs, weights, T)
    g = grads_of_list(lambda xs: srd(xs, tz, pairs, weights, T), sz)
    srd_cases.append({'temperature': T, 'weights': weights, 'value': val, 'grads': [to_list(x) for x in g]})
# mapping: student 3 stages, teacher 4 stages
tz4 = [rnd(3, 5, scale=2) for _ in range(4)]
pairs = [(0, 0), (1, 2), (2, 3)]
val = srd(sz, tz4, pairs, [1, 1, 1], 4.0)
g = grads_of_list(lambda xs: srd(xs, tz4, pairs, [1, 1, 1], 4.0), sz)
write_fixture(PKG, 'srd', {
    'student': [to_list(x) for x in sz], 'teacher': [to_list(x) for x in tz], 'cases': srd_cases,
    'mappingCase': {'teacher': [to_list(x) for x in tz4], 'mapping': pairs, 'value': val,
                    'grads': [to_list(x) for x in g]},
})

# CRD: K = 4, B = 3, C = 4
cz = [rnd(3, 4, scale=2) for _ in range(4)]
crd_cases = []
for T, pairs, normalize in [(4.0, 'allPrevious', False), (4.0, 'adjacent', False),
                            (3.0, 'allPrevious', True), (2.0, 'adjacent', True)]:
    val = crd(cz, T, pairs, normalize)
    g = crd_grads(cz, T, pairs, normalize)
    crd_cases.append({'temperature': T, 'pairs': pairs, 'normalize': normalize, 'value': val,
                      'grads': [to_list(x) for x in g]})
write_fixture(PKG, 'crd', {'logits': [to_list(x) for x in cz], 'cases': crd_cases})

# mtkdLoss: K = 3 stages, features and logits, all weights non-default
B, C = 4, 5
msf = [rnd(B, 4, 4, 3), rnd(B, 2, 2, 4), rnd(B, 1, 1, 6)]
mtf = [rnd(B, 3, 3, 3), rnd(B, 2, 2, 4), rnd(B, 2, 2, 6)]
msz = [rnd(B, C, scale=2) for _ in range(3)]
mtz = [rnd(B, C, scale=2) for _ in range(3)]
labels = [0, 3, 4, 1]
opts = {'scdWeight': 6.0, 'srdWeight': 0.5, 'crdWeight': 0.7, 'auxCeWeight': 0.3, 'temperature': 3.0}
idp = [(0, 0), (1, 1), (2, 2)]


def mtkd_parts(sfs, szs, crd_student_only=False):
    T = opts['temperature']
    y = np.array(labels)
    p = {
        'ce': ce(szs[-1], y),
        'auxCe': sum(ce(z, y) for z in szs[:-1]),
        'scd': scd(sfs, mtf, idp, [1, 1, 1], 'none'),
        'srd': srd(szs, mtz, idp, [1, 1, 1], T),
        'crd': crd(szs, T, 'allPrevious', False),
    }
    p['total'] = (p['ce'] + opts['auxCeWeight'] * p['auxCe'] + opts['scdWeight'] * p['scd']
                  + opts['srdWeight'] * p['srd'] + opts['crdWeight'] * p['crd'])
    return p


parts = mtkd_parts(msf, msz)
T = opts['temperature']


def total_without_crd(szs):
    p = mtkd_parts(msf, szs)
    return p['total'] - opts['crdWeight'] * p['crd']


g_logits = grads_of_list(total_without_crd, msz)
g_crd = crd_grads(msz, T, 'allPrevious', False)
g_logits = [a + opts['crdWeight'] * b for a, b in zip(g_logits, g_crd)]
g_feats = grads_of_list(lambda xs: opts['scdWeight'] * scd(xs, mtf, idp, [1, 1, 1], 'none'), msf)
write_fixture(PKG, 'mtkd', {
    'studentFeatures': [to_list(x) for x in msf], 'teacherFeatures': [to_list(x) for x in mtf],
    'studentStageLogits': [to_list(x) for x in msz], 'teacherStageLogits': [to_list(x) for x in mtz],
    'labels': labels, 'options': opts, 'parts': parts,
    'gradFeatures': [to_list(x) for x in g_feats], 'gradLogits': [to_list(x) for x in g_logits],
})

# ---------------------------------------------------------------- modules

EPS_BN = 1e-5


def conv1x1(x, k):  # x [B,H,W,Ci], k [1,1,Ci,Co]
    return np.einsum('bhwc,cd->bhwd', x, k[0, 0])


def depthwise3x3(x, f, stride):  # f [3,3,C,1], pad 1
    B, H, W, Cc = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    Ho = (H + 2 - 3) // stride + 1
    Wo = (W + 2 - 3) // stride + 1
    out = np.zeros((B, Ho, Wo, Cc))
    for di in range(3):
        for dj in range(3):
            out += xp[:, di:di + stride * (Ho - 1) + 1:stride, dj:dj + stride * (Wo - 1) + 1:stride, :] * f[di, dj, :, 0]
    return out


def bn_train(x, gamma, beta, state=None):
    axes = tuple(range(x.ndim - 1))
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)
    if state is not None:
        n = x.size / x.shape[-1]
        state['mean'] = 0.9 * state['mean'] + 0.1 * mean
        state['var'] = 0.9 * state['var'] + 0.1 * var * n / (n - 1)
    return (x - mean) / np.sqrt(var + EPS_BN) * gamma + beta


def bn_infer(x, gamma, beta, mm, mv):
    return (x - mm) / np.sqrt(mv + EPS_BN) * gamma + beta


relu = lambda v: np.maximum(v, 0)  # noqa: E731

# ChannelAdapter(2 -> 3)
ax = rnd(2, 3, 3, 2)
aw = {
    'conv/kernel': rnd(1, 1, 2, 3),
    'bn/gamma': f32(1 + 0.2 * rng.normal(size=3)),
    'bn/beta': rnd(3, scale=0.3),
    'bn/movingMean': rnd(3, scale=0.2),
    'bn/movingVariance': f32(1 + 0.3 * rng.random(3)),
}
aR = rnd(2, 3, 3, 3)


def adapter_train(p, x, state=None):
    return relu(bn_train(conv1x1(x, p['conv/kernel']), p['bn/gamma'], p['bn/beta'], state))


def adapter_infer(p, x):
    return relu(bn_infer(conv1x1(x, p['conv/kernel']), p['bn/gamma'], p['bn/beta'],
                         p['bn/movingMean'], p['bn/movingVariance']))


state = {'mean': aw['bn/movingMean'].copy(), 'var': aw['bn/movingVariance'].copy()}
a_out = adapter_train(aw, ax, state)
a_grads = {}
for name in ['conv/kernel', 'bn/gamma', 'bn/beta']:
    def f(v, name=name):
        q = dict(aw)
        q[name] = v
        return np.sum(adapter_train(q, ax) * aR)
    a_grads[name] = to_list(numeric_grad(f, aw[name]))
a_gx = numeric_grad(lambda v: np.sum(adapter_train(aw, v) * aR), ax)
write_fixture(PKG, 'adapter', {
    'x': to_list(ax), 'weights': {k: to_list(v) for k, v in aw.items()}, 'R': to_list(aR),
    'trainOut': to_list(a_out), 'inferOut': to_list(adapter_infer(aw, ax)),
    'movingMean': to_list(state['mean']), 'movingVariance': to_list(state['var']),
    'grads': a_grads, 'gradX': to_list(a_gx),
})

# StageHead(inChannels 2, numClasses 3, downsample 1): SepConv(2 -> 4) -> GAP -> Dense(4 -> 3)
hx = rnd(2, 4, 4, 2)
hw = {
    'block0/dw1/kernel': rnd(3, 3, 2, 1, scale=0.5),
    'block0/pw1/kernel': rnd(1, 1, 2, 2),
    'block0/bn1/gamma': f32(1 + 0.2 * rng.normal(size=2)),
    'block0/bn1/beta': rnd(2, scale=0.3),
    'block0/bn1/movingMean': f32(np.zeros(2)),
    'block0/bn1/movingVariance': f32(np.ones(2)),
    'block0/dw2/kernel': rnd(3, 3, 2, 1, scale=0.5),
    'block0/pw2/kernel': rnd(1, 1, 2, 4),
    'block0/bn2/gamma': f32(1 + 0.2 * rng.normal(size=4)),
    'block0/bn2/beta': rnd(4, scale=0.3),
    'block0/bn2/movingMean': f32(np.zeros(4)),
    'block0/bn2/movingVariance': f32(np.ones(4)),
    'fc/kernel': rnd(4, 3),
    'fc/bias': rnd(3, scale=0.1),
}
hR = rnd(2, 3)


def head_train(p, x, state=None):
    s1 = None if state is None else state['bn1']
    s2 = None if state is None else state['bn2']
    h = depthwise3x3(x, p['block0/dw1/kernel'], 2)
    h = relu(bn_train(conv1x1(h, p['block0/pw1/kernel']), p['block0/bn1/gamma'], p['block0/bn1/beta'], s1))
    h = depthwise3x3(h, p['block0/dw2/kernel'], 1)
    h = relu(bn_train(conv1x1(h, p['block0/pw2/kernel']), p['block0/bn2/gamma'], p['block0/bn2/beta'], s2))
    return gap(h) @ p['fc/kernel'] + p['fc/bias']


def head_infer(p, x):
    h = depthwise3x3(x, p['block0/dw1/kernel'], 2)
    h = relu(bn_infer(conv1x1(h, p['block0/pw1/kernel']), p['block0/bn1/gamma'], p['block0/bn1/beta'],
                      p['block0/bn1/movingMean'], p['block0/bn1/movingVariance']))
    h = depthwise3x3(h, p['block0/dw2/kernel'], 1)
    h = relu(bn_infer(conv1x1(h, p['block0/pw2/kernel']), p['block0/bn2/gamma'], p['block0/bn2/beta'],
                      p['block0/bn2/movingMean'], p['block0/bn2/movingVariance']))
    return gap(h) @ p['fc/kernel'] + p['fc/bias']


hstate = {'bn1': {'mean': np.zeros(2), 'var': np.ones(2)}, 'bn2': {'mean': np.zeros(4), 'var': np.ones(4)}}
h_out = head_train(hw, hx, hstate)
h_grads = {}
for name in hw:
    if 'moving' in name:
        continue
    def f(v, name=name):
        q = dict(hw)
        q[name] = v
        return np.sum(head_train(q, hx) * hR)
    h_grads[name] = to_list(numeric_grad(f, hw[name]))
h_gx = numeric_grad(lambda v: np.sum(head_train(hw, v) * hR), hx)
write_fixture(PKG, 'head', {
    'x': to_list(hx), 'weights': {k: to_list(v) for k, v in hw.items()}, 'R': to_list(hR),
    'trainOut': to_list(h_out), 'inferOut': to_list(head_infer(hw, hx)),
    'moving': {k: {'mean': to_list(v['mean']), 'var': to_list(v['var'])} for k, v in hstate.items()},
    'grads': h_grads, 'gradX': to_list(h_gx),
})

# Optional cross-check of the SepConv head against PyTorch (Debian's /usr/bin/python3 has it).
try:
    import torch  # noqa: F401
    import torch.nn.functional as F

    def t(a):
        return torch.tensor(np.asarray(a), dtype=torch.float64)

    x = t(hx).permute(0, 3, 1, 2)

    def tbn(v, g, b):
        return F.batch_norm(v, None, None, t(g), t(b), training=True, eps=EPS_BN)

    h = F.conv2d(x, t(hw['block0/dw1/kernel']).permute(2, 3, 0, 1), stride=2, padding=1, groups=2)
    h = F.relu(tbn(F.conv2d(h, t(hw['block0/pw1/kernel']).permute(3, 2, 0, 1)), hw['block0/bn1/gamma'], hw['block0/bn1/beta']))
    h = F.conv2d(h, t(hw['block0/dw2/kernel']).permute(2, 3, 0, 1), stride=1, padding=1, groups=2)
    h = F.relu(tbn(F.conv2d(h, t(hw['block0/pw2/kernel']).permute(3, 2, 0, 1)), hw['block0/bn2/gamma'], hw['block0/bn2/beta']))
    z = h.mean(dim=(2, 3)) @ t(hw['fc/kernel']) + t(hw['fc/bias'])
    assert np.allclose(z.numpy(), h_out, rtol=1e-10, atol=1e-12), 'head differs from PyTorch'
    zs, zt = t(sz[0]).requires_grad_(), t(tz[0])
    kd_t = F.kl_div(F.log_softmax(zs / 4, 1), F.softmax(zt / 4, 1), reduction='batchmean') * 16
    assert abs(kd_t.item() - kd(sz[0], tz[0], 4.0)) < 1e-12, 'kd differs from PyTorch'
    print('PyTorch cross-check passed (StageHead forward, KD)')
except ImportError:
    print('PyTorch not available: cross-check skipped')
