import { RelkdError } from '@relkd/core';
import { BACKENDS, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildStageModules,
  FIT_STAGE_HEADS_DEFAULTS,
  fitStageHeads,
  resolveFitStageHeadsOptions,
  type StageShape,
} from './index';

const STAGES: StageShape[] = [
  [4, 4, 2],
  [2, 2, 4],
];
const N = 48;

/** Stage-0 features whose channel means tell the class (C = 3), plus noise. */
function data(seed: number) {
  return tf.tidy(() => {
    const y = tf.tensor1d(
      Array.from({ length: N }, (_, i) => i % 3),
      'int32',
    );
    const signal = tf.reshape(tf.slice(tf.oneHot(y, 3), [0, 0], [N, 2]), [N, 1, 1, 2]);
    const x = tf.add(tf.mul(signal, 2), tf.randomNormal([N, 4, 4, 2], 0, 0.5, 'float32', seed));
    return { x, y };
  });
}

function heads(seed = 1) {
  return buildStageModules({
    studentStages: STAGES,
    teacherStages: STAGES,
    numClasses: 3,
    seed,
    teacherHeads: true,
  });
}

const values = (ts: tf.Tensor[]) => {
  const out = ts.map((t) => Array.from(t.dataSync()));
  tf.dispose(ts);
  return out;
};

describe('resolveFitStageHeadsOptions (no tensors)', () => {
  it('fills the defaults and rejects bad or unknown options with INVALID_OPTION', () => {
    expect(resolveFitStageHeadsOptions()).toEqual(FIT_STAGE_HEADS_DEFAULTS);
    expect(resolveFitStageHeadsOptions({ epochs: 2, maxSteps: undefined } as never).epochs).toBe(2);
    for (const bad of [
      { epochs: 0 },
      { epochs: 1.5 },
      { batchSize: 0 },
      { learningRate: 0 },
      { learningRate: Number.NaN },
      { maxSteps: 0 },
      { seed: 0.5 },
      { epoch: 3 },
    ]) {
      expect(() => resolveFitStageHeadsOptions(bad as never), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTION' }),
      );
    }
  });
});

describe.each(BACKENDS)('fitStageHeads on %s', (backend) => {
  beforeAll(() => useTestBackend(backend));

  it('fits the heads with CE on frozen features: accuracy rises, only head variables change, nothing leaks', async () => {
    const built = heads();
    const h = built.teacher!;
    const { x, y } = data(5);
    let calls = 0;
    const features = (xb: tf.Tensor) => {
      calls++;
      return [tf.clone(xb)];
    };
    const before = tf.memory().numTensors;
    const untrained = await fitStageHeads(h, { x, y }, features, { epochs: 1, maxSteps: 1 });
    expect(untrained.steps).toBe(1);
    const r = await fitStageHeads(h, { x, y }, features, {
      epochs: 6,
      batchSize: 16,
      learningRate: 0.02,
      seed: 3,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.steps).toBe(18);
    expect(r.accuracy).toHaveLength(1);
    expect(r.accuracy[0]!).toBeGreaterThan(Math.max(0.7, untrained.accuracy[0]!));
    expect(r.loss[0]!).toBeLessThan(untrained.loss[0]!);
    // The reported accuracy is the inference-mode accuracy on the data.
    const acc = tf.tidy(() => {
      const z = h.apply([x], { training: false })[0]!;
      return tf.mean(tf.cast(tf.equal(tf.argMax(z, 1), y), 'float32'));
    });
    expect(r.accuracy[0]!).toBeCloseTo(acc.dataSync()[0]!, 6);
    expect(calls).toBe(1 + 1 + 18 + 3); // steps + evaluation batches of both calls
    // The student's modules (same seed, untouched) were not changed.
    const fresh = heads();
    expect(values(built.student.getWeights())).toEqual(values(fresh.student.getWeights()));
    fresh.dispose();
    tf.dispose([acc, x, y]);
    built.dispose();
  });

  it('is deterministic for a seed', async () => {
    const { x, y } = data(7);
    const run = async (seed: number) => {
      const b = heads();
      await fitStageHeads(b.teacher!, { x, y }, (xb) => [tf.clone(xb)], {
        epochs: 1,
        batchSize: 8,
        seed,
      });
      const w = values(b.teacher!.getWeights());
      b.dispose();
      return w;
    };
    const a = await run(1);
    expect(await run(1)).toEqual(a);
    expect(await run(2)).not.toEqual(a);
    tf.dispose([x, y]);
  });

  it('rejects bad data with a RelkdError and leaks nothing', async () => {
    const b = heads();
    const { x, y } = data(9);
    const short = tf.slice(y, 0, 4);
    const before = tf.memory().numTensors;
    const f = (xb: tf.Tensor) => [tf.clone(xb)];
    await expect(fitStageHeads(b.teacher!, { x, y: short }, f)).rejects.toMatchObject({
      code: 'SHAPE_MISMATCH',
    });
    await expect(fitStageHeads(b.teacher!, { x } as never, f)).rejects.toBeInstanceOf(RelkdError);
    await expect(fitStageHeads(b.teacher!, { x, y }, f, { epochs: -1 })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y, short]);
    b.dispose();
  });
});
