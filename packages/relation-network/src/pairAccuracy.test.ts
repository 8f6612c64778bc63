import { BACKENDS, expectClose, expectRelkdError, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CorsdStageInput } from './corsdLoss';
import { pairAccuracy } from './pairAccuracy';

function stage(pos: number[][]): CorsdStageInput {
  const b = pos.length;
  return {
    positive: { logits: pos, score: Array.from({ length: b }, () => [0.5]) },
    negative: { logits: pos, score: Array.from({ length: b }, () => [0.5]) },
  };
}

describe.each(BACKENDS)('pairAccuracy on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it('is the argmax accuracy of each stage on the positive pairs, shallow -> deepest', () => {
    const labels = [0, 1, 2, 1];
    const right = [
      [3, 0, 0],
      [0, 2, 1],
      [0, 0, 1],
      [-1, 5, 4],
    ];
    const half = [
      [3, 0, 0],
      [2, 0, 1],
      [0, 0, 1],
      [9, 5, 4],
    ];
    const accs = pairAccuracy([stage(half), stage(right)], tf.tensor1d(labels, 'int32'));
    expect(accs).toHaveLength(2);
    expectClose(accs[0]!, 0.5);
    expectClose(accs[1]!, 1);
    expect(accs[0]!.rank).toBe(0);
    tf.dispose(accs);
  });

  it('sends no gradient and leaks nothing', () => {
    const u = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const before = tf.memory().numTensors;
    const g = tf.grad((x: tf.Tensor) =>
      tf.add(tf.sum(tf.mul(x, 0)), pairAccuracy([stage(x.arraySync() as number[][])], [0, 1])[0]!),
    )(u);
    expectClose(g, [
      [0, 0],
      [0, 0],
    ]);
    g.dispose();
    tf.dispose(
      pairAccuracy(
        [
          {
            positive: { logits: u, score: [[0], [0]] },
            negative: { logits: u, score: [[0], [0]] },
          },
        ],
        [0, 1],
      ),
    );
    expect(tf.memory().numTensors).toBe(before);
    u.dispose();
  });

  it('rejects bad input with RelkdErrors, leaking nothing', () => {
    const before = tf.memory().numTensors;
    expectRelkdError(() => pairAccuracy([], [0]), 'INVALID_OPTION');
    expectRelkdError(() => pairAccuracy([stage([[1, 0]])], [0, 1]), 'SHAPE_MISMATCH');
    expectRelkdError(() => pairAccuracy([stage([[1, 0]])], [5], 'full'), 'LABEL_OUT_OF_RANGE');
    expectRelkdError(
      () =>
        pairAccuracy(
          [
            stage([[1, 0]]),
            stage([
              [1, 0],
              [0, 1],
            ]),
          ],
          [0],
        ),
      'SHAPE_MISMATCH',
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});
