import { BACKENDS, usePlainBackend } from '@relkd/testing/plain';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeakStrict } from '../testUtils';
import { connectedZero } from './connectedZero';

describe.each(BACKENDS)('connectedZero on %s', (backend) => {
  beforeAll(() => usePlainBackend(backend));

  it('is a zero scalar whose gradient is zero (tf.grad does not throw)', () => {
    const x = tf.tensor2d([
      [1, -2, 3],
      [1e4, 0, -1e4],
    ]);
    const z = connectedZero(x);
    expect(z.shape).toEqual([]);
    expect(z.dataSync()[0]).toBe(0);
    const g = tf.grad((v) => connectedZero(v))(x);
    expect(g.shape).toEqual([2, 3]);
    expect(Array.from(g.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    tf.dispose([x, z, g]);
  });

  it('keeps a sum with other parts differentiable', () => {
    const x = tf.tensor1d([1, 2]);
    const g = tf.grad((v) => tf.add(tf.sum(tf.square(v)), connectedZero(v)))(x);
    expect(Array.from(g.dataSync())).toEqual([2, 4]);
    tf.dispose([x, g]);
  });

  it('leaks no tensor', () => {
    const x = tf.ones([3, 2]);
    expectNoLeakStrict(() => connectedZero(x));
    x.dispose();
  });
});
