import { BACKENDS, expectClose, expectRelkdError, usePlainBackend } from '@relkd/testing/plain';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeakStrict, seededNormal } from '../testUtils';
import { crossEntropy } from './crossEntropy';
import { kdLoss } from './kdLoss';
import { weightedSum } from './weightedSum';

describe.each(BACKENDS)('weightedSum on %s', (backend) => {
  const pre: Record<string, tf.Scalar> = {};
  beforeAll(async () => {
    await usePlainBackend(backend);
    const gone = tf.scalar(1);
    gone.dispose();
    Object.assign(pre, {
      a: tf.scalar(2),
      b: tf.scalar(-3),
      c: tf.scalar(0.5),
      v: tf.tensor1d([1, 2]) as unknown as tf.Scalar,
      i: tf.scalar(1, 'int32'),
      gone,
    });
  });

  it('total = Σ weight·part, parts returned unweighted and as given', () => {
    const out = weightedSum({ a: pre.a!, b: pre.b!, c: pre.c! }, { a: 0.25, b: 2 });
    expectClose(out.total, 0.25 * 2 + 2 * -3 + 1 * 0.5);
    expect(out.a).toBe(pre.a);
    expect(out.b).toBe(pre.b);
    expect(out.c).toBe(pre.c);
    expect(Object.keys(out).sort()).toEqual(['a', 'b', 'c', 'total']);
    expectClose(weightedSum({ a: pre.a! }).total, 2);
    expectClose(weightedSum({ a: pre.a!, b: pre.b! }, { a: 0, b: -1 }).total, 3);
  });

  it('differentiates through the total with the weights', () => {
    const s = seededNormal([3, 4], 41);
    const t = seededNormal([3, 4], 42);
    const y = [0, 1, 3];
    const g = tf.grad(
      (x: tf.Tensor) =>
        weightedSum({ ce: crossEntropy(x, y), kd: kdLoss(x, t) }, { ce: 0.1, kd: 0.9 }).total,
    )(s);
    const gce = tf.grad((x: tf.Tensor) => crossEntropy(x, y))(s);
    const gkd = tf.grad((x: tf.Tensor) => kdLoss(x, t))(s);
    expectClose(g, tf.add(tf.mul(gce, 0.1), tf.mul(gkd, 0.9)), { rtol: 1e-5, atol: 1e-7 });
  });

  it('allocates only the total', () => {
    expectNoLeakStrict(() => weightedSum({ a: pre.a!, b: pre.b! }, { a: 3 }).total);
  });

  it.each<[string, () => unknown, 'INVALID_OPTION' | 'DTYPE_MISMATCH']>([
    ['no parts', () => weightedSum({}), 'INVALID_OPTION'],
    ['unknown weight key', () => weightedSum({ a: pre.a! }, { b: 1 } as never), 'INVALID_OPTION'],
    [
      'inherited key as weight',
      () => weightedSum({ a: pre.a! }, { toString: 1 } as never),
      'INVALID_OPTION',
    ],
    ['NaN weight', () => weightedSum({ a: pre.a! }, { a: Number.NaN }), 'INVALID_OPTION'],
    ['Infinity weight', () => weightedSum({ a: pre.a! }, { a: Infinity }), 'INVALID_OPTION'],
    ['string weight', () => weightedSum({ a: pre.a! }, { a: '1' as never }), 'INVALID_OPTION'],
    ['non-scalar part', () => weightedSum({ a: pre.v! }), 'INVALID_OPTION'],
    ['number part', () => weightedSum({ a: 1 as never }), 'INVALID_OPTION'],
    ['disposed part', () => weightedSum({ a: pre.gone! }), 'INVALID_OPTION'],
    [
      'part named total',
      () => weightedSum({ total: pre.a!, b: pre.b! } as never),
      'INVALID_OPTION',
    ],
    ['int32 part', () => weightedSum({ a: pre.i! }), 'DTYPE_MISMATCH'],
  ])('%s throws a RelkdError and leaks nothing', (_, fn, code) => {
    expectRelkdError(fn, code);
  });
});
