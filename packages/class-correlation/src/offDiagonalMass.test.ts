import {
  BACKENDS,
  expectClose,
  expectNoLeak,
  expectRelkdError,
  loadFixture,
  useTestBackend,
} from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ClassCorrelationTracker, classCorrelation, offDiagonalMass } from './index';

interface OffDiagonalFixture {
  cases: { name: string; matrix: number[][]; value: number }[];
}
const fixture = loadFixture<OffDiagonalFixture>(import.meta.url, 'off_diagonal');

describe.each(BACKENDS)('offDiagonalMass on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it.each(fixture.cases)('matches the float64 reference ($name)', (c) => {
    const m = tf.tensor2d(c.matrix);
    const v = offDiagonalMass(m);
    expect(v.shape).toEqual([]);
    expectClose(v, c.value, { atol: 1e-7, label: c.name });
    tf.dispose([m, v]);
  });

  it('grows with the correlation temperature and does not depend on the normalisation', () => {
    const z = tf.tensor2d([
      [6, 1, 0, -1],
      [0, 5, 1, 0],
      [1, 0, 7, 2],
      [0, 1, 2, 6],
      [5, 2, 0, 0],
    ]);
    const share = (tau: number, normalize: 'batch' | 'frobenius' | 'none') =>
      tf.tidy(() =>
        offDiagonalMass(classCorrelation(z, { temperature: tau, normalize })).arraySync(),
      );
    const s1 = share(1, 'batch');
    const s4 = share(4, 'batch');
    expect(s4).toBeGreaterThan(s1);
    expect(share(4, 'none')).toBeCloseTo(s4, 5);
    expect(share(4, 'frobenius')).toBeCloseTo(s4, 5);
    z.dispose();
  });

  it('is 0 for a fresh tracker (A = I) and 1 − trace(A)/C for a row-stochastic A', () => {
    const tracker = new ClassCorrelationTracker({ numClasses: 3 });
    const a = tracker.matrix();
    const v = offDiagonalMass(a);
    expectClose(v, 0, { atol: 0 });
    const logits = tf.tensor2d([
      [3, 1, 0],
      [0, 4, 2],
      [1, 0, 2],
    ]);
    tracker.accumulate(logits, [0, 1, 2]);
    tracker.endEpoch();
    const a2 = tracker.matrix();
    const v2 = offDiagonalMass(a2);
    const expected = tf.tidy(() => tf.sub(1, tf.div(tf.sum(tf.mul(a2, tf.eye(3))), 3)));
    expectClose(v2, expected, { atol: 1e-6 });
    expect(v2.arraySync()).toBeGreaterThan(0);
    tf.dispose([a, v, logits, a2, v2, expected]);
    tracker.dispose();
  });

  it('leaks nothing (also when throwing) and rejects bad inputs with RelkdError codes', () => {
    const m = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    expectNoLeak(() => offDiagonalMass(m));
    const rect = tf.zeros([2, 3]);
    const r3 = tf.zeros([2, 2, 2]);
    const int = tf.tensor2d([[1]], [1, 1], 'int32');
    const empty = tf.zeros([0, 0]) as tf.Tensor2D;
    expectRelkdError(() => offDiagonalMass(rect), 'SHAPE_MISMATCH');
    expectRelkdError(() => offDiagonalMass(r3), 'RANK_MISMATCH');
    expectRelkdError(() => offDiagonalMass(int), 'DTYPE_MISMATCH');
    expectRelkdError(() => offDiagonalMass(empty), 'EMPTY_BATCH');
    tf.dispose([m, rect, r3, int, empty]);
  });

  it('property: in [0, 1] and scale-free for non-negative matrices', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.infiniteStream(fc.double({ min: 0, max: 1e4, noNaN: true })),
        fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
        (c, stream, scale) => {
          const it = stream[Symbol.iterator]();
          const rows = Array.from({ length: c }, () =>
            Array.from({ length: c }, () => Math.fround(it.next().value as number)),
          );
          tf.tidy(() => {
            const m = tf.tensor2d(rows);
            const v = offDiagonalMass(m).arraySync();
            expect(v).toBeGreaterThanOrEqual(-1e-6);
            expect(v).toBeLessThanOrEqual(1 + 1e-6);
            expect(offDiagonalMass(tf.mul(m, scale) as tf.Tensor2D).arraySync()).toBeCloseTo(v, 4);
          });
        },
      ),
      { numRuns: 30, seed: 15 },
    );
  });
});
