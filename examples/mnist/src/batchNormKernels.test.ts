import { registerWasmGradientKernels, useBackend } from '@relkd/backend';
import { FusedAdamOptimizer, Rng, type SavedWeights } from '@relkd/core';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from '@relkd/core/internal';
import { Distiller } from '@relkd/layers';
import { recipes } from '@relkd/layers/methods';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { armById, configFor } from './arms';
import { buildStudent, buildTeacher } from './models';
import { loadTuned } from './tuning';

/**
 * End to end (issue 19): the benchmark arms whose steps run training-mode BatchNorms (MTKD-SSR:
 * channel adapters and stage heads; CORSD: relation networks), built as the MNIST benchmark builds
 * them (3-stage student and teacher, tuned configurations, batch 64 of 28 x 28 images, the default
 * FusedAdamOptimizer), train to the same weights, bit for bit, whether @relkd/backend's wasm
 * `RelkdBatchNormTrain` / `RelkdBatchNormTrainGrad` run their BatchNorms or @relkd/core's composed
 * ops do (every other kernel as registered by `useBackend('wasm')`). The cpu backend has no such
 * kernels.
 */

const NAMES = [BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD] as const;
const STEPS = 3; // keep the test titles in step
const B = 64;

let fusedConfigs: tf.KernelConfig[] = [];
let calls = 0;

/** Registers the (counted) BatchNorm kernels, or leaves them unregistered. */
function use(fused: boolean) {
  for (const name of NAMES)
    if (tf.getKernel(name, 'wasm') !== undefined) tf.unregisterKernel(name, 'wasm');
  if (fused) for (const c of fusedConfigs) tf.registerKernel(c);
}

/** Deterministic images in [0, 1) and labels cycling through the 10 classes. */
function batch(seed: number) {
  const rng = new Rng(seed);
  const xs = new Float32Array(B * 28 * 28);
  for (let i = 0; i < xs.length; i++) xs[i] = rng.next();
  const ys = Int32Array.from({ length: B }, (_, i) => i % 10);
  return { x: tf.tensor4d(xs, [B, 28, 28, 1]), y: tf.tensor1d(ys, 'int32') };
}

/**
 * The arm's trainable weights (student and its modules) after `STEPS` steps, as float32 bits, with
 * or without the BatchNorm kernels registered.
 */
async function train(armId: string, fused: boolean): Promise<Map<string, number[]>> {
  use(fused);
  const arm = armById(armId);
  const student = buildStudent(1000);
  const teacher =
    arm.teacher === undefined ? undefined : buildTeacher(arm.teacher === 'icc' ? 2 : 1);
  // MTKD-SSR's teacher stage heads: seeded, unfitted weights (fitting does not change the kernels).
  let headWeights: SavedWeights | undefined;
  if (arm.family === 'mtkd' && teacher !== undefined) {
    const s = buildStudent(5);
    const r = recipes.mtkd({
      teacher: teacher.model,
      student: s.model,
      stages: { teacher: teacher.stages, student: s.stages },
      numClasses: 10,
    });
    headWeights = await r.teacherHeads?.saveWeights();
    r.dispose();
    s.model.dispose();
  }
  const parts = arm.build({
    student,
    teacher,
    numClasses: 10,
    config: configFor(arm, loadTuned().configs),
    seed: 1000,
    teacherHeadWeights: headWeights,
  });
  const d = new Distiller({
    student: student.model,
    teacher: teacher?.model,
    optimizer: new FusedAdamOptimizer(1e-3),
    seed: 1000,
    ...parts,
  });
  try {
    for (let s = 0; s < STEPS; s++) {
      const { x, y } = batch(s + 1);
      d.step(x, y);
      tf.dispose([x, y]);
    }
    const out = new Map<string, number[]>();
    d.varList().forEach((v, i) => {
      const data = v.dataSync() as Float32Array;
      out.set(
        `${i} ${v.shape}`,
        Array.from(new Uint32Array(data.buffer, data.byteOffset, data.length)),
      );
    });
    return out;
  } finally {
    d.dispose();
    (parts as { dispose?: () => void }).dispose?.();
    student.model.dispose();
    teacher?.model.dispose();
    use(true);
  }
}

describe('BatchNorm arms on wasm: the same weights with or without the BatchNorm kernels', () => {
  beforeAll(async () => {
    await useBackend('wasm');
    registerWasmGradientKernels();
    fusedConfigs = NAMES.map((name) => {
      const config = tf.getKernel(name, 'wasm') as tf.KernelConfig;
      expect(config, name).toBeDefined();
      return {
        ...config,
        kernelFunc: (args: Parameters<tf.KernelFunc>[0]) => {
          calls++;
          return config.kernelFunc(args);
        },
      };
    });
  });
  afterAll(() => {
    use(true);
  });

  it.each(['mtkd', 'corsd'])('%s: 3 steps, every trainable weight bit-identical', async (armId) => {
    calls = 0;
    const a = await train(armId, false);
    expect(calls).toBe(0);
    const b = await train(armId, true);
    expect(calls, 'the fused BatchNorm kernels ran').toBeGreaterThan(0);
    expect([...b.keys()]).toEqual([...a.keys()]);
    expect(a.size).toBeGreaterThanOrEqual(8);
    for (const [k, bits] of a) {
      const other = b.get(k) ?? [];
      const first = other.findIndex((v, i) => v !== bits[i]);
      expect(first, `${armId} variable ${k}: first differing element`).toBe(-1);
    }
  }, 120_000);
});
