import { BACKENDS, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ClassCorrelationTracker,
  classCorrelation,
  correlationHeatmap,
  iccLoss,
  iccStudentLoss,
  offDiagonalMass,
  teacherRegularizer,
} from './index';

/** Every computation of the package, at batch size `b` and `c` classes. */
function everything(b: number, c: number): void {
  const tracker = new ClassCorrelationTracker({ numClasses: c });
  tf.tidy(() => {
    const s = tf.randomNormal([b, c]) as tf.Tensor2D;
    const t = tf.randomNormal([b, c]) as tf.Tensor2D;
    const y = tf.zeros([b], 'int32') as tf.Tensor1D;
    classCorrelation(s, { normalize: 'frobenius' });
    iccLoss(s, t);
    iccStudentLoss({ student: s, teacher: t, labels: y });
    tracker.accumulate(t, y);
    tracker.endEpoch();
    teacherRegularizer({ logits: s, labels: y, tracker });
    teacherRegularizer({ logits: s, labels: y, tracker }, { kind: 'gram' });
    correlationHeatmap(classCorrelation(t), { hideDiagonal: true });
    offDiagonalMass(classCorrelation(t, { normalize: 'none' }));
    offDiagonalMass(tracker.matrix());
  });
  tracker.dispose();
}

describe.each(BACKENDS)('no CPU sync, fixed kernel count on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });
  afterAll(() => {
    vi.restoreAllMocks();
  });

  it('never reads tensor data back (validate: shapes)', () => {
    const spies = (['dataSync', 'arraySync', 'data', 'array', 'bufferSync', 'buffer'] as const).map(
      (m) => vi.spyOn(tf.Tensor.prototype, m),
    );
    everything(4, 3);
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    for (const spy of spies) spy.mockRestore();
  });

  it('dispatches the same number of kernels whatever B and C', async () => {
    const count = async (b: number, c: number) =>
      (await tf.profile(() => everything(b, c))).kernels.length;
    const base = await count(2, 3);
    expect(await count(16, 3)).toBe(base);
    expect(await count(2, 12)).toBe(base);
  });
});
