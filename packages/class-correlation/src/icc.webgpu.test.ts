// ICC on Dawn WebGPU (the `webgpu` test project): golden values and gradients of iccLoss and
// iccStudentLoss against the same float64 fixtures as the cpu/wasm tests (the teacher never
// gets a gradient), leaks and a property test. Reads are asynchronous (`dataSync()` throws on
// Dawn in Node); tolerances: WEBGPU_VALUE_TOL in tools/testing/webgpu.ts, with this package's
// own atol where its cpu tests use one.

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
import { type IccLossOptions, type IccStudentLossOptions, iccLoss, iccStudentLoss } from './index';

interface LossFixture {
  student: number[][];
  teacher: number[][];
  cases: {
    temperature: number;
    normalize: NonNullable<IccLossOptions['normalize']>;
    value: number;
    grad: number[][];
  }[];
}
interface StudentFixture {
  student: number[][];
  teacher: number[][];
  labels: number[];
  cases: {
    options: IccStudentLossOptions;
    ce: number;
    kd: number;
    icc: number;
    total: number;
    grad: number[][];
  }[];
}

const lossFixture = loadFixture<LossFixture>(import.meta.url, 'icc_loss');
const studentFixture = loadFixture<StudentFixture>(import.meta.url, 'student');

describe('class-correlation on webgpu (Dawn)', () => {
  beforeAll(async () => {
    await useWebGpuTestBackend();
  });

  it.each(
    lossFixture.cases,
  )('iccLoss golden ($normalize, τ = $temperature): value and gradients', async (c) => {
    await expectNoLeakAsync(async () => {
      const out = tf.tidy(() => {
        const s = tf.tensor2d(lossFixture.student);
        const t = tf.tensor2d(lossFixture.teacher);
        const opts = { temperature: c.temperature, normalize: c.normalize };
        const f = (a: tf.Tensor, b: tf.Tensor) => iccLoss(a as tf.Tensor2D, b as tf.Tensor2D, opts);
        return [f(s, t), ...tf.grads(f)([s, t])];
      });
      const [value, gs, gt] = await Promise.all(out.map(read));
      expectClose(value!, [c.value], { ...WEBGPU_VALUE_TOL, atol: 1e-9 });
      expectClose(gs!, c.grad.flat(), {
        ...WEBGPU_GRAD_TOL,
        atol: 1e-7,
        label: 'student gradient',
      });
      expect(
        gt!.every((v) => v === 0),
        'no teacher gradient',
      ).toBe(true);
      tf.dispose(out);
    });
  });

  it.each(
    studentFixture.cases,
  )('iccStudentLoss golden (options $options): parts and gradients', async (c) => {
    await expectNoLeakAsync(async () => {
      const out = tf.tidy(() => {
        const s = tf.tensor2d(studentFixture.student);
        const t = tf.tensor2d(studentFixture.teacher);
        const labels = tf.tensor1d(studentFixture.labels, 'int32');
        const r = iccStudentLoss({ student: s, teacher: t, labels }, c.options);
        const grads = tf.grads(
          (a: tf.Tensor, b: tf.Tensor) =>
            iccStudentLoss({ student: a, teacher: b, labels }, c.options).total,
        )([s, t]);
        return [r.total, r.ce, r.kd, r.icc, ...grads];
      });
      const [total, ce, kd, icc, gs, gt] = await Promise.all(out.map(read));
      expectClose(total!, [c.total], { ...WEBGPU_VALUE_TOL, label: 'total' });
      expectClose(ce!, [c.ce], { ...WEBGPU_VALUE_TOL, label: 'ce' });
      expectClose(kd!, [c.kd], { ...WEBGPU_VALUE_TOL, label: 'kd' });
      expectClose(icc!, [c.icc], { ...WEBGPU_VALUE_TOL, atol: 1e-8, label: 'icc' });
      expectClose(gs!, c.grad.flat(), { ...WEBGPU_GRAD_TOL, label: 'student gradient' });
      expect(
        gt!.every((v) => v === 0),
        'no teacher gradient',
      ).toBe(true);
      tf.dispose(out);
    });
  });

  it('property: finite values and gradients for random shapes, |logit| up to 1e4, B = 1', async () => {
    const arb = fc.record({
      b: fc.integer({ min: 1, max: 5 }),
      c: fc.integer({ min: 2, max: 6 }),
      scale: fc.constantFrom(1e-3, 1, 100, 1e4),
      seed: fc.integer({ min: 0, max: 1e6 }),
      mode: fc.constantFrom('random', 'constantRows', 'duplicateRows'),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ b, c, scale, seed, mode }) => {
        const before = tf.memory().numTensors;
        const out = tf.tidy(() => {
          const rand = (k: number) =>
            tf.clipByValue(tf.randomNormal([b, c], 0, scale, 'float32', seed + k), -1e4, 1e4);
          let s = rand(0);
          let t = rand(1);
          if (mode === 'constantRows') s = tf.fill([b, c], scale);
          if (mode === 'duplicateRows') t = tf.tile(tf.slice(t, [0, 0], [1, c]), [b, 1]);
          const labels = tf.tensor1d(
            Array.from({ length: b }, (_, i) => i % c),
            'int32',
          );
          const f = (x: tf.Tensor) => iccStudentLoss({ student: x, teacher: t, labels }).total;
          return [f(s), tf.grad(f)(s), iccLoss(s as tf.Tensor2D, t as tf.Tensor2D)];
        });
        for (const o of out) expect((await read(o)).every(Number.isFinite)).toBe(true);
        tf.dispose(out);
        expect(tf.memory().numTensors).toBe(before);
      }),
      { numRuns: 15, seed: 13 },
    );
  });
});
