import { RelkdError } from '@relkd/core';
import { BACKENDS, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { Distiller, type DistillerParts } from './Distiller';
import { recipes, stageShapes } from './recipes';

const C = 4;
let uid = 0;

/** A tiny two-stage CNN on 8x8x1 images: stage outputs `${p}s1` [8,8,w] and `${p}s2` [4,4,2w]. */
function cnn(width: number, seed: number): { model: tfl.LayersModel; stages: string[] } {
  const p = `m${uid++}_`;
  const init = (s: number) => tfl.initializers.heNormal({ seed: seed * 10 + s });
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [8, 8, 1],
        filters: width,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        name: `${p}s1`,
        kernelInitializer: init(1),
      }),
      tfl.layers.conv2d({
        filters: 2 * width,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu',
        name: `${p}s2`,
        kernelInitializer: init(2),
      }),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units: C, name: `${p}out`, kernelInitializer: init(3) }),
    ],
  });
  return { model, stages: [`${p}s1`, `${p}s2`] };
}

function batch() {
  const x = tf.randomUniform([8, 8, 8, 1], 0, 1, 'float32', 3);
  const y = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32');
  return { x, y };
}

function weightsOf(m: tfl.LayersModel): number[][] {
  return m.getWeights().map((w) => Array.from(w.dataSync()));
}

