import { Rng } from '@relkd/core';
import { BACKENDS, expectNoLeak, expectRelkdError, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { tripletIndices } from './tripletIndices';

function read(t: ReturnType<typeof tripletIndices>) {
  const out = {
    anchor: Array.from(t.anchor.dataSync()),
    positive: Array.from(t.positive.dataSync()),
    negative: Array.from(t.negative.dataSync()),
    negativeLabels: Array.from(t.negativeLabels.dataSync()),
    dtypes: [t.anchor.dtype, t.positive.dtype, t.negative.dtype, t.negativeLabels.dtype],
  };
  tf.dispose(t);
  return out;
}

/** Checks every triplet invariant for `labels`. */
function checkTriplets(labels: number[], r: ReturnType<typeof read>): void {
  const count = new Map<number, number>();
  for (const y of labels) count.set(y, (count.get(y) ?? 0) + 1);
  expect(r.dtypes).toEqual(['int32', 'int32', 'int32', 'int32']);
  expect(r.anchor).toEqual(labels.map((_, i) => i));
  labels.forEach((y, i) => {
    const p = r.positive[i]!;
    const n = r.negative[i]!;
    expect(labels[p]).toBe(y);
    if (count.get(y)! > 1) expect(p).not.toBe(i);
    else expect(p).toBe(i);
    expect(labels[n]).not.toBe(y);
    expect(r.negativeLabels[i]).toBe(labels[n]);
  });
}

describe.each(BACKENDS)('tripletIndices on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it('draws same-class positives (the anchor itself only for a singleton class) and other-class negatives', () => {
    const labels = [0, 0, 1, 2, 1, 0, 3];
    checkTriplets(labels, read(tripletIndices(labels, { seed: 3 })));
    checkTriplets(labels, read(tripletIndices(tf.tensor1d(labels, 'int32'), { seed: 3 })));
    checkTriplets(labels, read(tripletIndices(Int32Array.from(labels), { seed: 3 })));
  });

  it('is deterministic for a seed, identical for tensor and array labels, and varies with the seed', () => {
    const labels = [4, 1, 4, 1, 2, 2, 0, 4];
    const a = read(tripletIndices(labels, { seed: 42 }));
    const b = read(tripletIndices(tf.tensor1d(labels, 'int32'), { seed: 42 }));
    expect(b).toEqual(a);
    const seeds = Array.from({ length: 6 }, (_, s) =>
      JSON.stringify(read(tripletIndices(labels, { seed: s }))),
    );
    expect(new Set(seeds).size).toBeGreaterThan(1);
    // an Rng stream continues across calls
    const rng = new Rng(42);
    const first = read(tripletIndices(labels, { rng }));
    expect(first).toEqual(a);
    const second = read(tripletIndices(labels, { rng }));
    expect(second).not.toEqual(first);
  });

  it('draws positives and negative classes uniformly', () => {
    // anchor 0 of class 0 has positives {1, 2}; other classes {1, 2} present with 1 and 3 samples
    const labels = [0, 0, 0, 1, 2, 2, 2];
    const rng = new Rng(1);
    const pos = new Map<number, number>();
    const negClass = new Map<number, number>();
    const negSample = new Map<number, number>();
    const n = 3000;
    for (let t = 0; t < n; t++) {
      const r = read(tripletIndices(labels, { rng }));
      pos.set(r.positive[0]!, (pos.get(r.positive[0]!) ?? 0) + 1);
      negClass.set(r.negativeLabels[0]!, (negClass.get(r.negativeLabels[0]!) ?? 0) + 1);
      if (r.negativeLabels[0] === 2)
        negSample.set(r.negative[0]!, (negSample.get(r.negative[0]!) ?? 0) + 1);
    }
    expect([...pos.keys()].sort()).toEqual([1, 2]);
    expect(Math.abs(pos.get(1)! / n - 0.5)).toBeLessThan(0.04);
    // the negative class is uniform over classes, not over samples (class 2 has 3 of 4 candidates)
    expect(Math.abs(negClass.get(1)! / n - 0.5)).toBeLessThan(0.04);
    const c2 = negClass.get(2)!;
    for (const j of [4, 5, 6]) expect(Math.abs(negSample.get(j)! / c2 - 1 / 3)).toBeLessThan(0.05);
  });

  it('leaks nothing beyond its four outputs, and nothing when throwing', () => {
    const labels = tf.tensor1d([0, 1, 1, 0], 'int32');
    expectNoLeak(() => tripletIndices(labels, { seed: 1 }));
    expectRelkdError(() => tripletIndices([1, 1, 1]), 'INVALID_OPTION');
    labels.dispose();
  });

  it('rejects bad inputs with RelkdErrors', () => {
    const one = tf.tensor1d([2, 2], 'int32');
    const float = tf.tensor1d([0, 1]);
    const matrix = tf.tensor2d([[0, 1]], [1, 2], 'int32');
    const empty = tf.tensor1d([], 'int32');
    const e = expectRelkdError(() => tripletIndices(one), 'INVALID_OPTION');
    expect(e.message).toMatch(/at least two classes/);
    expectRelkdError(() => tripletIndices([0]), 'INVALID_OPTION');
    expectRelkdError(() => tripletIndices(float), 'DTYPE_MISMATCH');
    expectRelkdError(() => tripletIndices(matrix), 'RANK_MISMATCH');
    expectRelkdError(() => tripletIndices([[0, 1]] as unknown as number[]), 'RANK_MISMATCH');
    expectRelkdError(() => tripletIndices(empty), 'EMPTY_BATCH');
    expectRelkdError(() => tripletIndices([]), 'EMPTY_BATCH');
    expectRelkdError(() => tripletIndices([0, -1]), 'LABEL_OUT_OF_RANGE');
    expectRelkdError(() => tripletIndices([0, 1.5]), 'LABEL_OUT_OF_RANGE');
    expectRelkdError(() => tripletIndices([0, 3], { numClasses: 3 }), 'LABEL_OUT_OF_RANGE');
    expectRelkdError(() => tripletIndices([0, 1], { seed: Number.NaN }), 'INVALID_OPTION');
    expectRelkdError(() => tripletIndices('01' as unknown as number[]), 'INVALID_OPTION');
    tf.dispose([one, float, matrix, empty]);
  });

  it('property: every triplet is valid for random label vectors', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 2, maxLength: 12 }),
        fc.integer(),
        (labels, seed) => {
          fc.pre(new Set(labels).size >= 2);
          checkTriplets(labels, read(tripletIndices(labels, { seed })));
        },
      ),
      { numRuns: 100, seed: 7 },
    );
  });
});
