import * as tf from '@tensorflow/tfjs-core';
import { BACKENDS, expectClose, useTestBackend } from '@relkd/testing';
import { beforeAll, describe, it } from 'vitest';
import { kdLoss } from './index';

describe.each(BACKENDS)('smoke on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });
  it('kdLoss of equal logits is 0 and has a gradient', () => {
    const s = tf.tensor2d([[1, 2, 3]]);
    expectClose(kdLoss(s, s), 0, { atol: 1e-6 });
    const g = tf.grad((x: tf.Tensor) => kdLoss(x as tf.Tensor2D, tf.tensor2d([[3, 2, 1]])))(s);
    expectClose(tf.sum(g), 0, { atol: 1e-5 });
  });
});
