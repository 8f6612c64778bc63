"""PyTorch CPU peer for `npm run bench`: times the same losses at the same shapes.

Run with Debian's PyTorch:  /usr/bin/python3 tools/reference/bench_torch.py [--threads N] [--quick]
Writes tools/reference/bench_torch.json; when present, the benchmark report shows tfjs/torch
ratios. Forward + backward w.r.t. the student inputs, median over repeats after warm-up, float32,
torch.set_num_threads matched to the tfjs run (default: 1, as tfjs-backend-wasm without threads).
The loss definitions follow ../shared/specs (same formulas as the relkd packages), written
independently here in PyTorch.
"""
import argparse
import json
import os
import statistics
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def kd(s, t, T=4.0):
    return F.kl_div(F.log_softmax(s / T, 1), F.softmax(t.detach() / T, 1), reduction='batchmean') * T * T


def zscore(x):
    m = x.mean(1, keepdim=True)
    sd = ((x - m) ** 2).mean(1, keepdim=True).sqrt()
    return (x - m) / (sd + 1e-7)


def vrm(ss, sv, ts, tv):
    """VRM default options (zsNorm, cross IS edges, no UEP) through the Gram form."""
    ys = zscore(torch.cat([ss, sv]))
    yt = zscore(torch.cat([ts, tv])).detach()
    B = ss.shape[0]

    def graph_loss(A, Bt, keep):
        # edges between rows of A (and of Bt): d = a_m - a_n; loss 2 - 2 cos(d_s, d_t) over kept valid edges
        ga, gb, gx = A @ A.T, Bt @ Bt.T, A @ Bt.T
        na, nb, nx = ga.diag(), gb.diag(), gx.diag()
        ds2 = (na[:, None] + na[None, :] - 2 * ga).clamp_min(0)
        dt2 = (nb[:, None] + nb[None, :] - 2 * gb).clamp_min(0)
        dot = gx.diag()[:, None] + gx.diag()[None, :] - gx - gx.T
        valid = ((ds2 > 1e-16) & (dt2 > 1e-16) & keep).float()
        cos = dot / (ds2.clamp_min(1e-30).sqrt() * dt2.clamp_min(1e-30).sqrt())
        return ((2 - 2 * cos) * valid).sum() / valid.sum().clamp_min(1)

    n = 2 * B
    keep_is = torch.zeros(n, n, dtype=torch.bool)
    keep_is[:B, B:] = True
    C = ys.shape[1]
    keep_ic = torch.ones(C, C).triu(1).bool()
    return graph_loss(ys, yt, keep_is) + graph_loss(ys.T.contiguous(), yt.T.contiguous(), keep_ic)


def stkd(s, t, targets, T=4.0):
    ce = -(targets * F.log_softmax(s, 1)).sum(1).mean()
    return 0.1 * ce + 0.9 * kd(s, t, T)


def icc(s, t, y, T=4.0):
    def corr(z):
        p = F.softmax(z, 1)
        g = p.T @ p
        return g / g.norm()
    return F.cross_entropy(s, y) + kd(s, t, T) + ((corr(t.detach()) - corr(s)) ** 2).sum()


def crd(zs, T=4.0):
    total = 0
    for k in range(1, len(zs)):
        for j in range(k):
            total = total + kd(zs[j], zs[k].detach(), T)
    return total


def corsd(stages, ya, yn, T=3.0):
    C = stages[0][1].shape[1]
    q = 0.5 * (F.one_hot(ya, C) + F.one_hot(yn, C)).float()

    def D(u, v):
        return F.kl_div(F.log_softmax(u / T, 1), F.softmax(v.detach() / T, 1), reduction='batchmean')

    sK_p, uK_p, sK_n, uK_n = stages[-1]
    total = 0
    for k, (sp, up, sn, un) in enumerate(stages):
        total = total + 0.16 * D(up, uK_p) + 0.04 * F.cross_entropy(up, ya) + 0.04 * D(un, uK_n)
        total = total + 0.01 * (-(q * F.log_softmax(un / T, 1)).sum(1).mean())
        total = total + 0.01 * (sp - sn + 1).clamp_min(0).mean()
        if k < len(stages) - 1:
            total = total + 0.01 * (((sp - sK_p.detach()) ** 2).mean() + ((sn - sK_n.detach()) ** 2).mean())
    return total


def make(loss, B, C, g):
    r = lambda *s: (torch.randn(*s, generator=g) * 3).requires_grad_(True)
    c = lambda *s: torch.randn(*s, generator=g) * 3
    y = torch.randint(0, C, (B,), generator=g)
    if loss == 'kd':
        s, t = r(B, C), c(B, C)
        return [s], lambda: kd(s, t)
    if loss == 'vrm':
        ss, sv, ts, tv = r(B, C), r(B, C), c(B, C), c(B, C)
        return [ss, sv], lambda: vrm(ss, sv, ts, tv)
    if loss == 'stkd':
        s, t = r(B, C), c(B, C)
        tg = F.one_hot(y, C).float() * 0.7 + F.one_hot(y.roll(1), C).float() * 0.3
        return [s], lambda: stkd(s, t, tg)
    if loss == 'icc':
        s, t = r(B, C), c(B, C)
        return [s], lambda: icc(s, t, y)
    if loss == 'crd':
        zs = [r(B, C) for _ in range(3)]
        return zs, lambda: crd(zs)
    if loss == 'corsd':
        stages = [(torch.rand(B, 1, generator=g).requires_grad_(True), r(B, C), torch.rand(B, 1, generator=g).requires_grad_(True), r(B, C)) for _ in range(3)]
        yn = (y + 1) % C
        leaves = [x for st in stages for x in st]
        return leaves, lambda: corsd(stages, y, yn)
    raise ValueError(loss)


def bench(fn, leaves, warmup, repeats):
    def once():
        for x in leaves:
            x.grad = None
        fn().backward()
    for _ in range(warmup):
        once()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        once()
        ts.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--quick', action='store_true')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(0)
    shapes = [(64, 100)] if a.quick else [(64, 100), (256, 1000)]
    results = []
    for B, C in shapes:
        for loss in ['kd', 'vrm', 'stkd', 'icc', 'crd', 'corsd']:
            leaves, fn = make(loss, B, C, g)
            ms = bench(fn, leaves, 3, 5 if a.quick else 20)
            results.append({'loss': loss, 'B': B, 'C': C, 'backwardMs': ms})
            print(f'{loss:6s} B={B:4d} C={C:5d}: fwd+bwd {ms:.3f} ms')
    out = {'version': torch.__version__, 'threads': a.threads, 'results': results}
    with open(os.path.join(HERE, 'bench_torch.json'), 'w') as fh:
        json.dump(out, fh, indent=1)
    print('wrote tools/reference/bench_torch.json')


if __name__ == '__main__':
    main()
