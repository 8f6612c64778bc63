// What a recipe with modules allocates is released by `recipe.dispose()`, also when no Distiller
// ever owned the modules, and with a Distiller whose `dispose` frees the same modules (either
// order). MTKD-SSR: its teacher heads and its student stage modules (adapters and stage heads; a
// recipe made only to fit and cache the teacher heads, as the MNIST benchmark does). CORSD: its
// relation networks.
import { FusedAdamOptimizer } from '@relkd/core';
import { BACKENDS, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { Distiller } from '../Distiller';
import { corsd } from './corsd';
import { mtkd } from './mtkd';

const C = 3;
const N = 12;
let uid = 0;

/** A three-stage CNN on 8x8x1 images: stages `${p}s1` [8, 8, w], `${p}s2` [4, 4, 2w], `${p}s3` [2, 2, 2w]. */
function cnn(width: number, seed: number): { model: tfl.LayersModel; stages: string[] } {
  const p = `md${uid++}_`;
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
      conv(1, width, 1),
      conv(2, 2 * width, 2),
      conv(3, 2 * width, 2),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units: C, name: `${p}out`, kernelInitializer: init(9) }),
    ],
  });
  return { model, stages: [`${p}s1`, `${p}s2`, `${p}s3`] };
}

describe.each(BACKENDS)('mtkd recipe dispose (%s)', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  /** Builds a teacher, a student and their recipe; runs `use`; disposes the models. */
  async function withModels(
    use: (
      teacher: { model: tfl.LayersModel; stages: string[] },
      student: { model: tfl.LayersModel; stages: string[] },
    ) => Promise<void>,
  ): Promise<void> {
    const teacher = cnn(4, 1);
    const student = cnn(2, 2);
    try {
      await use(teacher, student);
    } finally {
      teacher.model.dispose();
      student.model.dispose();
    }
  }

  it('a recipe used only to fit and save the teacher heads leaks nothing after dispose()', async () => {
    const x = tf.randomUniform([N, 8, 8, 1], 0, 1, 'float32', 3);
    const y = tf.tensor1d(
      Array.from({ length: N }, (_, i) => i % C),
      'int32',
    );
    const before = tf.memory().numTensors;
    await withModels(async (teacher, student) => {
      const recipe = mtkd({
        teacher: teacher.model,
        student: student.model,
        stages: { teacher: teacher.stages, student: student.stages },
        numClasses: C,
        teacherHeadFit: { epochs: 1, batchSize: 6 },
      });
      // The recipe built trainable stage modules and teacher heads (both hold variables).
      expect(recipe.stageModules.trainableVariables.length).toBeGreaterThan(0);
      expect(recipe.teacherHeads!.countParams(true)).toBeGreaterThan(0);
      await recipe.fitTeacherHeads({ x, y });
      const saved = await recipe.teacherHeads!.saveWeights();
      expect(saved.specs.length).toBeGreaterThan(0);
      recipe.dispose();
    });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  it.each([
    'distiller first',
    'recipe first',
  ])('with a Distiller (fit with validation, evaluate), disposing both (%s) leaves nothing', async (order) => {
    const x = tf.randomUniform([N, 8, 8, 1], 0, 1, 'float32', 4);
    const y = tf.tensor1d(
      Array.from({ length: N }, (_, i) => (i * 2) % C),
      'int32',
    );
    const before = tf.memory().numTensors;
    await withModels(async (teacher, student) => {
      const recipe = mtkd({
        teacher: teacher.model,
        student: student.model,
        stages: { teacher: teacher.stages, student: student.stages },
        numClasses: C,
        teacherHeadFit: { epochs: 1, batchSize: 6 },
      });
      const optimizer = new FusedAdamOptimizer(1e-3);
      const d = new Distiller({
        teacher: teacher.model,
        student: student.model,
        optimizer,
        seed: 1,
        ...recipe,
      });
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
    });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });
});

describe.each(BACKENDS)('corsd recipe dispose (%s)', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it('a recipe that never reaches a Distiller leaks nothing after dispose()', () => {
    const before = tf.memory().numTensors;
    const student = cnn(2, 1);
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
    const student = cnn(2, 2);
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
