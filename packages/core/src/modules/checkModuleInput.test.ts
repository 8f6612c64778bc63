import { BACKENDS, expectRelkdError, usePlainBackend } from '@relkd/testing/plain';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchNorm } from './BatchNorm';
import { Conv2D } from './Conv2D';
import { checkModuleInput } from './checkInput';
import { Dense } from './Dense';
import { DepthwiseConv2D } from './DepthwiseConv2D';

describe.each(BACKENDS)('checkModuleInput on %s', (backend) => {
  beforeAll(() => usePlainBackend(backend));

  it('accepts a float32 tensor of the right rank and width', () => {
    const x = tf.zeros([2, 3, 3, 4]);
    expect(() => checkModuleInput(x, 4, 4, 'M', 'NHWC')).not.toThrow();
    x.dispose();
  });

  it('names the problem: not a tensor, disposed, dtype, rank, width', () => {
    const ints = tf.zeros([2, 4], 'int32');
    const flat = tf.zeros([2, 4]);
    const wide = tf.zeros([2, 5]);
    const gone = tf.zeros([2, 4]);
    gone.dispose();
    expectRelkdError(() => checkModuleInput([[1, 2]], 2, 2, 'M', '[B, C]'), 'INVALID_OPTION');
    expectRelkdError(() => checkModuleInput(gone, 2, 4, 'M', '[B, C]'), 'INVALID_OPTION');
    const e = expectRelkdError(() => checkModuleInput(ints, 2, 4, 'M', '[B, C]'), 'DTYPE_MISMATCH');
    expect(e.message).toContain('M input must be float32');
    expectRelkdError(() => checkModuleInput(flat, 4, 4, 'M', 'NHWC'), 'RANK_MISMATCH');
    expectRelkdError(() => checkModuleInput(wide, 2, 4, 'M', '[B, C]'), 'SHAPE_MISMATCH');
    tf.dispose([ints, flat, wide]);
  });

  it('the built-in modules reject int32 input with DTYPE_MISMATCH (not a tfjs kernel error)', () => {
    const modules = [
      new Dense({ inUnits: 2, outUnits: 3 }),
      new Conv2D({ inChannels: 2, outChannels: 3, kernelSize: 1 }),
      new DepthwiseConv2D({ channels: 2, kernelSize: 1 }),
      new BatchNorm({ channels: 2 }),
    ];
    const inputs = [tf.zeros([1, 2], 'int32'), tf.zeros([1, 2, 2, 2], 'int32')];
    for (const m of modules) {
      const x = m instanceof Dense ? inputs[0]! : inputs[1]!;
      const before = tf.memory().numTensors;
      expectRelkdError(() => m.apply(x), 'DTYPE_MISMATCH');
      expect(tf.memory().numTensors).toBe(before);
      m.dispose();
    }
    tf.dispose(inputs);
  });
});
