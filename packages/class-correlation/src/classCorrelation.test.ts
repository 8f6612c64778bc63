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
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { classCorrelation } from './index';

interface CorrelationFixture {
  logits: number[][];
  weights: number[][];
  cases: {
    temperature: number;
    normalize: 'batch' | 'frobenius' | 'none';
    value: number[][];
    grad: number[][];
  }[];
}
const fixture = loadFixture<CorrelationFixture>(import.meta.url, 'correlation');

const read = (t: tf.Tensor): number[][] => {
  const v = t.arraySync() as number[][];
  t.dispose();
  return v;
};

describe.each(BACKENDS)('classCorrelation on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it.each(
    fixture.cases,
  )('matches the float64 reference ($normalize, τ = $temperature), value and gradient', (c) => {
    const z = tf.tensor2d(fixture.logits);
    const w = tf.tensor2d(fixture.weights);
    const opts = { temperature: c.temperature, normalize: c.normalize };
    const g = classCorrelation(z, opts);
    expectClose(g, c.value, { rtol: 1e-5, atol: 1e-7 });
    const grad = tf.grad((x: tf.Tensor) =>
      tf.sum(tf.mul(classCorrelation(x as tf.Tensor2D, opts), w)),
    )(z);
    expectClose(grad, c.grad, { rtol: 1e-3, atol: 1e-5, label: 'gradient' });
    tf.dispose([z, w, g, grad]);
  });

  it('defaults are temperature 1 and batch normalisation', () => {
    const z = tf.tensor2d(fixture.logits);
    const ref = fixture.cases.find((c) => c.temperature === 1 && c.normalize === 'batch')!;
    expectClose(classCorrelation(z), ref.value);
    expectClose(classCorrelation(fixture.logits), ref.value);
    z.dispose();
  });

  it('finite differences agree with autodiff for every normalisation', () => {
    for (const normalize of ['batch', 'frobenius', 'none'] as const) {
      const z = tf.randomNormal([4, 5], 0, 2, 'float32', 3);
      const w = tf.randomNormal([5, 5], 0, 1, 'float32', 4);
      const v = tf.randomNormal([4, 5], 0, 1, 'float32', 5);
      const f = (x: tf.Tensor) =>
        tf.sum(
          tf.mul(classCorrelation(x as tf.Tensor2D, { normalize, temperature: 1.7 }), w),
        ) as tf.Scalar;
      const g = tf.grad(f)(z);
      const analytic = tf.sum(tf.mul(g, v)).dataSync()[0]!;
      const numeric = fdDirectional(f, z, v, 1e-2);
      expect(Math.abs(analytic - numeric)).toBeLessThan(
        2e-2 * Math.max(1e-2, Math.abs(numeric)) + 1e-4,
      );
      tf.dispose([z, w, v, g]);
    }
  });

  describe('properties', () => {
    const z = () => tf.randomNormal([6, 4], 0, 3, 'float32', 11) as tf.Tensor2D;

    it('is symmetric, non-negative, sums to B (raw) and 1 (batch), unit norm (frobenius)', () => {
      const x = z();
      const raw = read(classCorrelation(x, { normalize: 'none' }));
      const c = raw.length;
      for (let i = 0; i < c; i++) {
        for (let j = 0; j < c; j++) {
          expect(raw[i]![j]).toBeGreaterThanOrEqual(0);
          expect(Math.abs(raw[i]![j]! - raw[j]![i]!)).toBeLessThan(1e-6);
        }
      }
      expectClose(
        raw.flat().reduce((a, b) => a + b, 0),
        6,
        { rtol: 1e-5 },
      );
      expectClose(tf.sum(classCorrelation(x)), 1, { rtol: 1e-5 });
      expectClose(tf.sum(tf.square(classCorrelation(x, { normalize: 'frobenius' }))), 1, {
        rtol: 1e-5,
      });
      x.dispose();
    });

    it('row sums of G equal the column sums of P and trace ∈ [B/C, B]', () => {
      const x = tf.randomNormal([7, 5], 0, 2, 'float32', 12) as tf.Tensor2D;
      const g = classCorrelation(x, { normalize: 'none', temperature: 2 });
      const p = tf.softmax(tf.div(x, 2));
      expectClose(tf.sum(g, 1), tf.sum(p, 0), { rtol: 1e-5 });
      const trace = tf.sum(tf.mul(g, tf.eye(5))).dataSync()[0]!;
      expect(trace).toBeGreaterThanOrEqual(7 / 5 - 1e-5);
      expect(trace).toBeLessThanOrEqual(7 + 1e-5);
      tf.dispose([x, g, p]);
    });

    it('trace hits the bounds: B for one-hot rows, B/C for uniform rows', () => {
      const hot = tf.mul(tf.cast(tf.oneHot(tf.tensor1d([0, 2, 2, 1], 'int32'), 3), 'float32'), 1e4);
      expectClose(tf.sum(tf.mul(classCorrelation(hot, { normalize: 'none' }), tf.eye(3))), 4, {
        rtol: 1e-5,
      });
      const flat = tf.zeros([4, 3]);
      expectClose(tf.sum(tf.mul(classCorrelation(flat, { normalize: 'none' }), tf.eye(3))), 4 / 3, {
        rtol: 1e-5,
      });
      tf.dispose([hot, flat]);
    });

    it('one-hot P gives a diagonal G of class counts', () => {
      const hot = tf.mul(
        tf.cast(tf.oneHot(tf.tensor1d([0, 2, 2, 1, 2], 'int32'), 4), 'float32'),
        200,
      );
      expectClose(
        classCorrelation(hot, { normalize: 'none' }),
        [
          [1, 0, 0, 0],
          [0, 1, 0, 0],
          [0, 0, 3, 0],
          [0, 0, 0, 0],
        ],
        { atol: 1e-6 },
      );
      hot.dispose();
    });

    it('uniform P gives (B/C²)·11ᵀ', () => {
      const b = 5;
      const c = 4;
      const flat = tf.fill([b, c], 2.5);
      expectClose(
        classCorrelation(flat, { normalize: 'none', temperature: 3 }),
        tf.fill([c, c], b / (c * c)),
      );
      flat.dispose();
    });

    it('is invariant to a permutation of the batch rows', () => {
      const x = z();
      const perm = tf.tensor1d([3, 0, 5, 1, 4, 2], 'int32');
      for (const normalize of ['batch', 'frobenius', 'none'] as const) {
        expectClose(
          classCorrelation(tf.gather(x, perm), { normalize }),
          classCorrelation(x, { normalize }),
          {
            rtol: 1e-5,
            atol: 1e-7,
          },
        );
      }
      tf.dispose([x, perm]);
    });

    it('is invariant to a per-row shift of the logits', () => {
      const x = z();
      const shift = tf.tensor2d([[3], [-7], [100], [0.5], [-40], [12]]);
      expectClose(classCorrelation(tf.add(x, shift)), classCorrelation(x), {
        rtol: 1e-5,
        atol: 1e-7,
      });
      tf.dispose([x, shift]);
    });

    it('a class permutation Π maps G to ΠᵀGΠ', () => {
      const x = z();
      const order = [2, 0, 3, 1];
      const pi = tf.cast(tf.oneHot(tf.tensor1d(order, 'int32'), 4), 'float32'); // column j of xΠ is x[:, order[j]]
      const permuted = tf.matMul(x, pi, false, true);
      const g = classCorrelation(x, { normalize: 'frobenius' });
      const expected = tf.matMul(tf.matMul(pi, g), pi, false, true);
      expectClose(classCorrelation(permuted, { normalize: 'frobenius' }), expected, {
        rtol: 1e-5,
        atol: 1e-7,
      });
      tf.dispose([x, pi, permuted, g, expected]);
    });

    it('the raw G is additive over sub-batches (accumulate "none" and divide by N at the end)', () => {
      const x = tf.randomNormal([8, 5], 0, 2, 'float32', 13) as tf.Tensor2D;
      const [a, b] = tf.split(x, [3, 5]);
      const sum = tf.add(
        classCorrelation(a!, { normalize: 'none' }),
        classCorrelation(b!, { normalize: 'none' }),
      );
      expectClose(sum, classCorrelation(x, { normalize: 'none' }), { rtol: 1e-5, atol: 1e-6 });
      expectClose(tf.div(sum, 8), classCorrelation(x, { normalize: 'batch' }), {
        rtol: 1e-5,
        atol: 1e-7,
      });
      tf.dispose([x, a!, b!, sum]);
    });
  });

  it('leaks no tensor (also with gradients and when throwing)', () => {
    const z = tf.randomNormal([4, 3]);
    expectNoLeak(() => classCorrelation(z, { normalize: 'frobenius', temperature: 2 }));
    expectNoLeak(() => tf.grad((x: tf.Tensor) => tf.sum(classCorrelation(x as tf.Tensor2D)))(z));
    expectNoLeak(() => classCorrelation([[1, 2, 3]]));
    expectNoLeak(() => classCorrelation([1, 2, 3] as never));
    z.dispose();
  });

  it('rejects bad inputs with RelkdError codes', () => {
    expectRelkdError(() => classCorrelation([1, 2, 3] as never), 'RANK_MISMATCH');
    const empty = tf.zeros([0, 3]);
    const ints = tf.zeros([2, 3], 'int32');
    expectRelkdError(() => classCorrelation(empty), 'EMPTY_BATCH');
    expectRelkdError(() => classCorrelation(ints), 'DTYPE_MISMATCH');
    tf.dispose([empty, ints]);
    expectRelkdError(() => classCorrelation([[1, 2]], { temperature: 0 }), 'INVALID_OPTION');
    expectRelkdError(
      () => classCorrelation([[1, 2]], { temperature: Number.NaN }),
      'INVALID_OPTION',
    );
    expectRelkdError(
      () => classCorrelation([[1, 2]], { normalize: 'l2' as never }),
      'INVALID_OPTION',
    );
    expectRelkdError(() => classCorrelation([[1, 2]], null as never), 'INVALID_OPTION');
    expectRelkdError(() => classCorrelation('x' as never), 'INVALID_OPTION');
  });

  it('property: finite values and gradients for extreme, constant and duplicate rows', () => {
    const logit = fc.oneof(
      fc.double({ min: -1e4, max: 1e4, noNaN: true }),
      fc.constantFrom(0, 1e4, -1e4, 5),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom('batch', 'frobenius', 'none'),
        fc.constantFrom(0.5, 1, 4),
        fc.boolean(),
        fc.infiniteStream(logit),
        (b, c, normalize, temperature, duplicate, stream) => {
          const it = stream[Symbol.iterator]();
          const row = () => Array.from({ length: c }, () => Math.fround(it.next().value as number));
          const first = row();
          const rows = Array.from({ length: b }, () => (duplicate ? first : row()));
          tf.tidy(() => {
            const x = tf.tensor2d(rows, [b, c]);
            const opts = { normalize, temperature } as const;
            const g = classCorrelation(x, opts);
            const grad = tf.grad((v: tf.Tensor) =>
              tf.sum(tf.mul(classCorrelation(v as tf.Tensor2D, opts), tf.eye(c))),
            )(x);
            expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
            expect(Array.from(grad.dataSync()).every(Number.isFinite)).toBe(true);
          });
        },
      ),
      { numRuns: 40, seed: 42 },
    );
  });
});