describe.each(BACKENDS)('recipes on %s', (backend) => {
  beforeAll(() => useTestBackend(backend));

  const cases: Array<
    [string, (t: ReturnType<typeof cnn>, s: ReturnType<typeof cnn>) => DistillerParts, string[]]
  > = [
    ['kd', () => recipes.kd({ temperature: 4, weight: 0.9, ceWeight: 0.1 }), ['ce', 'kd']],
    ['vrm', () => recipes.vrm({ view: { magnitude: 5 } }), ['ce', 'vrm', 'vrm/is', 'vrm/ic']],
    ['stkd', () => recipes.stkd({ numClasses: C }), ['stkd', 'stkd/ce', 'stkd/kd']],
    [
      'stkd mixedTeacherSoft',
      () => recipes.stkd({ numClasses: C, loss: { targetMode: 'mixedTeacherSoft' } }),
      ['stkd', 'stkd/kd'],
    ],
    ['icc', () => recipes.icc(), ['icc', 'icc/ce', 'icc/kd', 'icc/icc']],
    [
      'mtkd',
      (t, s) =>
        recipes.mtkd({
          teacher: t.model,
          student: s.model,
          stages: { teacher: t.stages, student: s.stages },
          numClasses: C,
        }),
      ['mtkd', 'mtkd/scd', 'mtkd/srd', 'mtkd/crd', 'mtkd/auxCe'],
    ],
  ];

  it.each(
    cases,
  )('%s: trains the student, keeps the teacher frozen, reports its parts, leaks nothing', (_name, make, parts) => {
    const teacher = cnn(4, 1);
    const student = cnn(2, 2);
    const t0 = weightsOf(teacher.model);
    const s0 = weightsOf(student.model);
    const { x, y } = batch();
    const d = new Distiller({
      teacher: teacher.model,
      student: student.model,
      optimizer: tf.train.adam(0.01),
      ...make(teacher, student),
    });
    const r = d.step(x, y);
    for (const p of parts) {
      expect(r.parts[p], p).toBeDefined();
      expect(Number.isFinite(r.parts[p]!), p).toBe(true);
    }
    expect(Number.isFinite(r.total)).toBe(true);
    const before = tf.memory().numTensors;
    d.step(x, y);
    d.step(x, y);
    expect(tf.memory().numTensors).toBe(before);
    expect(weightsOf(teacher.model)).toEqual(t0);
    expect(weightsOf(student.model)).not.toEqual(s0);
    d.dispose();
    tf.dispose([x, y]);
  });

  it('mtkd trains its adapters and stage heads', () => {
    const teacher = cnn(4, 3);
    const student = cnn(2, 4);
    const recipe = recipes.mtkd({
      teacher: teacher.model,
      student: student.model,
      stages: { teacher: teacher.stages, student: student.stages },
      numClasses: C,
    });
    const w0 = recipe.stageModules.getWeights().map((w) => Array.from(w.dataSync()));
    const { x, y } = batch();
    const d = new Distiller({ teacher: teacher.model, student: student.model, ...recipe });
    d.step(x, y);
    const w1 = recipe.stageModules.trainableVariables.map((v) => Array.from(v.dataSync()));
    expect(w1.length).toBeGreaterThan(0);
    expect(recipe.stageModules.getWeights().map((w) => Array.from(w.dataSync()))).not.toEqual(w0);
    d.dispose();
    tf.dispose([x, y]);
  });

  it('corsd: self-distillation without a teacher trains student and relation networks', () => {
    const student = cnn(2, 5);
    const s0 = weightsOf(student.model);
    const recipe = recipes.corsd({
      student: student.model,
      stages: student.stages,
      numClasses: C,
      embeddingWidth: 16,
    });
    const n0 = recipe.networks.map((n) =>
      n.trainableVariables.map((v) => Array.from(v.dataSync())),
    );
    const { x, y } = batch();
    const d = new Distiller({ student: student.model, optimizer: tf.train.adam(0.01), ...recipe });
    const r = d.step(x, y);
    for (const p of ['ce', 'corsd', 'corsd/kd', 'corsd/triplet', 'corsd/score'])
      expect(Number.isFinite(r.parts[p]!), p).toBe(true);
    const before = tf.memory().numTensors;
    d.step(x, y);
    expect(tf.memory().numTensors).toBe(before);
    expect(weightsOf(student.model)).not.toEqual(s0);
    expect(
      recipe.networks.map((n) => n.trainableVariables.map((v) => Array.from(v.dataSync()))),
    ).not.toEqual(n0);
    d.dispose();
    tf.dispose([x, y]);
  });

  it('iccTeacher trains a model with the regulariser and refreshes the tracker each epoch', async () => {
    const teacher = cnn(2, 6);
    const recipe = recipes.iccTeacher({ numClasses: C, weight: 0.5 });
    const { x, y } = batch();
    const d = new Distiller({ student: teacher.model, optimizer: tf.train.adam(0.05), ...recipe });
    const h = await d.fit({ x, y }, { epochs: 3, batchSize: 8 });
    expect(Number.isFinite(h.epochs[2]!.loss.iccTeacher!)).toBe(true);
    expect(h.epochs[0]!.loss['iccTeacher/reg']).toBeDefined();
    const a = recipe.tracker.matrix();
    const rows = tf.sum(a, 1);
    Array.from(rows.dataSync()).forEach((v) => {
      expect(v).toBeCloseTo(1, 5);
    });
    tf.dispose([a, rows, x, y]);
    d.dispose();
  });

  it('a teacher-based recipe without a teacher throws INVALID_OPTION', () => {
    const student = cnn(2, 7);
    const { x, y } = batch();
    const d = new Distiller({ student: student.model, ...recipes.kd() });
    const attempt = () => {
      try {
        d.step(x, y);
        expect.unreachable();
      } catch (e) {
        expect((e as RelkdError).code).toBe('INVALID_OPTION');
      }
    };
    attempt();
    const before = tf.memory().numTensors;
    attempt();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  it('stageShapes reads NHWC stage shapes and rejects non-spatial layers', () => {
    const m = cnn(2, 8);
    expect(stageShapes(m.model, m.stages)).toEqual([
      [8, 8, 2],
      [4, 4, 4],
    ]);
    const last = m.model.layers[m.model.layers.length - 1]!.name;
    expect(() => stageShapes(m.model, [last])).toThrow(RelkdError);
  });
});
