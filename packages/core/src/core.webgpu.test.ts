// @relkd/core on Dawn WebGPU (the `webgpu` test project, SwiftShader in CI): the golden values
// and gradients of the losses and tensor helpers against the same float64 fixtures as the
// cpu/wasm tests, leak checks and a property test. Reads are asynchronous (`dataSync()` throws
// on Dawn in Node); tolerances: see WEBGPU_VALUE_TOL in tools/testing/webgpu.ts.

import {
  expectClose,
  expectNoLeakAsync,
  loadFixture,
  read,
  useWebGpuTestBackend,
  WEBGPU_GRAD_TOL,
  WEBGPU_VALUE_TOL,
} from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { crossEntropy } from './losses/crossEntropy';
import { kdLoss } from './losses/kdLoss';
import { klDivergence } from './losses/klDivergence';
import { softCrossEntropy } from './losses/softCrossEntropy';
import { classGram } from './math/classGram';
import { cosineSimilarityMatrix } from './math/cosineSimilarityMatrix';
import { globalAveragePool } from './math/globalAveragePool';
import { gram } from './math/gram';
import { l2Normalize } from './math/l2Normalize';
import { pairwiseSquaredDistances } from './math/pairwiseSquaredDistances';
import { zScore } from './math/zScore';

type Matrix = number[][];
type Nested = number | Nested[];
interface LossCase {
  logits?: Matrix;
  labels?: number[];
  targets?: Matrix;
  student?: Matrix;
  teacher?: Matrix;
  temperature?: number;
  scaleByTSquared?: boolean;
  value: number;
  grad: Matrix;
}
interface HelperCase {
  inputs: Nested[];
  r: Nested;
  value: Nested;
  grads: Nested[];
  axis?: number;
}

const cases = (name: string) => loadFixture<{ cases: LossCase[] }>(import.meta.url, name).cases;

/** Each loss as `(x, case) => loss`, differentiated with respect to `x` (the student logits). */
const LOSSES: [string, (c: LossCase) => tf.Tensor2D, (x: tf.Tensor, c: LossCase) => tf.Scalar][] = [
  [
    'crossEntropy',
    (c) => tf.tensor2d(c.logits!),
    (x, c) => crossEntropy(x, tf.tensor1d(c.labels!, 'int32')),
  ],
  [
    'softCrossEntropy',
    (c) => tf.tensor2d(c.logits!),
    (x, c) => softCrossEntropy(x, tf.tensor2d(c.targets!), { temperature: c.temperature! }),
  ],
  [
    'klDivergence',
    (c) => tf.tensor2d(c.student!),
    (x, c) =>
      klDivergence(x, tf.tensor2d(c.teacher!), {
        temperature: c.temperature!,
        scaleByTSquared: c.scaleByTSquared ?? false,
      }),
  ],
  [
    'kdLoss',
    (c) => tf.tensor2d(c.student!),
    (x, c) => kdLoss(x, tf.tensor2d(c.teacher!), { temperature: c.temperature! }),
  ],
];

const HELPERS: [string, (c: HelperCase, ...xs: tf.Tensor[]) => tf.Tensor][] = [
  ['zScore', (c, x) => zScore(x!, { axis: c.axis! })],
  ['l2Normalize', (c, x) => l2Normalize(x!, { axis: c.axis! })],
  ['gram', (_, x) => gram(x!)],
  ['classGram', (_, p) => classGram(p!)],
  ['pairwiseSquaredDistances', (_, a, b) => pairwiseSquaredDistances(a!, b)],
  ['cosineSimilarityMatrix', (_, a, b) => cosineSimilarityMatrix(a!, b)],
  ['globalAveragePool', (_, x) => globalAveragePool(x!)],
];

