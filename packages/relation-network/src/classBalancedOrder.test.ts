import { expectRelkdError, useTestBackend } from '@relkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { classBalancedOrder } from './classBalancedOrder';

/** Labels with `counts[c]` images of class c, classes interleaved. */
function labelsOf(counts: number[]): number[] {
  const out: number[] = [];
  const left = [...counts];
  while (left.some((n) => n > 0)) {
    left.forEach((n, c) => {
      if (n > 0) {
        out.push(c);
        left[c] = n - 1;
      }
    });
  }
  return out;
}

function batches(order: Int32Array, size: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += size) out.push(Array.from(order.subarray(i, i + size)));
  return out;
}

function classCounts(batch: number[], labels: number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const i of batch) m.set(labels[i]!, (m.get(labels[i]!) ?? 0) + 1);
  return m;
}

// Plain JS (no tensors): the same on every backend, so no describe.each over backends.
describe('classBalancedOrder', () => {
  beforeAll(async () => {
    await useTestBackend('cpu'); // expectRelkdError's leak check reads tf.memory()
  });

  it('P × K batches: P distinct classes, K images each, every anchor has a positive and a negative', () => {
    const labels = labelsOf([30, 25, 40, 35, 20, 50]);
    const order = classBalancedOrder(labels, { batchSize: 12, samplesPerClass: 3, seed: 1 });
    expect(order.length).toBe(Math.ceil(labels.length / 12) * 12);
    for (const b of batches(order, 12)) {
      const counts = classCounts(b, labels);
      expect(counts.size).toBe(4);
      expect([...counts.values()].every((k) => k === 3)).toBe(true);
      expect(new Set(b).size).toBe(12); // no image twice: every class has >= 3 images
    }
  });

  it('spreads a batch size that is not a multiple of P (floor / ceil per class) and caps P at the classes present', () => {
    const labels = labelsOf([20, 20, 20]);
    // default K = 4 -> P = min(3, floor(14 / 4)) = 3, counts 5, 5, 4
    const order = classBalancedOrder(labels, { batchSize: 14, seed: 2 });
    for (const b of batches(order, 14)) {
      const counts = [...classCounts(b, labels).values()].sort();
      expect(counts).toEqual([4, 5, 5]);
    }
    const p2 = classBalancedOrder(labels, { batchSize: 7, classesPerBatch: 2, seed: 2 });
    for (const b of batches(p2, 7))
      expect([...classCounts(b, labels).values()].sort()).toEqual([3, 4]);
  });

  it('an epoch of balanced data uses every image exactly once when P = C', () => {
    const labels = labelsOf([10, 10, 10, 10]);
    const order = classBalancedOrder(labels, {
      batchSize: 8,
      classesPerBatch: 4,
      seed: 3,
      epoch: 5,
    });
    expect(order.length).toBe(40);
    expect([...order].sort((a, b) => a - b)).toEqual(labels.map((_, i) => i));
  });

  it('classes with fewer than K images repeat images (sampling with replacement)', () => {
    const labels = [0, 1, 1, 1, 1, 1, 1, 1, 1];
    const order = classBalancedOrder(labels, {
      batchSize: 8,
      classesPerBatch: 2,
      samplesPerClass: 4,
      numBatches: 3,
    });
    for (const b of batches(order, 8)) {
      expect(b.filter((i) => i === 0)).toHaveLength(4);
      expect(classCounts(b, labels).get(1)).toBe(4);
    }
  });

  it('classes are picked about equally often over an epoch', () => {
    const labels = labelsOf([50, 50, 50, 50, 50, 50, 50, 50, 50, 50]);
    const order = classBalancedOrder(labels, { batchSize: 8, samplesPerClass: 2, seed: 4 });
    const per = classCounts(Array.from(order), labels);
    // 63 batches × 4 classes = 252 picks of 10 classes through a refilled shuffled queue
    for (const n of per.values()) expect(Math.abs(n / 2 - 25.2)).toBeLessThanOrEqual(1);
  });

  it('is deterministic for (seed, epoch) and differs between epochs and seeds', () => {
    const labels = labelsOf([12, 12, 12]);
    const o = (seed: number, epoch: number) =>
      Array.from(classBalancedOrder(labels, { batchSize: 6, seed, epoch }));
    expect(o(1, 0)).toEqual(o(1, 0));
    expect(o(1, 1)).not.toEqual(o(1, 0));
    expect(o(2, 0)).not.toEqual(o(1, 0));
  });

  it('rejects bad options and labels with RelkdErrors', () => {
    const labels = labelsOf([4, 4, 4]);
    expectRelkdError(() => classBalancedOrder([1, 1, 1], { batchSize: 4 }), 'INVALID_OPTION');
    expectRelkdError(() => classBalancedOrder([], { batchSize: 4 }), 'EMPTY_BATCH');
    expectRelkdError(() => classBalancedOrder([0, -1], { batchSize: 4 }), 'LABEL_OUT_OF_RANGE');
    expectRelkdError(() => classBalancedOrder([0, 1.5], { batchSize: 4 }), 'LABEL_OUT_OF_RANGE');
    expectRelkdError(() => classBalancedOrder(labels, { batchSize: 1 }), 'INVALID_OPTION');
    expectRelkdError(
      () => classBalancedOrder(labels, { batchSize: 8, classesPerBatch: 4 }),
      'INVALID_OPTION',
    );
    expectRelkdError(
      () => classBalancedOrder(labels, { batchSize: 8, classesPerBatch: 2, samplesPerClass: 3 }),
      'INVALID_OPTION',
    );
    expectRelkdError(
      () => classBalancedOrder(labels, { batchSize: 5, classesPerBatch: 3 }),
      'INVALID_OPTION',
    );
    expectRelkdError(
      () => classBalancedOrder(labels, { batchSize: 8, samplesPerClass: 1 }),
      'INVALID_OPTION',
    );
    expectRelkdError(() => classBalancedOrder(labels, { batchSize: 3 }), 'INVALID_OPTION');
    expectRelkdError(
      () => classBalancedOrder(labels, { batchSize: 6, samplesPerClass: 4 }),
      'INVALID_OPTION',
    );
    // without an explicit K a small batch still gets two classes
    expect(classBalancedOrder(labels, { batchSize: 6 }).length).toBe(12);
    expectRelkdError(() => classBalancedOrder(labels, null as never), 'INVALID_OPTION');
  });
});
