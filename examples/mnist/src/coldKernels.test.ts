import { registerWasmGradientKernels, useBackend } from '@relkd/backend';
import { FusedAdamOptimizer, Rng } from '@relkd/core';
import { Distiller, evaluateModel } from '@relkd/layers';
import { iccTeacher } from '@relkd/layers/recipes/icc';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEACHER_LR } from './jobs';
import { buildStudent, buildTeacher } from './models';

/**
 * End to end (issue 19, the cold default run): the plain teacher, the ICC teacher (as
 * `getTeacher` trains them: FusedAdamOptimizer at the teacher rate, seed 7, the ICC regulariser at
 * weight 0.5) and the CE student (batch 32) train to the same weights, bit for bit, and the
 * student evaluates (in batches, as `runStudent` does: `Slice` on a larger set) to the same
 * accuracy and loss, whether @relkd/backend's wasm `Slice` (from a heap view) and `Cast` (shared
 * buffer for the same dtype) or tfjs-backend-wasm's own run, every other kernel as registered by
 * `useBackend('wasm')`. (`MaxPoolGrad`'s border windows are compared exactly with the cpu kernel
 * in @relkd/backend's tests.) The cpu backend has no such kernels.
 */

const SWAPPED = ['Slice', 'Cast'] as const;
const STEPS = 4;

let ours: tf.KernelConfig[] = [];
let upstream: tf.KernelConfig[] = [];

function use(configs: tf.KernelConfig[]) {
  for (const c of configs) {
    tf.unregisterKernel(c.kernelName, 'wasm');
    tf.registerKernel(c);
  }
}

/** Deterministic images in [0, 1) and labels cycling through the 10 classes. */
function images(n: number, seed: number) {
  const rng = new Rng(seed);
  const xs = new Float32Array(n * 28 * 28);
  for (let i = 0; i < xs.length; i++) xs[i] = rng.next();
  const ys = Int32Array.from({ length: n }, (_, i) => i % 10);
  return { x: tf.tensor4d(xs, [n, 28, 28, 1]), y: tf.tensor1d(ys, 'int32') };
}

const RUNS = {
  'plain teacher': () => ({
    net: buildTeacher(100, 't'),
    batch: 64,
    parts: {},
    lr: TEACHER_LR,
    seed: 7,
  }),
  'ICC teacher': () => ({
    net: buildTeacher(200, 'ti'),
    batch: 64,
    parts: iccTeacher({ numClasses: 10, weight: 0.5 }),
    lr: TEACHER_LR,
    seed: 7,
  }),
  'CE student': () => ({ net: buildStudent(1000), batch: 32, parts: {}, lr: 0.005, seed: 1000 }),
};

/** Weights (float32 bits) after `STEPS` steps, and the evaluation of 600 images in batches of 256. */
async function train(id: keyof typeof RUNS, kernels: tf.KernelConfig[]) {
  use(kernels);
  const { net, batch, parts, lr, seed } = RUNS[id]();
  const optimizer = new FusedAdamOptimizer(lr);
  const d = new Distiller({ student: net.model, optimizer, seed, ...parts });
  const evalSet = images(600, 99);
  try {
    for (let s = 0; s < STEPS; s++) {
      const { x, y } = images(batch, s + 1);
      d.step(x, y);
      tf.dispose([x, y]);
    }
    const weights = d.varList().map((v) => {
      const data = v.dataSync() as Float32Array;
      return Array.from(new Uint32Array(data.buffer, data.byteOffset, data.length));
    });
    const evaluation = await evaluateModel(net.model, evalSet.x, evalSet.y, 256);
    return { weights, evaluation };
  } finally {
    d.dispose();
    optimizer.dispose();
    net.model.dispose();
    tf.dispose([evalSet.x, evalSet.y]);
    use(ours);
  }
}

describe("the cold run's teachers and a student on wasm: the same weights with or without the replaced kernels", () => {
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

  it.each(
    Object.keys(RUNS) as (keyof typeof RUNS)[],
  )('%s: 4 steps, every trainable weight bit-identical, the same evaluation', async (id) => {
    const a = await train(id, upstream);
    const b = await train(id, ours);
    expect(b.weights.length).toBe(a.weights.length);
    expect(a.weights.length).toBeGreaterThanOrEqual(8);
    a.weights.forEach((bits, k) => {
      const first = (b.weights[k] ?? []).findIndex((v, i) => v !== bits[i]);
      expect(first, `${id} variable ${k}: first differing element`).toBe(-1);
    });
    expect(b.evaluation).toEqual(a.evaluation);
  }, 120_000);
});
