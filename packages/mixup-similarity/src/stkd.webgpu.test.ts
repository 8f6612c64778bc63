// STKD on Dawn WebGPU (the `webgpu` test project): golden values and gradients against the same
// float64 fixtures as the cpu/wasm tests, mixup, leaks and a property test. Reads are
// asynchronous (`dataSync()` throws on Dawn in Node); tolerances: WEBGPU_VALUE_TOL in
// tools/testing/webgpu.ts, with this package's own atol where its cpu tests use one.

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
import { type MixedTeacher, mixupWith, type StkdLossOptions, stkdLoss } from './index';

interface StkdCase {
  name: string;
  targetMode: 'teacherOnMixed' | 'mixedTeacherSoft';
  temperature: number;
  ceWeight: number;
  kdWeight: number;
  student: number[][];
  targets: number[][];
  teacher: number[][] | { clean: number[][]; lambda: number | number[]; permutation: number[] };
  ce: number;
  kd: number;
  total: number;
  gradCe: number[][];
  gradKd: number[][];
  gradTotal: number[][];
}

const fixture = loadFixture<{ cases: StkdCase[] }>(import.meta.url, 'stkd');

const optionsOf = (c: StkdCase): StkdLossOptions => ({
  temperature: c.temperature,
  ceWeight: c.ceWeight,
  kdWeight: c.kdWeight,
  targetMode: c.targetMode,
});

function teacherOf(c: StkdCase): tf.Tensor2D | MixedTeacher {
  if (Array.isArray(c.teacher)) return tf.tensor2d(c.teacher);
  const { clean, lambda, permutation } = c.teacher;
  return {
    clean: tf.tensor2d(clean),
    lambda: Array.isArray(lambda) ? tf.tensor1d(lambda) : lambda,
    permutation: tf.tensor1d(permutation, 'int32'),
  };
}

describe('stkdLoss on webgpu (Dawn)', () => {
  beforeAll(async () => {
    await useWebGpuTestBackend();
  });

  it.each(fixture.cases.map((c) => [c.name, c] as const))('golden: %s', async (_, c) => {
    await expectNoLeakAsync(async () => {
      const out = tf.tidy(() => {
        const s = tf.tensor2d(c.student);
        const targets = tf.tensor2d(c.targets);
        const teacher = teacherOf(c);
        const r = stkdLoss({ student: s, teacher, targets }, optionsOf(c));
        const grads = (['total', 'ce', 'kd'] as const).map((part) =>
          tf.grad((x: tf.Tensor) => stkdLoss({ student: x, teacher, targets }, optionsOf(c))[part])(
            s,
          ),
        );
        return [r.total, r.ce, r.kd, ...grads];
      });
      const [total, ce, kd, gTotal, gCe, gKd] = await Promise.all(out.map(read));
      expectClose(total!, [c.total], { ...WEBGPU_VALUE_TOL, label: 'total' });
      expectClose(ce!, [c.ce], { ...WEBGPU_VALUE_TOL, label: 'ce' });
      expectClose(kd!, [c.kd], { ...WEBGPU_VALUE_TOL, atol: 1e-5, label: 'kd' });
      expectClose(gTotal!, c.gradTotal.flat(), { ...WEBGPU_GRAD_TOL, label: 'dtotal/ds' });
      expectClose(gCe!, c.gradCe.flat(), { ...WEBGPU_GRAD_TOL, label: 'dce/ds' });
      expectClose(gKd!, c.gradKd.flat(), { ...WEBGPU_GRAD_TOL, label: 'dkd/ds' });
      tf.dispose(out);
    });
  });

  it('mixupWith: x̃ = λx + (1 − λ)x[perm] per sample, with its gradient', async () => {
    await expectNoLeakAsync(async () => {
      const x = [
        [1, 2],
        [3, 4],
        [5, 6],
      ];
      const lambda = [0.25, 0.5, 1];
      const perm = [2, 0, 1];
      const out = tf.tidy(() => {
        const xt = tf.tensor2d(x);
        const y = tf.tensor1d([0, 1, 1], 'int32');
        const opts = { numClasses: 2, lambda: tf.tensor1d(lambda), permutation: perm };
        const mixed = mixupWith(xt, y, opts).inputs;
        const g = tf.grad((z: tf.Tensor) => tf.sum(mixupWith(z, y, opts).inputs))(xt);
        return [mixed, g];
      });
      const [mixed, g] = await Promise.all(out.map(read));
      const want = x.flatMap((row, i) =>
        row.map((v, j) => lambda[i]! * v + (1 - lambda[i]!) * x[perm[i]!]![j]!),
      );
      expectClose(mixed!, want, WEBGPU_VALUE_TOL);
      // d/dx_k = λ_k + Σ_{i: perm[i] = k} (1 − λ_i), per column
      const dk = [0, 1, 2].map(
        (k) => lambda[k]! + perm.reduce((a, p, i) => a + (p === k ? 1 - lambda[i]! : 0), 0),
      );
      expectClose(
        g!,
        dk.flatMap((d) => [d, d]),
        WEBGPU_GRAD_TOL,
      );
      tf.dispose(out);
    });
  });

  it('property: finite values and gradients for random shapes, |logit| up to 1e4, B = 1', async () => {
    const arb = fc.record({
      b: fc.integer({ min: 1, max: 4 }),
      c: fc.integer({ min: 2, max: 5 }),
      scale: fc.constantFrom(1e-3, 1, 100, 1e4),
      seed: fc.integer({ min: 0, max: 1e6 }),
      temperature: fc.constantFrom(1, 4, 20),
      targetMode: fc.constantFrom('teacherOnMixed' as const, 'mixedTeacherSoft' as const),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ b, c, scale, seed, temperature, targetMode }) => {
        const before = tf.memory().numTensors;
        const out = tf.tidy(() => {
          const s = tf.clipByValue(tf.randomNormal([b, c], 0, scale, 'float32', seed), -1e4, 1e4);
          const t = tf.clipByValue(
            tf.randomNormal([b, c], 0, scale, 'float32', seed + 1),
            -1e4,
            1e4,
          );
          const targets = tf.cast(
            tf.oneHot(
              tf.tensor1d(
                Array.from({ length: b }, (_, i) => i % c),
                'int32',
              ),
              c,
            ),
            'float32',
          );
          const teacher: tf.Tensor2D | MixedTeacher =
            targetMode === 'teacherOnMixed'
              ? (t as tf.Tensor2D)
              : {
                  clean: t as tf.Tensor2D,
                  lambda: 0.3,
                  permutation: tf.range(b - 1, -1, -1, 'int32'),
                };
          const opts = { temperature, targetMode };
          const r = stkdLoss({ student: s, teacher, targets }, opts);
          const g = tf.grad(
            (x: tf.Tensor) => stkdLoss({ student: x, teacher, targets }, opts).total,
          )(s);
          return [r.total, g];
        });
        for (const o of out) expect((await read(o)).every(Number.isFinite)).toBe(true);
        tf.dispose(out);
        expect(tf.memory().numTensors).toBe(before);
      }),
      { numRuns: 15, seed: 5 },
    );
  });
});
