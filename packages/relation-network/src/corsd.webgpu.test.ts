// CORSD on Dawn WebGPU (the `webgpu` test project): golden values and gradients of every part
// against the same float64 fixture as the cpu/wasm tests,
// leaks and a property test. Reads are asynchronous (`dataSync()` throws on Dawn in
// Node); tolerances: WEBGPU_VALUE_TOL in tools/testing/webgpu.ts.

import { Rng } from '@relkd/core';
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
import { type CorsdLossOptions, type CorsdStageInput, corsdLoss } from './corsdLoss';

interface Case {
  name: string;
  options: CorsdLossOptions;
  posLogits: number[][][];
  negLogits: number[][][];
  posScores: number[][];
  negScores: number[][];
  anchorLabels: number[];
  negativeLabels: number[];
  expected: Record<string, number>;
  grad: Record<'posLogits' | 'negLogits' | 'posScores' | 'negScores', number[][] | number[][][]>;
}

const fixture = loadFixture<{ cases: Case[] }>(import.meta.url, 'corsdLoss');
const PARTS = ['total', 'kd', 'ce', 'negKd', 'negCe', 'triplet', 'score'] as const;

/** Stage inputs from stacked `[K, B, C]` logits and `[K, B]` scores (slices, as on cpu). */
function stagesOf(up: tf.Tensor, un: tf.Tensor, sp: tf.Tensor, sn: tf.Tensor): CorsdStageInput[] {
  const [K, B, C] = up.shape as [number, number, number];
  const logit = (t: tf.Tensor, k: number) => tf.reshape(tf.slice(t, [k, 0, 0], [1, B, C]), [B, C]);
  const score = (t: tf.Tensor, k: number) => tf.reshape(tf.slice(t, [k, 0], [1, B]), [B, 1]);
  return Array.from({ length: K }, (_, k) => ({
    positive: { logits: logit(up, k), score: score(sp, k) },
    negative: { logits: logit(un, k), score: score(sn, k) },
  }));
}

function outputs(
  up: tf.Tensor,
  un: tf.Tensor,
  sp: tf.Tensor,
  sn: tf.Tensor,
  anchorLabels: number[],
  negativeLabels: number[],
  options: CorsdLossOptions,
): tf.Tensor[] {
  const ya = tf.tensor1d(anchorLabels, 'int32');
  const yn = tf.tensor1d(negativeLabels, 'int32');
  const f = (a: tf.Tensor, b: tf.Tensor, s: tf.Tensor, t: tf.Tensor) =>
    corsdLoss({ stages: stagesOf(a, b, s, t), anchorLabels: ya, negativeLabels: yn }, options);
  const out = f(up, un, sp, sn);
  const grads = tf.grads((a, b, s, t) => f(a!, b!, s!, t!).total)([up, un, sp, sn]);
  return [...PARTS.map((p) => out[p]), ...grads];
}

describe('corsdLoss on webgpu (Dawn)', () => {
  beforeAll(async () => {
    await useWebGpuTestBackend();
  });

  it.each(fixture.cases.map((c) => [c.name, c] as const))('golden: %s', async (_, c) => {
    await expectNoLeakAsync(async () => {
      const out = tf.tidy(() =>
        outputs(
          tf.tensor3d(c.posLogits),
          tf.tensor3d(c.negLogits),
          tf.tensor2d(c.posScores),
          tf.tensor2d(c.negScores),
          c.anchorLabels,
          c.negativeLabels,
          c.options,
        ),
      );
      const values = await Promise.all(out.map(read));
      PARTS.forEach((p, i) => {
        expectClose(values[i]!, [c.expected[p]!], { ...WEBGPU_VALUE_TOL, label: p });
      });
      (['posLogits', 'negLogits', 'posScores', 'negScores'] as const).forEach((k, i) => {
        expectClose(values[PARTS.length + i]!, c.grad[k].flat(2) as number[], {
          ...WEBGPU_GRAD_TOL,
          label: `d/d ${k}`,
        });
      });
      tf.dispose(out);
    });
  });

  it('property: finite values and gradients for random shapes and extreme logits', async () => {
    const arb = fc.record({
      K: fc.integer({ min: 1, max: 3 }),
      B: fc.integer({ min: 1, max: 4 }),
      C: fc.integer({ min: 2, max: 5 }),
      seed: fc.integer({ min: 0, max: 1e6 }),
      kind: fc.constantFrom('random', 'constant', 'duplicate'),
      big: fc.constantFrom(0, 1, 1e4, -1e4, 1e-30),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ K, B, C, seed, kind, big }) => {
        const rng = new Rng(seed);
        const n = K * B * C;
        const gen = (): number[] => {
          if (kind === 'constant') return Array.from({ length: n }, () => big);
          const row = Array.from({ length: C }, () =>
            rng.next() < 0.3 ? big : (rng.next() * 2 - 1) * 1e4,
          );
          if (kind === 'duplicate') return Array.from({ length: K * B }, () => row).flat();
          return Array.from({ length: n }, () =>
            rng.next() < 0.3 ? big : (rng.next() * 2 - 1) * 1e4,
          );
        };
        const scores = (edge: number) =>
          Array.from({ length: K * B }, () => (rng.next() < 0.2 ? edge : rng.next()));
        const ya = Array.from({ length: B }, () => rng.int(C));
        const yn = ya.map((y) => (y + 1 + rng.int(C - 1)) % C);
        const [up, un, sp, sn] = [gen(), gen(), scores(1), scores(0)];
        const before = tf.memory().numTensors;
        const out = tf.tidy(() =>
          outputs(
            tf.tensor3d(up, [K, B, C]),
            tf.tensor3d(un, [K, B, C]),
            tf.tensor2d(sp, [K, B]),
            tf.tensor2d(sn, [K, B]),
            ya,
            yn,
            {},
          ),
        );
        for (const o of out) expect((await read(o)).every(Number.isFinite)).toBe(true);
        tf.dispose(out);
        expect(tf.memory().numTensors).toBe(before);
      }),
      { numRuns: 15, seed: 3 },
    );
  });
});
