import { crossEntropy, kdLoss } from '@relkd/core';
import {
  BACKENDS,
  expectClose,
  expectNoLeak,
  expectRelkdError,
  fdDirectional,
  loadFixture,
  useTestBackend,
} from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MixedTeacher, mixup, mixupWith, type StkdLossOptions, stkdLoss } from './index';

interface StkdCase {
  name: string;
  targetMode: 'teacherOnMixed' | 'mixedTeacherSoft';
  temperature: number;
  ceWeight: number;
  kdWeight: number;
  student: number[][];
  targets: number[][];
  teacher: number[][] | { clean: number[][]; lambda: number | number[]; permutation: number[] };
  ce: number;
  kd: number;
  total: number;
  q: number[][];
  gradCe: number[][];
  gradKd: number[][];
  gradTotal: number[][];
}

const fixture = loadFixture<{ cases: StkdCase[] }>(import.meta.url, 'stkd');

function optionsOf(c: StkdCase): StkdLossOptions {
  return {
    temperature: c.temperature,
    ceWeight: c.ceWeight,
    kdWeight: c.kdWeight,
    targetMode: c.targetMode,
  };
}

/** The teacher of a case, as tensors or as JS data. */
function teacherOf(c: StkdCase, asTensors: boolean): tf.Tensor2D | MixedTeacher {
  if (Array.isArray(c.teacher)) return tf.tensor2d(c.teacher);
  const { clean, lambda, permutation } = c.teacher;
  if (!asTensors) return { clean: tf.tensor2d(clean), lambda, permutation };
  return {
    clean: tf.tensor2d(clean),
    lambda: Array.isArray(lambda) ? tf.tensor1d(lambda) : lambda,
    permutation: tf.tensor1d(permutation, 'int32'),
  };
}

/** Counts the kernels `fn` dispatches (patches `engine.runKernel`, restores it after). */
function countKernels(fn: () => unknown): number {
  const engine = tf.engine() as unknown as { runKernel: (...args: unknown[]) => unknown };
  const proto = Object.getPrototypeOf(engine) as typeof engine;
  if (Object.hasOwn(engine, 'runKernel')) throw new Error('engine.runKernel is already patched');
  let n = 0;
  engine.runKernel = function (this: unknown, ...args: unknown[]) {
    n++;
    return proto.runKernel.apply(engine, args);
  };
  try {
    tf.dispose(fn() as tf.TensorContainer);
  } finally {
    delete (engine as Partial<typeof engine>).runKernel;
  }
  return n;
}

/** Row-wise log-softmax in float32 tfjs (for the property tests). */
const logSoftmax = (z: tf.Tensor2D, tau = 1): tf.Tensor2D =>
  tf.logSoftmax(tf.div(z, tau)) as tf.Tensor2D;

