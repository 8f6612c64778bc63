"""Float64 reference of @relkd/relation-network's corsdLoss (CORSD) and its gradients.

Independent of the TypeScript code: plain numpy, loops over stages and rows, gradients by
central differences (common.numeric_grad). With detach_deepest the deepest stage's logits and
scores enter the D / score-mimic terms as constants (they are held fixed while differentiating),
which is what stopGradient does.

Regenerate: python3 tools/reference/relation_network.py
"""
import numpy as np

from common import f32, log_softmax, numeric_grad, softmax, to_list, write_fixture

DEFAULTS = dict(temperature=3.0, kdWeight=0.16, ceWeight=0.04, negKdWeight=0.04, negCeWeight=0.01,
                tripletWeight=0.01, margin=1.0, scoreWeight=0.01, detachDeepest=True)


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


def main():
    rng = np.random.default_rng(20230501)
    cases = [
        make_case('defaults K=3', rng, 3, 4, 5, {}),
        make_case('K=4 custom, no detach, active and inactive hinges', rng, 4, 5, 6,
                  dict(temperature=2.0, kdWeight=0.3, ceWeight=0.2, negKdWeight=0.1, negCeWeight=0.05,
                       tripletWeight=0.5, margin=0.1, scoreWeight=0.7, detachDeepest=False)),
        make_case('K=2 T=1 detach', rng, 2, 3, 4, dict(temperature=1.0, scoreWeight=0.5, margin=0.2)),
        make_case('K=1', rng, 1, 3, 3, {}),
    ]
    write_fixture('relation-network', 'corsdLoss', dict(cases=cases))


if __name__ == '__main__':
    main()
