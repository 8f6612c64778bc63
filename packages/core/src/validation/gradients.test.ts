// Runs in its own module graph (Vitest isolates test files): tfjs-core with a backend but WITHOUT
// @relkd/backend, so no gradient functions are registered. Recording a gradient through a relkd
// loss must then fail with GRADIENTS_NOT_REGISTERED, not with tfjs's cryptic message.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { RelkdError } from '../errors/RelkdError';
import { crossEntropy } from '../losses/crossEntropy';
import { kdLoss } from '../losses/kdLoss';

describe('without registered gradients', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('tfjs-core alone registers no gradients (precondition of this file)', () => {
    expect(tf.getGradient('Multiply')).toBeUndefined();
  });

  it('forward passes work; tf.grad through a loss throws GRADIENTS_NOT_REGISTERED', () => {
    const s = tf.tensor2d([[1, 2, 3]]);
    const t = tf.tensor2d([[3, 2, 1]]);
    expect(kdLoss(s, t).dataSync()[0]).toBeGreaterThan(0);
    const before = tf.memory().numTensors;
    for (const f of [(x: tf.Tensor) => kdLoss(x, t), (x: tf.Tensor) => crossEntropy(x, [0])]) {
      let caught: unknown;
      try {
        tf.grad(f)(s);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(RelkdError);
      expect((caught as RelkdError).code).toBe('GRADIENTS_NOT_REGISTERED');
      expect((caught as RelkdError).message).toMatch(/useBackend/);
    }
    expect(tf.memory().numTensors).toBe(before);
    // a failed tf.grad leaves no recording state behind: plain calls still work
    expect(crossEntropy(s, [2]).dataSync()[0]).toBeGreaterThan(0);
  });
});