describe.each(BACKENDS)('stkdLoss on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  describe.each(fixture.cases)('golden: $name', (c) => {
    it.each([
      false,
      true,
    ])('values and gradients match the float64 reference (tensor inputs: %s)', (asTensors) => {
      tf.tidy(() => {
        const s = tf.tensor2d(c.student);
        const y = tf.tensor2d(c.targets);
        const teacher = teacherOf(c, asTensors);
        const before = tf.memory().numTensors;
        const out = stkdLoss({ student: s, teacher, targets: y }, optionsOf(c));
        expectClose(out.total, c.total, { label: 'total' });
        expectClose(out.ce, c.ce, { label: 'ce' });
        expectClose(out.kd, c.kd, { label: 'kd', atol: 1e-5 });
        tf.dispose([out.total, out.ce, out.kd]);
        expect(tf.memory().numTensors, 'no leak').toBe(before);
        for (const part of ['total', 'ce', 'kd'] as const) {
          const g = tf.grad(
            (x: tf.Tensor) => stkdLoss({ student: x, teacher, targets: y }, optionsOf(c))[part],
          )(s);
          const want = part === 'total' ? c.gradTotal : part === 'ce' ? c.gradCe : c.gradKd;
          expectClose(g, want, { rtol: 1e-3, atol: 1e-6, label: `d${part}/ds` });
        }
      });
    });
  });

  it('closed-form gradients equal autodiff: ∂KD/∂s̃ = (τ/B)(softmax(s̃/τ) − q), ∂CE/∂s̃ = (softmax(s̃) − ỹ)/B', () => {
    tf.tidy(() => {
      for (const c of fixture.cases) {
        const s = tf.tensor2d(c.student);
        const y = tf.tensor2d(c.targets);
        const b = c.student.length;
        const tau = c.temperature;
        const teacher = teacherOf(c, true);
        // q on this backend: from the teacher directly (mode A) or the reference q (mode B)
        const q = Array.isArray(c.teacher)
          ? tf.softmax(tf.div(teacher as tf.Tensor2D, tau))
          : tf.tensor2d(c.q);
        const gKd = tf.grad(
          (x: tf.Tensor) => stkdLoss({ student: x, teacher, targets: y }, optionsOf(c)).kd,
        )(s);
        const gCe = tf.grad(
          (x: tf.Tensor) => stkdLoss({ student: x, teacher, targets: y }, optionsOf(c)).ce,
        )(s);
        expectClose(gKd, tf.mul(tf.sub(tf.softmax(tf.div(s, tau)), q), tau / b), {
          rtol: 1e-4,
          atol: 1e-6,
          label: c.name,
        });
        expectClose(gCe, tf.div(tf.sub(tf.softmax(s), y), b), {
          rtol: 1e-4,
          atol: 1e-7,
          label: c.name,
        });
      }
    });
  });

  it('finite-difference directional derivatives match autodiff', () => {
    tf.tidy(() => {
      for (const c of fixture.cases.filter(
        (k) => !k.name.includes('large') && !k.name.includes('underflow'),
      )) {
        const s = tf.tensor2d(c.student);
        const y = tf.tensor2d(c.targets);
        const teacher = teacherOf(c, true);
        const f = (x: tf.Tensor): tf.Scalar =>
          stkdLoss({ student: x, teacher, targets: y }, optionsOf(c)).total;
        const v = tf.randomNormal(s.shape, 0, 1, 'float32', 3);
        const auto = tf.sum(tf.mul(tf.grad(f)(s), v)).dataSync()[0]!;
        const fd = fdDirectional(f, s, v, 1e-2);
        expect(Math.abs(auto - fd), c.name).toBeLessThanOrEqual(1e-2 * Math.abs(auto) + 1e-3);
      }
    });
  });

  it('λ = 1 reduces to CE + KD on the clean batch, and both target modes agree', () => {
    tf.tidy(() => {
      const x = tf.randomNormal([4, 3], 0, 1, 'float32', 5);
      const labels = [0, 2, 1, 4];
      const m = mixupWith(x, labels, { numClasses: 5, lambda: 1, permutation: [3, 0, 1, 2] });
      expectClose(m.inputs, x, { rtol: 0, atol: 0 });
      const s = tf.randomNormal([4, 5], 0, 2, 'float32', 6) as tf.Tensor2D; // student on x̃ = x
      const t = tf.randomNormal([4, 5], 0, 2, 'float32', 7) as tf.Tensor2D; // teacher on x̃ = x
      for (const tau of [1, 4]) {
        const a = stkdLoss({ student: s, teacher: t, targets: m.targets }, { temperature: tau });
        const b = stkdLoss(
          {
            student: s,
            teacher: { clean: t, lambda: 1, permutation: [3, 0, 1, 2] },
            targets: m.targets,
          },
          { temperature: tau, targetMode: 'mixedTeacherSoft' },
        );
        const ce = crossEntropy(s, labels);
        const kd = kdLoss(s, t, { temperature: tau });
        expectClose(a.ce, ce);
        expectClose(a.kd, kd);
        expectClose(a.total, tf.add(tf.mul(ce, 0.1), tf.mul(kd, 0.9)));
        expectClose(b.total, a.total);
        expectClose(b.kd, a.kd, { atol: 1e-5 });
        // per-sample λ = 1 too
        const p = stkdLoss(
          {
            student: s,
            teacher: { clean: t, lambda: [1, 1, 1, 1], permutation: [1, 2, 3, 0] },
            targets: m.targets,
          },
          { temperature: tau, targetMode: 'mixedTeacherSoft' },
        );
        expectClose(p.total, a.total);
      }
    });
  });

  it('swapping the pair with 1 − λ gives the same mixed batch, targets and loss', () => {
    tf.tidy(() => {
      const b = 5;
      const x = tf.randomNormal([b, 2, 3], 0, 1, 'float32', 8);
      const labels = [0, 1, 2, 1, 0];
      const perm = [2, 4, 1, 0, 3];
      const inv = perm.map((_, j) => perm.indexOf(j));
      const xPerm = tf.gather(x, perm);
      const labelsPerm = perm.map((p) => labels[p]!);
      const t = tf.randomNormal([b, 3], 0, 3, 'float32', 9) as tf.Tensor2D;
      const s = tf.randomNormal([b, 3], 0, 3, 'float32', 10) as tf.Tensor2D;
      for (const lambda of [0.3, [0.1, 0.9, 0.5, 0, 1]]) {
        const swapped = Array.isArray(lambda) ? lambda.map((l) => 1 - l) : 1 - lambda;
        const m1 = mixupWith(x, labels, { numClasses: 3, lambda, permutation: perm });
        const m2 = mixupWith(xPerm, labelsPerm, {
          numClasses: 3,
          lambda: swapped,
          permutation: inv,
        });
        expectClose(m2.inputs, m1.inputs);
        expectClose(m2.targets, m1.targets);
        const opts = { targetMode: 'mixedTeacherSoft' as const };
        const l1 = stkdLoss(
          { student: s, teacher: { clean: t, lambda, permutation: perm }, targets: m1.targets },
          opts,
        );
        const l2 = stkdLoss(
          {
            student: s,
            teacher: { clean: tf.gather(t, perm), lambda: swapped, permutation: inv },
            targets: m2.targets,
          },
          opts,
        );
        expectClose(l2.total, l1.total);
        expectClose(l2.kd, l1.kd);
        expectClose(l2.ce, l1.ce);
      }
    });
  });

  it('CE is linear in the mixed labels: L_CE(ỹ) = λ·CE(y) + (1 − λ)·CE(y[π]) (also per sample)', () => {
    tf.tidy(() => {
      const s = tf.randomNormal([4, 6], 0, 2, 'float32', 11) as tf.Tensor2D;
      const t = tf.randomNormal([4, 6], 0, 2, 'float32', 12) as tf.Tensor2D;
      const y = [5, 0, 3, 3];
      const perm = [1, 3, 0, 2];
      const yB = perm.map((p) => y[p]!);
      const m = mixupWith(tf.zeros([4, 1]), y, { numClasses: 6, lambda: 0.35, permutation: perm });
      const { ce } = stkdLoss({ student: s, teacher: t, targets: m.targets });
      expectClose(ce, tf.add(tf.mul(crossEntropy(s, y), 0.35), tf.mul(crossEntropy(s, yB), 0.65)));
      const lam = [0, 0.2, 0.7, 1];
      const mp = mixupWith(tf.zeros([4, 1]), y, { numClasses: 6, lambda: lam, permutation: perm });
      const rowCe = (labels: number[]): tf.Tensor =>
        tf.neg(tf.sum(tf.mul(tf.cast(tf.oneHot(labels, 6), 'float32'), logSoftmax(s)), 1));
      const lamT = tf.tensor1d(lam);
      const want = tf.mean(tf.add(tf.mul(lamT, rowCe(y)), tf.mul(tf.sub(1, lamT), rowCe(yB))));
      expectClose(stkdLoss({ student: s, teacher: t, targets: mp.targets }).ce, want);
    });
  });

  it('KD = 0 with a zero gradient when the student equals the teacher (teacherOnMixed)', () => {
    tf.tidy(() => {
      const s = tf.randomNormal([5, 7], 0, 3, 'float32', 13) as tf.Tensor2D;
      const y = tf.softmax(tf.randomNormal([5, 7], 0, 1, 'float32', 14));
      for (const temperature of [1, 4, 0.5]) {
        const { kd } = stkdLoss({ student: s, teacher: s, targets: y }, { temperature });
        expectClose(kd, 0, { atol: 1e-7 });
        const g = tf.grad(
          (x: tf.Tensor) => stkdLoss({ student: x, teacher: s, targets: y }, { temperature }).kd,
        )(s);
        expectClose(g, tf.zerosLike(g), { atol: 1e-7 });
      }
    });
  });

  it('is invariant to a per-row shift of the logits (both modes)', () => {
    tf.tidy(() => {
      const s = tf.randomNormal([4, 5], 0, 2, 'float32', 15) as tf.Tensor2D;
      const t = tf.randomNormal([4, 5], 0, 2, 'float32', 16) as tf.Tensor2D;
      const y = tf.softmax(tf.randomNormal([4, 5], 0, 1, 'float32', 17));
      const shiftS = tf.tensor2d([[3], [-7], [0.5], [20]]);
      const shiftT = tf.tensor2d([[-2], [11], [4], [-30]]);
      const a = stkdLoss({ student: s, teacher: t, targets: y });
      const b = stkdLoss({ student: tf.add(s, shiftS), teacher: tf.add(t, shiftT), targets: y });
      expectClose(b.total, a.total, { rtol: 1e-4 });
      expectClose(b.kd, a.kd, { rtol: 1e-4, atol: 1e-5 });
      const mixed = (clean: tf.Tensor): MixedTeacher => ({
        clean,
        lambda: [0.2, 0.5, 1, 0],
        permutation: [3, 2, 0, 1],
      });
      const opts = { targetMode: 'mixedTeacherSoft' as const };
      const c = stkdLoss({ student: s, teacher: mixed(t), targets: y }, opts);
      const d = stkdLoss(
        { student: tf.add(s, shiftS), teacher: mixed(tf.add(t, shiftT)), targets: y },
        opts,
      );
      expectClose(d.total, c.total, { rtol: 1e-4 });
    });
  });

  it('the teacher and the targets get no gradient (both modes)', () => {
    tf.tidy(() => {
      const s = tf.randomNormal([3, 4], 0, 1, 'float32', 18) as tf.Tensor2D;
      const t = tf.randomNormal([3, 4], 0, 1, 'float32', 19) as tf.Tensor2D;
      const y = tf.softmax(tf.randomNormal([3, 4], 0, 1, 'float32', 20));
      const [, gt, gy] = tf.grads(
        (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          stkdLoss({ student: a, teacher: b, targets: c }).total,
      )([s, t, y]);
      expectClose(gt!, tf.zeros([3, 4]), { rtol: 0, atol: 0 });
      expectClose(gy!, tf.zeros([3, 4]), { rtol: 0, atol: 0 });
      const [gs2, gt2] = tf.grads(
        (a: tf.Tensor, b: tf.Tensor) =>
          stkdLoss(
            {
              student: a,
              teacher: { clean: b, lambda: 0.4, permutation: tf.tensor1d([2, 0, 1], 'int32') },
              targets: y,
            },
            { targetMode: 'mixedTeacherSoft' },
          ).total,
      )([s, t]);
      expectClose(gt2!, tf.zeros([3, 4]), { rtol: 0, atol: 0 });
      expect(tf.sum(tf.abs(gs2!)).dataSync()[0]).toBeGreaterThan(0);
    });
  });

  it('trains only the student with optimizer-style variableGrads, even with the teacher on the tape', () => {
    // The teacher's variables are trainable and no var list is given: they are on the tape, so
    // every op of the teacher path must differentiate (the row gather of 'mixedTeacherSoft' has
    // no WASM gradient kernel: it must stay inside the zero-gradient target).
    const ws = tf.variable(
      tf.randomNormal([3, 4], 0, 1, 'float32', 21),
      true,
      `stkd-student-${backend}`,
    );
    const wt = tf.variable(
      tf.randomNormal([3, 4], 0, 1, 'float32', 22),
      true,
      `stkd-teacher-${backend}`,
    );
    const x = tf.randomNormal([5, 3], 0, 1, 'float32', 23) as tf.Tensor2D;
    const y = tf.softmax(tf.randomNormal([5, 4], 0, 1, 'float32', 24));
    const perm = tf.tensor1d([4, 3, 2, 1, 0], 'int32');
    const lam = tf.tensor1d([0.1, 0.2, 0.3, 0.4, 1]);
    try {
      for (const targetMode of ['teacherOnMixed', 'mixedTeacherSoft'] as const) {
        const { value, grads } = tf.variableGrads(() => {
          const s = tf.matMul(x, ws) as tf.Tensor2D;
          const t = tf.matMul(x, wt) as tf.Tensor2D;
          const teacher =
            targetMode === 'teacherOnMixed' ? t : { clean: t, lambda: lam, permutation: perm };
          return stkdLoss({ student: s, teacher, targets: y }, { targetMode }).total;
        });
        expect(Number.isFinite(value.dataSync()[0])).toBe(true);
        expectClose(grads[wt.name]!, tf.zeros([3, 4]), { rtol: 0, atol: 0 });
        expect(tf.sum(tf.abs(grads[ws.name]!)).dataSync()[0]).toBeGreaterThan(0);
        tf.dispose([value, ...Object.values(grads)]);
      }
    } finally {
      tf.dispose([ws, wt, x, y, perm, lam]);
    }
  });

  it('B = 1 works in both modes', () => {
    tf.tidy(() => {
      const s = tf.tensor2d([[1, -2, 0.5]]);
      const t = tf.tensor2d([[0, 3, -1]]);
      const y = tf.tensor2d([[0.3, 0.7, 0]]);
      const a = stkdLoss({ student: s, teacher: t, targets: y });
      const b = stkdLoss(
        { student: s, teacher: { clean: t, lambda: 0.3, permutation: [0] }, targets: y },
        { targetMode: 'mixedTeacherSoft' },
      );
      expectClose(b.total, a.total); // π = identity: q = softmax(t/τ) whatever λ
      expect(Number.isFinite(a.total.dataSync()[0])).toBe(true);
    });
  });

  it('the number of kernels does not grow with B or C (no JS loops over rows or classes)', () => {
    const count = (b: number, c: number, mode: 'teacherOnMixed' | 'mixedTeacherSoft'): number =>
      tf.tidy(() => {
        const s = tf.randomNormal([b, c], 0, 1, 'float32', 1) as tf.Tensor2D;
        const y = tf.softmax(tf.randomNormal([b, c], 0, 1, 'float32', 2)) as tf.Tensor2D;
        const teacher =
          mode === 'teacherOnMixed'
            ? s
            : {
                clean: s,
                lambda: tf.fill([b], 0.5) as tf.Tensor1D,
                permutation: tf.range(0, b, 1, 'int32') as tf.Tensor1D,
              };
        return countKernels(() =>
          stkdLoss({ student: s, teacher, targets: y }, { targetMode: mode }),
        );
      });
    for (const mode of ['teacherOnMixed', 'mixedTeacherSoft'] as const) {
      const base = count(2, 3, mode);
      // Sanity floor (counting works): CE, KD and the weighted sum are at least three kernels.
      expect(base).toBeGreaterThanOrEqual(3);
      expect(count(8, 3, mode)).toBe(base);
      expect(count(2, 10, mode)).toBe(base);
      // the gradient pass too
      const gradCount = (b: number, c: number): number =>
        tf.tidy(() => {
          const s = tf.randomNormal([b, c], 0, 1, 'float32', 1) as tf.Tensor2D;
          const y = tf.softmax(tf.randomNormal([b, c], 0, 1, 'float32', 2)) as tf.Tensor2D;
          const teacher =
            mode === 'teacherOnMixed'
              ? s
              : { clean: s, lambda: 0.3, permutation: tf.range(0, b, 1, 'int32') as tf.Tensor1D };
          return countKernels(() =>
            tf.grad(
              (x: tf.Tensor) =>
                stkdLoss({ student: x, teacher, targets: y }, { targetMode: mode }).total,
            )(s),
          );
        });
      expect(gradCount(8, 10)).toBe(gradCount(2, 3));
    }
  });

  it('mixup dispatches a fixed number of kernels (no JS loops over rows)', () => {
    const count = (b: number, perSample: boolean): number =>
      tf.tidy(() => {
        const x = tf.randomNormal([b, 2, 3], 0, 1, 'float32', 1);
        const labels = tf.tensor1d(
          Array.from({ length: b }, (_, i) => i % 3),
          'int32',
        );
        return countKernels(() => mixup(x, labels, { numClasses: 3, seed: 1, perSample }));
      });
    for (const perSample of [false, true]) {
      expect(count(2, perSample)).toBeGreaterThan(3);
      expect(count(8, perSample)).toBe(count(2, perSample));
    }
  });

  it('leaks no tensor (success and failure, both modes)', () => {
    const s = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const t = tf.tensor2d([
      [0, 1],
      [1, 0],
    ]);
    const y = tf.tensor2d([
      [0.5, 0.5],
      [1, 0],
    ]);
    expectNoLeak(() => stkdLoss({ student: s, teacher: t, targets: y }));
    expectNoLeak(() =>
      stkdLoss(
        { student: s, teacher: { clean: t, lambda: [0.5, 1], permutation: [1, 0] }, targets: y },
        { targetMode: 'mixedTeacherSoft' },
      ),
    );
    expectNoLeak(() =>
      stkdLoss({
        student: [
          [1, 2],
          [3, 4],
        ],
        teacher: [
          [0, 1],
          [1, 0],
        ],
        targets: [
          [0.5, 0.5],
          [1, 0],
        ],
      }),
    );
    expectRelkdError(
      () =>
        stkdLoss(
          { student: s, teacher: { clean: t, lambda: [0.5, 1], permutation: [1, 1] }, targets: y },
          { targetMode: 'mixedTeacherSoft' },
        ),
      'INVALID_OPTION',
    );
    tf.dispose([s, t, y]);
  });

  describe('bad inputs', () => {
    let T: Record<string, tf.Tensor>;
    beforeAll(() => {
      T = {
        s: tf.tensor2d([
          [1, 2, 3],
          [4, 5, 6],
        ]),
        t: tf.tensor2d([
          [0, 1, 2],
          [2, 1, 0],
        ]),
        y: tf.tensor2d([
          [1, 0, 0],
          [0, 0.5, 0.5],
        ]),
        t4: tf.tensor2d([
          [0, 1, 2, 3],
          [2, 1, 0, 3],
        ]),
        y4: tf.tensor2d([
          [1, 0, 0, 0],
          [0, 0.5, 0.5, 0],
        ]),
        t3rows: tf.tensor2d([
          [0, 1, 2],
          [2, 1, 0],
          [1, 1, 1],
        ]),
        s1d: tf.tensor1d([1, 2, 3]),
        sInt: tf.tensor2d(
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
          undefined,
          'int32',
        ),
        sNaN: tf.tensor2d([
          [1, Number.NaN, 3],
          [4, 5, 6],
        ]),
        permFloat: tf.tensor1d([1, 0]),
        permLong: tf.tensor1d([1, 0, 2], 'int32'),
        permDup: tf.tensor1d([1, 1], 'int32'),
        lamBad: tf.tensor1d([0.5, 1.5]),
        lamLong: tf.tensor1d([0.5, 0.5, 0.5]),
      };
    });
    afterAll(() => tf.dispose(Object.values(T)));
    const mixed = (over: Partial<MixedTeacher> = {}): MixedTeacher => ({
      clean: T['t']!,
      lambda: 0.5,
      permutation: [1, 0],
      ...over,
    });
    const soft = { targetMode: 'mixedTeacherSoft' as const };

    it('class counts differ (numClasses mismatch) -> SHAPE_MISMATCH', () => {
      expectRelkdError(
        () => stkdLoss({ student: T['s']!, teacher: T['t4']!, targets: T['y']! }),
        'SHAPE_MISMATCH',
      );
      expectRelkdError(
        () => stkdLoss({ student: T['s']!, teacher: T['t']!, targets: T['y4']! }),
        'SHAPE_MISMATCH',
      );
      expectRelkdError(
        () =>
          stkdLoss(
            { student: T['s']!, teacher: mixed({ clean: T['t4']! }), targets: T['y']! },
            soft,
          ),
        'SHAPE_MISMATCH',
      );
    });
    it('batch sizes differ -> SHAPE_MISMATCH', () => {
      expectRelkdError(
        () => stkdLoss({ student: T['s']!, teacher: T['t3rows']!, targets: T['y']! }),
        'SHAPE_MISMATCH',
      );
    });
    it('wrong rank or dtype', () => {
      expectRelkdError(
        () => stkdLoss({ student: T['s1d']!, teacher: T['t']!, targets: T['y']! }),
        'RANK_MISMATCH',
      );
      expectRelkdError(
        () => stkdLoss({ student: T['sInt']!, teacher: T['t']!, targets: T['y']! }),
        'DTYPE_MISMATCH',
      );
    });
    it('bad options -> INVALID_OPTION', () => {
      const inputs = () => ({ student: T['s']!, teacher: T['t']!, targets: T['y']! });
      expectRelkdError(() => stkdLoss(inputs(), { temperature: 0 }), 'INVALID_OPTION');
      expectRelkdError(() => stkdLoss(inputs(), { temperature: -1 }), 'INVALID_OPTION');
      expectRelkdError(() => stkdLoss(inputs(), { temperature: Number.NaN }), 'INVALID_OPTION');
      expectRelkdError(() => stkdLoss(inputs(), { ceWeight: -0.1 }), 'INVALID_OPTION');
      expectRelkdError(
        () => stkdLoss(inputs(), { kdWeight: Number.POSITIVE_INFINITY }),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () => stkdLoss(inputs(), { targetMode: 'mixed' as unknown as 'teacherOnMixed' }),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () => stkdLoss(inputs(), { validate: 'all' as unknown as 'full' }),
        'INVALID_OPTION',
      );
    });
    it('teacher form does not match the target mode -> INVALID_OPTION', () => {
      expectRelkdError(
        () => stkdLoss({ student: T['s']!, teacher: T['t']!, targets: T['y']! }, soft),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () => stkdLoss({ student: T['s']!, teacher: mixed(), targets: T['y']! }),
        'INVALID_OPTION',
      );
    });
    it('λ outside [0, 1] -> INVALID_OPTION', () => {
      expectRelkdError(
        () =>
          stkdLoss({ student: T['s']!, teacher: mixed({ lambda: 1.01 }), targets: T['y']! }, soft),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () =>
          stkdLoss(
            { student: T['s']!, teacher: mixed({ lambda: [0.2, -0.2] }), targets: T['y']! },
            soft,
          ),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () =>
          stkdLoss(
            {
              student: T['s']!,
              teacher: mixed({ lambda: T['lamBad'] as tf.Tensor1D }),
              targets: T['y']!,
            },
            { ...soft, validate: 'full' },
          ),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () =>
          stkdLoss(
            {
              student: T['s']!,
              teacher: mixed({ lambda: T['lamLong'] as tf.Tensor1D }),
              targets: T['y']!,
            },
            soft,
          ),
        'SHAPE_MISMATCH',
      );
    });
    it('permutation of the wrong length or not a permutation', () => {
      expectRelkdError(
        () =>
          stkdLoss(
            { student: T['s']!, teacher: mixed({ permutation: [0] }), targets: T['y']! },
            soft,
          ),
        'SHAPE_MISMATCH',
      );
      expectRelkdError(
        () =>
          stkdLoss(
            {
              student: T['s']!,
              teacher: mixed({ permutation: T['permLong'] as tf.Tensor1D }),
              targets: T['y']!,
            },
            soft,
          ),
        'SHAPE_MISMATCH',
      );
      expectRelkdError(
        () =>
          stkdLoss(
            { student: T['s']!, teacher: mixed({ permutation: [0, 0] }), targets: T['y']! },
            soft,
          ),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () =>
          stkdLoss(
            {
              student: T['s']!,
              teacher: mixed({ permutation: T['permDup'] as tf.Tensor1D }),
              targets: T['y']!,
            },
            { ...soft, validate: 'full' },
          ),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () =>
          stkdLoss(
            {
              student: T['s']!,
              teacher: mixed({ permutation: T['permFloat'] as tf.Tensor1D }),
              targets: T['y']!,
            },
            soft,
          ),
        'DTYPE_MISMATCH',
      );
    });
    it('non-finite logits with validate full -> NON_FINITE', () => {
      expectRelkdError(
        () =>
          stkdLoss(
            { student: T['sNaN']!, teacher: T['t']!, targets: T['y']! },
            { validate: 'full' },
          ),
        'NON_FINITE',
      );
    });
    it('missing inputs object -> INVALID_OPTION', () => {
      expectRelkdError(
        () => stkdLoss(null as unknown as Parameters<typeof stkdLoss>[0]),
        'INVALID_OPTION',
      );
    });
  });
});
