import { registerWasmGradientKernels, useBackend } from '@relkd/backend';
import { FusedAdamOptimizer, Rng, type SavedWeights } from '@relkd/core';
import { Distiller } from '@relkd/layers';
import { recipes } from '@relkd/layers/methods';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { armById, configFor } from './arms';
import { buildStudent, buildTeacher } from './models';
import { loadTuned } from './tuning';

/**
 * End to end (issue 19): every method's benchmark arm (MTKD-SSR and VRM first, whose steps these
 * kernels were written for; `Sum` is every arm's bias gradient), built as the MNIST benchmark builds
 * them (3-stage student and teacher, tuned configurations, batch 64 of 28 x 28 images, the
 * default FusedAdamOptimizer), train to the same weights, bit for bit, whether @relkd/backend's
 * wasm `Sum`, `Mean`, `Transpose` and `RealDiv` or tfjs-backend-wasm's own run in their steps (every
 * other kernel as registered by `useBackend('wasm')`). The cpu backend has no such kernels.
 */

const SWAPPED = ['Sum', 'Mean', 'Transpose', 'RealDiv'] as const;
const STEPS = 3; // keep the test titles in step
const B = 64;

let ours: tf.KernelConfig[] = [];
let upstream: tf.KernelConfig[] = [];

function use(configs: tf.KernelConfig[]) {
  for (const c of configs) {
    tf.unregisterKernel(c.kernelName, 'wasm');
    tf.registerKernel(c);
  }
}

/** Deterministic images in [0, 1) and labels cycling through the 10 classes. */
function batch(seed: number) {
  const rng = new Rng(seed);
  const xs = new Float32Array(B * 28 * 28);
  for (let i = 0; i < xs.length; i++) xs[i] = rng.next();
  const ys = Int32Array.from({ length: B }, (_, i) => i % 10);
  return { x: tf.tensor4d(xs, [B, 28, 28, 1]), y: tf.tensor1d(ys, 'int32') };
}

/** The arm's trainable weights (student and its modules) after `STEPS` steps, as float32 bits. */
async function train(armId: string, kernels: tf.KernelConfig[]): Promise<Map<string, number[]>> {
  use(kernels);
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
  const optimizer = new FusedAdamOptimizer(1e-3);
  const d = new Distiller({
    student: student.model,
    teacher: teacher?.model,
    optimizer,
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
    optimizer.dispose(); // the caller's optimizer: Distiller.dispose leaves it alive
    student.model.dispose();
    teacher?.model.dispose();
    use(ours);
  }
}

describe('method steps on wasm: the same weights with or without the replaced kernels', () => {
  beforeAll(async () => {
    await useBackend('wasm');
    ours = SWAPPED.map((n) => tf.getKernel(n, 'wasm') as tf.KernelConfig);
    registerWasmGradientKernels({ faster: false });
    upstream = SWAPPED.map((n) => tf.getKernel(n, 'wasm') as tf.KernelConfig);
    registerWasmGradientKernels();
    expect(ours.map((k) => k.kernelFunc)).not.toEqual(upstream.map((k) => k.kernelFunc));
  });
  afterAll(() => {
    use(ours);
  });

  it.each([
    'mtkd',
    'vrm',
    'ce',
    'kd',
    'stkd',
    'icc',
    'corsd',
  ])('%s: 3 steps, every trainable weight bit-identical', async (armId) => {
    const a = await train(armId, upstream);
    const b = await train(armId, ours);
    expect([...b.keys()]).toEqual([...a.keys()]);
    expect(a.size).toBeGreaterThanOrEqual(8);
    for (const [k, bits] of a) {
      const other = b.get(k) ?? [];
      const first = other.findIndex((v, i) => v !== bits[i]);
      expect(first, `${armId} variable ${k}: first differing element`).toBe(-1);
    }
  }, 120_000);
});
