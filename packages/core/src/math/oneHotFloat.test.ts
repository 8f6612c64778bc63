import { BACKENDS, usePlainBackend } from '@relkd/testing/plain';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectEarlyError, expectNoLeakStrict } from '../testUtils';
import { oneHotFloat } from './oneHotFloat';

/** The expected one-hot rows, built in JS. */
function reference(labels: readonly number[], depth: number): number[][] {
  return labels.map((y) => Array.from({ length: depth }, (_, c) => (c === y ? 1 : 0)));
}

describe.each(BACKENDS)('oneHotFloat on %s', (backend) => {
  beforeAll(() => usePlainBackend(backend));

  it('gives float32 rows with exact 1 and 0', () => {
    const out = oneHotFloat(tf.tensor1d([0, 2, 1, 2], 'int32'), 3);
    expect(out.dtype).toBe('float32');
    expect(out.shape).toEqual([4, 3]);
    expect(out.arraySync()).toEqual(reference([0, 2, 1, 2], 3));
    out.dispose();
  });

  it('accepts depth 1 (tf.oneHot refuses it)', () => {
    const out = oneHotFloat(tf.tensor1d([0, 0, 0], 'int32'), 1);
    expect(out.arraySync()).toEqual([[1], [1], [1]]);
    out.dispose();
  });

  it('gives all-zero rows for labels outside [0, depth), like tf.oneHot', () => {
    const out = oneHotFloat(tf.tensor1d([-1, 3, 1], 'int32'), 3);
    expect(out.arraySync()).toEqual([
      [0, 0, 0],
      [0, 0, 0],
      [0, 1, 0],
    ]);
    out.dispose();
  });

  it('accepts a JS array of labels', () => {
    const out = oneHotFloat([1, 0], 2);
    expect(out.arraySync()).toEqual(reference([1, 0], 2));
    out.dispose();
  });

  it('asks the OneHot kernel for int32 only (its float32 output is wrong on tfjs-backend-wasm 4.22)', () => {
    const kernel = tf.getKernel('OneHot', tf.getBackend()) as { kernelFunc: tf.KernelFunc };
    const original = kernel.kernelFunc;
    const dtypes: string[] = [];
    kernel.kernelFunc = (args) => {
      dtypes.push(String((args.attrs as { dtype?: string }).dtype));
      return original(args);
    };
    const y = tf.tensor1d([0, 1, 3], 'int32');
    try {
      const out = oneHotFloat(y, 4);
      expect(out.dtype).toBe('float32');
      expect(Array.from(out.dataSync())).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
      out.dispose();
    } finally {
      kernel.kernelFunc = original;
      y.dispose();
    }
    expect(dtypes).toEqual(['int32']);
  });

  it('leaks no tensor', () => {
    const y = tf.tensor1d([0, 1, 1], 'int32');
    expectNoLeakStrict(() => oneHotFloat(y, 4));
    y.dispose();
  });

  it('rejects bad depth and labels before any kernel runs', async () => {
    const y = tf.tensor1d([0, 1], 'int32');
    const floatLabels = tf.tensor1d([0, 1]);
    const matrix = tf.tensor2d([[0, 1]], [1, 2], 'int32');
    await expectEarlyError(() => oneHotFloat(y, 0), 'INVALID_OPTION');
    await expectEarlyError(() => oneHotFloat(y, 2.5), 'INVALID_OPTION');
    await expectEarlyError(() => oneHotFloat(y, Number.NaN), 'INVALID_OPTION');
    await expectEarlyError(() => oneHotFloat(floatLabels, 2), 'DTYPE_MISMATCH');
    await expectEarlyError(() => oneHotFloat(matrix, 2), 'RANK_MISMATCH');
    await expectEarlyError(() => oneHotFloat(null as unknown as number[], 2), 'INVALID_OPTION');
    tf.dispose([y, floatLabels, matrix]);
  });

  it('matches the JS reference for random labels and depths', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 9 })
          .chain((depth) =>
            fc.tuple(
              fc.constant(depth),
              fc.array(fc.integer({ min: 0, max: depth - 1 }), { minLength: 1, maxLength: 8 }),
            ),
          ),
        ([depth, labels]) => {
          const out = oneHotFloat(tf.tensor1d(labels, 'int32'), depth);
          const ok = JSON.stringify(out.arraySync()) === JSON.stringify(reference(labels, depth));
          out.dispose();
          return ok;
        },
      ),
      { numRuns: 30 },
    );
  });
});
