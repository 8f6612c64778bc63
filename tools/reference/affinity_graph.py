"""Float64 reference for @relkd/affinity-graph (VRM loss), written independently of the TS code.

Plain loops over explicit edge lists (no Gram tricks), so it checks both the Gram and the direct
path of `vrmLoss`. Gradients w.r.t. the student's real and virtual logits come from central
differences in float64 (`numeric_grad`).

Regenerate: python3 tools/reference/affinity_graph.py
"""
import itertools
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import f32, log_softmax, numeric_grad, softmax, to_list, write_fixture  # noqa: E402

EPS_EDGE = 1e-8
EPS_ZS = 1e-7
# Relative validity floor (spec, both paths): an edge a - b is invalid in a network when
# |a - b|^2 <= max(EPS_EDGE^2, GRAM_TOL * (|a|^2 + |b|^2)).
GRAM_TOL = 1e-5


def zscore(y):
    c = y - y.mean(axis=1, keepdims=True)
    sd = np.sqrt((c ** 2).mean(axis=1, keepdims=True))
    return c / (sd + EPS_ZS)


def entropy(y):
    return -(softmax(y) * log_softmax(y)).sum(axis=1)


def is_pairs(b, is_edges):
    n = 2 * b
    if is_edges == 'cross':
        return [(i, b + j) for i in range(b) for j in range(b)]
    return [(m, k) for m in range(n) for k in range(m + 1, n)]


def graph_loss(s, t, pairs, clip, margins=None):
    total, count = 0.0, 0
    def floor(y, m, k):
        return max(EPS_EDGE ** 2, GRAM_TOL * (y[m] @ y[m] + y[k] @ y[k]))

    for m, k in pairs:
        ds, dt = s[m] - s[k], t[m] - t[k]
        ns, nt = np.linalg.norm(ds), np.linalg.norm(dt)
        fs, ft = floor(s, m, k), floor(t, m, k)
        if margins is not None:
            # relative distance of each squared norm to its validity floor
            margins.extend([abs(ns ** 2 / fs - 1), abs(nt ** 2 / ft - 1)])
        if ns ** 2 <= fs or nt ** 2 <= ft:
            continue
        es, et = ds / ns, dt / nt
        diff = es - et
        sq = diff ** 2
        if clip is not None:
            if margins is not None:
                margins.append(np.min(np.abs(np.abs(diff) - clip)))
            sq = sq * (np.abs(diff) <= clip)
        total += sq.sum()
        count += 1
    return total / max(count, 1)


def vrm(ss, sv, ts, tv, opts, margins=None):
    b, c = ss.shape
    ys_raw = np.vstack([ss, sv])
    yt_raw = np.vstack([ts, tv])
    ys = zscore(ys_raw) if opts['zsNorm'] else ys_raw
    yt = zscore(yt_raw) if opts['zsNorm'] else yt_raw
    pairs = is_pairs(b, opts['isEdges'])
    uep = opts['uep']
    clip = uep['delta'] if uep['kind'] == 'clip' else None
    if uep['kind'] == 'jointEntropy':
        h = entropy(ys_raw)
        n = 2 * b
        scores = [h[m] + h[k] for m, k in pairs]
        k_drop = math.floor(uep['ratio'] * len(pairs))
        order = sorted(range(len(pairs)), key=lambda e: (-scores[e], pairs[e][0] * n + pairs[e][1]))
        if margins is not None and 0 < k_drop < len(pairs):
            margins.append(scores[order[k_drop - 1]] - scores[order[k_drop]])
        dropped = set(order[:k_drop])
        pairs = [p for e, p in enumerate(pairs) if e not in dropped]
    l_is = graph_loss(ys, yt, pairs, clip, margins)
    ic_pairs = [(x, y) for x in range(c) for y in range(x + 1, c)]
    l_ic = graph_loss(ys.T, yt.T, ic_pairs, clip, margins)
    w = opts['weights']
    return w['is'] * l_is + w['ic'] * l_ic, l_is, l_ic


