import { BACKENDS, expectClose, usePlainBackend } from '@relkd/testing/plain';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { withoutGradient } from './withoutGradient';

describe.each(BACKENDS)('withoutGradient on %s', (backend) => {
  beforeAll(() => usePlainBackend(backend));

  it.each([
    {
      name: 'a comparison mask of two inputs (no gradient in tfjs)',
      fn: (a: tf.Tensor, b: tf.Tensor) => tf.cast(tf.less(a, b), 'float32'),
      value: [1, 0, 0],
    },
    {
      name: 'a differentiable expression, made constant',
      fn: (a: tf.Tensor, b: tf.Tensor) => tf.mul(a, b),
      value: [2, 4, 0],
    },
  ])('$name: value of fn, zero gradient for every input', ({ fn, value }) => {
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.tensor1d([2, 2, 0]);
    expectClose(withoutGradient([a, b], fn), value, { atol: 0 });
    const w = tf.tensor1d([1, 10, 100]);
    // d/da Σ (a + withoutGradient(...))·w = w: only the direct path has a gradient.
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.mul(tf.add(x, withoutGradient([x, y], fn)), w)),
    )([a, b]);
    expectClose(ga!, [1, 10, 100], { atol: 0 });
    expectClose(gb!, [0, 0, 0], { atol: 0 });
    tf.dispose([a, b, w, ga!, gb!]);
  });

  it('keeps int32 inputs (a permutation), records no kernel of fn, leaks nothing', () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const perm = tf.tensor1d([1, 0], 'int32');
    const before = tf.memory().numTensors;
    const g = tf.grad((a: tf.Tensor) =>
      tf.sum(
        tf.mul(
          a,
          withoutGradient([a, perm], (v, p) => tf.gather(v, p!, 0)),
        ),
      ),
    )(x);
    // gradient of Σ a·const = const = rows of x swapped
    expectClose(g, [3, 4, 1, 2], { atol: 0 });
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, perm]);
  });
});
