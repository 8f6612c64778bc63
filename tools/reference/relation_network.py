"""Float64 references of @relkd/relation-network (CORSD).

1. corsdLoss and its gradients (fixtures/corsdLoss.json): plain numpy, loops over stages and
   rows, gradients by central differences (common.numeric_grad). With detach_deepest the deepest
   stage's logits and scores enter the D / score-mimic terms as constants (held fixed while
   differentiating), which is what stopGradient does.
2. RelationNetwork forward passes (fixtures/relationNetwork.json): a numpy NHWC implementation of
   the network (SepConv trunk, GAP, score head, auxiliary classifier, BatchNorm in training and
   inference mode with PyTorch's running-statistics update). When PyTorch is importable
   (/usr/bin/python3 on the dev machine) the same weights are loaded into a PyTorch copy of the
   released code's RN2 / RN4 modules (muzhou-yu/CORSD model.py, unused attention branches
   dropped), the outputs are checked against numpy, and the input gradient comes from PyTorch's
   float64 autograd; without PyTorch it comes from central differences of the numpy network.

Regenerate: /usr/bin/python3 tools/reference/relation_network.py   (or python3, numpy only)
"""
import numpy as np

from common import f32, log_softmax, numeric_grad, softmax, to_list, write_fixture

DEFAULTS = dict(temperature=3.0, kdWeight=0.16, ceWeight=0.04, negKdWeight=0.04, negCeWeight=0.01,
                tripletWeight=0.01, margin=1.0, scoreWeight=0.01, detachDeepest=True, tSquared=False)


def corsd_parts(up, un, sp, sn, ya, yn, opts, const=None):
    """up/un: [K, B, C] logits of positive/negative pairs; sp/sn: [K, B] scores.
    const: the same arrays used where the deepest stage is a target (detached)."""
    o = dict(DEFAULTS, **opts)
    T = o['temperature']
    K, B, C = up.shape
    tgt = const if (o['detachDeepest'] and const is not None) else (up, un, sp, sn)
    tup, tun, tsp, tsn = tgt

    def D(u, v):
        total = 0.0
        for b in range(B):
            p = softmax(v[b] / T)
            total += np.sum(p * (log_softmax(v[b] / T) - log_softmax(u[b] / T)))
        return total / B

    def CE(u, y):
        return -np.mean([log_softmax(u[b])[y[b]] for b in range(B)])

    def SoftCE(u, q):
        return -np.mean([np.sum(q[b] * log_softmax(u[b] / T)) for b in range(B)])

    q = np.zeros((B, C))
    for b in range(B):
        q[b, ya[b]] += 0.5
        q[b, yn[b]] += 0.5
    kd = sum(D(up[k], tup[K - 1]) for k in range(K - 1))
    negkd = sum(D(un[k], tun[K - 1]) for k in range(K - 1))
    if o['tSquared']:  # Hinton's T² on the two D terms (option; off = the released scale)
        kd, negkd = kd * T * T, negkd * T * T
    ce = sum(CE(up[k], ya) for k in range(K))
    negce = sum(SoftCE(un[k], q) for k in range(K))
    trip = sum(np.mean(np.maximum(0.0, sp[k] - sn[k] + o['margin'])) for k in range(K))
    score = sum(np.mean((sp[k] - tsp[K - 1]) ** 2) + np.mean((sn[k] - tsn[K - 1]) ** 2) for k in range(K - 1))
    total = (o['kdWeight'] * kd + o['ceWeight'] * ce + o['negKdWeight'] * negkd + o['negCeWeight'] * negce
             + o['tripletWeight'] * trip + o['scoreWeight'] * score)
    return dict(total=total, kd=kd, ce=ce, negKd=negkd, negCe=negce, triplet=trip, score=score)


