"""Float64 numpy reference for @relkd/core (losses, tensor helpers, Modules).

Writes packages/core/fixtures/*.json. Every input is rounded to float32 first (f32) so the
TypeScript tests feed exactly the numbers used here. Gradients are analytic where the formula is
simple and are always asserted against float64 central differences (numeric_grad) before being
written; module gradients are those of the scalar `sum(y * r)` for a fixed random cotangent `r`.

Layouts follow tfjs: NHWC activations, conv filters [k, k, in, out], depthwise filters
[k, k, C, m] (output channel c*m + q, the PyTorch `groups=C` order).

Run:  python3 tools/reference/core.py
Cross-check against PyTorch (float64):  /usr/bin/python3 tools/reference/core_torch.py
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import f32, log_softmax, numeric_grad, softmax, to_list, write_fixture  # noqa: E402

PKG = 'core'
rng = np.random.default_rng(20240611)


def close(a, b, rtol=1e-6, atol=1e-8, what=''):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if not np.allclose(a, b, rtol=rtol, atol=atol):
        raise AssertionError(f'{what}: max |diff| {np.max(np.abs(a - b))}')


def randn(*shape, scale=1.0):
    return f32(rng.standard_normal(shape) * scale)


# --------------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------------


def cross_entropy(z, y):
    b = z.shape[0]
    return -np.sum(log_softmax(z)[np.arange(b), y]) / b


def soft_cross_entropy(z, q, t):
    return -np.sum(q * log_softmax(z / t)) / z.shape[0]


def kl_div(s, tz, t, scale_t2):
    lps = log_softmax(s / t)
    lpt = log_softmax(tz / t)
    kl = np.sum(np.exp(lpt) * (lpt - lps)) / s.shape[0]
    return kl * (t * t if scale_t2 else 1.0)


def gen_losses():
    cases = []
    for (b, c, scale) in [(4, 5, 3.0), (1, 3, 1.0), (6, 10, 10.0), (3, 2, 0.5)]:
        z = randn(b, c, scale=scale)
        y = rng.integers(0, c, size=b)
        v = cross_entropy(z, y)
        onehot = np.eye(c)[y]
        g = (softmax(z) - onehot) / b
        close(g, numeric_grad(lambda zz: cross_entropy(zz, y), z), what='crossEntropy grad')
        cases.append({'logits': to_list(z), 'labels': y.tolist(), 'value': v, 'grad': to_list(g)})
    write_fixture(PKG, 'crossEntropy', {'cases': cases})

    cases = []
    for (b, c, t, scale) in [(4, 5, 1.0, 2.0), (4, 5, 2.0, 2.0), (1, 3, 2.0, 5.0), (5, 7, 1.0, 8.0)]:
        z = randn(b, c, scale=scale)
        q = f32(softmax(rng.standard_normal((b, c)) * 2))
        v = soft_cross_entropy(z, q, t)
        p = softmax(z / t)
        g = -(q - p * np.sum(q, axis=1, keepdims=True)) / (t * b)
        close(g, numeric_grad(lambda zz: soft_cross_entropy(zz, q, t), z), what='softCE grad')
        cases.append(
            {'logits': to_list(z), 'targets': to_list(q), 'temperature': t, 'value': v, 'grad': to_list(g)}
        )
    write_fixture(PKG, 'softCrossEntropy', {'cases': cases})

    cases = []
    for (b, c, t, scale_t2, scale) in [
        (4, 5, 1.0, False, 2.0),
        (4, 5, 2.0, False, 2.0),
        (4, 5, 2.0, True, 2.0),
        (3, 7, 3.0, True, 6.0),
        (1, 4, 0.5, False, 1.0),
    ]:
        s = randn(b, c, scale=scale)
        tz = randn(b, c, scale=scale)
        v = kl_div(s, tz, t, scale_t2)
        g = (softmax(s / t) - softmax(tz / t)) / (t * b) * (t * t if scale_t2 else 1.0)
        close(g, numeric_grad(lambda ss: kl_div(ss, tz, t, scale_t2), s), what='KL grad')
        cases.append({
            'student': to_list(s), 'teacher': to_list(tz), 'temperature': t,
            'scaleByTSquared': scale_t2, 'value': v, 'grad': to_list(g),
        })
    write_fixture(PKG, 'klDivergence', {'cases': cases})

    cases = []
    for (b, c, t, scale) in [(4, 5, 1.0, 2.0), (4, 5, 4.0, 2.0), (8, 10, 4.0, 5.0), (1, 3, 4.0, 1.0),
                             (2, 6, 4.0, 40.0)]:
        s = randn(b, c, scale=scale)
        tz = randn(b, c, scale=scale)
        v = kl_div(s, tz, t, True)
        g = t * (softmax(s / t) - softmax(tz / t)) / b
        close(g, numeric_grad(lambda ss: kl_div(ss, tz, t, True), s), what='kd grad')
        cases.append({'student': to_list(s), 'teacher': to_list(tz), 'temperature': t, 'value': v,
                      'grad': to_list(g)})
    write_fixture(PKG, 'kdLoss', {'cases': cases})


# --------------------------------------------------------------------------------------------
# Tensor helpers: value and gradient of sum(f(x) * r)
# --------------------------------------------------------------------------------------------


def helper_case(f, inputs, extra=None):
    out = f(*inputs)
    r = randn(*out.shape)
    grads = []
    for i in range(len(inputs)):
        def fi(xi, i=i):
            args = list(inputs)
            args[i] = xi
            return np.sum(f(*args) * r)
        grads.append(to_list(numeric_grad(fi, inputs[i])))
    case = {'inputs': [to_list(x) for x in inputs], 'r': to_list(r), 'value': to_list(out), 'grads': grads}
    case.update(extra or {})
    return case


def z_score(x, axis=-1, eps=1e-7):
    m = np.mean(x, axis=axis, keepdims=True)
    sd = np.sqrt(np.mean((x - m) ** 2, axis=axis, keepdims=True))
    return (x - m) / (sd + eps)


def l2_normalize(x, axis=-1, eps=1e-12):
    n = np.sqrt(np.sum(x * x, axis=axis, keepdims=True))
    return x / np.maximum(n, eps)


def pairwise_sq(a, b=None):
    b = a if b is None else b
    return np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1)


def cosine(a, b=None):
    b = a if b is None else b
    return l2_normalize(a) @ l2_normalize(b).T


def gen_helpers():
    write_fixture(PKG, 'zScore', {'cases': [
        helper_case(lambda x: z_score(x), [randn(4, 6, scale=3.0)], {'axis': -1}),
        helper_case(lambda x: z_score(x, axis=0), [randn(5, 3)], {'axis': 0}),
        helper_case(lambda x: z_score(x, axis=1), [randn(2, 4, 3)], {'axis': 1}),
    ]})
    write_fixture(PKG, 'l2Normalize', {'cases': [
        helper_case(lambda x: l2_normalize(x), [randn(4, 6, scale=3.0)], {'axis': -1}),
        helper_case(lambda x: l2_normalize(x, axis=0), [randn(5, 3)], {'axis': 0}),
    ]})
    write_fixture(PKG, 'gram', {'cases': [helper_case(lambda x: x @ x.T, [randn(5, 4)])]})
    write_fixture(PKG, 'classGram', {'cases': [
        helper_case(lambda p: p.T @ p, [f32(softmax(rng.standard_normal((6, 4)) * 2))])
    ]})
    write_fixture(PKG, 'pairwiseSquaredDistances', {'cases': [
        helper_case(lambda a: pairwise_sq(a), [randn(5, 3)]),
        helper_case(lambda a, b: pairwise_sq(a, b), [randn(4, 3), randn(6, 3)]),
    ]})
    write_fixture(PKG, 'cosineSimilarityMatrix', {'cases': [
        helper_case(lambda a: cosine(a), [randn(5, 3)]),
        helper_case(lambda a, b: cosine(a, b), [randn(4, 3), randn(6, 3)]),
    ]})
    write_fixture(PKG, 'globalAveragePool', {'cases': [
        helper_case(lambda x: np.mean(x, axis=(1, 2)), [randn(2, 3, 4, 5)]),
    ]})


# --------------------------------------------------------------------------------------------
# Modules (NHWC, tfjs filter layouts)
# --------------------------------------------------------------------------------------------


def out_size(h, k, s, p, d):
    return (h + 2 * p - d * (k - 1) - 1) // s + 1


def pad_hw(x, p):
    return np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))


def conv2d(x, w, bias, s, p, d):
    b, h, wd, _ = x.shape
    k, _, _, cout = w.shape
    ho, wo = out_size(h, k, s, p, d), out_size(wd, k, s, p, d)
    xp = pad_hw(x, p)
    y = np.zeros((b, ho, wo, cout))
    for u in range(k):
        for v in range(k):
            patch = xp[:, u * d: u * d + s * (ho - 1) + 1: s, v * d: v * d + s * (wo - 1) + 1: s, :]
            y += np.einsum('bhwc,co->bhwo', patch, w[u, v])
    return y + (0 if bias is None else bias)


def depthwise(x, w, bias, s, p):
    b, h, wd, c = x.shape
    k, _, _, m = w.shape
    ho, wo = out_size(h, k, s, p, 1), out_size(wd, k, s, p, 1)
    xp = pad_hw(x, p)
    y = np.zeros((b, ho, wo, c, m))
    for u in range(k):
        for v in range(k):
            patch = xp[:, u: u + s * (ho - 1) + 1: s, v: v + s * (wo - 1) + 1: s, :]
            y += np.einsum('bhwc,cq->bhwcq', patch, w[u, v])
    y = y.reshape(b, ho, wo, c * m)
    return y + (0 if bias is None else bias)


def grads_of(f, args, r, eps=1e-6):
    """Central-difference gradients of sum(f(*args) * r) w.r.t. every arg. For functions linear
    in each argument (conv, dense) a large eps is exact and avoids cancellation noise."""
    out = []
    for i in range(len(args)):
        def fi(xi, i=i):
            a = list(args)
            a[i] = xi
            return np.sum(f(*a) * r)
        out.append(numeric_grad(fi, args[i], eps))
    return out


def gen_conv():
    cases = []
    for (b, h, w_, cin, cout, k, s, p, d, bias) in [
        (2, 5, 5, 3, 4, 3, 1, 1, 1, True),
        (2, 6, 5, 2, 3, 3, 2, 1, 1, True),
        (1, 7, 7, 2, 2, 3, 1, 2, 2, False),
        (2, 5, 6, 3, 2, 2, 2, 0, 1, True),
        (1, 4, 4, 3, 5, 1, 1, 0, 1, False),
        (1, 7, 6, 2, 3, 3, 2, 0, 1, True),
        (1, 9, 8, 2, 3, 3, 2, 1, 2, True),
        (1, 8, 8, 2, 2, 2, 1, 0, 3, False),
    ]:
        x = randn(b, h, w_, cin)
        wt = randn(k, k, cin, cout, scale=0.5)
        bb = randn(cout) if bias else None
        y = conv2d(x, wt, bb, s, p, d)
        r = randn(*y.shape)
        args = [x, wt] + ([bb] if bias else [])
        gs = grads_of(lambda *a: conv2d(a[0], a[1], a[2] if bias else None, s, p, d), args, r, 0.5)
        cases.append({
            'kernelSize': k, 'stride': s, 'padding': p, 'dilation': d, 'useBias': bias,
            'inChannels': cin, 'outChannels': cout,
            'x': to_list(x), 'kernel': to_list(wt), 'bias': None if bb is None else to_list(bb),
            'r': to_list(r), 'y': to_list(y), 'gradX': to_list(gs[0]), 'gradKernel': to_list(gs[1]),
            'gradBias': to_list(gs[2]) if bias else None,
        })
    write_fixture(PKG, 'conv2d', {'cases': cases})

    cases = []
    for (b, h, w_, c, m, k, s, p, bias) in [
        (2, 5, 5, 3, 1, 3, 1, 1, False),
        (2, 6, 6, 2, 2, 3, 2, 1, True),
        (1, 7, 5, 3, 1, 3, 2, 0, False),
        (1, 5, 5, 2, 3, 2, 1, 0, True),
    ]:
        x = randn(b, h, w_, c)
        wt = randn(k, k, c, m, scale=0.5)
        bb = randn(c * m) if bias else None
        y = depthwise(x, wt, bb, s, p)
        r = randn(*y.shape)
        args = [x, wt] + ([bb] if bias else [])
        gs = grads_of(lambda *a: depthwise(a[0], a[1], a[2] if bias else None, s, p), args, r, 0.5)
        cases.append({
            'channels': c, 'depthMultiplier': m, 'kernelSize': k, 'stride': s, 'padding': p,
            'useBias': bias, 'x': to_list(x), 'kernel': to_list(wt),
            'bias': None if bb is None else to_list(bb), 'r': to_list(r), 'y': to_list(y),
            'gradX': to_list(gs[0]), 'gradKernel': to_list(gs[1]),
            'gradBias': to_list(gs[2]) if bias else None,
        })
    write_fixture(PKG, 'depthwiseConv2d', {'cases': cases})

    cases = []
    for (b, h, w_, cin, cout, k, s, p, m, bias) in [
        (2, 5, 5, 3, 4, 3, 2, 1, 1, False),
        (1, 6, 6, 2, 3, 3, 1, 1, 2, True),
    ]:
        x = randn(b, h, w_, cin)
        dw = randn(k, k, cin, m, scale=0.5)
        pw = randn(1, 1, cin * m, cout, scale=0.5)
        bb = randn(cout) if bias else None

        def sep(x, dw, pw, *rest):
            return conv2d(depthwise(x, dw, None, s, p), pw, rest[0] if rest else None, 1, 0, 1)

        y = sep(x, dw, pw, *([bb] if bias else []))
        r = randn(*y.shape)
        gs = grads_of(sep, [x, dw, pw] + ([bb] if bias else []), r, 0.5)
        cases.append({
            'inChannels': cin, 'outChannels': cout, 'kernelSize': k, 'stride': s, 'padding': p,
            'depthMultiplier': m, 'useBias': bias, 'x': to_list(x),
            'weights': {'depthwise/kernel': to_list(dw), 'pointwise/kernel': to_list(pw),
                        **({'pointwise/bias': to_list(bb)} if bias else {})},
            'r': to_list(r), 'y': to_list(y), 'gradX': to_list(gs[0]),
            'grads': {'depthwise/kernel': to_list(gs[1]), 'pointwise/kernel': to_list(gs[2]),
                      **({'pointwise/bias': to_list(gs[3])} if bias else {})},
        })
    write_fixture(PKG, 'separableConv2d', {'cases': cases})


def bn_train(x, gamma, beta, eps=1e-5):
    axes = tuple(range(x.ndim - 1))
    mean = np.mean(x, axis=axes)
    var = np.mean((x - mean) ** 2, axis=axes)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta, mean, var


def bn_infer(x, gamma, beta, rm, rv, eps=1e-5):
    return (x - rm) / np.sqrt(rv + eps) * gamma + beta


def gen_bn():
    cases = []
    for shape in [(6, 4), (2, 3, 3, 3)]:
        c = shape[-1]
        x = randn(*shape, scale=2.0) + f32(rng.standard_normal(c))
        x = f32(x)
        gamma = f32(1 + 0.3 * rng.standard_normal(c))
        beta = randn(c, scale=0.5)
        rm = randn(c, scale=0.3)
        rv = f32(1 + 0.5 * rng.random(c))
        y, mean, var = bn_train(x, gamma, beta)
        n = x.size // c
        new_rm = 0.9 * rm + 0.1 * mean
        new_rv = 0.9 * rv + 0.1 * var * n / (n - 1)
        r = randn(*y.shape)
        gx, gg, gb = grads_of(lambda a, g, bt: bn_train(a, g, bt)[0], [x, gamma, beta], r)
        y_inf = bn_infer(x, gamma, beta, rm, rv)
        gxi, ggi, gbi = grads_of(lambda a, g, bt: bn_infer(a, g, bt, rm, rv), [x, gamma, beta], r)
        cases.append({
            'x': to_list(x), 'gamma': to_list(gamma), 'beta': to_list(beta),
            'movingMean': to_list(rm), 'movingVariance': to_list(rv), 'r': to_list(r),
            'train': {'y': to_list(y), 'movingMean': to_list(new_rm), 'movingVariance': to_list(new_rv),
                      'gradX': to_list(gx), 'gradGamma': to_list(gg), 'gradBeta': to_list(gb)},
            'infer': {'y': to_list(y_inf), 'gradX': to_list(gxi), 'gradGamma': to_list(ggi),
                      'gradBeta': to_list(gbi)},
        })
    write_fixture(PKG, 'batchNorm', {'cases': cases})


def gen_dense():
    cases = []
    for (b, i, o, bias) in [(4, 5, 3, True), (1, 3, 6, False)]:
        x = randn(b, i)
        w = randn(i, o, scale=0.5)
        bb = randn(o) if bias else None
        f = (lambda x, w, bb: x @ w + bb) if bias else (lambda x, w: x @ w)
        args = [x, w] + ([bb] if bias else [])
        y = f(*args)
        r = randn(*y.shape)
        gs = grads_of(f, args, r, 0.5)
        close(gs[1], x.T @ r, what='dense grad W')
        cases.append({
            'inUnits': i, 'outUnits': o, 'useBias': bias, 'x': to_list(x), 'kernel': to_list(w),
            'bias': None if bb is None else to_list(bb), 'r': to_list(r), 'y': to_list(y),
            'gradX': to_list(gs[0]), 'gradKernel': to_list(gs[1]),
            'gradBias': to_list(gs[2]) if bias else None,
        })
    write_fixture(PKG, 'dense', {'cases': cases})


def gen_sepconv():
    b, h, w_, cin, cout, s = 2, 5, 5, 3, 4, 2
    x = randn(b, h, w_, cin)
    wts = {
        'dw1/kernel': randn(3, 3, cin, 1, scale=0.5),
        'pw1/kernel': randn(1, 1, cin, cin, scale=0.5),
        'bn1/gamma': f32(1 + 0.2 * rng.standard_normal(cin)),
        'bn1/beta': randn(cin, scale=0.2),
        'bn1/movingMean': randn(cin, scale=0.2),
        'bn1/movingVariance': f32(1 + 0.5 * rng.random(cin)),
        'dw2/kernel': randn(3, 3, cin, 1, scale=0.5),
        'pw2/kernel': randn(1, 1, cin, cout, scale=0.5),
        'bn2/gamma': f32(1 + 0.2 * rng.standard_normal(cout)),
        'bn2/beta': randn(cout, scale=0.2),
        'bn2/movingMean': randn(cout, scale=0.2),
        'bn2/movingVariance': f32(1 + 0.5 * rng.random(cout)),
    }

    def forward(x, training, W=wts):
        stats = {}
        hdn = depthwise(x, W['dw1/kernel'], None, s, 1)
        hdn = conv2d(hdn, W['pw1/kernel'], None, 1, 0, 1)
        if training:
            hdn, m1, v1 = bn_train(hdn, W['bn1/gamma'], W['bn1/beta'])
            stats['bn1'] = (m1, v1, hdn.size // cin)
        else:
            hdn = bn_infer(hdn, W['bn1/gamma'], W['bn1/beta'], W['bn1/movingMean'], W['bn1/movingVariance'])
        hdn = np.maximum(hdn, 0)
        hdn = depthwise(hdn, W['dw2/kernel'], None, 1, 1)
        hdn = conv2d(hdn, W['pw2/kernel'], None, 1, 0, 1)
        if training:
            hdn, m2, v2 = bn_train(hdn, W['bn2/gamma'], W['bn2/beta'])
            stats['bn2'] = (m2, v2, hdn.size // cout)
        else:
            hdn = bn_infer(hdn, W['bn2/gamma'], W['bn2/beta'], W['bn2/movingMean'], W['bn2/movingVariance'])
        return np.maximum(hdn, 0), stats

    y_inf, _ = forward(x, False)
    y_tr, stats = forward(x, True)
    new_stats = {}
    for name, (m, v, n) in stats.items():
        new_stats[f'{name}/movingMean'] = to_list(0.9 * wts[f'{name}/movingMean'] + 0.1 * m)
        new_stats[f'{name}/movingVariance'] = to_list(0.9 * wts[f'{name}/movingVariance'] + 0.1 * v * n / (n - 1))
    r = randn(*y_tr.shape)
    g_tr = numeric_grad(lambda a: np.sum(forward(a, True)[0] * r), x)
    g_inf = numeric_grad(lambda a: np.sum(forward(a, False)[0] * r), x)
    write_fixture(PKG, 'sepConv', {
        'inChannels': cin, 'outChannels': cout, 'stride': s, 'x': to_list(x),
        'weights': {k: to_list(v) for k, v in wts.items()}, 'r': to_list(r),
        'infer': {'y': to_list(y_inf), 'gradX': to_list(g_inf)},
        'train': {'y': to_list(y_tr), 'gradX': to_list(g_tr), 'stats': new_stats},
    })


if __name__ == '__main__':
    gen_losses()
    gen_helpers()
    gen_conv()
    gen_bn()
    gen_dense()
    gen_sepconv()
