import { BACKENDS, expectRelkdError, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { mtkdLoss } from './mtkdLoss';

describe.each(BACKENDS)('mtkdLoss validate option on %s', (backend) => {
  beforeAll(() => useTestBackend(backend));

  it('an unknown `validate` mode is INVALID_OPTION, thrown before any tensor is made', () => {
    const z = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const y = tf.tensor1d([0, 1], 'int32');
    const before = tf.memory().numTensors;
    const inputs = { studentStageLogits: [z], teacherStageLogits: [z], labels: y };
    expectRelkdError(() => mtkdLoss(inputs, { validate: 'all' as never }), 'INVALID_OPTION');
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(mtkdLoss(inputs, { validate: 'full' }));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([z, y]);
  });
});
