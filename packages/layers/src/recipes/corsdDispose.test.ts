// What a CORSD recipe allocates (its relation networks) is released by `recipe.dispose()`, also
// when no Distiller ever owned them, and with a Distiller whose `dispose` frees the same networks
// (either order).
import { FusedAdamOptimizer } from '@relkd/core';
import { BACKENDS, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { Distiller } from '../Distiller';
import { corsd } from './corsd';

const C = 3;
const N = 12;
let uid = 0;

/** A three-stage CNN on 8x8x1 images: stages `${p}s1` [8, 8, 2], `${p}s2` [4, 4, 4], `${p}s3` [2, 2, 4]. */
function cnn(seed: number): { model: tfl.LayersModel; stages: string[] } {
  const p = `cd${uid++}_`;
  const init = (s: number) => tfl.initializers.heNormal({ seed: seed * 10 + s });
  const conv = (k: number, filters: number, strides: number) =>
    tfl.layers.conv2d({
      ...(k === 1 ? { inputShape: [8, 8, 1] } : {}),
      filters,
      kernelSize: 3,
      strides,
      padding: 'same',
      activation: 'relu',
      name: `${p}s${k}`,
      kernelInitializer: init(k),
    });
  const model = tfl.sequential({
    layers: [
      conv(1, 2, 1),
      conv(2, 4, 2),
      conv(3, 4, 2),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units: C, name: `${p}out`, kernelInitializer: init(9) }),
    ],
  });
  return { model, stages: [`${p}s1`, `${p}s2`, `${p}s3`] };
}

describe.each(BACKENDS)('corsd recipe dispose (%s)', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it('a recipe that never reaches a Distiller leaks nothing after dispose()', () => {
    const before = tf.memory().numTensors;
    const student = cnn(1);
    const recipe = corsd({ student: student.model, stages: student.stages, numClasses: C });
    expect(recipe.networks.length).toBe(3);
    expect(recipe.networks.every((n) => n.trainableVariables.length > 0)).toBe(true);
    recipe.dispose();
    recipe.dispose(); // idempotent
    student.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each([
    'distiller first',
    'recipe first',
  ])('with a Distiller (fit with validation, evaluate), disposing both (%s) leaves nothing', async (order) => {
    const x = tf.randomUniform([N, 8, 8, 1], 0, 1, 'float32', 4);
    const y = tf.tensor1d(
      Array.from({ length: N }, (_, i) => i % C),
      'int32',
    );
    const before = tf.memory().numTensors;
    const student = cnn(2);
    const recipe = corsd({ student: student.model, stages: student.stages, numClasses: C });
    const optimizer = new FusedAdamOptimizer(1e-3);
    const d = new Distiller({ student: student.model, optimizer, seed: 1, ...recipe });
    const h = await d.fit({ x, y }, { epochs: 2, batchSize: 6, validationData: { x, y } });
    expect(Number.isFinite(h.epochs[1]!.loss.total)).toBe(true);
    const afterFit = tf.memory().numTensors;
    d.step(x, y);
    await d.evaluate(x, y, 5);
    expect(tf.memory().numTensors, 'no growth per step or evaluation').toBe(afterFit);
    if (order === 'distiller first') {
      d.dispose();
      recipe.dispose();
    } else {
      recipe.dispose();
      d.dispose();
    }
    optimizer.dispose();
    student.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });
});
