"""PyTorch CPU peer for `npm run bench`: times the same losses at the same shapes.

Run with Debian's PyTorch:  /usr/bin/python3 tools/reference/bench_torch.py [--threads N] [--quick]
Writes tools/reference/bench_torch.json; when present, the benchmark report (packages/bench) shows
tfjs/torch ratios next to each case.

- Same cases as packages/bench/src/cases.ts: kd, vrm, stkd, icc, scd, srd, crd, mtkd, corsd at the
  CIFAR-100-like (B = 64, C = 100, resnet8x4 stage features NHWC [B,32,32,64], [B,16,16,128],
  [B,8,8,256]) and ImageNet-like (B = 256, C = 1000) shapes.
- The loss definitions follow the specs (../shared/specs, the formulas the relkd packages
  implement, with their default options), written independently here in plain PyTorch the way a
  PyTorch user would (vectorised; VRM through Gram matrices like the package's default path).
  Features are NCHW-agnostic here: GAP is a mean over the two spatial axes of NHWC tensors.
- Forward is timed under torch.no_grad() (tfjs records no tape outside tf.grads either);
  forward + backward is the loss with autograd plus .backward() w.r.t. every student input.
- float32, median over repeats after warm-up; torch.set_num_threads matched to the tfjs run
  (default 1: tfjs-backend-wasm in Node runs single-threaded, and so does the cpu backend).
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
STAGES = [(32, 32, 64), (16, 16, 128), (8, 8, 256)]


def kd(s, t, T=4.0):
    """core kdLoss: T^2 * batchmean KL(softmax(t/T) || softmax(s/T)), teacher detached."""
    return F.kl_div(F.log_softmax(s / T, 1), F.log_softmax(t.detach() / T, 1),
                    reduction='batchmean', log_target=True) * T * T


def ce(s, y):
    return F.cross_entropy(s, y)


def zscore(x):
    m = x.mean(1, keepdim=True)
    sd = ((x - m) ** 2).mean(1, keepdim=True).sqrt()
    return (x - m) / (sd + 1e-7)


def _edge_loss(ds2, dt2, dot, na, nb, keep, eps=1e-8, tol=1e-5):
    """Mean over kept valid edges of 2 - 2 cos(d_s, d_t) from squared norms and dot products.
    Valid: squared norm > max(eps^2, tol * (|a|^2 + |b|^2)) in both networks (the package's
    Gram-path rule with its default gramTolerance)."""
    valid = (ds2 > torch.clamp(tol * na, min=eps * eps)) & (dt2 > torch.clamp(tol * nb, min=eps * eps))
    if keep is not None:
        valid = valid & keep
    valid = valid.float()
    cos = dot / (ds2.clamp_min(1e-30).sqrt() * dt2.clamp_min(1e-30).sqrt())
    return ((2 - 2 * cos) * valid).sum() / valid.sum().clamp_min(1)


def vrm(ss, sv, ts, tv, uep_ratio=None):
    """affinity-graph vrmLoss defaults: zsNorm, IS cross-view block (i, B+j), IC c < d, no UEP.
    `uep_ratio`: unreliable-edge pruning `{ kind: 'jointEntropy', ratio }` (the VRM recipe's
    default 0.1): drop the floor(ratio * B^2) cross-view edges (i, B+j) with the largest joint
    student entropy H(ss_i) + H(sv_j), computed without gradient."""
    B = ss.shape[0]
    ys = zscore(torch.cat([ss, sv]))
    yt = zscore(torch.cat([ts, tv])).detach()
    # IS graph, cross block: rows i of the real view against rows j of the virtual view
    ar, av, br, bv = ys[:B], ys[B:], yt[:B], yt[B:]
    nar, nav = (ar * ar).sum(1), (av * av).sum(1)
    nbr, nbv = (br * br).sum(1), (bv * bv).sum(1)
    ds2 = (nar[:, None] + nav[None, :] - 2 * ar @ av.T).clamp_min(0)
    dt2 = (nbr[:, None] + nbv[None, :] - 2 * br @ bv.T).clamp_min(0)
    # (a_i - v_j).(b_i - w_j) = a_i.b_i + v_j.w_j - a_i.w_j - v_j.b_i
    dot = (ar * br).sum(1)[:, None] + (av * bv).sum(1)[None, :] - ar @ bv.T - (br @ av.T)
    keep_is = None
    k = int(uep_ratio * B * B) if uep_ratio else 0
    if k > 0:
        with torch.no_grad():
            h = [-(F.softmax(z, 1) * F.log_softmax(z, 1)).sum(1) for z in (ss, sv)]
            top = (h[0][:, None] + h[1][None, :]).flatten().topk(k).indices
            keep_is = torch.ones(B * B, dtype=torch.bool)
            keep_is[top] = False
            keep_is = keep_is.view(B, B)
    l_is = _edge_loss(ds2, dt2, dot, nar[:, None] + nav[None, :], nbr[:, None] + nbv[None, :], keep_is)
    # IC graph: columns of Y, edges c < d
    ws, wt = ys.T, yt.T
    ga, gb, gx = ws @ ws.T, wt @ wt.T, ws @ wt.T
    na, nb, nx = ga.diagonal(), gb.diagonal(), gx.diagonal()
    ds2 = (na[:, None] + na[None, :] - 2 * ga).clamp_min(0)
    dt2 = (nb[:, None] + nb[None, :] - 2 * gb).clamp_min(0)
    dot = nx[:, None] + nx[None, :] - gx - gx.T
    C = ys.shape[1]
    keep = torch.ones(C, C, dtype=torch.bool).triu(1)
    l_ic = _edge_loss(ds2, dt2, dot, na[:, None] + na[None, :], nb[:, None] + nb[None, :], keep)
    return l_is + l_ic


def stkd(s, t, targets, T=4.0, ce_weight=0.1, kd_weight=0.9):
    """mixup-similarity stkdLoss, 'teacherOnMixed': 0.1 CE(mixed labels) + 0.9 KD(T = 4) (defaults)."""
    l_ce = -(targets * F.log_softmax(s, 1)).sum(1).mean()
    return ce_weight * l_ce + kd_weight * kd(s, t, T)


def icc(s, t, y, T=4.0, corr_T=1.0, kd_weight=1.0, icc_weight=1.0):
    """class-correlation iccStudentLoss with correlationTemperature: 1: CE + KD(T = 4) + Frobenius-normalised ICC (tau = 1)
    (defaults; the ICC recipe's own default is corr_T = T)."""
    def corr(z):
        p = F.softmax(z / corr_T, 1)
        g = p.T @ p
        return g / g.norm()
    return ce(s, y) + kd_weight * kd(s, t, T) + icc_weight * ((corr(t.detach()) - corr(s)) ** 2).sum()


def scd(fs, ft):
    """stage-distill channelDistillationLoss: sum_k mean_{b,c} (GAP(F^T_k) - GAP(F^S_k))^2 (NHWC)."""
    return sum(((t.detach().mean((1, 2)) - s.mean((1, 2))) ** 2).mean() for s, t in zip(fs, ft))


def srd(zs, zt, T=4.0):
    """stage-distill stageResponseLoss: sum_k KD(z^S_k, z^T_k)."""
    return sum(kd(s, t, T) for s, t in zip(zs, zt))


def crd(zs, T=4.0):
    """stage-distill crossStageReviewLoss ('allPrevious'): sum_{k>=2} sum_{j<k} KD(z_j, sg(z_k))."""
    total = 0
    for k in range(1, len(zs)):
        for j in range(k):
            total = total + kd(zs[j], zs[k].detach(), T)
    return total


def mtkd(fs, ft, zs, zt, y, T=4.0, scd_weight=1.0, srd_weight=1.0, crd_weight=1.0, aux_weight=1.0):
    """stage-distill mtkdLoss defaults: CE(final) + auxCE + SCD + SRD + CRD (all weights 1, T = 4)."""
    aux = sum(ce(z, y) for z in zs[:-1])
    return (ce(zs[-1], y) + aux_weight * aux + scd_weight * scd(fs, ft) + srd_weight * srd(zs, zt, T)
            + crd_weight * crd(zs, T))


def corsd(stages, ya, yn, T=3.0, tSquared=False):
    """relation-network corsdLoss, released-code weights, detachDeepest; tSquared scales the two
    D terms by T^2 (the package's option, default off)."""
    C = stages[0][1].shape[1]
    q = 0.5 * (F.one_hot(ya, C) + F.one_hot(yn, C)).float()
    scale = T * T if tSquared else 1.0

    def D(u, v):
        return scale * F.kl_div(F.log_softmax(u / T, 1), F.log_softmax(v.detach() / T, 1),
                                reduction='batchmean', log_target=True)

    sK_p, uK_p, sK_n, uK_n = stages[-1]
    total = 0
    for k, (sp, up, sn, un) in enumerate(stages):
        total = total + 0.16 * D(up, uK_p) + 0.04 * ce(up, ya) + 0.04 * D(un, uK_n)
        total = total + 0.01 * (-(q * F.log_softmax(un / T, 1)).sum(1).mean())
        total = total + 0.01 * (sp - sn + 1).clamp_min(0).mean()
        if k < len(stages) - 1:
            total = total + 0.01 * (((sp - sK_p.detach()) ** 2).mean() + ((sn - sK_n.detach()) ** 2).mean())
    return total


def make(loss, B, C, g, stages=STAGES):
    """Inputs of one case and its loss closure: (student leaves, fn, named inputs)."""
    r = lambda *s: (torch.randn(*s, generator=g) * 3).requires_grad_(True)
    c = lambda *s: torch.randn(*s, generator=g) * 3
    feat = lambda grad: [torch.relu(torch.randn(B, *s, generator=g)).requires_grad_(grad) for s in stages]
    y = torch.randint(0, C, (B,), generator=g)
    if loss == 'kd':
        s, t = r(B, C), c(B, C)
        return [s], lambda: kd(s, t), {'s': s, 't': t}
    if loss == 'vrm':
        ss, sv, ts, tv = r(B, C), r(B, C), c(B, C), c(B, C)
        return [ss, sv], lambda: vrm(ss, sv, ts, tv), {'ss': ss, 'sv': sv, 'ts': ts, 'tv': tv}
    if loss == 'stkd':
        s, t = r(B, C), c(B, C)
        tg = F.one_hot(y, C).float() * 0.7 + F.one_hot(y.roll(-1), C).float() * 0.3
        return [s], lambda: stkd(s, t, tg), {'s': s, 't': t, 'targets': tg}
    if loss == 'icc':
        s, t = r(B, C), c(B, C)
        return [s], lambda: icc(s, t, y), {'s': s, 't': t, 'y': y}
    if loss == 'scd':
        fs, ft = feat(True), feat(False)
        return fs, lambda: scd(fs, ft), {'fs': fs, 'ft': ft}
    if loss == 'srd':
        zs, zt = [r(B, C) for _ in range(3)], [c(B, C) for _ in range(3)]
        return zs, lambda: srd(zs, zt), {'zs': zs, 'zt': zt}
    if loss == 'crd':
        zs = [r(B, C) for _ in range(3)]
        return zs, lambda: crd(zs), {'zs': zs}
    if loss == 'mtkd':
        fs, ft = feat(True), feat(False)
        zs, zt = [r(B, C) for _ in range(3)], [c(B, C) for _ in range(3)]
        return fs + zs, lambda: mtkd(fs, ft, zs, zt, y), {'fs': fs, 'ft': ft, 'zs': zs, 'zt': zt, 'y': y}
    if loss == 'corsd':
        sc = lambda: torch.sigmoid(torch.randn(B, 1, generator=g)).requires_grad_(True)
        st = [(sc(), r(B, C), sc(), r(B, C)) for _ in range(3)]
        yn = (y + 1) % C
        leaves = [x for s4 in st for x in s4]
        return leaves, lambda: corsd(st, y, yn), {'stages': [list(s4) for s4 in st], 'ya': y, 'yn': yn}
    raise ValueError(loss)


def _plain(x):
    if isinstance(x, torch.Tensor):
        return x.detach().tolist()
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x


def write_fixture(path):
    """Small inputs and this script's loss values, so a relkd test checks that the peer computes
    exactly the packages' losses (packages/bench/src/torchPeer.test.ts)."""
    # float32 inputs and arithmetic on both sides: the test compares at rtol 1e-4
    cases = {}
    for loss in LOSSES:
        g = torch.Generator().manual_seed(1)
        _, fn, named = make(loss, 6, 5, g, stages=[(4, 4, 3), (2, 2, 4), (2, 1, 6)])
        cases[loss] = {'inputs': _plain(named), 'value': float(fn())}
    with open(path, 'w') as fh:
        json.dump({'generatedBy': 'tools/reference/bench_torch.py --fixture', 'cases': cases}, fh)
        fh.write('\n')
    print(f'wrote {os.path.relpath(path)}')


LOSSES = ['kd', 'vrm', 'stkd', 'icc', 'scd', 'srd', 'crd', 'mtkd', 'corsd']


def timed(f, warmup, repeats, max_s):
    for _ in range(warmup):
        f()
    ts = []
    t_start = time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        ts.append((time.perf_counter() - t0) * 1000)
        if time.perf_counter() - t_start > max_s and len(ts) >= 3:
            break
    ts.sort()
    return statistics.median(ts), ts[int(0.1 * (len(ts) - 1))], ts[int(round(0.9 * (len(ts) - 1)))]


def bench(fn, leaves, warmup, repeats, max_s):
    def forward():
        with torch.no_grad():
            fn()

    def backward():
        for x in leaves:
            x.grad = None
        fn().backward()
    fwd = timed(forward, warmup, repeats, max_s)
    bwd = timed(backward, warmup, repeats, max_s)
    return fwd, bwd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--out', default=os.path.join(HERE, 'bench_torch.json'))
    ap.add_argument('--fixture', action='store_true',
                    help='write packages/bench/fixtures/torch_losses.json (peer == packages check) and exit')
    a = ap.parse_args()
    if a.fixture:
        write_fixture(os.path.join(HERE, '..', '..', 'packages', 'bench', 'fixtures', 'torch_losses.json'))
        return
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(a.threads)
    shapes = [(64, 100)] if a.quick else [(64, 100), (256, 1000)]
    load_start = os.getloadavg()
    results = []
    for B, C in shapes:
        for loss in LOSSES:
            g = torch.Generator().manual_seed(0)
            leaves, fn, _ = make(loss, B, C, g)
            (f, f10, f90), (b, b10, b90) = bench(fn, leaves, 2 if a.quick else 3, 5 if a.quick else 30, 1 if a.quick else 4)
            results.append({'loss': loss, 'B': B, 'C': C, 'forwardMs': f, 'forwardP10Ms': f10,
                            'forwardP90Ms': f90, 'backwardMs': b, 'backwardP10Ms': b10, 'backwardP90Ms': b90})
            print(f'{loss:6s} B={B:4d} C={C:5d}: fwd {f:.3f} ms, fwd+bwd {b:.3f} ms')
    out = {
        'version': torch.__version__,
        'threads': torch.get_num_threads(),
        'date': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'machine': f'{platform.processor() or platform.machine()} x{os.cpu_count()}',
        'loadavg': [round(x, 2) for x in load_start],
        'results': results,
    }
    with open(a.out, 'w') as fh:
        json.dump(out, fh, indent=2)
        fh.write('\n')
    # keep `npm run lint` (biome) clean: format the JSON like the rest of the repo
    try:
        subprocess.run([os.path.join(HERE, '..', '..', 'node_modules', '.bin', 'biome'), 'format', '--write', a.out],
                       check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        print('note: could not format the JSON with biome (run `npx biome format --write` on it)')
    print(f'wrote {os.path.relpath(a.out)}')


if __name__ == '__main__':
    main()
