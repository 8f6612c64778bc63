// MTKD-SSR from an offline teacher: the stage outputs and stage-head logits a live recipe writes
// with @relkd/teacher-outputs' exportTeacherOutputs, read back from the .npy shards, train the
// student exactly as the live teacher does; outputs the terms need but the shards lack are refused.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RelkdError } from '@relkd/core';
import { exportTeacherOutputs, fromDirectory, TeacherOutputs } from '@relkd/teacher-outputs/node';
import { BACKENDS, expectClose, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Distiller } from '../Distiller';
import type { OfflineTeacherSource } from '../offlineTeacher';
import type { TapOutput } from '../tap';
import { type MtkdTeacherHeads, mtkd, mtkdOfflineStageShapes } from './mtkd';

const C = 4;
const N = 24;
let uid = 0;
const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** A two-stage CNN on 8x8x1 images: stages `${p}s1` [8, 8, w] and `${p}s2` [4, 4, 2w]. */
function cnn(width: number, seed: number): { model: tfl.LayersModel; stages: string[] } {
  const p = `mo${uid++}_`;
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

function data() {
  const x = tf.randomUniform([N, 8, 8, 1], 0, 1, 'float32', 7);
  const y = tf.tensor1d(
    Array.from({ length: N }, (_, i) => (i * 3) % C),
    'int32',
  );
  return { x, y };
}

/** Weights of the student and of the recipe's stage modules (adapters, student heads). */
function trained(student: tfl.LayersModel, recipe: ReturnType<typeof mtkd>): number[][] {
  return [
    ...student.getWeights().map((w) => Array.from(w.dataSync())),
    ...recipe.stageModules.getWeights().map((w) => {
      const v = Array.from(w.dataSync());
      return v;
    }),
  ];
}

/**
 * A live teacher with fitted stage heads, its outputs exported to a temporary directory
 * (`pooled`: the channel vectors SCD needs, else the NHWC maps), and the opened outputs.
 */
async function exported(mode: MtkdTeacherHeads, pooled: boolean, x: tf.Tensor, y: tf.Tensor) {
  const teacher = cnn(4, 11);
  const scratch = cnn(2, 12);
  const source = mtkd({
    teacher: teacher.model,
    student: scratch.model,
    stages: { teacher: teacher.stages, student: scratch.stages },
    numClasses: C,
    teacherHeads: mode,
    ...(mode === 'pretrain' ? { teacherHeadFit: { epochs: 2, batchSize: 8 } } : {}),
  });
  if (mode === 'pretrain') await source.fitTeacherHeads({ x, y });
  const dir = mkdtempSync(join(tmpdir(), 'relkd-mtkd-offline-'));
  temps.push(dir);
  const labels = await y.data();
  await exportTeacherOutputs(dir, (b) => source.teacherOutputs(b, { pooled }), x, {
    datasetName: 'toy',
    labels,
    batchSize: 10,
    shardRows: 10,
  });
  const outputs = await TeacherOutputs.open(fromDirectory(dir));
  return { teacher, source, outputs, dir };
}

describe.each(BACKENDS)('recipes.mtkd with an offline teacher on %s', (backend) => {
  beforeAll(() => useTestBackend(backend));

  it.each([
    ['pretrain', true],
    ['pretrain', false],
    ['final', true],
  ] as const)("teacherHeads '%s', pooled %s: a step and a shuffled fit from the stored outputs equal the live teacher's", async (mode, pooled) => {
    const { x, y } = data();
    const { teacher, source, outputs } = await exported(mode, pooled, x, y);
    const names = ['stage1', 'stage2'];
    expect(outputs.featureNames.sort()).toEqual(
      mode === 'pretrain' ? ['stage1', 'stage1_logits', 'stage2'] : ['stage1', 'stage2'],
    );
    expect(outputs.outputShapes.stage2).toEqual(pooled ? [8] : [4, 4, 8]);
    const make = (t: tfl.LayersModel | OfflineTeacherSource, stages: readonly string[]) => {
      const student = cnn(2, 21);
      const recipe = mtkd({
        teacher: t,
        student: student.model,
        stages: { teacher: stages, student: student.stages },
        numClasses: C,
        seed: 5,
        teacherHeads: mode,
        ...(t === teacher.model && mode === 'pretrain'
          ? { teacherHeadWeights: source.teacherHeads!.getWeights() }
          : {}),
      });
      const d = new Distiller({
        teacher: t,
        student: student.model,
        optimizer: tf.train.sgd(0.05),
        seed: 9,
        ...recipe,
      });
      return { student, recipe, d };
    };
    const live = make(teacher.model, teacher.stages);
    const off = make(outputs, names);
    expect(trained(off.student.model, off.recipe)).toEqual(
      trained(live.student.model, live.recipe),
    );
    // One step on shuffled rows: the offline step reads them by data set index.
    const rows = [5, 17, 0, 23, 9, 12, 3, 20];
    const xb = tf.gather(x, rows);
    const yb = tf.gather(y, rows);
    const a = live.d.step(xb, yb);
    const before = tf.memory().numTensors;
    const b = await off.d.stepAsync(xb, yb, rows);
    expect(tf.memory().numTensors).toBe(before);
    expect(Object.keys(b.parts).sort()).toEqual(Object.keys(a.parts).sort());
    for (const k of ['mtkd/scd', 'mtkd/srd', 'mtkd/crd', 'mtkd/ce', 'mtkd/auxCe'])
      expect(a.parts[k]!).toBeGreaterThan(0);
    expectClose([b.total, ...Object.values(b.parts)], [a.total, ...Object.values(a.parts)], {
      rtol: 1e-5,
      atol: 1e-7,
    });
    // Then a shuffled fit (2 epochs): same batches, same updates.
    await live.d.fit({ x, y }, { epochs: 2, batchSize: 8 });
    await off.d.fit({ x, y }, { epochs: 2, batchSize: 8 });
    const wa = trained(live.student.model, live.recipe);
    const wb = trained(off.student.model, off.recipe);
    expect(wb).toHaveLength(wa.length);
    wa.forEach((w, i) => {
      expectClose(wb[i]!, w, { rtol: 1e-4, atol: 1e-6 });
    });
    expect(off.recipe.teacherHeads).toBeNull();
    for (const r of [live, off]) {
      r.d.dispose();
      r.recipe.dispose();
      r.student.model.dispose();
    }
    source.dispose();
    tf.dispose([x, y, xb, yb]);
  });
});

describe('recipes.mtkd with an offline teacher: what the outputs lack is refused when the recipe is made', () => {
  beforeAll(() => useTestBackend('cpu'));

  const refusal = (f: () => unknown): RelkdError => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(RelkdError);
      return e as RelkdError;
    }
    throw new Error('expected a RelkdError');
  };

  it('a missing stage output or stage logits: INVALID_OPTION naming the output and teacher.json', async () => {
    const { x, y } = data();
    const { outputs, source, dir } = await exported('final', true, x, y);
    const student = cnn(2, 31);
    const base = { student: student.model, numClasses: C };
    const before = tf.memory().numTensors;
    const noStage = refusal(() =>
      mtkd({
        ...base,
        teacher: outputs,
        stages: { teacher: ['stage1', 'stage9'], student: student.stages },
      }),
    );
    expect(noStage.code).toBe('INVALID_OPTION');
    expect(noStage.message).toContain(`${dir}/teacher.json has no output 'stage9'`);
    expect(noStage.message).toContain('SCD');
    // Written by a 'final' recipe: no stage-head logits, which 'pretrain' needs.
    const noLogits = refusal(() =>
      mtkd({
        ...base,
        teacher: outputs,
        stages: { teacher: ['stage1', 'stage2'], student: student.stages },
      }),
    );
    expect(noLogits.code).toBe('INVALID_OPTION');
    expect(noLogits.message).toContain("has no output 'stage1_logits'");
    expect(noLogits.message).toContain("teacherHeads: 'final'");
    // 'final' reads `logits` only: fine.
    const ok = mtkd({
      ...base,
      teacher: outputs,
      stages: { teacher: ['stage1', 'stage2'], student: student.stages },
      teacherHeads: 'final',
    });
    ok.dispose();
    ok.stageModules.dispose();
    expect(tf.memory().numTensors).toBe(before);
    source.dispose();
    student.model.dispose();
    tf.dispose([x, y]);
  });

  /** A structural source with the given output shapes (gather is never reached here). */
  const shaped = (outputShapes?: Record<string, number[]>): OfflineTeacherSource => ({
    rowCount: N,
    ...(outputShapes === undefined ? {} : { outputShapes }),
    description: 'mem/teacher.json',
    prepare: async () => {},
    gather: async (): Promise<TapOutput> => {
      throw new Error('not reached');
    },
  });

  it('wrong shapes: SHAPE_MISMATCH; no outputShapes: INVALID_OPTION', () => {
    const cases: Array<[Record<string, number[]> | undefined, string, RegExp]> = [
      [{ logits: [C], a: [8, 8], b: [8] }, 'SHAPE_MISMATCH', /'a' has per-row shape \[8, 8\]/],
      [
        { logits: [C], a: [8], b: [8], a_logits: [C + 1] },
        'SHAPE_MISMATCH',
        /'a_logits' have per-row shape \[5\]; expected \[4\]/,
      ],
      [{ logits: [C, 1], a: [8], b: [8] }, 'SHAPE_MISMATCH', /'logits' must be stored/],
      [undefined, 'INVALID_OPTION', /does not describe its outputs/],
    ];
    for (const [shapes, code, message] of cases) {
      const e = refusal(() => mtkdOfflineStageShapes(shaped(shapes), ['a', 'b']));
      expect(e.code).toBe(code);
      expect(e.message).toMatch(message);
    }
    expect(
      mtkdOfflineStageShapes(shaped({ logits: [C], a: [8, 8, 4], b: [8], a_logits: [C] }), [
        'a',
        'b',
      ]),
    ).toEqual([
      [8, 8, 4],
      [1, 1, 8],
    ]);
  });

  it('teacher-head options and teacherOutputs need a live teacher', () => {
    const student = cnn(2, 32);
    const source = shaped({ logits: [C], a: [8], b: [8], a_logits: [C] });
    const base = {
      teacher: source,
      student: student.model,
      stages: { teacher: ['a', 'b'], student: student.stages },
      numClasses: C,
    };
    for (const extra of [
      { teacherHeadFit: { epochs: 1 } },
      { teacherHeadWeights: [] as tf.Tensor[] },
    ]) {
      const e = refusal(() => mtkd({ ...base, ...extra }));
      expect(e.code).toBe('INVALID_OPTION');
      expect(e.message).toMatch(/needs a live teacher/);
    }
    const recipe = mtkd(base);
    expect(recipe.teacherHeadsReady).toBe(true);
    expect(recipe.taps?.teacher).toBeUndefined();
    const x = tf.zeros([2, 8, 8, 1]);
    expect(() => recipe.teacherOutputs(x)).toThrow(/offline one/);
    x.dispose();
    recipe.stageModules.dispose();
    student.model.dispose();
  });
});
