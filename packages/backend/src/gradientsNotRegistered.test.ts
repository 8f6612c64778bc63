import { crossEntropy, isRelkdError } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { useBackend } from './useBackend';

// Vitest runs each test file in a fresh worker, and nothing in this file registers gradients
// before the first test (importing @relkd/backend has no side effects). The same check runs in a
// plain Node process in scripts/smoke.mjs / smoke.cjs (see plainNode.test.ts).
describe('gradients before and after useBackend', () => {
  const loss = (x: tf.Tensor) => crossEntropy(x as tf.Tensor2D, tf.tensor1d([0, 1], 'int32'));
  const x = () =>
    tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);

  it('before useBackend: a loss inside tf.grad throws GRADIENTS_NOT_REGISTERED, leaking nothing', async () => {
    await tf.setBackend('cpu');
    expect(tf.getGradient('Multiply')).toBeUndefined();
    const input = x();
    const before = tf.memory().numTensors;
    let error: unknown;
    try {
      tf.grad(loss)(input);
    } catch (e) {
      error = e;
    }
    expect(isRelkdError(error, 'GRADIENTS_NOT_REGISTERED')).toBe(true);
    expect((error as Error).message).toContain('useBackend');
    expect(tf.memory().numTensors).toBe(before);
    input.dispose();
  });

  it('after useBackend: the same gradient works', async () => {
    await useBackend('cpu');
    expect(tf.getGradient('Multiply')).toBeDefined();
    const g = tf.grad(loss)(x());
    expect(g.shape).toEqual([2, 2]);
    expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
  });
});