def make_inputs(rng, b, c, kind):
    ss, sv, ts, tv = (f32(rng.normal(0, 2, (b, c))) for _ in range(4))
    if kind == 'teacherDup':
        ts[1] = ts[0]
        tv[2] = ts[0]
    elif kind == 'dup':
        ss[1] = ss[0]
        ts[1] = ts[0]
        sv[0] = ss[0]
        tv[0] = ts[0]
        ss[2] = 1.5
        ts[2] = -0.5
    elif kind == 'nearDup':
        # the virtual view of image 0 is a near-twin of its real view in the student (offset
        # 1e-6: below the relative floor, so that edge is invalid on both paths)
        sv[0] = f32(ss[0] + 1e-6 * rng.normal(0, 1, c))
    return ss, sv, ts, tv


def main():
    rng = np.random.default_rng(20250228)
    b, c = 3, 4
    option_sets = []
    for zs, ise, uep, wts in itertools.product(
        [True, False],
        ['cross', 'upper'],
        [{'kind': 'none'}, {'kind': 'clip', 'delta': 0.3}, {'kind': 'jointEntropy', 'ratio': 0.4}],
        [{'is': 1.0, 'ic': 1.0}, {'is': 0.7, 'ic': 1.3}],
    ):
        option_sets.append({'zsNorm': zs, 'isEdges': ise, 'uep': uep, 'weights': wts})

    generated = {kind: make_inputs(rng, b, c, kind) for kind in ['random', 'teacherDup', 'dup']}
    # drawn after the others so the earlier inputs (and their fixtures) stay the same
    generated['nearDup'] = make_inputs(rng, b, c, 'nearDup')
    cases = []
    for input_kind in ['random', 'teacherDup', 'nearDup']:
        ss, sv, ts, tv = generated[input_kind]
        for opts in option_sets:
            # nearDup: unit weights only; and no jointEntropy on 'upper', where the pairs (0, k)
            # and (B, k) tie in entropy up to the 1e-6 offset (an ill-posed ranking)
            if input_kind == 'nearDup' and (
                opts['weights']['is'] != 1.0
                or (opts['uep']['kind'] == 'jointEntropy' and opts['isEdges'] == 'upper')
            ):
                continue
            margins = []
            total, l_is, l_ic = vrm(ss, sv, ts, tv, opts, margins)
            if margins and min(margins) < 1e-4:
                raise SystemExit(f'mask boundary too close ({min(margins)}) for {opts}; change the seed')
            g_real = numeric_grad(lambda x: vrm(x, sv, ts, tv, opts)[0], ss)
            g_virtual = numeric_grad(lambda x: vrm(ss, x, ts, tv, opts)[0], sv)
            cases.append({
                'inputs': input_kind,
                'options': opts,
                'total': total,
                'is': l_is,
                'ic': l_ic,
                'gradStudentReal': to_list(g_real),
                'gradStudentVirtual': to_list(g_virtual),
            })
    # Duplicate rows and constant rows: values only (the loss is not differentiable where an
    # edge sits exactly at the validity threshold, so finite differences are meaningless there).
    ss, sv, ts, tv = generated['dup']
    dup_cases = []
    for opts in option_sets:
        total, l_is, l_ic = vrm(ss, sv, ts, tv, opts)
        dup_cases.append({'options': opts, 'total': total, 'is': l_is, 'ic': l_ic})

    names = ['studentReal', 'studentVirtual', 'teacherReal', 'teacherVirtual']
    inputs = {kind: dict(zip(names, [to_list(x) for x in g])) for kind, g in generated.items()}
    write_fixture('affinity-graph', 'vrm', {
        'description': 'VRM loss golden values (float64 loops) and central-difference gradients',
        'inputs': inputs,
        'cases': cases,
        'dupCases': dup_cases,
    })


if __name__ == '__main__':
    main()
