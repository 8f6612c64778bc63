// MTKD-SSR on Dawn WebGPU (the `webgpu` test project): golden values and gradients of SCD, SRD,
// CRD and mtkdLoss against the same float64 fixtures as the cpu/wasm tests, leaks and a property
// test. Reads are asynchronous (`dataSync()` throws on Dawn in Node); tolerances:
// WEBGPU_VALUE_TOL in tools/testing/webgpu.ts.

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
import {
  channelDistillationLoss,
  crossStageReviewLoss,
  type MtkdLossOptions,
  mtkdLoss,
  type ReviewPairs,
  stageResponseLoss,
} from './index';
import { T } from './testUtils';

type Nested = number | Nested[];
interface StageCase {
  normalize?: 'softmax' | 'l2' | boolean;
  temperature?: number;
  pairs?: string;
  weights?: number[];
  value: number;
  grads: Nested[];
}
interface StageFixture {
  student?: Nested[];
  teacher?: Nested[];
  logits?: Nested[];
  cases: StageCase[];
}
interface MtkdFixture {
  studentFeatures: Nested[];
  teacherFeatures: Nested[];
  studentStageLogits: Nested[];
  teacherStageLogits: Nested[];
  labels: number[];
  options: MtkdLossOptions;
  parts: Record<'total' | 'ce' | 'auxCe' | 'scd' | 'srd' | 'crd', number>;
  gradFeatures: Nested[];
  gradLogits: Nested[];
}

const scd = loadFixture<StageFixture>(import.meta.url, 'scd');
const srd = loadFixture<StageFixture>(import.meta.url, 'srd');
const crd = loadFixture<StageFixture>(import.meta.url, 'crd');
const mtkd = loadFixture<MtkdFixture>(import.meta.url, 'mtkd');
const PARTS = ['total', 'ce', 'auxCe', 'scd', 'srd', 'crd'] as const;

/** Each stage loss as `(students, case, fixture) => loss`, differentiated w.r.t. the students. */
const STAGE_LOSSES: [string, StageFixture, (xs: tf.Tensor[], c: StageCase) => tf.Scalar][] = [
  [
    'channelDistillationLoss (SCD)',
    scd,
    (xs, c) =>
      channelDistillationLoss(xs, scd.teacher!.map(T), {
        normalize: c.normalize as 'softmax',
        ...(c.weights ? { weights: c.weights } : {}),
      }),
  ],
  [
    'stageResponseLoss (SRD)',
    srd,
    (xs, c) =>
      stageResponseLoss(xs, srd.teacher!.map(T), {
        temperature: c.temperature!,
        ...(c.weights ? { weights: c.weights } : {}),
      }),
  ],
  [
    'crossStageReviewLoss (CRD)',
    crd,
    (xs, c) =>
      crossStageReviewLoss(xs, {
        temperature: c.temperature!,
        pairs: c.pairs as ReviewPairs,
        normalize: c.normalize as boolean,
      }),
  ],
];

describe('stage-distill on webgpu (Dawn)', () => {
  beforeAll(async () => {
    await useWebGpuTestBackend();
  });

  describe.each(STAGE_LOSSES)('%s: golden values and gradients', (_, fixture, f) => {
    it.each(fixture.cases.map((c, i) => [i, c] as const))('case %i', async (__, c) => {
      await expectNoLeakAsync(async () => {
        const out = tf.tidy(() => {
          const xs = (fixture.student ?? fixture.logits!).map(T);
          return [f(xs, c), ...tf.grads((...a: tf.Tensor[]) => f(a, c))(xs)];
        });
        const [value, ...grads] = await Promise.all(out.map(read));
        expectClose(value!, [c.value], WEBGPU_VALUE_TOL);
        grads.forEach((g, k) => {
          expectClose(g, [c.grads[k]!].flat(8) as number[], {
            ...WEBGPU_GRAD_TOL,
            label: `grad stage ${k}`,
          });
        });
        tf.dispose(out);
      });
    });
  });

  it('mtkdLoss: golden parts and gradients', async () => {
    await expectNoLeakAsync(async () => {
      const n = mtkd.studentFeatures.length;
      const out = tf.tidy(() => {
        const tfe = mtkd.teacherFeatures.map(T);
        const tz = mtkd.teacherStageLogits.map(T);
        const labels = tf.tensor1d(mtkd.labels, 'int32');
        const loss = (xs: tf.Tensor[]) =>
          mtkdLoss(
            {
              studentFeatures: xs.slice(0, n),
              teacherFeatures: tfe,
              studentStageLogits: xs.slice(n),
              teacherStageLogits: tz,
              labels,
            },
            mtkd.options,
          );
        const xs = [...mtkd.studentFeatures.map(T), ...mtkd.studentStageLogits.map(T)];
        const parts = loss(xs);
        return [
          ...PARTS.map((p) => parts[p]),
          ...tf.grads((...a: tf.Tensor[]) => loss(a).total)(xs),
        ];
      });
      const values = await Promise.all(out.map(read));
      PARTS.forEach((p, i) => {
        expectClose(values[i]!, [mtkd.parts[p]], { ...WEBGPU_VALUE_TOL, label: p });
      });
      const want = [...mtkd.gradFeatures, ...mtkd.gradLogits];
      values.slice(PARTS.length).forEach((g, k) => {
        expectClose(g, [want[k]!].flat(8) as number[], { ...WEBGPU_GRAD_TOL, label: `grad ${k}` });
      });
      tf.dispose(out);
    });
  });

  it('property: finite values and gradients for random shapes and extreme logits', async () => {
    const arb = fc.record({
      b: fc.integer({ min: 1, max: 3 }),
      c: fc.integer({ min: 2, max: 5 }),
      stages: fc.integer({ min: 2, max: 3 }),
      scale: fc.constantFrom(1e-3, 1, 100, 1e4),
      seed: fc.integer({ min: 0, max: 1e6 }),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ b, c, stages, scale, seed }) => {
        const before = tf.memory().numTensors;
        const out = tf.tidy(() => {
          const rand = (shape: number[], k: number) =>
            tf.clipByValue(tf.randomNormal(shape, 0, scale, 'float32', seed + k), -1e4, 1e4);
          const sf = Array.from({ length: stages }, (_, k) => rand([b, 2, 2, 3], k));
          const tfe = Array.from({ length: stages }, (_, k) => rand([b, 2, 2, 3], 10 + k));
          const sz = Array.from({ length: stages }, (_, k) => rand([b, c], 20 + k));
          const tz = Array.from({ length: stages }, (_, k) => rand([b, c], 30 + k));
          const labels = tf.tensor1d(
            Array.from({ length: b }, (_, i) => i % c),
            'int32',
          );
          const loss = (xs: tf.Tensor[]) =>
            mtkdLoss({
              studentFeatures: xs.slice(0, stages),
              teacherFeatures: tfe,
              studentStageLogits: xs.slice(stages),
              teacherStageLogits: tz,
              labels,
            }).total;
          const xs = [...sf, ...sz];
          return [loss(xs), ...tf.grads((...a: tf.Tensor[]) => loss(a))(xs)];
        });
        for (const o of out) expect((await read(o)).every(Number.isFinite)).toBe(true);
        tf.dispose(out);
        expect(tf.memory().numTensors).toBe(before);
      }),
      { numRuns: 12, seed: 9 },
    );
  });
});
