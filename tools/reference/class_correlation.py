"""Float64 reference for @relkd/class-correlation (ICC), independent of the TypeScript code.

Writes packages/class-correlation/fixtures/*.json:
  correlation.json  classCorrelation values and gradients of <G, W> for each normalisation and τ
  icc_loss.json     iccLoss values and student gradients for each normalisation and τ
  student.json      iccStudentLoss parts and the gradient of the total
  teacher.json      teacherRegularizer ('ols', 'gram' × gramNormalize) parts and gradients
  tracker.json      ClassCorrelationTracker matrices after a scripted sequence of batches
  off_diagonal.json offDiagonalMass of correlation matrices (τ 1, 2, 4) and row-stochastic matrices

Run:  python3 tools/reference/class_correlation.py            (fixtures)
      python3 tools/reference/class_correlation.py --scale    (prints the loss-scale table of docs/methods/icc.md)
"""
import sys

import numpy as np

from common import f32, log_softmax, numeric_grad, softmax, to_list, write_fixture

PKG = 'class-correlation'


def correlation(z, tau=1.0, normalize='batch'):
    p = softmax(np.asarray(z) / tau)
    g = p.T @ p
    if normalize == 'batch':
        return g / z.shape[0]
    if normalize == 'frobenius':
        return g / np.sqrt(np.sum(g * g))
    return g


def icc(s, t, tau=1.0, normalize='frobenius'):
    d = correlation(t, tau, normalize) - correlation(s, tau, normalize)
    sq = np.sum(d * d)
    return sq if normalize == 'frobenius' else sq / s.shape[1]


def ce(z, y):
    return -np.mean(log_softmax(z)[np.arange(len(y)), y])


def kd(s, t, T):
    pt = softmax(t / T)
    return T * T * np.mean(np.sum(pt * (log_softmax(t / T) - log_softmax(s / T)), axis=1))


def student(s, t, y, T=4.0, ctau=1.0, kdw=1.0, iccw=1.0, normalize='frobenius'):
    parts = {'ce': ce(s, y), 'kd': kd(s, t, T), 'icc': icc(s, t, ctau, normalize)}
    parts['total'] = parts['ce'] + kdw * parts['kd'] + iccw * parts['icc']
    return parts


def off_diagonal_mass(m):
    """(sum(M) - trace(M)) / sum(M); 0 for an all-zero matrix."""
    m = np.asarray(m, dtype=np.float64)
    total = np.sum(m)
    return 0.0 if total == 0 else float((total - np.trace(m)) / total)


def norm_gram(g, b, normalize):
    if normalize == 'batch':
        return g / b
    if normalize == 'frobenius':
        return g / np.sqrt(np.sum(g * g))
    return g


def teacher_reg(z, y, a, weight=0.5, kind='ols', gram_normalize='batch'):
    ay = a[y]
    c_e = ce(z, y)
    if kind == 'ols':
        reg = -np.mean(np.sum(ay * log_softmax(z), axis=1))
    else:
        p = softmax(z)
        b = z.shape[0]
        d = norm_gram(p.T @ p, b, gram_normalize) - norm_gram(ay.T @ ay, b, gram_normalize)
        reg = np.sum(d * d)
    return {'ce': c_e, 'reg': reg, 'total': (1 - weight) * c_e + weight * reg}


def tracker_run(batches, c, tau, epochs):
    """batches: list per epoch of (z, y). Returns the matrix after each epoch (explicit loops)."""
    a = np.eye(c)
    out = []
    for ep in range(epochs):
        sums = np.zeros((c, c))
        counts = np.zeros(c)
        for z, y in batches[ep]:
            p = softmax(z / tau)
            for i in range(len(y)):
                if int(np.argmax(z[i])) == int(y[i]):
                    sums[y[i]] += p[i]
                    counts[y[i]] += 1
        for k in range(c):
            if counts[k] > 0:
                a[k] = sums[k] / counts[k]
        out.append({'matrix': to_list(a), 'counts': to_list(counts)})
    return out


