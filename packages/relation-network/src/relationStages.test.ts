import { BACKENDS, expectClose, expectRelkdError, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRelationNetworks } from './buildRelationNetworks';
import { gatherPairs } from './gatherPairs';
import type { RelationPairOutput } from './RelationNetwork';
import { relationStages } from './relationStages';
import { tripletIndices } from './tripletIndices';

const SHAPES: Array<[number, number, number]> = [
  [6, 6, 2],
  [3, 3, 4],
];

function outputsOf(stages: RelationPairOutput[]): tf.Tensor[] {
  return stages.flatMap((s) => [
    s.positive.score,
    s.positive.logits,
    s.negative.score,
    s.negative.logits,
  ]);
}

describe.each(BACKENDS)('relationStages on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it('jointBatch: the one-step joint batch gives what applyPairs(gatherPairs(...), { jointBatch }) gives, values and gradients', () => {
    // Two identical sets of networks (same seed): one through relationStages' joint path, one
    // through the public per-stage composition it replaces.
    const a = buildRelationNetworks({ stageShapes: SHAPES, numClasses: 3, seed: 5 });
    const b = buildRelationNetworks({ stageShapes: SHAPES, numClasses: 3, seed: 5 });
    tf.tidy(() => {
      const labels = tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32');
      const t = tripletIndices(labels, { seed: 2, numClasses: 3 });
      const f1 = tf.randomNormal([8, ...SHAPES[0]!], 0, 1, 'float32', 1) as tf.Tensor4D;
      const f2 = tf.randomNormal([8, ...SHAPES[1]!], 0, 1, 'float32', 2) as tf.Tensor4D;
      const w = tf.randomNormal([8], 0, 1, 'float32', 3);
      // A loss that reads every output, so every gradient path is exercised.
      const loss = (outs: tf.Tensor[]) =>
        tf.addN(outs.map((o, i) => tf.sum(tf.mul(o, tf.slice(w, [i % 4], [1]))))) as tf.Scalar;
      const joint = (x1: tf.Tensor, x2: tf.Tensor) =>
        loss(
          outputsOf(
            relationStages(a, [x1 as tf.Tensor4D, x2 as tf.Tensor4D], t, {
              training: true,
              jointBatch: true,
            }),
          ),
        );
      const composed = (x1: tf.Tensor, x2: tf.Tensor) =>
        loss(
          [x1, x2].flatMap((x, k) =>
            outputsOf([
              b[k]!.applyPairs(gatherPairs(x as tf.Tensor4D, t), {
                training: true,
                jointBatch: true,
              }),
            ]),
          ),
        );
      const varsA = a.flatMap((n) => n.trainableVariables);
      const varsB = b.flatMap((n) => n.trainableVariables);
      const ga = tf.variableGrads(() => joint(f1, f2), varsA);
      const gb = tf.variableGrads(() => composed(f1, f2), varsB);
      expectClose(ga.value, gb.value.arraySync() as number, { rtol: 1e-6, atol: 1e-6 });
      varsA.forEach((v, i) => {
        expectClose(ga.grads[v.name]!, gb.grads[varsB[i]!.name]!, { rtol: 1e-5, atol: 1e-6 });
      });
      const [gf1a, gf2a] = tf.grads(joint)([f1, f2]);
      const [gf1b, gf2b] = tf.grads(composed)([f1, f2]);
      expectClose(gf1a!, gf1b!, { rtol: 1e-5, atol: 1e-6 });
      expectClose(gf2a!, gf2b!, { rtol: 1e-5, atol: 1e-6 });
    });
    for (const n of [...a, ...b]) n.dispose();
  });

  it('leaks nothing and still checks the jointBatch option', () => {
    const nets = buildRelationNetworks({ stageShapes: SHAPES, numClasses: 3, seed: 1 });
    const f1 = tf.randomNormal([4, ...SHAPES[0]!], 0, 1, 'float32', 4) as tf.Tensor4D;
    const f2 = tf.randomNormal([4, ...SHAPES[1]!], 0, 1, 'float32', 5) as tf.Tensor4D;
    const idx = { anchor: [0, 1, 2, 3], positive: [1, 0, 3, 2], negative: [2, 3, 0, 1] };
    const before = tf.memory().numTensors;
    const out = relationStages(nets, [f1, f2], idx, { training: true, jointBatch: true });
    expect(out).toHaveLength(2);
    expect(out[0]!.negative.logits.shape).toEqual([4, 3]);
    tf.dispose(outputsOf(out));
    expect(tf.memory().numTensors).toBe(before);
    expectRelkdError(
      () => relationStages(nets, [f1, f2], idx, { jointBatch: 'yes' as never }),
      'INVALID_OPTION',
    );
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([f1, f2]);
    for (const n of nets) n.dispose();
  });
});
