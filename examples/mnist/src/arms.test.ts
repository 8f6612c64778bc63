import { useBackend } from '@relkd/backend';
import { FusedAdamOptimizer } from '@relkd/core';
import { Distiller } from '@relkd/layers';
import { recipes } from '@relkd/layers/methods';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ARMS,
  type Arm,
  ablationsOf,
  type Config,
  configFor,
  controlsFor,
  type Family,
  METHODS,
} from './arms';
import { buildStudent, buildTeacher } from './models';
import { GRIDS, loadTuned } from './tuning';

const shape = { height: 12, width: 12, numClasses: 3 };

/** Two tiny teachers and MTKD-SSR's teacher stage heads fitted once, as the benchmark does. */
async function teachers(prefix: string, x: tf.Tensor4D, y: tf.Tensor1D) {
  const plain = buildTeacher(1, `${prefix}p`, '3stage', shape);
  const icc = buildTeacher(2, `${prefix}i`, '3stage', shape);
  const scratch = buildStudent(0, '3stage', shape);
  const recipe = recipes.mtkd({
    teacher: plain.model,
    student: scratch.model,
    stages: { teacher: plain.stages, student: scratch.stages },
    numClasses: 3,
    teacherHeadFit: { epochs: 1, batchSize: 6 },
  });
  await recipe.fitTeacherHeads({ x, y });
  const heads = await recipe.teacherHeads!.saveWeights();
  recipe.dispose();
  scratch.model.dispose();
  return { plain, icc, heads };
}

/**
 * Builds `arm`'s parts for a fresh seeded student, runs `use` on its Distiller, then disposes all
 * of it as `runStudent` (jobs.ts) does: Distiller, parts, the caller's optimizer, the student.
 */
async function withArm<T>(
  arm: Arm,
  config: Config,
  t: Awaited<ReturnType<typeof teachers>>,
  use: (d: Distiller) => Promise<T>,
): Promise<T> {
  const student = buildStudent(7, '3stage', shape);
  const teacher = arm.teacher === 'plain' ? t.plain : arm.teacher === 'icc' ? t.icc : undefined;
  const parts = arm.build({
    student,
    teacher,
    numClasses: 3,
    config,
    seed: 7,
    teacherHeadWeights: t.heads,
  });
  const optimizer = new FusedAdamOptimizer(1e-3);
  const d = new Distiller({
    student: student.model,
    teacher: teacher?.model,
    optimizer,
    seed: 7,
    ...parts,
  });
  try {
    return await use(d);
  } finally {
    d.dispose();
    (parts as { dispose?: () => void }).dispose?.();
    optimizer.dispose();
    student.model.dispose();
  }
}

describe('benchmark arms', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('every method brings its controls; CE and KD have no ablations', () => {
    expect(controlsFor(['ce', 'kd']).map((a) => a.id)).toEqual([]);
    expect(controlsFor([...METHODS]).map((a) => a.id)).toEqual([
      'ce+view',
      'kd+view',
      'kd@icc',
      'ce+mixup',
      'selfkd',
    ]);
    expect(ablationsOf('kd')).toEqual([]);
    expect(ablationsOf('vrm').map((a) => a.id)).toEqual([
      'vrm-is',
      'vrm-ic',
      'vrm-view',
      'vrm-rep',
      'vrm-uep',
    ]);
    expect(new Set(ARMS.map((a) => a.id)).size).toBe(ARMS.length);
  });

  it('an ablation overrides its family configuration (and flips the STKD target mode)', () => {
    const { configs } = loadTuned('/nonexistent/tuned.json');
    const arm = (id: string) => ARMS.find((a) => a.id === id)!;
    expect(configFor(arm('vrm-uep'), configs).uep).toBe('none');
    expect(configFor(arm('vrm'), configs).uep).toBe('jointEntropy');
    expect(configFor(arm('stkd-mode'), configs).targetMode).toBe('mixedTeacherSoft');
    expect(configFor(arm('stkd'), configs).targetMode).toBe('teacherOnMixed');
    expect(configFor(arm('kd+view'), configs)).toEqual(configs.kd);
  });

  it('every arm trains a 3-stage student (fit with validation, evaluate) with finite losses and no leak', async () => {
    const { configs } = loadTuned('/nonexistent/tuned.json');
    const start = tf.memory().numTensors;
    const x = tf.randomUniform([12, 12, 12, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2], 'int32');
    const fixtures = await teachers('ta', x, y);
    for (const arm of ARMS) {
      const before = tf.memory().numTensors;
      const loss = await withArm(arm, configFor(arm, configs), fixtures, async (d) => {
        const h = await d.fit({ x, y }, { epochs: 1, batchSize: 6, validationData: { x, y } });
        await d.evaluate(x, y, 5);
        return h.epochs[0]!.loss;
      });
      expect(Number.isFinite(loss.total), `${arm.id}: ${JSON.stringify(loss)}`).toBe(true);
      expect(tf.memory().numTensors, arm.id).toBe(before);
    }
    fixtures.plain.model.dispose();
    fixtures.icc.model.dispose();
    tf.dispose([x, y]);
    // The fixtures (teachers, MTKD-SSR's head-fitting recipe and its scratch student) too.
    expect(tf.memory().numTensors).toBe(start);
  }, 120_000);
  it('every tuned key reaches the loss: two grid points differing in one key give different losses', async () => {
    const { configs } = loadTuned('/nonexistent/tuned.json');
    const x = tf.randomUniform([12, 12, 12, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2], 'int32');
    const fixtures = await teachers('tc', x, y);
    const lossOf = (family: Family, config: Config) => {
      const arm = ARMS.find((a) => a.family === family && a.group !== 'ablation')!;
      return withArm(arm, config, fixtures, async (d) => d.step(x, y).total);
    };
    const checked: string[] = [];
    for (const [family, grid] of Object.entries(GRIDS) as [Exclude<Family, 'ce'>, Config[]][]) {
      for (const key of Object.keys(grid[0]!)) {
        const pair = grid.flatMap((a) =>
          grid
            .filter(
              (b) => b[key] !== a[key] && Object.keys(a).every((k) => k === key || a[k] === b[k]),
            )
            .map((b) => [a, b] as const),
        )[0];
        if (pair === undefined) continue;
        const [a, b] = await Promise.all(
          pair.map((g) => lossOf(family, { ...configs[family], ...g })),
        );
        expect(a, `${family}.${key}: ${JSON.stringify(pair)}`).not.toBe(b);
        checked.push(`${family}.${key}`);
      }
    }
    // VRM's uepRatio only exists with joint-entropy pruning, which every VRM grid point uses.
    expect(checked.length).toBeGreaterThanOrEqual(13);
    fixtures.plain.model.dispose();
    fixtures.icc.model.dispose();
    tf.dispose([x, y]);
  }, 120_000);
});
