import { BACKENDS, expectRelkdError, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ClassCorrelationTracker } from './ClassCorrelationTracker';
import { iccLoss } from './iccLoss';
import { iccStudentLoss } from './iccStudentLoss';
import { teacherRegularizer } from './teacherRegularizer';

const BAD = { validate: 'everything' as never };

describe.each(BACKENDS)('validate option and one-class tracker on %s', (backend) => {
  beforeAll(() => useTestBackend(backend));

  it('an unknown `validate` mode is INVALID_OPTION everywhere, leaking nothing', () => {
    const s = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const y = tf.tensor1d([0, 1], 'int32');
    const tracker = new ClassCorrelationTracker({ numClasses: 2 });
    const before = tf.memory().numTensors;
    expectRelkdError(() => iccLoss(s, s, BAD), 'INVALID_OPTION');
    expectRelkdError(
      () => iccStudentLoss({ student: s, teacher: s, labels: y }, BAD),
      'INVALID_OPTION',
    );
    expectRelkdError(
      () => teacherRegularizer({ logits: s, labels: y, tracker }, BAD),
      'INVALID_OPTION',
    );
    expectRelkdError(() => tracker.accumulate(s, y, BAD), 'INVALID_OPTION');
    expectRelkdError(() => tracker.targets(y, BAD), 'INVALID_OPTION');
    expect(tf.memory().numTensors).toBe(before);
    tracker.dispose();
    tf.dispose([s, y]);
  });

  it('a one-class tracker works (tf.oneHot refuses depth 1; core oneHotFloat does not)', () => {
    const tracker = new ClassCorrelationTracker({ numClasses: 1 });
    const z = tf.tensor2d([[3], [-1]]);
    const y = tf.tensor1d([0, 0], 'int32');
    tracker.accumulate(z, y);
    tracker.endEpoch();
    const a = tracker.targets(y);
    expect(a.arraySync()).toEqual([[1], [1]]);
    tf.dispose([z, y, a]);
    tracker.dispose();
  });
});
