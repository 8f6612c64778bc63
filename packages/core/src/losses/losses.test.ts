import { BACKENDS, expectClose, fdDirectional, usePlainBackend } from '@relkd/testing/plain';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { kd, kl, lossGoldenCases, soft } from '../../test/lossGoldens';
import { FUSED_LOSS_KERNELS } from '../kernels/fusedLossKernels';
import { expectEarlyError, expectNoLeakStrict, gradDot, seededNormal } from '../testUtils';
import { crossEntropy } from './crossEntropy';
import { kdLoss } from './kdLoss';
import { klDivergence } from './klDivergence';
import { softCrossEntropy } from './softCrossEntropy';

describe.each(BACKENDS)('losses on %s', (backend) => {
  beforeAll(async () => {
    await usePlainBackend(backend);
  });

  describe('golden values and gradients (float64 numpy reference), composed ops (no fused kernel)', () => {
    it('runs without a fused kernel (nobody called useBackend)', () => {
      for (const name of FUSED_LOSS_KERNELS) expect(tf.getKernel(name, backend)).toBeUndefined();
    });
    lossGoldenCases();

    it('default temperatures: kdLoss T = 4, klDivergence T = 1 without T², softCrossEntropy T = 1', () => {
      const c4 = kd.find((c) => c.temperature === 4)!;
      expectClose(kdLoss(c4.student, c4.teacher), c4.value);
      const c1 = kl.find((c) => c.temperature === 1 && !c.scaleByTSquared)!;
      expectClose(klDivergence(c1.student, c1.teacher), c1.value);
      const s1 = soft.find((c) => c.temperature === 1)!;
      expectClose(softCrossEntropy(s1.logits, s1.targets), s1.value);
    });
  });

  describe('finite-difference directional derivatives', () => {
    let s: tf.Tensor;
    let t: tf.Tensor;
    let v: tf.Tensor;
    let q: tf.Tensor;
    let y: tf.Tensor;
    beforeAll(() => {
      s = seededNormal([3, 5], 1, 2);
      t = seededNormal([3, 5], 2, 2);
      v = seededNormal([3, 5], 3);
      q = tf.softmax(seededNormal([3, 5], 4));
      y = tf.tensor1d([0, 4, 2], 'int32');
    });
    const fns: Array<[string, (x: tf.Tensor) => tf.Scalar]> = [
      ['crossEntropy', (x) => crossEntropy(x, y)],
      ['softCrossEntropy T=2', (x) => softCrossEntropy(x, q, { temperature: 2 })],
      ['klDivergence T=2', (x) => klDivergence(x, t, { temperature: 2 })],
      ['kdLoss T=4', (x) => kdLoss(x, t)],
      ['kdLoss T=1', (x) => kdLoss(x, t, { temperature: 1 })],
    ];
    it.each(fns)('%s', (_, f) => {
      const fd = fdDirectional(f, s, v, 1e-2);
      const ad = gradDot(f, s, v);
      expect(Math.abs(fd - ad)).toBeLessThan(2e-3 * Math.abs(ad) + 2e-4);
    });
  });

  describe('properties', () => {
    it('KL >= 0, kdLoss >= 0', () => {
      for (let seed = 0; seed < 5; seed++) {
        const s = seededNormal([4, 6], 10 + seed, 3);
        const t = seededNormal([4, 6], 20 + seed, 3);
        expect(klDivergence(s, t).dataSync()[0]).toBeGreaterThanOrEqual(0);
        expect(kdLoss(s, t).dataSync()[0]).toBeGreaterThanOrEqual(0);
        tf.dispose([s, t]);
      }
    });

    it('zero KL and zero gradient at equal logits', () => {
      const s = seededNormal([4, 6], 5, 3);
      for (const temperature of [1, 4]) {
        expectClose(kdLoss(s, s, { temperature }), 0, { atol: 1e-6 });
        expectClose(klDivergence(s, s, { temperature }), 0, { atol: 1e-6 });
        const g = tf.grad((x: tf.Tensor) => kdLoss(x, s, { temperature }))(s);
        expectClose(g, tf.zerosLike(g), { atol: 1e-7 });
      }
    });

    it('per-row shift invariance of every loss', () => {
      const s = seededNormal([4, 5], 6, 2);
      const t = seededNormal([4, 5], 7, 2);
      const shift = tf.tensor2d([[3], [-7], [100], [0.5]]);
      const y = [1, 0, 4, 2];
      const q = tf.softmax(t);
      const ss = tf.add(s, shift);
      const ts = tf.sub(t, shift);
      expectClose(kdLoss(ss, ts), kdLoss(s, t), { rtol: 1e-4 });
      expectClose(
        klDivergence(ss, ts, { temperature: 2 }),
        klDivergence(s, t, { temperature: 2 }),
        {
          rtol: 1e-4,
        },
      );
      expectClose(crossEntropy(ss, y), crossEntropy(s, y), { rtol: 1e-4 });
      expectClose(softCrossEntropy(ss, q), softCrossEntropy(s, q), { rtol: 1e-4 });
    });

    it('kdLoss = T²·klDivergence, and klDivergence scaleByTSquared multiplies by T²', () => {
      const s = seededNormal([4, 5], 8, 2);
      const t = seededNormal([4, 5], 9, 2);
      for (const temperature of [0.5, 1, 2, 4, 7]) {
        const base = klDivergence(s, t, { temperature }).dataSync()[0]!;
        const t2 = temperature * temperature;
        expectClose(kdLoss(s, t, { temperature }), base * t2);
        expectClose(klDivergence(s, t, { temperature, scaleByTSquared: true }), base * t2);
      }
    });

    it('the reduction is the batch mean (batchmean), not a mean over B·C elements', () => {
      // p_t = [3/4, 1/4], p_s = [1/2, 1/2]: KL = 3/4 ln(3/2) + 1/4 ln(1/2), summed over classes.
      const expected = 0.75 * Math.log(1.5) + 0.25 * Math.log(0.5);
      const s = [[0, 0]];
      const t = [[Math.log(3), 0]];
      expectClose(klDivergence(s, t), expected);
      expectClose(kdLoss(s, t, { temperature: 1 }), expected);
      // duplicating the batch keeps the value; adding a row with zero KL halves it
      expectClose(klDivergence([s[0]!, s[0]!], [t[0]!, t[0]!]), expected);
      expectClose(klDivergence([s[0]!, [1, 2]], [t[0]!, [1, 2]]), expected / 2);
      // cross-entropy: mean over rows of the row sums
      expectClose(crossEntropy([[0, 0, 0, 0]], [2]), Math.log(4));
      expectClose(softCrossEntropy([[0, 0, 0, 0]], [[0.25, 0.25, 0.25, 0.25]]), Math.log(4));
    });

    it('the teacher gets a zero gradient (stopGradient inside)', () => {
      const s = seededNormal([3, 4], 11);
      const t = seededNormal([3, 4], 12);
      const q = tf.softmax(t);
      const [, gt] = tf.grads((a: tf.Tensor, b: tf.Tensor) => kdLoss(a, b))([s, t]);
      expectClose(gt!, tf.zerosLike(t), { atol: 0 });
      const [, gk] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        klDivergence(a, b, { temperature: 2 }),
      )([s, t]);
      expectClose(gk!, tf.zerosLike(t), { atol: 0 });
      const [, gq] = tf.grads((a: tf.Tensor, b: tf.Tensor) => softCrossEntropy(a, b))([s, q]);
      expectClose(gq!, tf.zerosLike(q), { atol: 0 });
    });

    it('crossEntropy equals softCrossEntropy against one-hot targets', () => {
      const z = seededNormal([4, 5], 13, 3);
      const y = [4, 0, 1, 1];
      expectClose(
        softCrossEntropy(z, tf.cast(tf.oneHot(tf.tensor1d(y, 'int32'), 5), 'float32')),
        crossEntropy(z, y),
      );
    });

    it('stays finite and exact for huge logits (logSoftmax, never log(softmax))', () => {
      const s = [[1e4, -1e4, 0]];
      const t = [[-1e4, 1e4, 0]];
      // p_t = e_1 and p_s = e_0 at T = 1 in float32: KL = 0 − log p_s[1] = 2e4
      expectClose(klDivergence(s, t), 2e4);
      expectClose(crossEntropy(s, [1]), 2e4);
      const g = tf.grad((x: tf.Tensor) => kdLoss(x, tf.tensor2d(t), { temperature: 1 }))(
        tf.tensor2d(s),
      );
      expectClose(g, [[1, -1, 0]]);
    });
  });

  it('the number of kernels does not grow with B or C (vectorised, no per-row loops)', async () => {
    const count = async (b: number, c: number): Promise<number[]> => {
      const s = seededNormal([b, c], 71);
      const t = seededNormal([b, c], 72);
      const q = tf.softmax(t);
      const y = tf.tensor1d(
        Array.from({ length: b }, (_, i) => i % c),
        'int32',
      );
      const counts: number[] = [];
      for (const f of [
        () => crossEntropy(s, y),
        () => softCrossEntropy(s, q, { temperature: 2 }),
        () => klDivergence(s, t, { temperature: 2 }),
        () => kdLoss(s, t),
        () => tf.grad((x: tf.Tensor) => kdLoss(x, t))(s),
      ]) {
        counts.push((await tf.profile(() => f())).kernels.length);
      }
      tf.dispose([s, t, q, y]);
      return counts;
    };
    expect(await count(8, 10)).toEqual(await count(2, 3));
  });

  describe('leaks', () => {
    let s: tf.Tensor;
    let t: tf.Tensor;
    let q: tf.Tensor;
    let y: tf.Tensor;
    beforeAll(() => {
      s = seededNormal([4, 5], 14);
      t = seededNormal([4, 5], 15);
      q = tf.softmax(t);
      y = tf.tensor1d([0, 1, 2, 3], 'int32');
    });
    it.each<[string, () => unknown]>([
      ['crossEntropy', () => crossEntropy(s, y)],
      ['crossEntropy (JS arrays)', () => crossEntropy([[1, 2]], [1])],
      ['softCrossEntropy', () => softCrossEntropy(s, q, { temperature: 2 })],
      ['klDivergence', () => klDivergence(s, t, { temperature: 3, scaleByTSquared: true })],
      ['kdLoss', () => kdLoss(s, t)],
      ['kdLoss (validate full)', () => kdLoss(s, t, { validate: 'full' })],
      ['kdLoss gradient', () => tf.grad((x: tf.Tensor) => kdLoss(x, t))(s)],
      ['crossEntropy gradient', () => tf.grad((x: tf.Tensor) => crossEntropy(x, y))(s)],
    ])('%s leaks no tensor', (_, fn) => {
      expectNoLeakStrict(fn);
    });
  });

  describe('bad inputs throw RelkdError before any kernel runs, leaking nothing', () => {
    let s: tf.Tensor;
    let t: tf.Tensor;
    let y: tf.Tensor;
    // inputs exist before each call so the leak check sees only what the call itself allocates
    const pre: Record<string, tf.Tensor> = {};
    beforeAll(() => {
      s = tf.zeros([2, 3]);
      t = tf.ones([2, 3]);
      y = tf.tensor1d([0, 2], 'int32');
      Object.assign(pre, {
        z24: tf.zeros([2, 4]),
        z33: tf.zeros([3, 3]),
        z3: tf.zeros([3]),
        z13: tf.zeros([1, 3]),
        z22: tf.zeros([2, 2]),
        i23: tf.zeros([2, 3], 'int32'),
        z03: tf.zeros([0, 3]),
        z20: tf.zeros([2, 0]),
        f2: tf.tensor1d([0, 1]),
        i1: tf.tensor1d([0], 'int32'),
        i21: tf.zeros([2, 1], 'int32'),
        out: tf.tensor1d([0, 3], 'int32'),
        neg: tf.tensor1d([-1, 0], 'int32'),
        nan: tf.tensor2d([
          [0, Number.NaN, 0],
          [0, 0, 0],
        ]),
        inf: tf.tensor2d([
          [0, 0, 0],
          [0, Infinity, 0],
        ]),
        gone: disposed(),
      });
    });
    const cases: Array<[string, () => unknown, string]> = [
      ['kdLoss mismatched shapes', () => kdLoss(s, pre.z24!), 'SHAPE_MISMATCH'],
      ['kdLoss mismatched batch', () => kdLoss(s, pre.z33!), 'SHAPE_MISMATCH'],
      ['kdLoss rank-1 student', () => kdLoss(pre.z3!, t), 'RANK_MISMATCH'],
      ['kdLoss rank-3 teacher (JS array)', () => kdLoss(s, [[[1, 2, 3]]]), 'RANK_MISMATCH'],
      ['kdLoss T = 0', () => kdLoss(s, t, { temperature: 0 }), 'INVALID_OPTION'],
      ['kdLoss T < 0', () => kdLoss(s, t, { temperature: -2 }), 'INVALID_OPTION'],
      ['kdLoss T = NaN', () => kdLoss(s, t, { temperature: Number.NaN }), 'INVALID_OPTION'],
      ['kdLoss T = Infinity', () => kdLoss(s, t, { temperature: Infinity }), 'INVALID_OPTION'],
      ['kdLoss T as string', () => kdLoss(s, t, { temperature: '4' as never }), 'INVALID_OPTION'],
      [
        'kdLoss unknown validate mode',
        () => kdLoss(s, t, { validate: 'ful' as never }),
        'INVALID_OPTION',
      ],
      ['kdLoss int32 logits', () => kdLoss(pre.i23!, t), 'DTYPE_MISMATCH'],
      ['kdLoss empty batch', () => kdLoss(pre.z03!, pre.z03!), 'EMPTY_BATCH'],
      ['kdLoss zero classes', () => kdLoss(pre.z20!, pre.z20!), 'EMPTY_BATCH'],
      ['kdLoss disposed tensor', () => kdLoss(pre.gone!, t), 'INVALID_OPTION'],
      ['kdLoss null input', () => kdLoss(null as never, t), 'INVALID_OPTION'],
      [
        'kdLoss ragged array',
        () =>
          kdLoss(
            [[1, 2], [3]],
            [
              [1, 2],
              [3, 4],
            ],
          ),
        'INVALID_OPTION',
      ],
      ['klDivergence mismatched', () => klDivergence(s, pre.z13!), 'SHAPE_MISMATCH'],
      ['klDivergence T = 0', () => klDivergence(s, t, { temperature: 0 }), 'INVALID_OPTION'],
      ['softCrossEntropy mismatched', () => softCrossEntropy(s, pre.z22!), 'SHAPE_MISMATCH'],
      ['softCrossEntropy rank-1', () => softCrossEntropy(pre.z3!, pre.z3!), 'RANK_MISMATCH'],
      [
        'softCrossEntropy T = -1',
        () => softCrossEntropy(s, t, { temperature: -1 }),
        'INVALID_OPTION',
      ],
      ['crossEntropy rank-1 logits', () => crossEntropy(pre.z3!, y), 'RANK_MISMATCH'],
      ['crossEntropy float labels', () => crossEntropy(s, pre.f2!), 'DTYPE_MISMATCH'],
      ['crossEntropy non-int JS labels', () => crossEntropy(s, [0, 1.5]), 'LABEL_OUT_OF_RANGE'],
      ['crossEntropy NaN JS label', () => crossEntropy(s, [0, Number.NaN]), 'LABEL_OUT_OF_RANGE'],
      ['crossEntropy JS label = C', () => crossEntropy(s, [0, 3]), 'LABEL_OUT_OF_RANGE'],
      ['crossEntropy JS label < 0', () => crossEntropy(s, [-1, 0]), 'LABEL_OUT_OF_RANGE'],
      ['crossEntropy wrong label count', () => crossEntropy(s, pre.i1!), 'SHAPE_MISMATCH'],
      ['crossEntropy rank-2 labels', () => crossEntropy(s, pre.i21!), 'RANK_MISMATCH'],
      ['crossEntropy empty batch', () => crossEntropy(pre.z03!, []), 'EMPTY_BATCH'],
      [
        'crossEntropy full: tensor label out of range',
        () => crossEntropy(s, pre.out!, { validate: 'full' }),
        'LABEL_OUT_OF_RANGE',
      ],
      [
        'crossEntropy full: negative tensor label',
        () => crossEntropy(s, pre.neg!, { validate: 'full' }),
        'LABEL_OUT_OF_RANGE',
      ],
      [
        'crossEntropy full: NaN logits',
        () => crossEntropy(pre.nan!, y, { validate: 'full' }),
        'NON_FINITE',
      ],
      ['kdLoss full: NaN student', () => kdLoss(pre.nan!, t, { validate: 'full' }), 'NON_FINITE'],
      [
        'kdLoss full: Infinity teacher',
        () => kdLoss(s, pre.inf!, { validate: 'full' }),
        'NON_FINITE',
      ],
      [
        'softCrossEntropy full: NaN targets',
        () => softCrossEntropy(s, pre.nan!, { validate: 'full' }),
        'NON_FINITE',
      ],
    ];
    it.each(cases)('%s', async (_, fn, code) => {
      await expectEarlyError(fn, code as never);
    });

    it("'shapes' mode does not read tensor labels (no error for an out-of-range tensor label)", () => {
      expect(() => tf.dispose(crossEntropy(s, pre.out!))).not.toThrow();
    });

    it('the message names the argument and both shapes', () => {
      expect(() => kdLoss(s, pre.z24!)).toThrow(/studentLogits.*teacherLogits.*\[2, 3\].*\[2, 4\]/);
      expect(() => kdLoss(s, t, { temperature: 0 })).toThrow(/temperature.*> 0.*got 0/);
    });
  });
});

function disposed(): tf.Tensor {
  const x = tf.zeros([2, 3]);
  x.dispose();
  return x;
}