def fixtures():
    rng = np.random.default_rng(20210301)
    # --- classCorrelation -------------------------------------------------------------------
    z = f32(rng.normal(0, 2, (5, 4)))
    w = f32(rng.normal(0, 1, (4, 4)))
    cases = []
    for tau in (1.0, 2.5):
        for nm in ('batch', 'frobenius', 'none'):
            cases.append({
                'temperature': tau, 'normalize': nm,
                'value': to_list(correlation(z, tau, nm)),
                'grad': to_list(numeric_grad(lambda x: np.sum(correlation(x, tau, nm) * w), z)),
            })
    write_fixture(PKG, 'correlation', {'logits': to_list(z), 'weights': to_list(w), 'cases': cases})

    # --- iccLoss ------------------------------------------------------------------------------
    t = f32(rng.normal(0, 3, (6, 5)))
    s = f32(t * 0.5 + rng.normal(0, 1.5, (6, 5)))
    cases = []
    for tau in (1.0, 3.0):
        for nm in ('frobenius', 'batch', 'none'):
            cases.append({
                'temperature': tau, 'normalize': nm,
                'value': icc(s, t, tau, nm),
                'grad': to_list(numeric_grad(lambda x: icc(x, t, tau, nm), s)),
            })
    write_fixture(PKG, 'icc_loss', {'student': to_list(s), 'teacher': to_list(t), 'cases': cases})

    # --- iccStudentLoss -----------------------------------------------------------------------
    y = rng.integers(0, 5, 6)
    cases = []
    # correlationTemperature defaults to the KD temperature (since 0.2; it was 1). The cases with an
    # explicit correlationTemperature 1 are the pre-0.2 defaults, kept as explicit-option goldens.
    for opts in ({'correlationTemperature': 1.0},
                 {'temperature': 2.0, 'correlationTemperature': 3.0, 'kdWeight': 0.7, 'iccWeight': 5.0},
                 {'normalize': 'none', 'iccWeight': 2.0, 'correlationTemperature': 1.0},
                 {}, {'temperature': 2.0, 'iccWeight': 3.0}):
        t_kd = opts.get('temperature', 4.0)
        kw = dict(T=t_kd, ctau=opts.get('correlationTemperature', t_kd),
                  kdw=opts.get('kdWeight', 1.0), iccw=opts.get('iccWeight', 1.0),
                  normalize=opts.get('normalize', 'frobenius'))
        parts = student(s, t, y, **kw)
        cases.append({
            'options': opts, **parts,
            'grad': to_list(numeric_grad(lambda x: student(x, t, y, **kw)['total'], s)),
        })
    write_fixture(PKG, 'student', {'student': to_list(s), 'teacher': to_list(t), 'labels': y.tolist(),
                                   'cases': cases})

    # --- teacherRegularizer -------------------------------------------------------------------
    c = 4
    zt = f32(rng.normal(0, 2, (7, c)))
    yt = np.array([0, 1, 2, 3, 1, 1, 0])
    a = f32(softmax(rng.normal(0, 1.5, (c, c)) + 3 * np.eye(c)))
    cases = []
    for kind, gn, wgt in (('ols', 'batch', 0.5), ('ols', 'batch', 0.3), ('gram', 'batch', 0.5),
                          ('gram', 'frobenius', 0.5), ('gram', 'none', 0.8)):
        parts = teacher_reg(zt, yt, a, wgt, kind, gn)
        cases.append({
            'kind': kind, 'gramNormalize': gn, 'weight': wgt, **parts,
            'grad': to_list(numeric_grad(lambda x: teacher_reg(x, yt, a, wgt, kind, gn)['total'], zt)),
        })
    write_fixture(PKG, 'teacher', {'logits': to_list(zt), 'labels': yt.tolist(), 'matrix': to_list(a),
                                   'cases': cases})

    # --- tracker ------------------------------------------------------------------------------
    c = 5
    tau = 2.0
    ep1 = []
    for b in (6, 4):
        yy = rng.integers(0, 4, b)  # class 4 never appears in epoch 1 -> keeps its identity row
        zz = rng.normal(0, 1, (b, c))
        zz[np.arange(b), yy] += rng.choice([3.0, -3.0], b, p=[0.7, 0.3])
        ep1.append((f32(zz), yy))
    yy = np.array([0, 4, 4, 2])
    zz = rng.normal(0, 1, (4, c))
    zz[0, 0] += 4.0   # class 0 correct
    zz[1, 4] += 4.0   # class 4 correct
    zz[2, 1] += 6.0   # class 4 sample wrong
    zz[3, 3] += 6.0   # class 2 sample wrong -> class 2 keeps its epoch-1 row
    ep2 = [(f32(zz), yy)]
    batches = [ep1, ep2]
    write_fixture(PKG, 'tracker', {
        'numClasses': c, 'temperature': tau,
        'epochs': [[{'logits': to_list(z_), 'labels': y_.tolist()} for z_, y_ in ep] for ep in batches],
        'expected': tracker_run(batches, c, tau, 2),
    })

    # --- offDiagonalMass (own generator: the fixtures above stay byte-identical) --------------
    rng = np.random.default_rng(15)
    z = rng.normal(0, 1, (12, 6))
    yz = rng.integers(0, 6, 12)
    z[np.arange(12), yz] += 5.0   # a confident, mostly correct "teacher"
    z = f32(z)
    cases = []
    for tau in (1.0, 2.0, 4.0):
        for nm in ('none', 'batch', 'frobenius'):
            g = f32(correlation(z, tau, nm))
            cases.append({'name': f'G tau={tau:g} {nm}', 'matrix': to_list(g),
                          'value': off_diagonal_mass(g)})
    a = f32(softmax(rng.normal(0, 1, (5, 5)) + 4 * np.eye(5)))
    cases.append({'name': 'row-stochastic', 'matrix': to_list(a), 'value': off_diagonal_mass(a)})
    cases.append({'name': 'identity', 'matrix': to_list(np.eye(4)), 'value': 0.0})
    cases.append({'name': 'uniform', 'matrix': to_list(np.full((4, 4), 0.25)), 'value': 0.75})
    cases.append({'name': 'zeros', 'matrix': to_list(np.zeros((3, 3))), 'value': 0.0})
    write_fixture(PKG, 'off_diagonal', {'cases': cases})


def scale_table():
    """The loss scale of each normalisation for the same kind of logits (teacher N(0, 3²),
    student = 0.5·teacher + N(0, 1.5²)), median over 20 draws."""
    rng = np.random.default_rng(7)
    print('| B | C | τ | none | batch | frobenius |')
    print('|---|---|---|---|---|---|')
    for b in (8, 64, 256):
        for c in (10, 100):
            for tau in (1.0, 4.0):
                vals = {nm: [] for nm in ('none', 'batch', 'frobenius')}
                for _ in range(20):
                    t = rng.normal(0, 3, (b, c))
                    s = 0.5 * t + rng.normal(0, 1.5, (b, c))
                    for nm in vals:
                        vals[nm].append(icc(s, t, tau, nm))
                med = {k: float(np.median(v)) for k, v in vals.items()}
                print(f"| {b} | {c} | {tau:g} | {med['none']:.3g} | {med['batch']:.3g} | {med['frobenius']:.3g} |")


if __name__ == '__main__':
    if '--scale' in sys.argv:
        scale_table()
    else:
        fixtures()