def make_case(name, rng, K, B, C, opts, scale=3.0):
    up = f32(rng.normal(size=(K, B, C)) * scale)
    un = f32(rng.normal(size=(K, B, C)) * scale)
    sp = f32(1 / (1 + np.exp(-rng.normal(size=(K, B)))))
    sn = f32(1 / (1 + np.exp(-rng.normal(size=(K, B)))))
    ya = rng.integers(0, C, size=B)
    yn = np.array([(y + 1 + rng.integers(0, C - 1)) % C for y in ya])
    const = (up.copy(), un.copy(), sp.copy(), sn.copy())
    o = dict(DEFAULTS, **opts)
    # keep every hinge argument away from its kink so central differences are valid
    arg = sp - sn + o['margin']
    assert np.min(np.abs(arg)) > 1e-3, 'hinge kink too close; change the seed'
    parts = corsd_parts(up, un, sp, sn, ya, yn, opts, const)
    shapes = [up.shape, un.shape, sp.shape, sn.shape]
    flat0 = np.concatenate([a.ravel() for a in (up, un, sp, sn)])

    def unflat(x):
        out, i = [], 0
        for s in shapes:
            n = int(np.prod(s))
            out.append(x[i:i + n].reshape(s))
            i += n
        return out

    g = numeric_grad(lambda x: corsd_parts(*unflat(x), ya, yn, opts, const)['total'], flat0)
    gup, gun, gsp, gsn = unflat(g)
    return dict(
        name=name, K=K, B=B, C=C, options=opts,
        posLogits=to_list(up), negLogits=to_list(un), posScores=to_list(sp), negScores=to_list(sn),
        anchorLabels=[int(v) for v in ya], negativeLabels=[int(v) for v in yn],
        expected={k: float(v) for k, v in parts.items()},
        grad=dict(posLogits=to_list(gup), negLogits=to_list(gun), posScores=to_list(gsp), negScores=to_list(gsn)),
    )


# ---------------------------------------------------------------- relation network (NHWC, numpy)

EPS = 1e-5
MOMENTUM = 0.9  # running = MOMENTUM·running + (1 − MOMENTUM)·batch  (PyTorch momentum 0.1)


def depthwise(x, k, stride):
    """x [B,H,W,C], k [3,3,C,1], zero padding 1."""
    B, H, W, C = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    oh, ow = (H + 2 - 3) // stride + 1, (W + 2 - 3) // stride + 1
    out = np.zeros((B, oh, ow, C))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, i * stride:i * stride + 3, j * stride:j * stride + 3, :]  # [B,3,3,C]
            out[:, i, j, :] = np.einsum('bhwc,hwc->bc', win, k[:, :, :, 0])
    return out


def batchnorm(x, w, prefix, training, state):
    axes = tuple(range(x.ndim - 1))
    g, b = w[prefix + '/gamma'], w[prefix + '/beta']
    if training:
        m, v = x.mean(axis=axes), x.var(axis=axes)
        n = x.size // x.shape[-1]
        state[prefix + '/movingMean'] = MOMENTUM * w[prefix + '/movingMean'] + (1 - MOMENTUM) * m
        state[prefix + '/movingVariance'] = (MOMENTUM * w[prefix + '/movingVariance']
                                             + (1 - MOMENTUM) * v * n / max(n - 1, 1))
    else:
        m, v = w[prefix + '/movingMean'], w[prefix + '/movingVariance']
    return (x - m) / np.sqrt(v + EPS) * g + b


def relation_network(x, w, num_blocks, training):
    """Returns (score [B,1], logits [B,C], updated running statistics)."""
    state = {}
    h = x
    for j in range(num_blocks):
        p = 'trunk/%d/' % j
        h = depthwise(h, w[p + 'dw1/kernel'], 2)
        h = h @ w[p + 'pw1/kernel'][0, 0]
        h = np.maximum(batchnorm(h, w, p + 'bn1', training, state), 0)
        h = depthwise(h, w[p + 'dw2/kernel'], 1)
        h = h @ w[p + 'pw2/kernel'][0, 0]
        h = np.maximum(batchnorm(h, w, p + 'bn2', training, state), 0)
    e = h.mean(axis=(1, 2))
    z = e @ w['score/0/kernel'] + w['score/0/bias']
    z = np.maximum(batchnorm(z, w, 'score/1', training, state), 0)
    z = z @ w['score/3/kernel'] + w['score/3/bias']
    score = 1 / (1 + np.exp(-z))
    logits = e @ w['classifier/kernel'] + w['classifier/bias']
    return score, logits, state


