"""float64 reference for @relkd/mixup-similarity (STKD): mixup and the similarity transfer loss.

Independent of the TypeScript code (numpy only). Writes
  packages/mixup-similarity/fixtures/mixup.json  (mixupWith: mixed inputs, targets, input gradients)
  packages/mixup-similarity/fixtures/stkd.json   (stkdLoss: values and student gradients, both modes)
Input gradients are central differences in float64; loss gradients are the closed forms, which the
script asserts match central differences of the float64 loss:
  dL_KD/ds = (tau/B) (softmax(s/tau) - q),  dL_CE/ds = (softmax(s) - y_mix)/B.

Run: python3 tools/reference/mixup_similarity.py
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import f32, log_softmax, numeric_grad, softmax, to_list, write_fixture  # noqa: E402

PKG = 'mixup-similarity'
rng = np.random.default_rng(20260522)


def onehot(y, c):
    out = np.zeros((len(y), c))
    out[np.arange(len(y)), y] = 1.0
    return out


def lam_col(lam, b, rank):
    lam = np.asarray(lam, dtype=np.float64)
    if lam.ndim == 0:
        return lam
    return lam.reshape((b,) + (1,) * (rank - 1))


def mixup_with(x, y, lam, perm, c):
    """x~ = lam x + (1 - lam) x[perm]; y~ = lam onehot(y) + (1 - lam) onehot(y[perm])."""
    x = np.asarray(x, dtype=np.float64)
    b = x.shape[0]
    lx = lam_col(lam, b, x.ndim)
    ly = lam_col(lam, b, 2)
    xm = lx * x + (1 - lx) * x[perm]
    ym = ly * onehot(y, c) + (1 - ly) * onehot(np.asarray(y)[perm], c)
    return xm, ym


def xlogy(a, b):
    out = np.zeros_like(a)
    m = a > 0
    out[m] = a[m] * np.log(b[m])
    return out


def soft_target(teacher, tau, mode, lam=None, perm=None):
    if mode == 'teacherOnMixed':
        return softmax(np.asarray(teacher) / tau)
    p = softmax(np.asarray(teacher) / tau)
    b = p.shape[0]
    lc = lam_col(lam, b, 2)
    return lc * p + (1 - lc) * p[perm]


def stkd_parts(s, q, ytil, tau):
    b = s.shape[0]
    ce = -np.sum(ytil * log_softmax(s)) / b
    kd = tau * tau * np.sum(xlogy(q, q) - q * log_softmax(s / tau)) / b
    return ce, kd


def mixup_cases():
    cases = []
    specs = [
        ('images NHWC, shared lambda', (3, 2, 2, 2), 4, 0.3, [2, 0, 1]),
        ('feature vectors, per-sample lambda', (5, 4), 6, [0.1, 0.5, 1.0, 0.0, 0.77], [3, 4, 0, 1, 2]),
        ('token embeddings [B, T, D], shared lambda', (2, 3, 4), 3, 0.6, [1, 0]),
        ('B = 1', (1, 3), 2, 0.4, [0]),
        ('feature vectors, lambda = 0', (4, 3), 5, 0.0, [1, 2, 3, 0]),
    ]
    for name, shape, c, lam, perm in specs:
        b = shape[0]
        x = f32(rng.normal(size=shape))
        w = f32(rng.normal(size=shape))
        y = rng.integers(0, c, size=b)
        lam = f32(lam)
        perm = np.array(perm)
        xm, ym = mixup_with(x, y, lam, perm, c)
        # gradient of sum(w * x~) w.r.t. x (numeric, then checked against the closed form)
        g = numeric_grad(lambda xx: np.sum(w * mixup_with(xx, y, lam, perm, c)[0]), x)
        lx = lam_col(lam, b, x.ndim)
        inv = np.argsort(perm)
        closed = lx * w + ((1 - lx) * w)[inv]
        assert np.allclose(g, closed, rtol=1e-6, atol=1e-8), name
        cases.append({
            'name': name,
            'numClasses': c,
            'x': to_list(x),
            'labels': [int(v) for v in y],
            'lambda': to_list(lam),
            'perSample': bool(np.ndim(lam) == 1),
            'permutation': [int(v) for v in perm],
            'w': to_list(w),
            'inputs': to_list(xm),
            'targets': to_list(ym),
            'labelsB': [int(v) for v in y[perm]],
            'inputGrad': to_list(g),
        })
    return cases


def random_targets(b, c):
    y = rng.integers(0, c, size=b)
    perm = rng.permutation(b)
    lam = f32(rng.uniform(size=b))
    return f32(mixup_with(np.zeros((b, 1)), y, lam, perm, c)[1])


def stkd_cases():
    cases = []
    specs = [
        # name, mode, B, C, tau, ceW, kdW, logit scale, lambda spec
        ('teacherOnMixed defaults', 'teacherOnMixed', 4, 5, 4.0, 0.1, 0.9, 2.0, None),
        ('teacherOnMixed tau=1', 'teacherOnMixed', 3, 6, 1.0, 0.5, 0.5, 2.0, None),
        ('teacherOnMixed tau=2.5 kd only', 'teacherOnMixed', 5, 4, 2.5, 0.0, 1.0, 3.0, None),
        ('teacherOnMixed B=1', 'teacherOnMixed', 1, 7, 4.0, 0.1, 0.9, 2.0, None),
        ('teacherOnMixed large logits', 'teacherOnMixed', 3, 5, 4.0, 0.1, 0.9, 40.0, None),
        ('mixedTeacherSoft shared lambda', 'mixedTeacherSoft', 4, 5, 4.0, 0.1, 0.9, 2.0, 0.35),
        ('mixedTeacherSoft per-sample lambda', 'mixedTeacherSoft', 5, 4, 3.0, 0.2, 0.8, 2.0,
         [0.0, 1.0, 0.25, 0.5, 0.9]),
        ('mixedTeacherSoft tau=1 weights 1/1', 'mixedTeacherSoft', 3, 6, 1.0, 1.0, 1.0, 2.0, 0.7),
        ('mixedTeacherSoft underflowing teacher', 'mixedTeacherSoft', 3, 4, 1.0, 0.1, 0.9, 60.0,
         [1.0, 0.0, 0.6]),
    ]
    for name, mode, b, c, tau, cew, kdw, scale, lam in specs:
        s = f32(rng.normal(size=(b, c)) * scale)
        t = f32(rng.normal(size=(b, c)) * scale)
        ytil = random_targets(b, c)
        case = {'name': name, 'targetMode': mode, 'temperature': tau, 'ceWeight': cew,
                'kdWeight': kdw, 'student': to_list(s), 'targets': to_list(ytil)}
        if mode == 'teacherOnMixed':
            q = soft_target(t, tau, mode)
            case['teacher'] = to_list(t)
        else:
            lam = f32(lam)
            perm = rng.permutation(b)
            q = soft_target(t, tau, mode, lam, perm)
            case['teacher'] = {'clean': to_list(t), 'lambda': to_list(lam),
                               'permutation': [int(v) for v in perm]}

        def total_of(ss):
            ce_, kd_ = stkd_parts(ss, q, ytil, tau)
            return cew * ce_ + kdw * kd_

        ce, kd = stkd_parts(s, q, ytil, tau)
        g_ce = numeric_grad(lambda ss: stkd_parts(ss, q, ytil, tau)[0], s)
        g_kd = numeric_grad(lambda ss: stkd_parts(ss, q, ytil, tau)[1], s)
        g_total = numeric_grad(total_of, s)
        closed_kd = (tau / b) * (softmax(s / tau) - q)
        closed_ce = (softmax(s) - ytil) / b
        assert np.allclose(g_kd, closed_kd, rtol=1e-5, atol=1e-6), (name, np.max(np.abs(g_kd - closed_kd)))
        assert np.allclose(g_ce, closed_ce, rtol=1e-5, atol=1e-6), (name, np.max(np.abs(g_ce - closed_ce)))
        assert kd >= -1e-12, name
        assert np.allclose(g_total, cew * closed_ce + kdw * closed_kd, rtol=1e-5, atol=1e-6), name
        # The stored gradients are the closed forms (exact in float64), verified above against
        # central differences of the float64 loss.
        case.update({'ce': ce, 'kd': kd, 'total': cew * ce + kdw * kd, 'q': to_list(q),
                     'gradCe': to_list(closed_ce), 'gradKd': to_list(closed_kd),
                     'gradTotal': to_list(cew * closed_ce + kdw * closed_kd)})
        cases.append(case)
    return cases


def torch_crosscheck(cases):
    """Optional: PyTorch's kl_div / cross_entropy agree with the numpy formulas (mode A)."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        print('torch not available: skipping the cross-check')
        return
    for case in cases:
        if case['targetMode'] != 'teacherOnMixed':
            continue
        s = torch.tensor(case['student'], dtype=torch.float64)
        t = torch.tensor(case['teacher'], dtype=torch.float64)
        y = torch.tensor(case['targets'], dtype=torch.float64)
        tau = case['temperature']
        kd = F.kl_div(F.log_softmax(s / tau, 1), F.softmax(t / tau, 1), reduction='batchmean') * tau * tau
        ce = -(y * F.log_softmax(s, 1)).sum() / s.shape[0]
        assert abs(kd.item() - case['kd']) < 1e-9 * max(1, abs(case['kd'])), case['name']
        assert abs(ce.item() - case['ce']) < 1e-9 * max(1, abs(case['ce'])), case['name']
    print('torch cross-check passed')


if __name__ == '__main__':
    write_fixture(PKG, 'mixup', {'generator': 'tools/reference/mixup_similarity.py', 'cases': mixup_cases()})
    stkd = stkd_cases()
    torch_crosscheck(stkd)
    write_fixture(PKG, 'stkd', {'generator': 'tools/reference/mixup_similarity.py', 'cases': stkd})