describe('@relkd/core on webgpu (Dawn)', () => {
  beforeAll(async () => {
    await useWebGpuTestBackend();
  });

  describe.each(LOSSES)('%s: golden value and gradient (float64 reference)', (name, input, f) => {
    it.each(cases(name).map((c, i) => [i, c] as const))('case %i', async (_, c) => {
      await expectNoLeakAsync(async () => {
        const [value, grad] = tf.tidy(() => {
          const x = input(c);
          return [f(x, c), tf.grad((z: tf.Tensor) => f(z, c))(x)];
        });
        expectClose(await read(value!), [c.value], { ...WEBGPU_VALUE_TOL, label: 'value' });
        expectClose(await read(grad!), c.grad.flat(), { ...WEBGPU_GRAD_TOL, label: 'gradient' });
        tf.dispose([value!, grad!]);
      });
    });
  });

  describe.each(HELPERS)('%s: golden values and gradients', (name, f) => {
    const helperCases = loadFixture<{ cases: HelperCase[] }>(import.meta.url, name).cases;
    it.each(helperCases.map((c, i) => [i, c] as const))('case %i', async (_, c) => {
      await expectNoLeakAsync(async () => {
        const [y, ...grads] = tf.tidy(() => {
          const xs = c.inputs.map((x) => tf.tensor(x as number[]));
          const r = tf.tensor(c.r as number[]);
          return [
            f(c, ...xs),
            ...tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(f(c, ...args), r)))(xs),
          ];
        });
        // the diagonal of a self-distance matrix is 0: absolute tolerance there (as on cpu)
        expectClose(await read(y!), [c.value].flat(8) as number[], {
          ...WEBGPU_VALUE_TOL,
          atol: 1e-5,
        });
        for (const [i, g] of grads.entries())
          expectClose(await read(g), [c.grads[i]].flat(8) as number[], {
            ...WEBGPU_GRAD_TOL,
            label: `gradient ${i}`,
          });
        tf.dispose([y!, ...grads]);
      });
    });
  });

  it('property: finite values and gradients for |logit| up to 1e4, constant and duplicate rows, B = 1', async () => {
    const value = fc.float({ min: -1e4, max: 1e4, noNaN: true, noDefaultInfinity: true });
    const batch = fc
      .record({ b: fc.integer({ min: 1, max: 4 }), c: fc.integer({ min: 1, max: 6 }) })
      .chain(({ b, c }) =>
        fc.record({
          b: fc.constant(b),
          c: fc.constant(c),
          s: fc.array(value, { minLength: b * c, maxLength: b * c }),
          t: fc.array(value, { minLength: b * c, maxLength: b * c }),
          labels: fc.array(fc.integer({ min: 0, max: c - 1 }), { minLength: b, maxLength: b }),
          temperature: fc.constantFrom(0.5, 1, 4, 20),
          mode: fc.constantFrom('random', 'constantRows', 'duplicateRows', 'extreme'),
        }),
      );
    await fc.assert(
      fc.asyncProperty(batch, async ({ b, c, s, t, labels, temperature, mode }) => {
        const shaped = (v: number[]) =>
          v.map((x, i) =>
            mode === 'constantRows'
              ? v[Math.floor(i / c) * c]!
              : mode === 'duplicateRows'
                ? v[i % c]!
                : mode === 'extreme'
                  ? Math.sign(x || 1) * 1e4
                  : x,
          );
        const before = tf.memory().numTensors;
        const out = tf.tidy(() => {
          const x = tf.tensor2d(shaped(s), [b, c]);
          const teacher = tf.tensor2d(shaped(t), [b, c]);
          const y = tf.tensor1d(labels, 'int32');
          const q = tf.softmax(teacher);
          const fns = [
            (z: tf.Tensor) => crossEntropy(z, y),
            (z: tf.Tensor) => softCrossEntropy(z, q, { temperature }),
            (z: tf.Tensor) => klDivergence(z, teacher, { temperature }),
            (z: tf.Tensor) => kdLoss(z, teacher, { temperature }),
          ];
          return fns.flatMap((f) => [f(x), tf.grad(f)(x)]);
        });
        for (const o of out) expect((await read(o)).every(Number.isFinite)).toBe(true);
        const kl = await read(out[4]!);
        expect(kl[0]).toBeGreaterThanOrEqual(-1e-6);
        tf.dispose(out);
        expect(tf.memory().numTensors).toBe(before);
      }),
      { numRuns: 25, seed: 11 },
    );
  });
});