def network_weights(rng, in_ch, num_blocks, emb, hidden, classes):
    """Random float32-representable weights keyed by the TypeScript module paths."""
    w = {}

    def bn(p, c):
        w[p + '/gamma'] = f32(rng.uniform(0.5, 1.5, c))
        w[p + '/beta'] = f32(rng.normal(size=c) * 0.1)
        w[p + '/movingMean'] = f32(rng.normal(size=c) * 0.1)
        w[p + '/movingVariance'] = f32(rng.uniform(0.5, 2.0, c))

    widths = [emb // 2 ** (num_blocks - 1 - j) for j in range(num_blocks)]
    for j, out in enumerate(widths):
        cin = in_ch if j == 0 else widths[j - 1]
        p = 'trunk/%d/' % j
        w[p + 'dw1/kernel'] = f32(rng.normal(size=(3, 3, cin, 1)) * 0.5)
        w[p + 'pw1/kernel'] = f32(rng.normal(size=(1, 1, cin, cin)) * 0.5)
        bn(p + 'bn1', cin)
        w[p + 'dw2/kernel'] = f32(rng.normal(size=(3, 3, cin, 1)) * 0.5)
        w[p + 'pw2/kernel'] = f32(rng.normal(size=(1, 1, cin, out)) * 0.5)
        bn(p + 'bn2', out)
    w['score/0/kernel'] = f32(rng.normal(size=(emb, hidden)) * 0.5)
    w['score/0/bias'] = f32(rng.normal(size=hidden) * 0.1)
    bn('score/1', hidden)
    w['score/3/kernel'] = f32(rng.normal(size=(hidden, 1)) * 0.5)
    w['score/3/bias'] = f32(rng.normal(size=1) * 0.1)
    w['classifier/kernel'] = f32(rng.normal(size=(emb, classes)) * 0.5)
    w['classifier/bias'] = f32(rng.normal(size=classes) * 0.1)
    return w


def torch_check(x, w, num_blocks, hidden, classes, ws, wl):
    """Loads the weights into a PyTorch copy of the released RN2 / RN4 and returns
    (train score, train logits, infer score, infer logits, running stats, d/dx) in float64,
    or None when PyTorch is not available."""
    try:
        import torch
        import torch.nn as nn
    except ImportError:
        return None
    torch.set_default_dtype(torch.float64)

    class SepConv(nn.Module):  # released model.py, verbatim structure
        def __init__(self, channel_in, channel_out, kernel_size=3, stride=2, padding=1, affine=True):
            super().__init__()
            self.op = nn.Sequential(
                nn.Conv2d(channel_in, channel_in, kernel_size=kernel_size, stride=stride, padding=padding,
                          groups=channel_in, bias=False),
                nn.Conv2d(channel_in, channel_in, kernel_size=1, padding=0, bias=False),
                nn.BatchNorm2d(channel_in, affine=affine),
                nn.ReLU(inplace=False),
                nn.Conv2d(channel_in, channel_in, kernel_size=kernel_size, stride=1, padding=padding,
                          groups=channel_in, bias=False),
                nn.Conv2d(channel_in, channel_out, kernel_size=1, padding=0, bias=False),
                nn.BatchNorm2d(channel_out, affine=affine),
                nn.ReLU(inplace=False),
            )

        def forward(self, x):
            return self.op(x)

    class RN2(nn.Module):  # released RN2(C) with C = 1: channel_4 -> channel_8 -> channel_16
        def __init__(self, C, num_classes):
            super().__init__()
            self.scala2 = nn.Sequential(SepConv(4 * C, 8 * C), SepConv(8 * C, 16 * C), nn.AdaptiveAvgPool2d(1))
            self.fcout = nn.Sequential(nn.Linear(16 * C, 2 * C), nn.BatchNorm1d(2 * C), nn.ReLU(), nn.Linear(2 * C, 1))
            self.auxiliary2 = nn.Linear(16 * C, num_classes)

        def forward(self, x):
            x = self.scala2(x)
            f = x.view(x.size(0), -1)
            return nn.Sigmoid()(self.fcout(f)), self.auxiliary2(f)

    class RN4(nn.Module):  # released RN4(C) (unused g_fc2..g_fc4 dropped)
        def __init__(self, C, num_classes):
            super().__init__()
            self.scala4 = nn.Sequential(nn.AdaptiveAvgPool2d(1))
            self.g_fc1 = nn.Linear(16 * C, 4 * C)
            self.batchNorm1 = nn.BatchNorm1d(4 * C)
            self.fcout = nn.Sequential(nn.Linear(4 * C, 1))
            self.auxiliary4 = nn.Linear(16 * C, num_classes)

        def forward(self, x):
            x = self.scala4(x)
            f = x.view(x.size(0), -1)
            x1 = torch.relu(self.batchNorm1(self.g_fc1(f)))
            return nn.Sigmoid()(self.fcout(x1)), self.auxiliary4(f)

    T = lambda a: torch.tensor(np.asarray(a, dtype=np.float64))  # noqa: E731
    dw = lambda k: T(np.transpose(k, (2, 3, 0, 1)))  # [3,3,C,1] -> [C,1,3,3]  # noqa: E731
    pw = lambda k: T(np.transpose(k, (3, 2, 0, 1)))  # [1,1,in,out] -> [out,in,1,1]  # noqa: E731

    def load_bn(bn, p):
        bn.weight.data, bn.bias.data = T(w[p + '/gamma']), T(w[p + '/beta'])
        bn.running_mean.data, bn.running_var.data = T(w[p + '/movingMean']), T(w[p + '/movingVariance'])

    if num_blocks == 2:
        net = RN2(1, classes)
        for j in range(2):
            op = net.scala2[j].op
            p = 'trunk/%d/' % j
            op[0].weight.data, op[1].weight.data = dw(w[p + 'dw1/kernel']), pw(w[p + 'pw1/kernel'])
            op[4].weight.data, op[5].weight.data = dw(w[p + 'dw2/kernel']), pw(w[p + 'pw2/kernel'])
            load_bn(op[2], p + 'bn1')
            load_bn(op[6], p + 'bn2')
        fc1, bn1, fc2, aux = net.fcout[0], net.fcout[1], net.fcout[3], net.auxiliary2
        stats = {'trunk/%d/bn%d' % (j, i): net.scala2[j].op[2 if i == 1 else 6] for j in range(2) for i in (1, 2)}
    elif num_blocks == 0:
        net = RN4(1, classes)
        fc1, bn1, fc2, aux = net.g_fc1, net.batchNorm1, net.fcout[0], net.auxiliary4
        stats = {}
    else:
        raise ValueError('torch check covers RN2 (2 blocks) and RN4 (0 blocks)')
    assert fc1.out_features == hidden
    fc1.weight.data, fc1.bias.data = T(w['score/0/kernel'].T), T(w['score/0/bias'])
    load_bn(bn1, 'score/1')
    fc2.weight.data, fc2.bias.data = T(w['score/3/kernel'].T), T(w['score/3/bias'])
    aux.weight.data, aux.bias.data = T(w['classifier/kernel'].T), T(w['classifier/bias'])
    stats['score/1'] = bn1

    xt = T(np.transpose(x, (0, 3, 1, 2))).requires_grad_(True)  # NHWC -> NCHW
    net.train()
    s_tr, u_tr = net(xt)
    loss = (s_tr * T(ws)).sum() + (u_tr * T(wl)).sum()
    loss.backward()
    gx = np.transpose(xt.grad.numpy(), (0, 2, 3, 1))
    running = {}
    for p, bn in stats.items():
        running[p + '/movingMean'] = bn.running_mean.detach().numpy()
        running[p + '/movingVariance'] = bn.running_var.detach().numpy()
    net.eval()
    with torch.no_grad():
        s_ev, u_ev = net(T(np.transpose(x, (0, 3, 1, 2))))
    return s_tr.detach().numpy(), u_tr.detach().numpy(), s_ev.numpy(), u_ev.numpy(), running, gx


def make_network_case(name, rng, B, hw, in_ch, num_blocks, emb, hidden, classes):
    w = network_weights(rng, in_ch, num_blocks, emb, hidden, classes)
    x = f32(rng.normal(size=(B, hw, hw, in_ch)))
    ws = f32(rng.normal(size=(B, 1)))
    wl = f32(rng.normal(size=(B, classes)))
    s_tr, u_tr, running = relation_network(x, w, num_blocks, True)
    updated = dict(w, **running)
    s_ev, u_ev, _ = relation_network(x, updated, num_blocks, False)
    check = torch_check(x, w, num_blocks, hidden, classes, ws, wl)
    if check is not None:
        ts_tr, tu_tr, ts_ev, tu_ev, trun, gx = check
        for a, b in [(s_tr, ts_tr), (u_tr, tu_tr), (s_ev, ts_ev), (u_ev, tu_ev)]:
            assert np.allclose(a, b, rtol=1e-10, atol=1e-12), 'numpy and PyTorch disagree'
        for k, v in trun.items():
            assert np.allclose(running[k], v, rtol=1e-10, atol=1e-12), k
        source = 'pytorch float64 autograd (released RN%d structure)' % (2 if num_blocks == 2 else 4)
    else:
        def L(xx):
            s, u, _ = relation_network(xx, w, num_blocks, True)
            return float(np.sum(s * ws) + np.sum(u * wl))
        gx = numeric_grad(L, x)
        source = 'numpy central differences'
    return dict(
        name=name, options=dict(inChannels=in_ch, numBlocks=num_blocks, embeddingWidth=emb,
                                hiddenUnits=hidden, numClasses=classes),
        x=to_list(x), weights={k: to_list(v) for k, v in w.items()}, ws=to_list(ws), wl=to_list(wl),
        train=dict(score=to_list(s_tr), logits=to_list(u_tr)),
        running={k: to_list(v) for k, v in running.items()},
        infer=dict(score=to_list(s_ev), logits=to_list(u_ev)),
        gradX=to_list(gx), gradSource=source,
    )


def main():
    rng = np.random.default_rng(20230501)
    cases = [
        make_case('defaults K=3', rng, 3, 4, 5, {}),
        make_case('K=4 custom, no detach, active and inactive hinges', rng, 4, 5, 6,
                  dict(temperature=2.0, kdWeight=0.3, ceWeight=0.2, negKdWeight=0.1, negCeWeight=0.05,
                       tripletWeight=0.5, margin=0.1, scoreWeight=0.7, detachDeepest=False)),
        make_case('K=2 T=1 detach', rng, 2, 3, 4, dict(temperature=1.0, scoreWeight=0.5, margin=0.2)),
        make_case('K=1', rng, 1, 3, 3, {}),
        # issue 15: tSquared multiplies kd and negKd by T² (appended: earlier cases unchanged)
        make_case('K=3 tSquared', rng, 3, 4, 5, dict(tSquared=True)),
        make_case('K=2 tSquared T=2 no detach', rng, 2, 3, 4,
                  dict(tSquared=True, temperature=2.0, detachDeepest=False, kdWeight=0.3)),
    ]
    write_fixture('relation-network', 'corsdLoss', dict(cases=cases))
    try:
        import torch  # noqa: F401
    except ImportError:
        # the committed relationNetwork fixture was cross-checked against PyTorch; keep it
        print('PyTorch not available: fixtures/relationNetwork.json left unchanged')
        return
    nrng = np.random.default_rng(7)
    nets = [
        # released RN2 with C = 1: pairs of 2-channel stage-2 features, SepConv 4->8, 8->16, h = 2c
        make_network_case('RN2 (2 blocks)', nrng, 3, 8, 4, 2, 16, 2, 3),
        # released RN4 with C = 1: no trunk, GAP of the 16-channel pair, h = 4c
        make_network_case('RN4 (no trunk)', nrng, 4, 2, 16, 0, 16, 4, 5),
    ]
    write_fixture('relation-network', 'relationNetwork', dict(cases=nets))


if __name__ == '__main__':
    main()
