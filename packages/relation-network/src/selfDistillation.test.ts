import { BatchNorm, Conv2D, crossEntropy, Dense, ReLU, Rng, Sequential } from '@relkd/core';
import { BACKENDS, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRelationNetworks, corsdLoss, relationStages, tripletIndices } from './index';

/** The self-distillation recipe of docs/methods/corsd.md, scaled down: one network, no teacher. */
describe.each(BACKENDS)('CORSD self distillation end to end on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it('trains a 3-stage backbone with its relation networks; the relation networks are training-only', () => {
    const block = (inC: number, outC: number, stride: number, seed: number) =>
      new Sequential([
        new Conv2D({
          inChannels: inC,
          outChannels: outC,
          kernelSize: 3,
          stride,
          padding: 1,
          useBias: false,
          seed,
        }),
        new BatchNorm({ channels: outC }),
        new ReLU(),
      ]);
    const stages = [block(1, 2, 1, 1), block(2, 4, 2, 2), block(4, 8, 2, 3)]; // 8² -> 8², 4², 2²
    const head = new Dense({ inUnits: 8, outUnits: 3, seed: 4 });
    const nets = buildRelationNetworks({
      stageShapes: [
        [8, 8, 2],
        [4, 4, 4],
        [2, 2, 8],
      ],
      numClasses: 3,
      seed: 5,
    });
    const modules = [...stages, head, ...nets];
    const vars = modules.flatMap((m) => m.trainableVariables);
    const optimizer = tf.train.momentum(0.05, 0.9);

    // a fixed toy batch: class-dependent blobs plus noise
    const rng = new Rng(0);
    const labels = Array.from({ length: 9 }, (_, i) => i % 3);
    const images = tf.tensor4d(
      labels.flatMap((y) =>
        Array.from(
          { length: 64 },
          (_, p) => (Math.floor(p / 8) % 3 === y ? 1 : 0) + 0.3 * rng.normal(),
        ),
      ),
      [9, 8, 8, 1],
    );

    const step = (i: number) => {
      const t = tripletIndices(labels, { seed: i });
      const cost = optimizer.minimize(
        () => {
          const feats: tf.Tensor[] = [];
          let h: tf.Tensor = images;
          for (const s of stages) {
            h = s.apply(h, { training: true });
            feats.push(h);
          }
          const logits = head.apply(tf.mean(h, [1, 2]), { training: true }) as tf.Tensor2D;
          const corsd = corsdLoss({
            stages: relationStages(nets, feats, t, { training: true }),
            anchorLabels: labels,
            negativeLabels: t.negativeLabels,
          });
          return tf.add(crossEntropy(logits, labels), corsd.total) as tf.Scalar;
        },
        true,
        vars,
      )!;
      tf.dispose(t);
      const v = cost.dataSync()[0]!;
      cost.dispose();
      return v;
    };

    const losses = [step(0)];
    const steady = tf.memory().numTensors; // optimizer state exists from the first step on
    for (let i = 1; i < 5; i++) losses.push(step(i));
    expect(tf.memory().numTensors, 'no tensor leaks per step').toBe(steady);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[4]!).toBeLessThan(losses[0]!);

    // inference uses the backbone only
    const pred = tf.tidy(() => {
      let h: tf.Tensor = images;
      for (const s of stages) h = s.apply(h);
      return head.apply(tf.mean(h, [1, 2]));
    });
    expect(pred.shape).toEqual([9, 3]);
    pred.dispose();
    images.dispose();
    optimizer.dispose();
    const live = tf.memory().numTensors;
    const owned = modules.reduce((n, m) => n + m.variables.length, 0);
    for (const m of modules) m.dispose();
    expect(tf.memory().numTensors).toBe(live - owned);
  });
});
