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
import { iccLoss } from './index';

type Normalize = 'frobenius' | 'batch' | 'none';
interface IccFixture {
  student: number[][];
  teacher: number[][];
  cases: { temperature: number; normalize: Normalize; value: number; grad: number[][] }[];
}
const fixture = loadFixture<IccFixture>(import.meta.url, 'icc_loss');
const NORMS: Normalize[] = ['frobenius', 'batch', 'none'];

const scalar = (t: tf.Tensor): number => {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
};

describe.each(BACKENDS)('iccLoss on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it.each(
    fixture.cases,
  )('matches the float64 reference ($normalize, τ = $temperature), value and gradient', (c) => {
    const s = tf.tensor2d(fixture.student);
    const t = tf.tensor2d(fixture.teacher);
    const opts = { temperature: c.temperature, normalize: c.normalize };
    expectClose(iccLoss(s, t, opts), c.value, { rtol: 1e-5, atol: 1e-9 });
    const [gs, gt] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      iccLoss(a as tf.Tensor2D, b as tf.Tensor2D, opts),
    )([s, t]);
    expectClose(gs!, c.grad, { rtol: 1e-3, atol: 1e-7, label: 'student gradient' });
    // no teacher gradient
    expectClose(gt!, tf.zerosLike(t), { atol: 0, rtol: 0, label: 'teacher gradient' });
    tf.dispose([s, t, gs!, gt!]);
  });

  it('defaults are τ = 1 and the Frobenius normalisation; arrays are accepted', () => {
    const ref = fixture.cases.find((c) => c.temperature === 1 && c.normalize === 'frobenius')!;
    expectClose(iccLoss(fixture.student, fixture.teacher), ref.value);
  });

  it('finite differences agree with autodiff', () => {
    for (const normalize of NORMS) {
      const s = tf.randomNormal([5, 4], 0, 2, 'float32', 21);
      const t = tf.randomNormal([5, 4], 0, 2, 'float32', 22);
      const v = tf.randomNormal([5, 4], 0, 1, 'float32', 23);
      const f = (x: tf.Tensor) => iccLoss(x as tf.Tensor2D, t, { normalize, temperature: 2 });
      const g = tf.grad(f)(s);
      const analytic = scalar(tf.sum(tf.mul(g, v)));
      const numeric = fdDirectional(f, s, v, 1e-2);
      expect(Math.abs(analytic - numeric), normalize).toBeLessThan(2e-2 * Math.abs(numeric) + 2e-4);
      tf.dispose([s, t, v, g]);
    }
  });

  describe('properties', () => {
    it('is zero with a zero gradient for identical logits', () => {
      const z = tf.randomNormal([6, 5], 0, 3, 'float32', 31);
      for (const normalize of NORMS) {
        expectClose(iccLoss(z, z, { normalize }), 0, { atol: 1e-7 });
        const g = tf.grad((x: tf.Tensor) => iccLoss(x as tf.Tensor2D, z, { normalize }))(z);
        expectClose(g, tf.zerosLike(z), { atol: 1e-6 });
        g.dispose();
      }
      z.dispose();
    });

    it('the Frobenius form lies in [0, 2]; it reaches 2 only for disjoint supports', () => {
      const a = tf.tensor2d([
        [100, 0, 0, 0],
        [100, 0, 0, 0],
      ]);
      const b = tf.tensor2d([
        [0, 0, 100, 0],
        [0, 0, 0, 100],
      ]);
      expectClose(iccLoss(a, b), 2, { rtol: 1e-5 });
      const s = tf.randomNormal([5, 6], 0, 5, 'float32', 32);
      const t = tf.randomNormal([5, 6], 0, 5, 'float32', 33);
      const v = scalar(iccLoss(s, t));
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThanOrEqual(2);
      tf.dispose([a, b, s, t]);
    });

    it('is invariant to a common permutation of the batch rows', () => {
      const s = tf.randomNormal([6, 4], 0, 2, 'float32', 34);
      const t = tf.randomNormal([6, 4], 0, 2, 'float32', 35);
      const perm = tf.tensor1d([5, 2, 0, 4, 1, 3], 'int32');
      for (const normalize of NORMS) {
        expectClose(
          iccLoss(tf.gather(s, perm), tf.gather(t, perm), { normalize }),
          iccLoss(s, t, { normalize }),
          {
            rtol: 1e-5,
            atol: 1e-8,
          },
        );
      }
      // the correlation is a batch statistic: each side may even be permuted on its own
      expectClose(iccLoss(tf.gather(s, perm), t), iccLoss(s, t), { rtol: 1e-5, atol: 1e-8 });
      tf.dispose([s, t, perm]);
    });

    it('is invariant to per-row shifts of either side', () => {
      const s = tf.randomNormal([4, 5], 0, 2, 'float32', 36);
      const t = tf.randomNormal([4, 5], 0, 2, 'float32', 37);
      const shift = tf.tensor2d([[10], [-3], [0.25], [-50]]);
      expectClose(iccLoss(tf.add(s, shift), tf.sub(t, shift)), iccLoss(s, t), {
        rtol: 1e-4,
        atol: 1e-7,
      });
      tf.dispose([s, t, shift]);
    });

    it('is invariant to a common class permutation', () => {
      const s = tf.randomNormal([5, 4], 0, 2, 'float32', 38);
      const t = tf.randomNormal([5, 4], 0, 2, 'float32', 39);
      const pi = tf.cast(tf.oneHot(tf.tensor1d([3, 1, 0, 2], 'int32'), 4), 'float32');
      for (const normalize of NORMS) {
        expectClose(
          iccLoss(tf.matMul(s, pi, false, true), tf.matMul(t, pi, false, true), {
            normalize,
            temperature: 2,
          }),
          iccLoss(s, t, { normalize, temperature: 2 }),
          { rtol: 1e-5, atol: 1e-8 },
        );
      }
      tf.dispose([s, t, pi]);
    });

    it("'batch' and 'none' differ by the factor B²", () => {
      const s = tf.randomNormal([6, 4], 0, 2, 'float32', 40);
      const t = tf.randomNormal([6, 4], 0, 2, 'float32', 41);
      expectClose(
        tf.mul(iccLoss(s, t, { normalize: 'batch' }), 36),
        iccLoss(s, t, { normalize: 'none' }),
        {
          rtol: 1e-5,
        },
      );
      tf.dispose([s, t]);
    });
  });

  it('leaks no tensor (also with gradients and when throwing)', () => {
    const s = tf.randomNormal([4, 3]);
    const t = tf.randomNormal([4, 3]);
    const wrong = tf.randomNormal([4, 2]);
    for (const normalize of NORMS) expectNoLeak(() => iccLoss(s, t, { normalize }));
    expectNoLeak(() =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) => iccLoss(a as tf.Tensor2D, b as tf.Tensor2D))([s, t]),
    );
    expectNoLeak(() => iccLoss(s, wrong));
    expectNoLeak(() => iccLoss([[1, 2]], [[1, 2, 3]]));
    tf.dispose([s, t, wrong]);
  });

  it('rejects bad inputs with RelkdError codes', () => {
    const s = tf.randomNormal([4, 3]);
    const wrong = tf.randomNormal([4, 2]);
    const nan = tf.tensor2d([[Number.NaN, 1, 2]]);
    expectRelkdError(() => iccLoss(s, wrong), 'SHAPE_MISMATCH');
    expectRelkdError(() => iccLoss(s, [1, 2, 3]), 'RANK_MISMATCH');
    expectRelkdError(() => iccLoss(s, s, { temperature: -1 }), 'INVALID_OPTION');
    expectRelkdError(() => iccLoss(s, s, { normalize: 'Frobenius' as never }), 'INVALID_OPTION');
    expectRelkdError(() => iccLoss(nan, nan, { validate: 'full' }), 'NON_FINITE');
    tf.dispose([s, wrong, nan]);
  });

  it('property: finite values and gradients for extreme, constant and duplicate rows', () => {
    const logit = fc.oneof(
      fc.double({ min: -1e4, max: 1e4, noNaN: true }),
      fc.constantFrom(0, 1e4, -1e4, 3),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom<Normalize>('frobenius', 'batch', 'none'),
        fc.constantFrom(0.5, 1, 4),
        fc.constantFrom('random', 'duplicate', 'constant', 'same'),
        fc.infiniteStream(logit),
        (b, c, normalize, temperature, shape, stream) => {
          const it = stream[Symbol.iterator]();
          const row = () => Array.from({ length: c }, () => Math.fround(it.next().value as number));
          const first = row();
          const make = () =>
            Array.from({ length: b }, () =>
              shape === 'duplicate'
                ? first
                : shape === 'constant'
                  ? first.map(() => first[0]!)
                  : row(),
            );
          const sRows = make();
          const tRows = shape === 'same' ? sRows : make();
          tf.tidy(() => {
            const s = tf.tensor2d(sRows, [b, c]);
            const t = tf.tensor2d(tRows, [b, c]);
            const opts = { normalize, temperature };
            const v = iccLoss(s, t, opts).dataSync()[0]!;
            const g = tf.grad((x: tf.Tensor) => iccLoss(x as tf.Tensor2D, t, opts))(s);
            expect(Number.isFinite(v)).toBe(true);
            expect(v).toBeGreaterThanOrEqual(0);
            if (normalize === 'frobenius') expect(v).toBeLessThanOrEqual(2 + 1e-5);
            expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
          });
        },
      ),
      { numRuns: 40, seed: 7 },
    );
  });
});
